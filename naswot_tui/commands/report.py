"""``naswot-tui report TRACE... [--format markdown|json]``: the paper's Table 2 beside ours.

``--protocol paper`` needs no trace: it replays the paper's N-sweep (N = 10,
100, 1000; 500 runs each) over whole-space NB201 scores (core/protocol.py).
"""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_command(
        traces: list[str] | None = typer.Argument(None, help="Trace files (see 'naswot-tui runs')."),
        fmt: str = typer.Option("markdown", "--format", help="markdown | json."),
        protocol: str | None = typer.Option(
            None, "--protocol",
            help="paper: the paper's Table 2 sweep (N=10, 100, 1000; 500 runs) from whole-space NB201 scores "
                 "(the shipped score pack or the score cache); takes no traces."),
        seed: int = typer.Option(1, "--seed", help="Seed of the protocol's draws (--protocol paper)."),
        repeats: int = typer.Option(500, "--repeats", help="Runs per N (--protocol paper; the paper: 500)."),
        scores: str | None = typer.Option(
            None, "--scores", help="A score pack .npz (arrays index, score) instead of the shipped one."),
    ) -> None:
        """Search results in the shape of the paper's Table 2, with its published numbers alongside."""
        from naswot_tui.commands.common import fail
        from naswot_tui.core.errors import NaswotError, UsageError

        try:
            if fmt not in ("markdown", "json"):
                raise UsageError(f"--format must be markdown or json (got {fmt!r})")
            if protocol is not None:
                text = _protocol(protocol, traces, fmt, seed, repeats, scores)
            else:
                text = _traces(traces, fmt)
        except NaswotError as exc:
            raise fail(exc) from None
        typer.echo(text, nl=fmt == "json")


def _traces(traces: list[str] | None, fmt: str) -> str:
    from naswot_tui.core.errors import UsageError
    from naswot_tui.core.report import build_report, to_markdown
    from naswot_tui.core.trace import json_safe, read_trace

    if not traces:
        raise UsageError("report needs trace files (naswot-tui report TRACE...) or --protocol paper")
    report = build_report([read_trace(path) for path in traces])
    return json.dumps(json_safe(report), indent=2, allow_nan=False) if fmt == "json" else to_markdown(report)


def _protocol(protocol: str, traces: list[str] | None, fmt: str, seed: int, repeats: int,
              scores: str | None) -> str:
    from naswot_tui.core.errors import UsageError
    from naswot_tui.core.protocol import run_protocol, space_scores, to_markdown
    from naswot_tui.core.trace import json_safe

    if protocol != "paper":
        raise UsageError(f"--protocol must be paper (got {protocol!r})")
    if traces:
        raise UsageError("--protocol paper takes no trace files; drop them or drop --protocol")
    if not 1 <= repeats <= 100_000:
        raise UsageError(f"--repeats must be between 1 and 100000 (got {repeats}); the paper uses 500")
    result = run_protocol(space_scores(scores), seed=seed, repeats=repeats)
    return json.dumps(json_safe(result), indent=2, allow_nan=False) if fmt == "json" else to_markdown(result)
