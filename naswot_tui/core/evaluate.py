"""How good is a proxy here? Rank correlations, top-k hits and argmax picks.

``evaluate_trace`` compares every proxy of a trace with every accuracy the
ground truth knows (test and validation, each dataset; 200 epochs, plus the
12-epoch columns where they are all the benchmark has):

- Kendall tau-b and Spearman rho, each with a seeded percentile-bootstrap 95%
  interval (resampling architectures);
- top-k hit rates: of the true top 1% / 5% (k = ceil(fraction * n)), how many
  are in the proxy's top k;
- the accuracy of the proxy's argmax, beside the sample's best and mean.

Proxies: the trace's own score (``naswot`` or ``naswot-relu``, or whatever
``--proxy`` ranked by), and ``params`` / ``flops`` computed at evaluate time by
rebuilding each architecture from its string on PyTorch's ``meta`` device (no
weights are allocated: shapes only, about 0.1 s per NB201 network), with the
benchmark's conventions (10/100/120-class head, 32x32 or 16x16 input). The
results are cached per (space, dataset, arch) in the cache dir, so a second
evaluate is instant. Computing them here keeps traces and the engine
unchanged and makes any old NASWOT trace comparable with both baselines.

Architectures: each distinct architecture the proxy scored (REA/AREA
training steps carry no proxy score and are skipped). A score of ``-inf``
(a cell whose output is cut off from its input) is kept and ranks last; a
failed (null) or NaN score drops the architecture for every proxy, so all
proxies are compared on the same set.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from naswot_tui.core.benchmarks import DATASETS, GroundTruth, ground_truth_for
from naswot_tui.core.compare import kendall_tau
from naswot_tui.core.errors import BenchmarkError
from naswot_tui.core.trace import Trace

TOP_FRACTIONS = (0.01, 0.05)
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
# Above this many architectures the Kendall interval is bootstrapped on a
# seeded subsample (the pairwise matrices grow as n^2); the point value uses all.
KENDALL_BOOTSTRAP_MAX_N = 2500


@dataclass(frozen=True)
class Target:
    dataset: str
    split: str
    epochs: int

    @property
    def label(self) -> str:
        return f"{self.dataset} {self.split}" + ("" if self.epochs == 200 else f"@{self.epochs}")


# ------------------------------------------------------------------ statistics


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their mean rank (vectorised)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse]


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    a, b = a - a.mean(), b - b.mean()
    denom = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return None if denom == 0 else float((a * b).sum() / denom)


def spearman_rho(x, y) -> float | None:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 3:
        return None
    return _pearson(average_ranks(x), average_ranks(y))


def _sign_matrices(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sx = np.sign(x[:, None] - x[None, :]).astype(np.float32)
    sy = np.sign(y[:, None] - y[None, :]).astype(np.float32)
    return sx * sy, np.abs(sx), np.abs(sy)


def _weighted_tau(weights: np.ndarray, concord: np.ndarray, untied_x: np.ndarray, untied_y: np.ndarray) -> np.ndarray:
    """Tau-b of resamples given as multiplicity vectors (rows of ``weights``).

    A resample repeating architecture i w_i times has, over its pairs of
    positions, sum_ij w_i w_j sign(dx) sign(dy) / 2 as (concordant - discordant)
    and w^T |sign(dx)| w / 2 pairs untied in x. Entries are integers below
    2^24, so float32 products are exact.
    """
    w = weights.astype(np.float32)
    num = ((w @ concord) * w).sum(axis=1, dtype=np.float64)
    dx = ((w @ untied_x) * w).sum(axis=1, dtype=np.float64)
    dy = ((w @ untied_y) * w).sum(axis=1, dtype=np.float64)
    denom = np.sqrt(dx * dy)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, num / np.where(denom > 0, denom, 1), np.nan)


def _percentile_ci(samples: np.ndarray) -> list[float] | None:
    samples = samples[np.isfinite(samples)]
    if len(samples) == 0:
        return None
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return [float(lo), float(hi)]


def bootstrap_correlations(x, y, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict:
    """Kendall tau-b and Spearman rho with percentile-bootstrap 95% intervals."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(x)
    out = {"kendall_tau": {"value": None, "ci95": None}, "spearman_rho": {"value": None, "ci95": None}}
    if n < 3:
        return out
    rng = np.random.default_rng([int(seed), n])
    draws = rng.integers(n, size=(resamples, n))
    # Kendall
    if n <= KENDALL_BOOTSTRAP_MAX_N:
        mats = _sign_matrices(x, y)
        point = _weighted_tau(np.ones((1, n)), *mats)[0]
        weights = np.zeros((resamples, n), dtype=np.float32)
        np.add.at(weights, (np.repeat(np.arange(resamples), n), draws.ravel()), 1.0)
        taus = np.concatenate([_weighted_tau(weights[k:k + 250], *mats) for k in range(0, resamples, 250)])
        out["kendall_tau"] = {"value": None if math.isnan(point) else float(point), "ci95": _percentile_ci(taus)}
    else:
        sub = np.random.default_rng([int(seed), n, 1]).choice(n, size=KENDALL_BOOTSTRAP_MAX_N, replace=False)
        inner = bootstrap_correlations(x[sub], y[sub], resamples, seed)["kendall_tau"]
        out["kendall_tau"] = {"value": kendall_tau(x, y), "ci95": inner["ci95"],
                              "ci_subsample": KENDALL_BOOTSTRAP_MAX_N}
    # Spearman
    rhos = np.array([spearman_rho(x[d], y[d]) or np.nan for d in draws])
    out["spearman_rho"] = {"value": spearman_rho(x, y), "ci95": _percentile_ci(rhos)}
    return out


