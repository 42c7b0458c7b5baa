"""``naswot-tui cache info|clear``: look at or empty the persistent score cache."""

from __future__ import annotations

import json
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    cache_app = typer.Typer(help="The persistent score cache (SQLite in the user cache dir; "
                                 "$NASWOT_TUI_CACHE_DIR overrides).", no_args_is_help=True)

    @cache_app.command("info")
    def info_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Where the cache is, its size, and how many scores each context holds."""
        from naswot_tui.core.cache import ScoreCache

        with ScoreCache() as cache:
            info = cache.info()
        if as_json:
            typer.echo(json.dumps(info, indent=2))
            return
        typer.echo(f"cache: {info['path']}")
        typer.echo(f"size: {info['bytes'] / 2**20:.1f} MiB, {info['scores']} score(s), "
                   f"{len(info['contexts'])} context(s)")
        for c in info["contexts"]:
            typer.echo(f"  {c['space']:<8} {c['proxy']:<12} hook={c['hook_rule']:<9} B={c['batch_size']:<4} "
                       f"{c['device_kind']:<4} {c['dtype']:<9} {c['init_policy']:<18} data={c['data_fingerprint']} "
                       f"v{c['version']}: {c['scores']}")

    @cache_app.command("clear")
    def clear_command(space: Optional[str] = typer.Option(None, "--space", help="Only this space's scores."),
                      yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")) -> None:
        """Delete cached scores (all, or one space's)."""
        from naswot_tui.core.cache import ScoreCache

        what = f"the cached scores of space {space}" if space else "every cached score"
        if not yes and not typer.confirm(f"delete {what}?", err=True):
            raise typer.Exit(1)
        with ScoreCache() as cache:
            removed = cache.clear(space)
        typer.echo(f"removed {removed} score(s)")

    app.add_typer(cache_app, name="cache")
