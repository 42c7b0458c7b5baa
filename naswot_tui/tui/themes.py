"""Themes as TOML data: built-ins from ``themes/``, user themes from the
config dir. Every colour is parsed before a theme is registered; a file that
fails is reported (one line) and skipped, never fatal.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

DEFAULT_THEME = "naswot-dark"

THEME_COLORS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel", "boost",
                "success", "warning", "error")

# App colours used by app.tcss and the widgets, with defaults so that any
# theme (Textual's built-ins too) renders; a theme file may override each.
APP_VARIABLES: dict[str, str] = {
    "score-best": "#5FD787", "score-worst": "#FF6B6B", "score-line": "#5FAFFF", "best-line": "#FFAF5F",
    "cell-node": "#FFD75F", "cell-op": "#5FAFFF", "cell-none": "#6C7380",
    "series-1": "#5FAFFF", "series-2": "#FFAF5F", "series-3": "#5FD787", "series-4": "#FF6B6B",
    "series-5": "#AF87FF", "series-6": "#5FD7D7",
}
SERIES = [f"series-{k}" for k in range(1, 7)]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class ThemeFileError(ValueError):
    """A theme file that cannot be used; the message names the file and the problem."""


def builtin_themes_dir() -> Path:
    """Shipped themes: ``naswot_tui/themes`` when installed, ``themes/`` in a checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "themes", here.parent / "themes"):
        if candidate.is_dir():
            return candidate
    return here / "themes"


def _color(path: Path, key: str, value) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f"{path.name}: {key} must be a colour string, not {type(value).__name__}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(f"{path.name}: {key} = {value!r} is not a colour (use '#RRGGBB' or a name)") from None
    return value


def parse_theme(path: Path) -> Theme:
    """Read and validate one theme file; raises ThemeFileError."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeFileError(f"{path.name}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"{path.name}: not valid TOML ({exc})") from None
    except RecursionError:  # tomllib recurses per nesting level: a hostile file, not a theme
        raise ThemeFileError(f"{path.name}: nested too deeply to be a theme file") from None
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ThemeFileError(f"{path.name}: name {name!r} must be lowercase letters, digits, '-' or '_'")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError(f"{path.name}: dark must be true or false")
    colors = data.get("colors", {})
    variables = data.get("variables", {})
    if not isinstance(colors, dict) or not isinstance(variables, dict):
        raise ThemeFileError(f"{path.name}: [colors] and [variables] must be tables")
    unknown = sorted(set(colors) - set(THEME_COLORS))
    if unknown:
        raise ThemeFileError(f"{path.name}: unknown colour(s) {', '.join(unknown)}; "
                             f"known: {', '.join(THEME_COLORS)}")
    if "primary" not in colors:
        raise ThemeFileError(f"{path.name}: [colors] needs at least 'primary'")
    checked = {k: _color(path, f"colors.{k}", v) for k, v in colors.items()}
    checked_vars = {k: _color(path, f"variables.{k}", v) for k, v in variables.items()}
    try:
        return Theme(name=name, dark=dark, variables={**APP_VARIABLES, **checked_vars}, **checked)
    except (ValueError, TypeError) as exc:  # Textual's own checks, should they differ from ours
        raise ThemeFileError(f"{path.name}: not a usable theme ({exc})") from None


def load_themes(*folders: Path) -> tuple[list[Theme], list[str]]:
    """All valid themes in ``folders`` (later folders override by name) and one error line per bad file."""
    themes: dict[str, Theme] = {}
    errors: list[str] = []
    for folder in folders:
        if not folder or not Path(folder).is_dir():
            continue
        try:
            paths = sorted(Path(folder).glob("*.toml"))
        except OSError as exc:  # an unreadable themes folder costs its themes, not the app
            errors.append(f"{folder}: cannot list themes ({exc.strerror or exc})")
            continue
        for path in paths:
            try:
                theme = parse_theme(path)
            except ThemeFileError as exc:
                errors.append(str(exc))
                continue
            themes[theme.name] = theme
    return list(themes.values()), errors
