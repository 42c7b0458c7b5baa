"""``--kind proxies``: the proxy x proxy Kendall tau matrix.

Reads the ``"proxies": {name: value}`` field of score records. A value is
a number, null (failed), or, for -inf/NaN, what ``events.encode_score``
makes of it (``{"score": null, "score_inf": -1}`` / ``{"score": null,
"score_nan": true}``): the same lossless encoding as ``score``. Architectures
are the distinct ones of ``scored_architectures`` that carry every proxy with
a non-NaN value; -inf ranks last.
"""

from __future__ import annotations

import math

import numpy as np

from naswot_tui.core.errors import UsageError
from naswot_tui.core.evaluate import kendall_matrix as evaluate_kendall_matrix
from naswot_tui.core.evaluate import scored_architectures
from naswot_tui.core.events import decode_score
from naswot_tui.core.trace import Trace
from naswot_tui.plots.figure import grid, trace_label


def decode_proxy_value(value) -> float | None:
    """A proxy value as stored in a score record's ``proxies`` dict."""
    if value is None:
        return None
    if isinstance(value, dict):
        return decode_score(value)
    return float(value)


def proxy_values(trace: Trace) -> dict[str, np.ndarray]:
    """name -> values over the architectures that have every proxy (first occurrence)."""
    scored, _ = scored_architectures(trace)
    first: dict[int, dict] = {}
    for s in trace.scores:
        raw = s.proxies if s.proxies is not None else s.extra.get("proxies")  # decoded by events.from_record
        if s.index in scored and s.index not in first and isinstance(raw, dict):
            first[s.index] = {k: decode_proxy_value(v) for k, v in raw.items()}
    if not first:
        return {}
    names = sorted(set().union(*(d.keys() for d in first.values())))
    rows = [d for d in first.values()
            if all(d.get(n) is not None and not math.isnan(d[n]) for n in names)]
    return {n: np.array([d[n] for d in rows], dtype=np.float64) for n in names}


def kendall_matrix(values: dict[str, np.ndarray]) -> np.ndarray:
    """``core.evaluate.kendall_matrix`` as an array (NaN where tau is undefined) for imshow."""
    return np.array([[np.nan if tau is None else tau for tau in row] for row in evaluate_kendall_matrix(values)],
                    dtype=np.float64).reshape(len(values), len(values))


def draw(traces: list[Trace], options: dict):
    found = [(t, proxy_values(t)) for t in traces]
    for trace, values in found:
        if len(values) < 2:
            have = ", ".join(values) or "none"
            raise UsageError(f"proxies: {trace.path.name} has {len(values)} proxies in its score records ({have}); "
                             "this figure needs 2 or more: a run that scores several proxies")
    fig, axes = grid(1, len(found), width=5.0, height=4.4)
    summary = []
    for k, (trace, values) in enumerate(found):
        ax = axes[0][k]
        names = list(values)
        mat = kendall_matrix(values)
        image = ax.imshow(mat, vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(j, i, "-" if np.isnan(mat[i, j]) else f"{mat[i, j]:.2f}", ha="center", va="center",
                        fontsize=7)
        n = len(next(iter(values.values())))
        ax.set_title(f"{trace_label(trace)}\nKendall tau between proxies (n = {n})", fontsize=8)
        fig.colorbar(image, ax=ax, shrink=0.8)
        summary.append({"trace": str(trace.path), "proxies": names, "n": n,
                        "kendall_tau": [[None if np.isnan(x) else float(x) for x in row] for row in mat]})
    fig.tight_layout()
    return fig, {"matrices": summary}
