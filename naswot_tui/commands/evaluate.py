"""``naswot-tui evaluate TRACE... [--json]``: is the proxy any good here?"""

from __future__ import annotations

import json

import typer

# Beyond the maximum a bootstrap takes hours (and its intervals stop improving long before).
MIN_RESAMPLES, MAX_RESAMPLES = 10, 100_000


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_command(
        traces: list[str] = typer.Argument(..., help="Trace files (see 'naswot-tui runs')."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
        resamples: int = typer.Option(1000, "--resamples",
                                      help="Bootstrap resamples for the 95% intervals (up to 500 architectures; "
                                           "above, the exact jackknife SE gives them)."),
        seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
        baselines: bool = typer.Option(True, "--baselines/--no-baselines",
                                       help="Also rank by params and FLOPs of the same architectures."),
    ) -> None:
        """Kendall tau / Spearman rho (with 95% CIs on all architectures), top-1%/5% hit rates,
        nDCG@10, top-10 regret and the argmax's accuracy, for each proxy against each known accuracy."""
        from naswot_tui.commands.common import fail
        from naswot_tui.core.errors import NaswotError, UsageError
        from naswot_tui.core.evaluate import evaluate_trace, format_evaluation
        from naswot_tui.core.trace import json_safe, read_trace

        try:
            if not MIN_RESAMPLES <= resamples <= MAX_RESAMPLES:
                raise UsageError(f"--resamples must be {MIN_RESAMPLES} to {MAX_RESAMPLES:,} (got {resamples}); "
                                 "1000 gives intervals to about 0.01")
            reports = [evaluate_trace(read_trace(path), ("params", "flops") if baselines else (),
                                      resamples=resamples, seed=seed) for path in traces]
        except NaswotError as exc:
            raise fail(exc) from None
        if as_json:
            typer.echo(json.dumps(json_safe({"traces": [r.to_json() for r in reports]}), indent=2, allow_nan=False))
        else:
            typer.echo("\n\n".join(format_evaluation(r) for r in reports))