def _top(values: np.ndarray, k: int) -> set[int]:
    """Positions of the k largest values; ties broken by position (first wins)."""
    order = np.lexsort((np.arange(len(values)), -values))
    return set(int(i) for i in order[:k])


def top_hits(proxy, acc, fractions=TOP_FRACTIONS) -> dict:
    """For each fraction f: of the true top ceil(f*n), how many are in the proxy's top ceil(f*n)."""
    proxy, acc = np.asarray(proxy, dtype=np.float64), np.asarray(acc, dtype=np.float64)
    n = len(proxy)
    out = {}
    for f in fractions:
        k = max(1, math.ceil(f * n - 1e-9))
        hits = len(_top(proxy, k) & _top(acc, k)) if n else 0
        out[f"{f * 100:g}%"] = {"k": k, "hits": hits, "rate": hits / k if n else None}
    return out


def argmax_pick(proxy, acc) -> dict:
    """The proxy's argmax (first of ties) and its accuracy, with the sample's best and mean."""
    proxy, acc = np.asarray(proxy, dtype=np.float64), np.asarray(acc, dtype=np.float64)
    if len(proxy) == 0:
        return {"position": None, "acc": None, "best_acc": None, "mean_acc": None}
    pos = int(np.argmax(proxy))
    return {"position": pos, "acc": float(acc[pos]), "best_acc": float(acc.max()), "mean_acc": float(acc.mean())}


def compare_proxy(proxy, acc, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict:
    """Everything ``evaluate`` reports for one proxy against one accuracy."""
    proxy = rank_ready(proxy)  # -inf ranks last
    acc = np.asarray(acc, dtype=np.float64)
    return {"n": int(len(proxy)), **bootstrap_correlations(proxy, acc, resamples, seed),
            "top_hits": top_hits(proxy, acc), "argmax": argmax_pick(proxy, acc)}


# ------------------------------------------------------------------ costs of architectures


def _cost_cache_path(space: str, dataset: str) -> Path:
    from naswot_tui.core.config import default_cache_dir

    return default_cache_dir() / "costs" / f"{space}-{dataset}.json"


def _nb201_linear_costs(archs: list[str], measure) -> dict[str, list[float]]:
    """Exact NB201 params/FLOPs without building every network.

    All cells of an NB201 network share one genotype and keep their width, so
    only ``nor_conv_1x1`` and ``nor_conv_3x3`` edges own parameters or FLOPs
    (pooling, skip and none own none): both counts are ``base + a * n_1x1 +
    b * n_3x3``. Three reference networks give base, a and b; a whole-space
    trace then costs no network builds (tests check it against building).
    """
    from naswot_tui.core.spaces.nb201 import format_cell, parse_cell

    empty = ["none"] * 6
    base = measure(format_cell(empty))
    one_1x1 = measure(format_cell(["nor_conv_1x1"] + empty[1:]))
    one_3x3 = measure(format_cell(["nor_conv_3x3"] + empty[1:]))
    per_1x1 = [x - b for x, b in zip(one_1x1, base)]
    per_3x3 = [x - b for x, b in zip(one_3x3, base)]
    out = {}
    for arch in archs:
        ops = parse_cell(arch)
        n1, n3 = ops.count("nor_conv_1x1"), ops.count("nor_conv_3x3")
        out[arch] = [b + n1 * a1 + n3 * a3 for b, a1, a3 in zip(base, per_1x1, per_3x3)]
    return out


def architecture_costs(space_name: str, dataset: str, archs: list[str], space=None) -> dict[str, tuple[float, float]]:
    """``arch -> (params, flops)`` of the benchmark's network for ``dataset``.

    Built on the ``meta`` device (shapes only); FLOPs in NAS-Bench-201's
    convention (conv + linear; NDS spaces: the NDS one), which equals the benchmark's own numbers.
    """
    import torch

    from naswot_tui.core.data import IMAGE_SIZE
    from naswot_tui.core.flops import flops
    from naswot_tui.core.scoring import count_params
    from naswot_tui.core.spaces import get_space

    path = _cost_cache_path(space_name, dataset)
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    missing = [a for a in dict.fromkeys(archs) if a not in cache]
    if missing:
        space = space or get_space(space_name)
        size = IMAGE_SIZE.get(dataset, 32)
        convention = "nds" if space_name.startswith("nds") else "nb201"  # each benchmark's own counting

        def measure(arch: str) -> list[float]:
            with torch.device("meta"):
                model = space.build(arch, num_classes=space.num_classes(dataset))
            return [float(count_params(model)), float(flops(model, (3, size, size), convention=convention))]

        if space_name == "nb201":
            cache.update(_nb201_linear_costs(missing, measure))
        else:
            for arch in missing:
                cache[arch] = measure(arch)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cache), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache dir only costs speed
    return {a: tuple(cache[a]) for a in archs}


