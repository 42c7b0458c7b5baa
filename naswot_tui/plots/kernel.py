"""``--kind kernel``: normalised kernels K / N of untrained cells, grouped by
final accuracy (the paper's Fig. 1).

The trace's distinct scored architectures with a known accuracy are sorted
by accuracy and cut into ``bands`` equal-count bands; from each band
``per_band`` cells evenly spaced through it are drawn. Each K comes from the
trace's kernel side file (``core.kernels``) when it holds that cell for the
same batch, otherwise it is recomputed with the run's own scoring code: the
same batch (``core.data.make_batch`` with the run's dataset, data source,
batch size, seed and the cell's repeat), the same initialisation
(``core.scoring.init_seed``) and the same hook rule. The panel shows the
score recomputed from that K, beside the one in the trace.
"""

from __future__ import annotations

import numpy as np

from naswot_tui.core.errors import UsageError
from naswot_tui.core.evaluate import scored_architectures
from naswot_tui.core.kernels import StoredKernel, read_kernels, stored_kernel
from naswot_tui.core.trace import Trace
from naswot_tui.plots.figure import grid, trace_label

DEFAULT_BANDS = 4
DEFAULT_PER_BAND = 3


def pick_cells(trace: Trace, bands: int = DEFAULT_BANDS, per_band: int = DEFAULT_PER_BAND) -> list[list[dict]]:
    """Per band (lowest accuracy first): the chosen cells, each {index, arch, score, acc, repeat}."""
    if bands < 1 or per_band < 1:
        raise UsageError(f"--bands and --per-band must be at least 1 (got {bands}, {per_band})")
    scored, _ = scored_architectures(trace)
    first = {}
    for s in trace.scores:
        if s.index in scored and s.index not in first and s.acc is not None:
            first[s.index] = s
    cells = sorted(first.values(), key=lambda s: (s.acc, s.index))
    if len(cells) < bands:
        raise UsageError(f"kernel: {trace.path.name} has {len(cells)} scored cells with a known accuracy, "
                         f"fewer than --bands {bands}; lower --bands or score more cells")
    out = []
    for band in np.array_split(np.arange(len(cells)), bands):
        take = band[np.unique(np.linspace(0, len(band) - 1, min(per_band, len(band))).round().astype(int))]
        out.append([{"index": cells[i].index, "arch": cells[i].arch, "score": cells[i].score,
                     "acc": cells[i].acc, "repeat": cells[i].repeat} for i in take])
    return out


def batch_fingerprint(trace: Trace, repeat: int) -> str:
    start = trace.repeat_starts.get(repeat) or {}
    return str(start.get("batch_fingerprint") or trace.header.get("batch_fingerprint") or "")


class KernelSource:
    """Kernels of one trace: from its side file when it has them, else recomputed."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.stored = read_kernels(trace.path)
        self._batches: dict[int, object] = {}
        self._space = None
        self.recomputed = 0
        self.from_file = 0

    def kernel(self, cell: dict) -> StoredKernel:
        want = batch_fingerprint(self.trace, cell["repeat"])
        hit = self.stored.get(cell["index"])
        if hit is not None and (not want or hit.fingerprint == want):
            self.from_file += 1
            return hit
        self.recomputed += 1
        return self._recompute(cell)

    def _recompute(self, cell: dict) -> StoredKernel:
        import torch

        from naswot_tui.core.data import make_batch
        from naswot_tui.core.scoring import hamming_kernel, init_seed
        from naswot_tui.core.spaces import get_space

        c = self.trace.config
        repeat = cell["repeat"]
        if repeat not in self._batches:
            self._batches[repeat] = make_batch(c.dataset, c.data, c.batch_size, c.seed, repeat, c.data_root,
                                               c.split_file)
        batch = self._batches[repeat]
        if self._space is None:
            self._space = get_space(c.space, c.benchmark_file)
        torch.manual_seed(init_seed(c.seed, cell["index"]))  # the run's initialisation of this cell
        model = self._space.build(cell["arch"], num_classes=1)
        hook_rule = self.trace.header.get("hook_rule", c.hook_rule)
        kernel = hamming_kernel(model, batch.to_tensor(), hook_rule)
        return stored_kernel(cell["index"], repeat, batch.fingerprint, kernel)


def draw(traces: list[Trace], options: dict):
    from naswot_tui.core.scoring import logdet

    if len(traces) != 1:
        raise UsageError(f"kernel: give one trace (got {len(traces)}); its cells are grouped by accuracy")
    trace = traces[0]
    bands = pick_cells(trace, options.get("bands", DEFAULT_BANDS), options.get("per_band", DEFAULT_PER_BAND))
    source = KernelSource(trace)
    n_cols = max(len(b) for b in bands)
    fig, axes = grid(len(bands), n_cols, width=2.6, height=2.6)
    summary = []
    image = None
    for row, cells in enumerate(reversed(bands)):  # best band on top, as the paper
        lo, hi = min(c["acc"] for c in cells), max(c["acc"] for c in cells)
        for col in range(n_cols):
            ax = axes[row][col]
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(cells):
                ax.set_axis_off()
                continue
            cell = cells[col]
            k = source.kernel(cell)
            score = logdet(k.kernel())
            image = ax.imshow(k.normalised, vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest")
            ax.set_title(f"acc {cell['acc']:.1f}%  score {score:.1f}", fontsize=7)
            summary.append({"index": cell["index"], "arch": cell["arch"], "acc": cell["acc"],
                            "repeat": cell["repeat"], "trace_score": cell["score"], "kernel_score": score,
                            "n_units": k.n_units, "band": len(bands) - 1 - row})
        axes[row][0].set_ylabel(f"acc {lo:.1f}-{hi:.1f}%", fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, label="K / N")
    fig.suptitle(f"{trace_label(trace)}: normalised kernels K/N by accuracy band "
                 f"(batch {trace.config.batch_size})", fontsize=9)
    return fig, {"cells": summary, "from_side_file": source.from_file, "recomputed": source.recomputed}
