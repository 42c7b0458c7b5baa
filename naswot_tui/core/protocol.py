"""``report --protocol paper``: the paper's Table 2 N-sweep from whole-space scores.

The paper (Mellor et al., ICML 2021, Table 2) runs NASWOT on NAS-Bench-201
with N = 10, 100 and 1000, 500 times each, picks by the score of CIFAR-10
images and reports the pick's test accuracy on CIFAR-10, CIFAR-100 and
ImageNet16-120. When the score of every cell is known (the shipped score
pack, a pack named with ``--scores``, or a score cache that holds the whole
space) the protocol needs no network at all: each repeat's draw is
``core.search.sample_indices`` (with replacement, as the reference; the
run's seed and the repeat number seed it, exactly as ``naswot-tui
--headless`` draws), the pick is the argmax of the known scores (ties keep
the first drawn, NaN never wins) and its accuracies are looked up. The
"random pick" and "optimal in-sample" rows are computed from the same
draws: the first candidate of each draw (a uniform random cell), and the
best accuracy in the draw on each dataset.

What differs from the paper: one fixed batch of 128 embedded CIFAR-10
test-set images scores every cell (the paper drew a training minibatch per
run), and each cell's weights come from its seeded initialisation (seed 1),
so a cell has one score wherever it is drawn.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from naswot_tui.core import paper
from naswot_tui.core.benchmarks import DATASETS, EmbeddedNB201
from naswot_tui.core.errors import ExitCode, NaswotError
from naswot_tui.core.score_pack import PACK_CONTEXT, load_score_pack
from naswot_tui.core.search import sample_indices
from naswot_tui.core.spaces import get_space

NS = (10, 100, 1000)
REPEATS = paper.RUNS_PER_ROW
# The command that scores the whole space into the cache (what the missing-scores message names).
FILL_COMMAND = "naswot-tui --headless --space nb201 --dataset cifar10 --n all --unique --seed 1 --device cpu"


class ScoresMissing(NaswotError):
    """Whole-space scores are not available yet: the protocol would have to score cells first."""

    exit_code = ExitCode.MISSING


@dataclass(frozen=True)
class SpaceScores:
    """A score per NB201 cell (NaN where unknown) and where they came from."""

    scores: np.ndarray
    known: np.ndarray
    source: str

    @property
    def missing(self) -> int:
        return int((~self.known).sum())


def _cache_scores(size: int, cache_path: str | Path | None) -> tuple[dict[int, float | None], str]:
    """Scores the cache holds for the pack's context (this CPU's kind, fp32, this version); never creates a cache."""
    import torch

    from naswot_tui import __version__
    from naswot_tui.core.cache import FILENAME, INIT_POLICY, CacheKey, ScoreCache, device_kind
    from naswot_tui.core.config import default_cache_dir
    from naswot_tui.core.data import make_batch

    path = Path(cache_path) if cache_path else default_cache_dir() / FILENAME
    if not path.is_file():
        return {}, str(path)
    c = PACK_CONTEXT
    batch = make_batch(str(c["dataset"]), str(c["data"]), int(c["batch_size"]), int(c["seed"]))
    key = CacheKey(space=str(c["space"]), data_fingerprint=batch.fingerprint, batch_size=int(c["batch_size"]),
                   hook_rule=str(c["hook_rule"]), proxy=str(c["proxy"]),
                   init_policy=f"{INIT_POLICY}:seed={c['seed']}", dtype="fp32",
                   device_kind=device_kind(torch.device("cpu")), version=__version__)
    with ScoreCache(path) as cache:
        rows = cache.load(key)
    return {i: r.score for i, r in rows.items() if 0 <= i < size}, str(path)


def space_scores(pack_path: str | Path | None = None, cache_path: str | Path | None = None) -> SpaceScores:
    """Every NB201 cell's score: the pack first, then the score cache for the cells it lacks."""
    size = get_space("nb201").size
    pack = load_score_pack(pack_path)
    if pack is not None:
        scores, known = pack.dense(size)
        sources = [f"score pack {Path(pack.source).name}"]
    else:
        scores, known = np.full(size, np.nan), np.zeros(size, dtype=bool)
        sources = []
    if not known.all() and pack_path is None:
        cached, where = _cache_scores(size, cache_path)
        fill = [i for i in cached if not known[i]]
        for i in fill:
            value = cached[i]
            scores[i] = np.nan if value is None else value
            known[i] = True
        if fill:
            sources.append(f"score cache {where} ({len(fill)} cells)")
    return SpaceScores(scores, known, "; ".join(sources) or "none")


def require_complete(space: SpaceScores) -> None:
    if space.missing:
        raise ScoresMissing(
            f"the paper protocol needs the score of every NB201 cell and {space.missing} of "
            f"{len(space.scores)} are not known (have: {space.source}); score them into the cache first "
            f"(`{FILL_COMMAND}`, hours on a CPU) or name a score pack with --scores FILE.npz")


def _argmax_first(values: np.ndarray) -> np.ndarray:
    """Per row, the first position of the maximum; NaN never wins (is_better's rule)."""
    key = np.where(np.isnan(values), -np.inf, values)
    return np.asarray(np.argmax(key, axis=1), dtype=np.int64)


def _mean_std(values: np.ndarray) -> dict[str, float | int]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "n": int(values.size)}


def draws(n: int, repeats: int, seed: int) -> np.ndarray:
    """The (repeats, n) candidate indices, as the headless NASWOT search draws them."""
    space = get_space("nb201")
    return np.asarray([sample_indices(space, n, seed, r) for r in range(repeats)], dtype=np.int64)


