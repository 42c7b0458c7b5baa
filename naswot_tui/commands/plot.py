"""``naswot-tui plot TRACE... --kind KIND --out FILE``: the paper's figures from traces.

Needs the ``plots`` extra (matplotlib); without it, a one-line usage error
naming ``pip install "naswot-tui[plots]"`` (exit 2).
"""

from __future__ import annotations

import importlib

import typer

from naswot_tui.plots import FORMATS, KINDS


def register(app: typer.Typer) -> None:
    @app.command("plot")
    def plot_command(
        traces: list[str] = typer.Argument(..., help="Trace files (see 'naswot-tui runs')."),
        kind: str = typer.Option(..., "--kind", help=" | ".join(KINDS) + "."),
        out: str = typer.Option(..., "--out", help="Figure file: ." + ", .".join(FORMATS) + "."),
        bands: int = typer.Option(4, "--bands", help="kernel: accuracy bands (rows)."),
        per_band: int = typer.Option(3, "--per-band", help="kernel: cells per band (columns)."),
    ) -> None:
        """Draw a figure: scatter (score vs accuracy, Kendall tau), curves (best so far vs N and time),
        kernel (K/N heatmaps by accuracy band), proxies (proxy x proxy Kendall), sweep (Table 2 N-sweep)."""
        from naswot_tui.commands.common import fail
        from naswot_tui.core.errors import NaswotError, UsageError
        from naswot_tui.core.trace import read_trace

        try:
            if kind not in KINDS:
                raise UsageError(f"--kind {kind!r} is not a figure; choose one of: {', '.join(KINDS)}")
            from naswot_tui.plots.figure import output_format, pyplot, save

            output_format(out)
            pyplot()  # the extra's error before any trace is read
            loaded = [read_trace(p) for p in traces]
            module = importlib.import_module(f"naswot_tui.plots.{kind}")
            fig, summary = module.draw(loaded, {"bands": bands, "per_band": per_band})
            path = save(fig, out, kind, loaded, summary)
        except NaswotError as exc:
            raise fail(exc) from None
        typer.echo(str(path))
