"""The kernel inspector: Enter on a top-K row shows that cell's K as a heatmap.

Beside the heatmap: its score, the binary codes' statistics (units per
hooked layer, fraction active, distinct codes) and, for a ``-inf`` score,
which images share identical codes (or identical rows of K) and why that
makes K singular.

``analyse`` is plain numpy (tested without torch). ``compute_kernel`` builds
the network with the run's initialisation (``core.scoring.init_seed``) and
runs the run's batch through ``core.scoring.hamming_kernel``, so K and the
score are the ones the run computed; torch is imported only inside it, and
it runs in a thread worker. Runs scored by the torch-free fake evaluator
of the UI tests (their ground truth is "fake") get a kernel from seeded
random binary codes, computed the same way.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Static

from naswot_tui.tui.widgets.braille import half_block_heatmap
from naswot_tui.tui.widgets.live import fmt


@dataclass
class LayerCodes:
    units: int
    active: float          # fraction of the layer's (image, unit) codes that are 1
    distinct: int          # distinct codes among the images at this layer


@dataclass
class KernelReport:
    index: int
    arch: str
    kernel: np.ndarray                     # K (B x B), float64
    score: float                           # log |det K|
    layers: list[LayerCodes]
    code_groups: list[list[int]]           # images sharing one code over all layers (groups of 2+)
    row_groups: list[list[int]]            # images whose rows of K are identical (groups of 2+)
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def n_units(self) -> int:
        return int(round(float(np.max(np.diagonal(self.kernel))))) if self.kernel.size else 0

    def why_singular(self) -> list[str]:
        """Plain-language reasons for a -inf score (empty when K is regular)."""
        if math.isfinite(self.score):
            return []
        out = []
        for g in self.code_groups:
            out.append(f"images {_list(g)} have identical binary codes at every layer, so their rows of K "
                       "are equal and K is singular")
        shown = {tuple(g) for g in self.code_groups}
        for g in self.row_groups:
            if tuple(g) not in shown:
                out.append(f"images {_list(g)} have identical rows of K (the same agreements with every "
                           "image), so K is singular")
        if not out:
            out.append("K is singular without two identical rows: its rows are linearly dependent")
        if self.layers and all(layer.active == 0.0 for layer in self.layers):
            out.append("every hooked input is zero (no active unit at any layer): all codes are equal")
        return out


def _list(group: list[int], shown: int = 8) -> str:
    head = ", ".join(str(i) for i in group[:shown])
    return head + (f" … ({len(group)} images)" if len(group) > shown else "")


def _groups(keys: list[Any]) -> list[list[int]]:
    by: dict[Any, list[int]] = {}
    for i, k in enumerate(keys):
        by.setdefault(k, []).append(i)
    return sorted((g for g in by.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))


def analyse(index: int, arch: str, kernel: np.ndarray, layers: list[LayerCodes], code_keys: list[Any],
            source: str = "") -> KernelReport:
    """Score, identical codes and identical rows of K; ``code_keys``: one hashable per image."""
    _, logabsdet = np.linalg.slogdet(kernel)
    rows = [kernel[i].tobytes() for i in range(kernel.shape[0])]
    return KernelReport(index, arch, kernel, float(logabsdet), layers, _groups(code_keys), _groups(rows), source)


class _CodeStats:
    """Observer for ``hamming_kernel``: per hooked tensor, its units, active fraction, distinct codes."""

    def __init__(self, batch_size: int) -> None:
        self.layers: list[LayerCodes] = []
        self.hashes = [hashlib.sha1() for _ in range(batch_size)]

    def __call__(self, x: Any, units: int) -> None:
        if x is None:  # an all-zero input: every image's code is 0 here
            self.layers.append(LayerCodes(units, 0.0, 1))
            return
        codes = (x.detach().reshape(x.shape[0], -1) > 0).cpu().numpy()
        packed = np.packbits(codes, axis=1)
        for h, row in zip(self.hashes, packed, strict=True):
            h.update(row.tobytes())
        self.layers.append(LayerCodes(int(units), float(codes.mean()), len({r.tobytes() for r in packed})))

    def keys(self) -> list[str]:
        return [h.hexdigest() for h in self.hashes]


def fake_kernel(index: int, arch: str, batch_size: int) -> KernelReport:
    """Torch-free: seeded random binary codes (three layers) and their Hamming kernel."""
    rng = np.random.default_rng([7, int(index)])
    b = min(int(batch_size), 32)
    layers, kernel = [], np.zeros((b, b))
    codes_all = []
    for units, p in ((64, 0.3), (128, 0.5), (256, 0.2 + (index % 5) / 10)):
        codes = (rng.random((b, units)) < p).astype(np.float64)
        kernel += codes @ codes.T + (1 - codes) @ (1 - codes).T
        layers.append(LayerCodes(units, float(codes.mean()), len({c.tobytes() for c in codes})))
        codes_all.append(codes)
    keys = [np.concatenate([c[i] for c in codes_all]).tobytes() for i in range(b)]
    return analyse(index, arch, kernel, layers, keys, f"fake codes ({b} images)")


def compute_kernel(config: dict[str, Any], index: int, arch: str, repeat: int = 0) -> KernelReport:
    """K of ``index`` with the run's batch of ``repeat`` and its initialisation (imports torch)."""
    if config.get("space") == "fake" or config.get("fake"):
        return fake_kernel(index, arch, int(config.get("batch_size") or 128))
    import torch

    from naswot_tui.core.data import make_batch
    from naswot_tui.core.scoring import hamming_kernel, init_seed
    from naswot_tui.core.spaces import get_space

    batch = make_batch(config.get("dataset", "cifar10"), config.get("data", "embedded"),
                       int(config.get("batch_size") or 128), int(config.get("seed") or 1), repeat,
                       config.get("data_root"), config.get("split_file"))
    space = get_space(config["space"])
    torch.manual_seed(init_seed(int(config.get("seed") or 1), index))  # the run's initialisation of this cell
    model = space.build(arch, num_classes=1)
    stats = _CodeStats(batch.images.shape[0])
    kernel = hamming_kernel(model, batch.to_tensor(), config.get("hook_rule", "reference"), observer=stats)
    return analyse(index, arch, kernel, stats.layers, stats.keys(), batch.description)


