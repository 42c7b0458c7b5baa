"""What the app is started with, and what it remembers between sessions.

``Settings`` is the one argument of ``make_app``: the CLI fills it from the
environment, tests fill it with temporary folders, a fake event source and a
frozen clock. The remembered part (last run config, theme) is a small JSON
file in the user config dir; it remembers every RunConfig field.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naswot_tui.core.config import RunConfig, options
from naswot_tui.core.errors import UsageError
from naswot_tui.core.paths import default_runs_dir


def default_config_dir() -> Path:
    """``$NASWOT_TUI_CONFIG_DIR`` or the user config dir (themes/, tui.json)."""
    env = os.environ.get("NASWOT_TUI_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("naswot-tui"))


# What each RunConfig field may hold in tui.json, from its annotation (a string:
# the module uses ``from __future__ import annotations``).
_JSON_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "None": (type(None),)}


def _field_accepts(annotation: str, value: Any) -> bool:
    allowed: tuple[type, ...] = ()
    for part in str(annotation).split("|"):
        allowed += _JSON_TYPES.get(part.strip(), ())
    if isinstance(value, bool) and bool not in allowed:
        return False  # JSON true is not a number here
    return isinstance(value, allowed)


def clean_state(data: Any) -> dict:
    """``tui.json`` as loaded, minus what has the wrong shape.

    A hand-edited or damaged file (``{"theme": [1]}``, a string ``n``) must
    not crash the app at start: bad values are dropped and defaults used.
    Keys this function does not know are kept as they are.
    """
    from dataclasses import fields

    if not isinstance(data, dict):
        return {}
    clean = dict(data)
    if "theme" in clean and not isinstance(clean["theme"], str):
        del clean["theme"]
    saved = clean.get("last_config")
    if "last_config" in clean:
        if isinstance(saved, dict):
            types = {f.name: f.type for f in fields(RunConfig)}
            clean["last_config"] = {k: v for k, v in saved.items() if k in types and _field_accepts(types[k], v)}
        else:
            del clean["last_config"]
    return clean


@dataclass
class Settings:
    runs_dir: Path = field(default_factory=default_runs_dir)
    config_dir: Path = field(default_factory=default_config_dir)
    theme: str | None = None            # None: the remembered one, else the default
    # Factory of event sources; None = the real engine. Tests pass a fake (no torch).
    source: Any = None
    # () -> [(device name, label)]; None = core.engine.available_devices in a worker.
    device_probe: Callable[[], list[tuple[str, str]]] | None = None
    clock: Callable[[], float] = time.monotonic   # frozen in snapshot tests
    top_k: int = 10
    recent: int = 3                     # top_k + recent rows fit the table at 80x24
    remember: bool = True               # write tui.json (tests may turn it off)

    @property
    def state_file(self) -> Path:
        return self.config_dir / "tui.json"

    @property
    def themes_dir(self) -> Path:
        return self.config_dir / "themes"

    def load_state(self) -> dict:
        """The remembered state, with every value of the wrong shape dropped (defaults instead)."""
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}  # first start or a damaged file: start from defaults
        return clean_state(data)

    def save_state(self, **updates) -> None:
        if not self.remember:
            return
        data = self.load_state()
        data.update(updates)
        try:
            self.config_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
            tmp.replace(self.state_file)
        except OSError:
            pass  # remembering is a convenience; never fail a run over it

    def last_config(self) -> RunConfig:
        """The config of the last run started from the app (every field), or the defaults."""
        return remembered_config(self.load_state().get("last_config"))


def remembered_config(saved: Any) -> RunConfig:
    """A RunConfig from remembered values. A value that is no longer valid (a hand-edited
    or damaged file, a space that was removed) falls back to that field's default."""
    config = RunConfig()
    if not isinstance(saved, dict):
        return config
    for opt in options():
        if opt.name in saved:
            with suppress(UsageError):  # a bad value keeps this field's default only
                setattr(config, opt.name, opt.check_value(saved[opt.name]))
    if config.data == "root" and not config.data_root:
        config.data = "embedded"
    return config
