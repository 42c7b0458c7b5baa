"""``naswot-tui report TRACE... [--format markdown|json]``: the paper's Table 2 beside ours."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_command(
        traces: list[str] = typer.Argument(..., help="Trace files (see 'naswot-tui runs')."),
        fmt: str = typer.Option("markdown", "--format", help="markdown | json."),
    ) -> None:
        """Search results in the shape of the paper's Table 2, with its published numbers alongside."""
        from naswot_tui.commands.common import fail
        from naswot_tui.core.errors import NaswotError, UsageError
        from naswot_tui.core.report import build_report, to_markdown
        from naswot_tui.core.trace import json_safe, read_trace

        try:
            if fmt not in ("markdown", "json"):
                raise UsageError(f"--format must be markdown or json (got {fmt!r})")
            report = build_report([read_trace(path) for path in traces])
        except NaswotError as exc:
            raise fail(exc) from None
        if fmt == "json":
            typer.echo(json.dumps(json_safe(report), indent=2, allow_nan=False))
        else:
            typer.echo(to_markdown(report), nl=False)
