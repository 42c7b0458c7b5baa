"""Command line: ``naswot-tui`` opens the app; ``--headless`` runs a search
for scripts; subcommands list, compare and evaluate saved runs.

Headless contract: stdout carries data only (a human summary, ``--json``
one document, or ``--jsonl`` the trace records as they are written);
progress and diagnostics go to stderr, progress only when stderr is a
terminal. Exit codes (core.errors.ExitCode): 0 ok, 1 runtime failure,
2 usage, 3 benchmark or dataset missing/invalid, 130 interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from naswot_tui.commands.common import fail
from naswot_tui.core.config import RunConfig, options
from naswot_tui.core.errors import ExitCode, NaswotError, UsageError

app = typer.Typer(
    add_completion=False,
    help="Neural Architecture Search without Training (NASWOT): a terminal workbench and a headless CLI.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _parse_n(text: str) -> tuple[int, bool]:
    """``--n 100`` or ``--n all`` (every architecture once)."""
    if text.strip().lower() == "all":
        return -1, True
    try:
        return int(text), False
    except ValueError:
        raise UsageError(f"--n takes a whole number or 'all' (got {text!r})") from None


# ---------------------------------------------------------------- the headless command
# The RunConfig flags are generated from the field declarations in core/config.py;
# only the flags that are not part of a run's description are written here.
_OUTPUT_PANEL = "Mode and output"


def _run_config_parameters() -> list[inspect.Parameter]:
    """One typer option per RunConfig field, from its declaration."""
    params = []
    for opt in options():
        kind = opt.cli_type or opt.py_type
        annotation: Any = kind | None if opt.optional else kind
        decls = [f"{opt.flag}/{opt.off_flag}"] if opt.off_flag else [opt.flag]
        default = str(opt.default) if opt.cli_type is str and opt.default is not None else opt.default
        info = typer.Option(default, *decls, help=opt.help, metavar=opt.metavar,
                            rich_help_panel=opt.group.heading)
        params.append(inspect.Parameter(opt.name, inspect.Parameter.KEYWORD_ONLY, default=info,
                                        annotation=annotation))
    return params


def _hand_written_parameters() -> tuple[list[inspect.Parameter], list[inspect.Parameter]]:
    """(before, after) the generated ones: the mode flag first, output and resume last."""
    def param(name: str, annotation: Any, info: Any) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation)

    before = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
        param("headless", bool, typer.Option(False, "--headless", rich_help_panel=_OUTPUT_PANEL,
                                             help="Run a search without the UI and print results.")),
    ]
    after = [
        param("as_json", bool, typer.Option(False, "--json", help="Print one JSON document.",
                                            rich_help_panel=_OUTPUT_PANEL)),
        param("as_jsonl", bool, typer.Option(False, "--jsonl", help="Print trace records as JSON Lines.",
                                             rich_help_panel=_OUTPUT_PANEL)),
        param("resume", str | None, typer.Option(None, "--resume", metavar="TRACE",
                                                 help="Continue an incomplete trace.",
                                                 rich_help_panel=_OUTPUT_PANEL)),
    ]
    return before, after


def config_from_cli(values: dict[str, Any]) -> RunConfig:
    """The RunConfig that parsed CLI values describe; ``--n all`` is resolved against the space.

    ``n`` arrives as text (it may be ``all``); ``validate`` (in ``Run``) checks the rest.
    """
    given = {opt.name: values[opt.name] for opt in options()}
    n_value, all_archs = _parse_n(given.pop("n"))
    config = RunConfig(n=1 if all_archs else n_value, **given)
    if all_archs:
        from naswot_tui.core.spaces import get_space

        config.unique = True
        whole = get_space(config.space, config.benchmark_file, trust_benchmark_file=config.trust_benchmark_file)
        if not whole.dense and hasattr(whole, "num_modules"):
            config.n = whole.num_modules   # NB101 without its file: the canonical enumeration
        elif not whole.dense:
            raise UsageError(f"--n all: space {config.space} cannot be enumerated without its "
                             "benchmark file; pass --benchmark-file or a number")
        else:
            config.n = whole.size
    return config


def parse_headless_line(args: list[str]) -> RunConfig:
    """The checked RunConfig a ``naswot-tui --headless ...`` argument list describes, without
    running it (tests and tools use it to prove a command line means what a form shows).

    ``args`` may start with the program name (as ``RunConfig.to_cli_args`` writes it).
    """
    if args and not args[0].startswith("-"):
        args = args[1:]
    command = typer.main.get_command(app)
    with command.make_context("naswot-tui", list(args)) as ctx:
        return config_from_cli(ctx.params).validate()


@contextlib.contextmanager
def exit_app_on_signals(tui: Any) -> Iterator[list[int]]:
    """While inside, SIGTERM and SIGHUP (the SSH session went away) quit the app as ``q`` does:
    the run in progress is cancelled and its trace gets the ``cancelled`` footer before the
    process ends (the scoring thread is joined at exit). Yields the signals received."""
    fired: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        fired.append(signum)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:   # the app is not running (yet or any more): end like Ctrl-C
            raise KeyboardInterrupt from None
        loop.call_soon_threadsafe(tui.exit)   # the one loop call that is safe from a signal handler

    wanted = [sig for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if sig]
    previous = {sig: signal.signal(sig, handler) for sig in wanted}
    try:
        yield fired
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _given_on_command_line(ctx: typer.Context, values: dict[str, Any]) -> dict[str, Any]:
    """The run settings typed on the command line (not defaults), as checked config values.

    ``--resume`` compares them with the trace: equal ones are fine, others are refused.
    """
    def typed(name: str) -> bool:   # by the enum's name: typer may bring its own copy of click
        source = ctx.get_parameter_source(name)
        return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")

    names = [opt.name for opt in options() if typed(opt.name)]
    if not names:
        return {}
    config = config_from_cli(values)   # resolves --n all
    given = {name: getattr(config, name) for name in names}
    if "n" in given and config.unique and "unique" not in given and str(values["n"]).lower() == "all":
        given["unique"] = True   # --n all means every architecture once
    return given


def main_command(ctx: typer.Context, *, headless: bool, as_json: bool, as_jsonl: bool, resume: str | None,
                 **values: Any) -> None:
    """Open the app, or (--headless) run a search and print its results."""
    if ctx.invoked_subcommand is not None:
        return
    if not headless:
        from naswot_tui.tui.app import make_app

        tui = make_app()
        with exit_app_on_signals(tui) as fired:
            tui.run()
        if fired:
            raise typer.Exit(int(ExitCode.INTERRUPTED))
        return
    from naswot_tui.core.engine import Run
    from naswot_tui.headless import run_headless, signals_cancel_run

    with signals_cancel_run():   # SIGTERM/SIGHUP while loading: exit 130 like Ctrl-C, nothing written
        try:
            if as_json and as_jsonl:
                raise UsageError("--json and --jsonl are exclusive; pick one")
            run = (Run.resume(resume, **_given_on_command_line(ctx, values)) if resume
                   else Run(config_from_cli(values)))
            run.prepare()
        except NaswotError as exc:
            raise fail(exc) from None
    code = run_headless(run, mode="json" if as_json else "jsonl" if as_jsonl else "text")
    raise typer.Exit(code)


_before, _after = _hand_written_parameters()
main_command.__signature__ = inspect.Signature([*_before, *_run_config_parameters(), *_after])  # type: ignore[attr-defined]
main_command.__annotations__ = {}  # the signature carries the types typer reads
app.callback(invoke_without_command=True)(main_command)


@app.command("runs")
def runs_command(
    folder: str | None = typer.Option(None, "--dir", help="Folder of traces (default: user data dir)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List saved runs (traces), newest first; unreadable ones are listed with the reason."""
    from naswot_tui.core.config import default_runs_dir
    from naswot_tui.core.summary import run_row
    from naswot_tui.core.trace import list_traces

    rows = [run_row(path) for path in list_traces(Path(folder) if folder else default_runs_dir())]
    if as_json:
        from naswot_tui.core.trace import json_safe

        typer.echo(json.dumps(json_safe(rows), indent=2, allow_nan=False))
        return
    for r in rows:
        if r.get("error"):
            typer.echo(f"{'unreadable':<10} {r['error']}")
            continue
        acc = f"{r['acc_mean']:.2f}" if r.get("acc_mean") is not None else "-"
        typer.echo(f"{r['status']:<10} {r['space']:<8} {r['dataset']:<14} N={r['n']:<6} R={r['repeats']:<4} "
                   f"seed={r['seed']:<4} acc={acc:<6} {r['path']}")


# Subcommands contributed by other modules: each exposes ``register(app)``.
_SUBCOMMAND_MODULES: list[str] = ["naswot_tui.commands.compare", "naswot_tui.commands.evaluate",
                                     "naswot_tui.commands.report", "naswot_tui.commands.cache",
                                     "naswot_tui.commands.plot", "naswot_tui.commands.serve",
                                     "naswot_tui.commands.merge"]


def _register_subcommands() -> None:
    import importlib

    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(app)


def _one_line_warnings() -> None:
    """Warnings (e.g. a skipped benchmark entry) as one stderr line, not source dumps."""
    import warnings

    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"


def main() -> None:
    _one_line_warnings()
    _register_subcommands()
    try:
        app()
    except NaswotError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.INTERRUPTED))
