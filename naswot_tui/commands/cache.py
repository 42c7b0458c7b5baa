"""``naswot-tui cache info|clear``: look at or empty the persistent score cache.

A cache that cannot be opened (garbage, read-only, a directory in its place)
gives one line and exit 1 for ``info``; ``clear`` then offers to move the bad
file aside, so a broken cache can always be reset.
"""

from __future__ import annotations

import json
import sqlite3

import typer

from naswot_tui.core.errors import ExitCode, NaswotError


def _fail(message: str, code: ExitCode = ExitCode.RUNTIME) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(int(code))


def _reset_broken(broken, space: str | None, yes: bool) -> None:
    """Move an unusable cache aside (after confirmation): ``clear`` always gets a fresh cache."""
    from naswot_tui.core.cache import move_aside

    if "locked" in broken.reason or "busy" in broken.reason:  # in use, not broken: never move a live cache
        raise _fail(f"the score cache {broken.path} is in use by another run ({broken.reason}); "
                    "try again when it has finished")
    if space is not None:
        raise _fail(f"{broken}; a broken cache cannot be cleared space by space: run "
                    "`naswot-tui cache clear` without --space")
    if not yes and not typer.confirm(f"the score cache {broken.path} is unusable ({broken.reason}); "
                                     "move it aside and start a new one?", err=True):
        raise typer.Exit(1)
    moved = move_aside(broken.path)
    typer.echo(f"moved the unusable cache to {moved}; the next run starts a new one")


def register(app: typer.Typer) -> None:
    cache_app = typer.Typer(help="The persistent score cache (SQLite in the user cache dir; "
                                 "$NASWOT_TUI_CACHE_DIR overrides).", no_args_is_help=True)

    @cache_app.command("info")
    def info_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Where the cache is, its size, and how many scores each context holds."""
        from naswot_tui.core.cache import ScoreCache

        try:
            with ScoreCache() as cache:
                try:
                    info = cache.info()
                except sqlite3.Error as exc:  # a database that is not our schema
                    from naswot_tui.core.cache import CacheUnusable

                    raise CacheUnusable(cache.path, exc) from None
        except NaswotError as exc:
            raise _fail(str(exc), exc.exit_code) from None
        if as_json:
            typer.echo(json.dumps(info, indent=2))
            return
        typer.echo(f"cache: {info['path']}")
        typer.echo(f"size: {info['bytes'] / 2**20:.1f} MiB, {info['scores']} score(s), "
                   f"{len(info['contexts'])} context(s)")
        for c in info["contexts"]:
            typer.echo(f"  {c['space']:<8} {c['proxy']:<12} hook={c['hook_rule']:<9} B={c['batch_size']:<4} "
                       f"{c['device_kind']:<10} {c['dtype']:<9} {c['init_policy']:<18} data={c['data_fingerprint']} "
                       f"v{c['version']}: {c['scores']}")

    @cache_app.command("clear")
    def clear_command(space: str | None = typer.Option(None, "--space", help="Only this space's scores."),
                      yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")) -> None:
        """Delete cached scores (all, or one space's); a broken cache is moved aside."""
        from naswot_tui.core.cache import CacheUnusable, ScoreCache

        try:
            if space is not None:  # the cache stores canonical names ("nats-tss" is "nb201")
                from naswot_tui.core.spaces import resolve_name

                space = resolve_name(space)
            what = f"the cached scores of space {space}" if space else "every cached score"
            try:
                with ScoreCache() as cache:
                    if not yes and not typer.confirm(f"delete {what}?", err=True):
                        raise typer.Exit(1)
                    try:
                        removed = cache.clear(space)
                    except sqlite3.Error as exc:  # a database that is not our schema
                        raise CacheUnusable(cache.path, exc) from None
            except CacheUnusable as broken:
                _reset_broken(broken, space, yes)
                return
        except NaswotError as exc:
            raise _fail(str(exc), exc.exit_code) from None
        typer.echo(f"removed {removed} score(s)")

    app.add_typer(cache_app, name="cache")
