"""What every plot kind shares: the optional matplotlib import, a figure,
and saving it with the traces, config and app version in its metadata."""

from __future__ import annotations

import json
from pathlib import Path

from naswot_tui.core.errors import UsageError
from naswot_tui.core.trace import Trace
from naswot_tui.plots import FORMATS

INSTALL_HINT = 'pip install "naswot-tui[plots]"'
# PNG text chunk / SVG / PDF field holding the figure's JSON summary.
SUMMARY_KEY = "Description"


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display), or a usage error."""
    try:
        import matplotlib
    except ImportError:
        raise UsageError(f"plots need matplotlib, an optional extra: {INSTALL_HINT}") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def output_format(out: str | Path) -> str:
    suffix = Path(out).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UsageError(f"--out {out}: unknown figure format {suffix or '(none)'!r}; "
                         f"end the file name with .{', .'.join(FORMATS)}")
    return suffix


def trace_label(trace: Trace) -> str:
    """A short name for legends: the trace file's stem."""
    return trace.path.stem


def app_version() -> str:
    from naswot_tui import __version__

    return __version__


def metadata(kind: str, traces: list[Trace], summary: dict, fmt: str) -> dict:
    """savefig(metadata=...) for ``fmt``: traces and kind in the title, a JSON
    document (traces, their configs, app version, what was plotted) in the
    description. Each backend accepts its own keys only."""
    doc = {"kind": kind, "app": "naswot-tui", "app_version": app_version(),
           "traces": [str(t.path) for t in traces],
           "configs": [t.header.get("config", {}) for t in traces], "plotted": summary}
    title = f"naswot-tui {kind}: " + ", ".join(t.path.name for t in traces)
    text = json.dumps(doc, allow_nan=False, default=str)
    creator = f"naswot-tui {app_version()}"
    if fmt == "png":
        return {"Title": title, SUMMARY_KEY: text, "Software": creator}
    if fmt == "svg":
        return {"Title": title, "Description": text, "Creator": creator}
    return {"Title": title, "Subject": text, "Creator": creator}  # pdf


def save(fig, out: str | Path, kind: str, traces: list[Trace], summary: dict) -> Path:
    """Write ``fig`` to ``out`` (format from its suffix) with metadata; close it."""
    fmt = output_format(out)
    out = Path(out)
    if out.parent and not out.parent.is_dir():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist; create it first")
    plt = pyplot()
    try:
        fig.savefig(out, format=fmt, dpi=150, metadata=metadata(kind, traces, summary, fmt))
    except OSError as exc:
        from naswot_tui.core.errors import NaswotError

        raise NaswotError(f"cannot write {out}: {exc}") from None
    finally:
        plt.close(fig)
    return out


def grid(n_rows: int, n_cols: int, width: float = 4.0, height: float = 3.4):
    """A figure of n_rows x n_cols panels; always a 2-D array of axes."""
    plt = pyplot()
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width * n_cols, height * n_rows), squeeze=False)
    return fig, axes