# ------------------------------------------------------------------ the screen


class KernelScreen(Screen[None]):
    """One architecture's K; computed in a thread worker when the screen opens."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self, config: dict[str, Any], index: int, arch: str, score: float | None, repeat: int = 0) -> None:
        super().__init__()
        self.config, self.index, self.arch, self.run_score, self.repeat = config, index, arch, score, repeat
        self.report: KernelReport | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(f"#{self.index} {self.arch}", overflow="fold"), id="kernel-title")
        with Horizontal(id="kernel-body"):
            yield KernelHeatmap(id="kernel-map")
            with VerticalScroll(id="kernel-side"):
                yield Static("computing K…", id="kernel-stats")
        yield Footer()

    def on_mount(self) -> None:
        self._compute()

    @work(thread=True, exclusive=True, group="kernel")
    def _compute(self) -> None:
        try:
            report = compute_kernel(self.config, self.index, self.arch, self.repeat)
        except Exception as exc:  # a bad config or a network that fails: say so on the screen
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show, report)

    def _failed(self, message: str) -> None:
        self.query_one("#kernel-stats", Static).update(Text(f"cannot compute K: {message}", style="red"))

    def _show(self, report: KernelReport) -> None:
        self.report = report
        self.query_one("#kernel-map", KernelHeatmap).show(report.kernel / max(report.n_units, 1))
        self.query_one("#kernel-stats", Static).update(describe(report, self.run_score))


def describe(report: KernelReport, run_score: float | None) -> Text:
    """The side panel: score, K, per-layer codes, and the reasons for a -inf."""
    b = report.kernel.shape[0]
    t = Text()
    t.append("score ", "bold").append(fmt(report.score), "bold")
    if run_score is not None and not report.source.startswith("fake"):  # fake codes have their own score
        t.append(f"  (run: {fmt(run_score)})", "dim")
    t.append(f"\nK {b}x{b}, N = {report.n_units} units; colour = K/N\n")
    off = report.kernel[~np.eye(b, dtype=bool)] / max(report.n_units, 1) if b > 1 else np.zeros(1)
    t.append(f"off-diagonal K/N {off.min():.3f} … {off.max():.3f}\n")
    distinct = b - sum(len(g) - 1 for g in report.code_groups)
    t.append(f"distinct codes {distinct} of {b} images\n", "red" if distinct < b else "")
    t.append(f"{report.source}\n", "dim")
    t.append("\nlayer  units   active  distinct\n", "bold")
    for k, layer in enumerate(report.layers[:60]):
        t.append(f"{k:>5} {layer.units:>6}  {layer.active:6.1%}  {layer.distinct:>5}\n")
    if len(report.layers) > 60:
        t.append(f"… {len(report.layers) - 60} more layers\n", "dim")
    reasons = report.why_singular()
    if reasons:
        t.append("\nwhy -inf\n", "bold red")
        for r in reasons:
            t.append(f"• {r}\n", "red")
    return t


class KernelHeatmap(Widget):
    """K/N as half blocks, square, coloured from dark (few agreements) to yellow (all units agree)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.matrix: np.ndarray | None = None

    def show(self, matrix: np.ndarray) -> None:
        self.matrix = matrix
        self.refresh()

    def render(self) -> Group:
        if self.matrix is None:
            return Group(Text("…", style="dim"))
        width, height = self.content_size.width, self.content_size.height
        side = max(min(width, 2 * height), 2)  # 1 column x 2 half-rows per pixel pair: square pixels
        rows = half_block_heatmap(self.matrix.tolist(), side, max(side // 2, 1), lo=0.0, hi=1.0)
        return Group(*rows)