def run_protocol(space: SpaceScores, seed: int = 1, ns: tuple[int, ...] = NS, repeats: int = REPEATS) -> dict[str, Any]:
    """The Table 2 sweep over ``ns`` (JSON-ready dict; ``to_markdown`` prints it)."""
    require_complete(space)
    started = time.perf_counter()
    table = EmbeddedNB201()
    accs: dict[str, np.ndarray] = {}
    for ds in DATASETS:
        col = table.column(ds, "test", 200)
        if col is not None:
            accs[ds] = np.asarray(col, dtype=np.float64)
    sweep = []
    for n in ns:
        drawn = draws(n, repeats, seed)
        rows = np.arange(repeats)
        picks = drawn[rows, _argmax_first(space.scores[drawn])]
        published = paper.NASWOT_TABLE2.get(n)
        entry: dict[str, Any] = {"n": n, "repeats": repeats, "naswot": {}, "random": {}, "optimal": {}, "paper": {},
                       "delta": {}, "flag": {}}
        for ds, col in accs.items():
            ours = _mean_std(col[picks])
            entry["naswot"][ds] = ours
            entry["random"][ds] = _mean_std(col[drawn[:, 0]])
            entry["optimal"][ds] = _mean_std(col[drawn].max(axis=1))
            if published and ds in published.test:
                p_mean, p_std = published.test[ds]
                entry["paper"][ds] = {"mean": p_mean, "std": p_std}
                entry["delta"][ds] = ours["mean"] - p_mean
                entry["flag"][ds] = abs(ours["mean"] - p_mean) > p_std
        entry["paper_time_s"] = published.time_s if published else None
        entry["pick_minus_inf"] = int(np.isneginf(space.scores[picks]).sum())
        sweep.append(entry)
    best = {ds: float(np.max(col)) for ds, col in accs.items()}
    return {
        "protocol": "paper", "space": "nb201", "scores": space.source,
        "scored_with": dict(PACK_CONTEXT), "seed": seed, "repeats": repeats, "ns": list(ns),
        "draws": "core.search.sample_indices(seed, repeat): uniform with replacement",
        "sweep": sweep, "benchmark_best": best,
        "paper_reference_rows": {k: dict(v) for k, v in paper.REFERENCE_ROWS.items()},
        "elapsed_s": time.perf_counter() - started,
        "notes": [
            "Paper: Mellor et al., ICML 2021, Table 2 (NAS-Bench-201, 500 runs, test accuracy).",
            "Ours: picks by the NASWOT score of 128 embedded CIFAR-10 test-set images (one batch for "
            "every run, seeded initialisation); accuracies from the embedded 200-epoch NB201 table.",
            "Random pick: the first cell of each draw. Optimal in-sample: the draw's best accuracy on "
            "each dataset. Both use the same draws as the NASWOT rows.",
            "A delta is flagged (bold) when it exceeds the paper's std.",
        ],
    }


SHORT = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "ImageNet16-120": "ImageNet16-120"}


def _ms(value: dict[str, Any] | None) -> str:
    if not value:
        return "-"
    if value.get("std") is None:
        return f"{value['mean']:.2f}"
    return f"{value['mean']:.2f} ± {value['std']:.2f}"


def to_markdown(result: dict[str, Any]) -> str:
    """The sweep as a Markdown table: ours beside the paper, row by row."""
    datasets = [ds for ds in DATASETS if ds in result["benchmark_best"]]
    head = "| Method | source | runs | " + " | ".join(SHORT[ds] for ds in datasets) + " |"
    lines = ["## The paper's Table 2 protocol (NAS-Bench-201, test accuracy %)", "",
             f"Scores: {result['scores']}. Draws: seed {result['seed']}, {result['repeats']} runs per N, "
             "with replacement.", "", head, "|" + "---|" * (3 + len(datasets))]

    def line(method: str, source: str, runs: object, cells: dict[str, Any]) -> str:
        return f"| {method} | {source} | {runs} | " + " | ".join(_ms(cells.get(ds)) for ds in datasets) + " |"

    ref = result["paper_reference_rows"]
    for k, entry in enumerate(result["sweep"]):
        n, runs = entry["n"], entry["repeats"]
        if k == 0:  # the first cell of each draw: the same for every N (the draws share their start)
            lines.append(line("Random pick (first cell drawn)", "ours", runs, entry["random"]))
            lines.append(line("Random pick", "paper", "-", {ds: {"mean": v} for ds, v in ref["Random pick"].items()}))
        lines.append(line(f"NASWOT (N={n})", "ours", runs, entry["naswot"]))
        if entry["paper"]:
            lines.append(line(f"NASWOT (N={n})", "paper", paper.RUNS_PER_ROW, entry["paper"]))
            deltas = []
            for ds in datasets:
                d = entry["delta"].get(ds)
                text = "" if d is None else f"{d:+.2f}"
                deltas.append(f"**{text}**" if text and entry["flag"][ds] else text)
            lines.append("| Δ ours − paper | | | " + " | ".join(deltas) + " |")
        lines.append(line(f"Optimal in-sample (N={n})", "ours", runs, entry["optimal"]))
        if n == 100:
            lines.append(line("Optimal in-sample (N=100)", "paper", "-",
                              {ds: {"mean": v} for ds, v in ref["Optimal in-sample (N=100)"].items()}))
    lines.append(line("Benchmark best", "table", "-", {ds: {"mean": v} for ds, v in result["benchmark_best"].items()}))
    lines.append(line("Benchmark best", "paper", "-", {ds: {"mean": v} for ds, v in ref["Benchmark best"].items()}))
    lines += [""] + [f"- {note}" for note in result["notes"]]
    lines.append(f"- Computed in {result['elapsed_s']:.2f} s.")
    return "\n".join(lines) + "\n"
