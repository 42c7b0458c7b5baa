"""Figures from traces (``naswot-tui plot``): the paper's pictures for any run.

One module per kind; each exposes ``draw(traces, options) -> Figure`` and
returns, beside the figure, a small JSON-able summary of what it plotted
(Kendall taus, group means...) that goes into the file's metadata, so a
figure carries its own numbers. matplotlib is an optional extra: nothing
here imports it at module scope, and neither core nor the TUI imports this
package at module scope.
"""

from __future__ import annotations

KINDS = ("scatter", "curves", "kernel", "proxies", "sweep")
FORMATS = ("png", "svg", "pdf")
