"""Command line: ``naswot-tui`` opens the app; ``--headless`` runs a search
for scripts; subcommands list, compare and evaluate saved runs.

Headless contract: stdout carries data only (a human summary, ``--json``
one document, or ``--jsonl`` the trace records as they are written);
progress and diagnostics go to stderr, progress only when stderr is a
terminal. Exit codes (core.errors.ExitCode): 0 ok, 1 runtime failure,
2 usage, 3 benchmark or dataset missing/invalid, 130 interrupted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from naswot_tui.core.errors import ExitCode, NaswotError

app = typer.Typer(
    add_completion=False,
    help="Neural Architecture Search without Training (NASWOT): a terminal workbench and a headless CLI.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def fail(exc: NaswotError) -> "typer.Exit":
    """One line on stderr, the documented exit code."""
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(int(exc.exit_code))


def _parse_n(text: str) -> tuple[int, bool]:
    """``--n 100`` or ``--n all`` (every architecture once)."""
    from naswot_tui.core.errors import UsageError

    if text.strip().lower() == "all":
        return -1, True
    try:
        return int(text), False
    except ValueError:
        raise UsageError(f"--n takes a whole number or 'all' (got {text!r})") from None


@app.callback(invoke_without_command=True)
def main_command(
    ctx: typer.Context,
    headless: bool = typer.Option(False, "--headless", help="Run a search without the UI and print results."),
    space: str = typer.Option("nb201", "--space", help="Search space: nb201 (= nats-tss), nats-sss, nb101, nds-*."),
    dataset: str = typer.Option("cifar10", "--dataset", help="cifar10 | cifar100 | ImageNet16-120."),
    n: str = typer.Option("100", "--n", help="Architectures scored per repeat, or 'all'."),
    repeats: int = typer.Option(1, "--repeats", help="Independent repeats (the paper: 500)."),
    seed: int = typer.Option(1, "--seed", help="Run seed: draws, batch and initialisation derive from it."),
    unique: bool = typer.Option(False, "--unique", help="Draw without replacement (the reference draws with)."),
    data_root: Optional[str] = typer.Option(None, "--data-root", help="Folder holding the dataset."),
    data: Optional[str] = typer.Option(None, "--data", help="embedded (default) | root | synthetic."),
    split_file: Optional[str] = typer.Option(None, "--split-file", help="cifar10-valid split JSON (train half)."),
    benchmark_file: Optional[str] = typer.Option(None, "--benchmark-file", help="Benchmark file or directory."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | cuda:N | all (one worker per GPU)."),
    batch_size: int = typer.Option(128, "--batch-size", help="Images in the scoring batch (paper: 128)."),
    hook_rule: str = typer.Option("reference", "--hook-rule", help="reference (authors') | relu."),
    proxy: str = typer.Option("naswot", "--proxy", help="Score that ranks candidates."),
    search: str = typer.Option("naswot", "--search", help="naswot | rea | area."),
    pool_size: int = typer.Option(20, "--pool-size", help="AREA: architectures scored first (paper: 20)."),
    seed_top_k: int = typer.Option(10, "--seed-top-k", help="AREA: best k seed the population; REA: population size (paper: 10)."),
    tournament_size: int = typer.Option(5, "--tournament-size", help="REA/AREA tournament size (paper silent; default 5)."),
    budget_s: Optional[float] = typer.Option(None, "--budget-s", help="REA/AREA: simulated training seconds (default 12000 when the benchmark has times)."),
    budget_evals: Optional[int] = typer.Option(None, "--budget-evals", help="REA/AREA: fitness evaluations (default 100 when it has none)."),
    nb101_aggregate: str = typer.Option("mean", "--nb101-aggregate",
                                        help="NB101 ground truth over the 3 repeats: mean | max (the authors')."),
    tf32: bool = typer.Option(False, "--tf32", help="Allow TF32 on GPU (changes scores)."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Reuse and store scores in the score cache."),
    amp: Optional[str] = typer.Option(None, "--amp", help="bf16 | fp16 forward pass (changes scores; never default)."),
    out: Optional[str] = typer.Option(None, "--out", help="Folder for the trace (default: user data dir)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    as_jsonl: bool = typer.Option(False, "--jsonl", help="Print trace records as JSON Lines."),
    resume: Optional[str] = typer.Option(None, "--resume", help="Continue an incomplete trace."),
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if not headless:
        from naswot_tui.tui.app import run_app

        run_app()
        return
    from naswot_tui.core.config import RunConfig
    from naswot_tui.core.engine import Run
    from naswot_tui.core.errors import UsageError

    try:
        if as_json and as_jsonl:
            raise UsageError("--json and --jsonl are exclusive; pick one")
        if resume:
            run = Run.resume(resume, out_dir=None, cache=None if cache else False)
        else:
            n_value, all_archs = _parse_n(n)
            config = RunConfig(
                space=space, dataset=dataset, n=1 if all_archs else n_value, repeats=repeats, seed=seed,
                unique=unique or all_archs, data=data or ("root" if data_root else "embedded"),
                data_root=data_root, split_file=split_file, benchmark_file=benchmark_file, device=device,
                batch_size=batch_size, hook_rule=hook_rule, proxy=proxy, search=search, tf32=tf32, cache=cache, amp=amp,
                nb101_aggregate=nb101_aggregate, out_dir=out,
                pool_size=pool_size, seed_top_k=seed_top_k, tournament_size=tournament_size,
                budget_s=budget_s, budget_evals=budget_evals,
            )
            if all_archs:
                from naswot_tui.core.spaces import get_space

                whole = get_space(config.space, config.benchmark_file)
                if not whole.dense:
                    raise UsageError(f"--n all: space {config.space} cannot be enumerated without its "
                                     "benchmark file; pass --benchmark-file or a number")
                config.n = whole.size
            run = Run(config)
        run.prepare()
    except NaswotError as exc:
        raise fail(exc) from None
    from naswot_tui.headless import run_headless

    code = run_headless(run, mode="json" if as_json else "jsonl" if as_jsonl else "text")
    raise typer.Exit(code)


@app.command("runs")
def runs_command(
    folder: Optional[str] = typer.Option(None, "--dir", help="Folder of traces (default: user data dir)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List saved runs (traces), newest first."""
    from naswot_tui.core.summary import run_summary
    from naswot_tui.core.config import default_runs_dir
    from naswot_tui.core.errors import TraceError
    from naswot_tui.core.trace import list_traces, read_trace

    rows = []
    for path in list_traces(Path(folder) if folder else default_runs_dir()):
        try:
            rows.append(run_summary(read_trace(path)))
        except TraceError as exc:
            typer.echo(f"warning: {exc}", err=True)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        acc = f"{r['acc_mean']:.2f}" if r.get("acc_mean") is not None else "-"
        typer.echo(f"{r['status']:<10} {r['space']:<8} {r['dataset']:<14} N={r['n']:<6} R={r['repeats']:<4} "
                   f"seed={r['seed']:<4} acc={acc:<6} {r['path']}")


# Subcommands contributed by other modules: each exposes ``register(app)``.
_SUBCOMMAND_MODULES: list[str] = ["naswot_tui.commands.compare", "naswot_tui.commands.evaluate",
                                     "naswot_tui.commands.report", "naswot_tui.commands.cache"]


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
