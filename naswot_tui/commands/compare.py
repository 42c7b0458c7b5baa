"""``naswot-tui compare A B ... [--json]``: the Compare screen without the UI."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare_command(
        traces: list[str] = typer.Argument(..., help="2 to 10 trace files (see 'naswot-tui runs')."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
        diff_only: bool = typer.Option(False, "--diff-only", help="Only rows whose values differ."),
        curves: bool = typer.Option(True, "--curves/--no-curves", help="Include best-so-far curves in --json."),
    ) -> None:
        """Compare saved runs: config, results, best-so-far, score/accuracy rank correlation."""
        from naswot_tui.commands.common import fail
        from naswot_tui.core.comparison import compare_paths, format_table
        from naswot_tui.core.errors import NaswotError
        from naswot_tui.core.trace import json_safe

        try:
            comp = compare_paths(traces, curves=as_json and curves)
        except NaswotError as exc:
            raise fail(exc) from None
        if as_json:
            doc = comp.to_json(curves=curves)
            if diff_only:
                doc["rows"] = [r for r in doc["rows"] if r["differs"]]
            typer.echo(json.dumps(json_safe(doc), indent=2, allow_nan=False))  # -inf/NaN as traces store them
        else:
            typer.echo(format_table(comp, diff_only=diff_only))