# ------------------------------------------------------------------ traces


def known_targets(truth: GroundTruth, index: int) -> list[Target]:
    """Accuracies the ground truth has: 200-epoch ones, plus 12-epoch validation
    where the 200-epoch one is missing (C-100 / IN16 in the embedded table)."""
    out = []
    for epochs in (200, 12):
        for ds in DATASETS:
            for split in ("test", "valid"):
                if truth.accuracy(index, ds, split, epochs) is None:
                    continue
                if epochs == 12 and any(t.dataset == ds and t.split == split for t in out):
                    continue
                if epochs == 12 and split == "test":
                    continue
                out.append(Target(ds, split, epochs))
    return out


def proxy_name(header: dict) -> str:
    cfg = header.get("config", {})
    name = header.get("proxy") or cfg.get("proxy") or "naswot"
    if name == "naswot" and (header.get("hook_rule") or cfg.get("hook_rule")) == "relu":
        return "naswot-relu"
    return name


def trace_truth(trace: Trace) -> tuple[GroundTruth, str | None]:
    """The trace's ground truth; falls back to what ships when its benchmark file is gone."""
    cfg = trace.config
    aggregate = getattr(cfg, "nb101_aggregate", "mean")
    try:
        return ground_truth_for(cfg.space, cfg.benchmark_file, aggregate,
                                trust_benchmark_file=cfg.trust_benchmark_file), None
    except BenchmarkError as exc:
        return ground_truth_for(cfg.space, None, aggregate), f"{exc}; using the embedded table instead"


def scored_architectures(trace: Trace) -> tuple[dict[int, tuple[str, float]], int]:
    """``index -> (arch, score)`` of each distinct architecture the proxy scored
    (first occurrence; -inf kept), and how many records failed or were NaN."""
    scored: dict[int, tuple[str, float]] = {}
    n_failed = 0
    for s in trace.scores:
        if s.extra.get("phase") in ("init", "evolve"):
            continue  # REA trainings: no proxy score
        if s.score is None or math.isnan(s.score):
            n_failed += 1
            continue
        scored.setdefault(s.index, (s.arch, s.score))
    return scored, n_failed


def rank_ready(values) -> np.ndarray:
    """-inf (a valid NASWOT score) -> a finite value below every other, so ranks are unchanged."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if finite.all():
        return values
    floor = (values[finite].min() - 1.0) if finite.any() else 0.0
    return np.where(np.isneginf(values), floor, values)


def evaluate_trace(trace: Trace, baselines: tuple[str, ...] = ("params", "flops"),
                   resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict:
    """Every proxy of ``trace`` against every known accuracy (see module doc)."""
    cfg = trace.config
    truth, warning = trace_truth(trace)
    own = proxy_name(trace.header)
    scored, n_failed = scored_architectures(trace)
    indices = list(scored)
    values: dict[str, np.ndarray] = {own: np.array([scored[i][1] for i in indices], dtype=np.float64)}
    notes = [warning] if warning else []
    wanted = [b for b in baselines if b != own]
    if wanted and indices:
        try:
            costs = architecture_costs(cfg.space, cfg.dataset, [scored[i][0] for i in indices])
            for k, name in enumerate(("params", "flops")):
                if name in wanted:
                    values[name] = np.array([costs[scored[i][0]][k] for i in indices], dtype=np.float64)
        except Exception as exc:  # noqa: BLE001 - a space we cannot build still gets its own proxy
            notes.append(f"params/flops not computed: {type(exc).__name__}: {exc}")
    targets = known_targets(truth, indices[0]) if indices else []
    results = []
    for target in targets:
        accs = np.array([truth.accuracy(i, target.dataset, target.split, target.epochs) for i in indices],
                        dtype=np.float64)
        keep = np.isfinite(accs)
        for name, vals in values.items():
            res = compare_proxy(vals[keep], accs[keep], resamples, seed)
            pos = res["argmax"].pop("position")
            if pos is not None:
                index = [i for i, k in zip(indices, keep) if k][pos]
                res["argmax"].update(index=index, arch=scored[index][0])
            results.append({"proxy": name, "dataset": target.dataset, "split": target.split,
                            "epochs": target.epochs, "target": target.label, **res})
    n_inf = int(np.isneginf(values[own]).sum()) if indices else 0
    return {
        "path": str(trace.path), "space": cfg.space, "dataset": cfg.dataset, "search": cfg.search,
        "proxy": own, "hook_rule": trace.header.get("hook_rule"), "batch_size": trace.header.get("batch_size"),
        "data": trace.header.get("data"), "ground_truth": truth.source, "status": trace.status,
        "n_archs": len(indices), "n_neg_inf": n_inf, "n_failed": n_failed,
        "proxies": list(values), "targets": [t.label for t in targets], "results": results, "notes": notes,
        "bootstrap": {"resamples": resamples, "seed": seed, "interval": "percentile 95%"},
    }


def result_for(report: dict, proxy: str, target: str) -> dict | None:
    for r in report["results"]:
        if r["proxy"] == proxy and r["target"] == target:
            return r
    return None


# ------------------------------------------------------------------ text


def _fmt_stat(stat: dict) -> str:
    if stat.get("value") is None:
        return "-"
    ci = stat.get("ci95")
    return f"{stat['value']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def format_evaluation(report: dict) -> str:
    """A plain-text table (no colours) of one ``evaluate_trace`` result."""
    from naswot_tui.core.report import PAPER_KENDALL

    lines = [f"{report['path']}",
             f"  {report['space']} / {report['dataset']} / search {report['search']} / proxy {report['proxy']} "
             f"(hook rule {report['hook_rule']}, batch {report['batch_size']}, {report['data']})",
             f"  {report['n_archs']} architectures ({report['n_neg_inf']} scored -inf, {report['n_failed']} failed "
             f"and left out); ground truth: {report['ground_truth']}"]
    lines += [f"  note: {n}" for n in report["notes"]]
    if not report["results"]:
        lines.append("  nothing to evaluate: no proxy scores with known accuracies (plain REA records trainings only)")
        return "\n".join(lines)
    header = f"  {'proxy':<12} {'accuracy':<24} {'n':>4}  {'Kendall tau [95% CI]':<26} {'Spearman rho [95% CI]':<26} " \
             f"{'top1%':>6} {'top5%':>6}  argmax acc (best)"
    lines += [header, "  " + "-" * (len(header) - 2)]
    for r in report["results"]:
        hits = [f"{v['hits']}/{v['k']}" for v in r["top_hits"].values()]
        am = r["argmax"]
        pick = "-" if am.get("acc") is None else f"{am['acc']:.2f} ({am['best_acc']:.2f})"
        lines.append(f"  {r['proxy']:<12} {r['target']:<24} {r['n']:>4}  {_fmt_stat(r['kendall_tau']):<26} "
                     f"{_fmt_stat(r['spearman_rho']):<26} {hits[0]:>6} {hits[1]:>6}  {pick}")
    paper = PAPER_KENDALL.get((report["space"], report["dataset"]))
    if paper is not None:
        lines.append(f"  paper: Kendall tau {paper:.3f} for NASWOT on {report['space']} {report['dataset']} "
                     "(~1000 architectures, training images)")
    return "\n".join(lines)
