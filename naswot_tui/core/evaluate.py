"""How good is a proxy here? Rank correlations, top-k hits, nDCG, regret and argmax picks.

``evaluate_trace`` compares every proxy of a trace with every accuracy the
ground truth knows (test and validation, each dataset; 200 epochs, plus the
12-epoch columns where they are all the benchmark has) and returns an
``Evaluation`` (typed results; ``to_json()`` is the ``--json`` document):

- Kendall tau-b and Spearman rho, each with a 95% interval on all the
  architectures (``core/stats.py``: percentile bootstrap up to
  ``stats.BOOTSTRAP_MAX_N`` architectures, exact jackknife standard error and
  a normal interval above); each interval names its method and n;
- top-k hit rates: of the true top 1% / 5% (k = ceil(fraction * n)), how many
  are in the proxy's top k;
- nDCG@10 and @100 (accuracy as relevance) and top-1 / top-10 regret
  (the sample's best accuracy minus the best among the proxy's top k);
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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from naswot_tui.core import paper, stats
from naswot_tui.core.benchmarks import DATASETS, GroundTruth, ground_truth_for
from naswot_tui.core.errors import BenchmarkError
from naswot_tui.core.spaces.base import SearchSpace
from naswot_tui.core.stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, Estimate, rank_ready
from naswot_tui.core.trace import Trace

TOP_FRACTIONS = (0.01, 0.05)
NDCG_KS = (10, 100)
REGRET_KS = (1, 10)


@dataclass(frozen=True)
class Target:
    dataset: str
    split: str
    epochs: int

    @property
    def label(self) -> str:
        return f"{self.dataset} {self.split}" + ("" if self.epochs == 200 else f"@{self.epochs}")


@dataclass(frozen=True)
class TopHits:
    """Of the true top k (k = ceil(fraction * n)), ``hits`` are in the proxy's top k."""

    fraction: float
    k: int
    hits: int

    @property
    def label(self) -> str:
        return f"{self.fraction * 100:g}%"

    @property
    def rate(self) -> float:
        return self.hits / self.k

    def to_json(self) -> dict[str, Any]:
        return {"k": self.k, "hits": self.hits, "rate": self.rate}


@dataclass(frozen=True)
class ArgmaxPick:
    """The proxy's argmax (first of ties) with its accuracy, and the sample's best and mean."""

    position: int | None       # in the arrays evaluated
    acc: float | None
    best_acc: float | None
    mean_acc: float | None
    index: int | None = None   # the architecture's index in its space (set by evaluate_trace)
    arch: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"acc": self.acc, "best_acc": self.best_acc, "mean_acc": self.mean_acc}
        if self.index is not None:
            out.update(index=self.index, arch=self.arch)
        return out


@dataclass(frozen=True)
class ProxyResult:
    """Everything ``evaluate`` reports for one proxy against one accuracy."""

    proxy: str
    target: Target | None
    n: int
    kendall: Estimate
    spearman: Estimate
    top_hits: tuple[TopHits, ...]
    ndcg: dict[int, float | None]     # k -> nDCG@k
    regret: dict[int, float | None]   # k -> top-k regret (accuracy points)
    argmax: ArgmaxPick

    def hits(self, label: str) -> TopHits | None:
        return next((h for h in self.top_hits if h.label == label), None)

    def to_json(self) -> dict[str, Any]:
        where: dict[str, Any] = {} if self.target is None else {
            "dataset": self.target.dataset, "split": self.target.split, "epochs": self.target.epochs,
            "target": self.target.label}
        return {"proxy": self.proxy, **where, "n": self.n,
                "kendall_tau": self.kendall.to_json(), "spearman_rho": self.spearman.to_json(),
                "top_hits": {h.label: h.to_json() for h in self.top_hits},
                "ndcg": {str(k): v for k, v in self.ndcg.items()},
                "regret": {str(k): v for k, v in self.regret.items()},
                "argmax": self.argmax.to_json()}


@dataclass
class Evaluation:
    """``evaluate_trace``'s answer for one trace."""

    path: str
    space: str
    dataset: str
    search: str
    proxy: str                 # the trace's own proxy
    hook_rule: str | None
    batch_size: int | None
    data: str | None
    ground_truth: str
    status: str
    n_archs: int
    n_neg_inf: int
    n_failed: int
    proxies: list[str]
    targets: list[Target]
    results: list[ProxyResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    resamples: int = BOOTSTRAP_RESAMPLES
    seed: int = BOOTSTRAP_SEED
    #: Kendall tau-b between every pair of ``proxies`` (same order), over the same architectures
    proxy_kendall: list[list[float | None]] = field(default_factory=list)

    def result_for(self, proxy: str, target: str) -> ProxyResult | None:
        """The result of ``proxy`` against the target labelled ``target`` (e.g. "cifar10 test")."""
        return next((r for r in self.results if r.proxy == proxy and r.target is not None
                     and r.target.label == target), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "space": self.space, "dataset": self.dataset, "search": self.search,
            "proxy": self.proxy, "hook_rule": self.hook_rule, "batch_size": self.batch_size, "data": self.data,
            "ground_truth": self.ground_truth, "status": self.status, "n_archs": self.n_archs,
            "n_neg_inf": self.n_neg_inf, "n_failed": self.n_failed, "proxies": list(self.proxies),
            "targets": [t.label for t in self.targets], "results": [r.to_json() for r in self.results],
            "proxy_kendall": {"proxies": list(self.proxies), "tau": [list(row) for row in self.proxy_kendall]},
            "notes": list(self.notes),
            "intervals": {"level": 0.95, "bootstrap_max_n": stats.BOOTSTRAP_MAX_N,
                          "resamples": self.resamples, "seed": self.seed,
                          "small_n": "percentile bootstrap, resampling architectures",
                          "large_n": "estimate +- 1.96 x exact jackknife standard error"},
        }


# ------------------------------------------------------------------ metrics of one proxy


def _top(values: npt.NDArray[np.float64], k: int) -> set[int]:
    """Positions of the k largest values; ties broken by position (first wins)."""
    order = np.lexsort((np.arange(len(values)), -values))
    return set(int(i) for i in order[:k])


def top_hits(proxy: npt.ArrayLike, acc: npt.ArrayLike,
             fractions: tuple[float, ...] = TOP_FRACTIONS) -> tuple[TopHits, ...]:
    """For each fraction f: of the true top ceil(f*n), how many are in the proxy's top ceil(f*n)."""
    scores, accs = np.asarray(proxy, dtype=np.float64), np.asarray(acc, dtype=np.float64)
    n = len(scores)
    if n == 0:
        return ()
    out = []
    for f in fractions:
        k = max(1, math.ceil(f * n - 1e-9))
        out.append(TopHits(f, k, len(_top(scores, k) & _top(accs, k))))
    return tuple(out)


def argmax_pick(proxy: npt.ArrayLike, acc: npt.ArrayLike) -> ArgmaxPick:
    """The proxy's argmax (first of ties) and its accuracy, with the sample's best and mean."""
    scores, accs = np.asarray(proxy, dtype=np.float64), np.asarray(acc, dtype=np.float64)
    if len(scores) == 0:
        return ArgmaxPick(None, None, None, None)
    pos = int(np.argmax(scores))
    return ArgmaxPick(pos, float(accs[pos]), float(accs.max()), float(accs.mean()))


def compare_proxy(proxy: npt.ArrayLike, acc: npt.ArrayLike, resamples: int = BOOTSTRAP_RESAMPLES,
                  seed: int = BOOTSTRAP_SEED, name: str = "", target: Target | None = None) -> ProxyResult:
    """Everything ``evaluate`` reports for one proxy against one accuracy."""
    scores = rank_ready(proxy)  # -inf ranks last
    accs = np.asarray(acc, dtype=np.float64)
    tau, rho = stats.correlations(scores, accs, resamples, seed)
    return ProxyResult(
        proxy=name, target=target, n=len(scores), kendall=tau, spearman=rho,
        top_hits=top_hits(scores, accs),
        ndcg={k: stats.ndcg_at_k(scores, accs, k) for k in NDCG_KS},
        regret={k: stats.top_k_regret(scores, accs, k) for k in REGRET_KS},
        argmax=argmax_pick(scores, accs))


# ------------------------------------------------------------------ costs of architectures


def _cost_cache_path(space: str, dataset: str) -> Path:
    from naswot_tui.core.config import default_cache_dir

    return default_cache_dir() / "costs" / f"{space}-{dataset}.json"


def architecture_costs(space_name: str, dataset: str, archs: list[str],
                       space: SearchSpace | None = None) -> dict[str, tuple[float, float]]:
    """``arch -> (params, flops)`` of the benchmark's network for ``dataset``.

    Where the space knows its costs analytically (``SearchSpace.known_costs``:
    NB201 / NATS-tss), no network is built per architecture, so a whole-space
    trace costs milliseconds; otherwise each network is built on the ``meta``
    device (shapes only). FLOPs in NAS-Bench-201's convention (conv + linear;
    NDS spaces: the NDS one), which equals the benchmark's own numbers.
    """
    path = _cost_cache_path(space_name, dataset)
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    missing = [a for a in dict.fromkeys(archs) if a not in cache]
    if missing:
        from naswot_tui.core.data import IMAGE_SIZE
        from naswot_tui.core.spaces import get_space

        space = space or get_space(space_name)
        size = IMAGE_SIZE.get(dataset, 32)
        classes = space.num_classes(dataset)
        to_build = []
        for arch in missing:
            known = space.known_costs(arch, classes, (3, size, size))
            if known is None:
                to_build.append(arch)
            else:
                cache[arch] = [float(known[0]), float(known[1])]
        if to_build:
            cache.update(_built_costs(space, space_name, classes, size, to_build))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cache), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache dir only costs speed
    return {a: (float(cache[a][0]), float(cache[a][1])) for a in archs}


def _built_costs(space: SearchSpace, space_name: str, classes: int, size: int,
                 archs: list[str]) -> dict[str, list[float]]:
    """(params, FLOPs) of networks the space cannot cost analytically, built on the meta device."""
    import torch  # only here: a cached or analytic evaluate never imports torch for costs

    from naswot_tui.core.flops import flops
    from naswot_tui.core.scoring import count_params

    convention = "nds" if space_name.startswith("nds") else "nb201"  # each benchmark's own counting
    out: dict[str, list[float]] = {}
    for arch in archs:
        with torch.device("meta"):
            model = space.build(arch, num_classes=classes)
        out[arch] = [float(count_params(model)), float(flops(model, (3, size, size), convention=convention))]
    return out


# ------------------------------------------------------------------ traces


def known_targets(truth: GroundTruth, index: int) -> list[Target]:
    """Accuracies the ground truth has: 200-epoch ones, plus 12-epoch validation
    where the 200-epoch one is missing (C-100 / IN16 in the embedded table)."""
    out: list[Target] = []
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


def proxy_name(header: dict[str, Any]) -> str:
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


def lab_columns(trace: Trace, indices: list[int]) -> tuple[dict[str, npt.NDArray[np.float64]], list[str]]:
    """The ``--proxies`` values of ``indices`` (first record of each), one column per proxy.

    A value that is missing, failed (null) or NaN is stored as -inf: it ranks
    below every real value, as a network with no signal should; the notes say
    how many each proxy had.
    """
    first: dict[int, dict[str, float | None]] = {}
    for s in trace.scores:
        if s.proxies is not None and s.index not in first:
            first[s.index] = s.proxies
    names: list[str] = []
    for row in first.values():
        names += [k for k in row if k not in names]
    columns: dict[str, npt.NDArray[np.float64]] = {}
    notes = []
    for name in names:
        raw = [first.get(i, {}).get(name) for i in indices]
        col = np.array([math.nan if v is None else v for v in raw], dtype=np.float64)
        bad = int(np.isnan(col).sum())
        if bad:
            notes.append(f"{name}: {bad} of {len(col)} architectures have no value (failed or NaN); ranked last")
        columns[name] = np.where(np.isnan(col), -math.inf, col)
    return columns, notes


def trace_ensembles(trace: Trace) -> list[str]:
    """The ``ensemble:<a>+<b>`` names the run asked for (header ``proxies``)."""
    names = trace.header.get("proxies") or []
    return [n for n in names if isinstance(n, str) and n.startswith("ensemble:")]


def kendall_matrix(values: dict[str, npt.NDArray[np.float64]]) -> list[list[float | None]]:
    """Kendall tau-b of every pair of proxy columns (same architectures; -inf ranks last)."""
    names = list(values)
    ranked = {n: rank_ready(v) for n, v in values.items()}
    out: list[list[float | None]] = [[None] * len(names) for _ in names]
    for a, first in enumerate(names):
        out[a][a] = 1.0 if len(ranked[first]) >= 3 else None
        for b in range(a + 1, len(names)):
            tau = stats.kendall(ranked[first], ranked[names[b]])
            out[a][b] = out[b][a] = tau
    return out


def evaluate_trace(trace: Trace, baselines: tuple[str, ...] = ("params", "flops"),
                   resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> Evaluation:
    """Every proxy of ``trace`` against every known accuracy (see module doc)."""
    cfg = trace.config
    truth, warning = trace_truth(trace)
    own = proxy_name(trace.header)
    scored, n_failed = scored_architectures(trace)
    indices = list(scored)
    values: dict[str, npt.NDArray[np.float64]] = {
        own: np.array([scored[i][1] for i in indices], dtype=np.float64)}
    notes = [warning] if warning else []
    # --proxies: every stored column (the picking one is the trace's own score already)
    lab, lab_notes = lab_columns(trace, indices)
    notes += lab_notes
    values.update({name: col for name, col in lab.items() if name != own})
    ensembles = trace_ensembles(trace)
    if ensembles and indices:
        from naswot_tui.core.proxies.ensemble import ensemble_scores  # imports torch (the proxies package)

        for name in ensembles:
            try:
                values[name] = np.asarray(ensemble_scores({k: v.tolist() for k, v in values.items()}, name),
                                          dtype=np.float64)
            except Exception as exc:  # noqa: BLE001 - a missing member column leaves the others
                notes.append(f"{name} not computed: {exc}")
    wanted = [b for b in baselines if b not in values]
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
        accs = np.array([_accuracy(truth, i, target) for i in indices], dtype=np.float64)
        keep = np.isfinite(accs)
        kept = [i for i, k in zip(indices, keep, strict=True) if k]
        for name, vals in values.items():
            res = compare_proxy(vals[keep], accs[keep], resamples, seed, name=name, target=target)
            pick = res.argmax
            if pick.position is not None:
                index = kept[pick.position]
                res = replace(res, argmax=replace(pick, index=index, arch=scored[index][0]))
            results.append(res)
    n_inf = int(np.isneginf(values[own]).sum()) if indices else 0
    matrix = kendall_matrix(values) if len(values) > 1 else []
    return Evaluation(
        path=str(trace.path), space=cfg.space, dataset=cfg.dataset, search=cfg.search, proxy=own,
        hook_rule=trace.header.get("hook_rule"), batch_size=trace.header.get("batch_size"),
        data=trace.header.get("data"), ground_truth=truth.source, status=trace.status,
        n_archs=len(indices), n_neg_inf=n_inf, n_failed=n_failed, proxies=list(values), targets=targets,
        results=results, notes=notes, resamples=resamples, seed=seed, proxy_kendall=matrix)


def _accuracy(truth: GroundTruth, index: int, target: Target) -> float:
    acc = truth.accuracy(index, target.dataset, target.split, target.epochs)
    return math.nan if acc is None else float(acc)


# ------------------------------------------------------------------ text


def _fmt_estimate(est: Estimate) -> str:
    if est.value is None:
        return "-"
    return f"{est.value:.3f}" + (f" [{est.low:.3f}, {est.high:.3f}]" if est.ci95 else "")


def _interval_mark(r: ProxyResult) -> str:
    method = r.kendall.method
    return "boot" if method.startswith("percentile bootstrap") else "jack" if method.startswith("jackknife") else "-"


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_evaluation(report: Evaluation) -> str:
    """A plain-text table (no colours) of one ``evaluate_trace`` result."""
    lines = [f"{report.path}",
             f"  {report.space} / {report.dataset} / search {report.search} / proxy {report.proxy} "
             f"(hook rule {report.hook_rule}, batch {report.batch_size}, {report.data})",
             f"  {report.n_archs} architectures ({report.n_neg_inf} scored -inf, {report.n_failed} failed "
             f"and left out); ground truth: {report.ground_truth}"]
    lines += [f"  note: {n}" for n in report.notes]
    if not report.results:
        lines.append("  nothing to evaluate: no proxy scores with known accuracies (plain REA records trainings only)")
        return "\n".join(lines)
    w = max([12] + [len(r.proxy) for r in report.results])
    header = (f"  {'proxy':<{w}} {'accuracy':<24} {'n':>5} {'CI':<4}  {'Kendall tau [95% CI]':<22} "
              f"{'Spearman rho [95% CI]':<22} {'top1%':>6} {'top5%':>6} {'nDCG@10':>7} {'regret@10':>9}  "
              "argmax acc (best)")
    lines += [header, "  " + "-" * (len(header) - 2)]
    for r in report.results:
        hits = [f"{h.hits}/{h.k}" for h in r.top_hits] + ["-", "-"]
        am = r.argmax
        pick = "-" if am.acc is None else f"{am.acc:.2f} ({am.best_acc:.2f})"
        label = r.target.label if r.target else "-"
        lines.append(f"  {r.proxy:<{w}} {label:<24} {r.n:>5} {_interval_mark(r):<4}  {_fmt_estimate(r.kendall):<22} "
                     f"{_fmt_estimate(r.spearman):<22} {hits[0]:>6} {hits[1]:>6} "
                     f"{_fmt(r.ndcg.get(10), '.3f'):>7} {_fmt(r.regret.get(10), '.2f'):>9}  {pick}")
    lines.append(f"  CI: 95% on all n architectures; boot = percentile bootstrap ({report.resamples} resamples, "
                 f"seed {report.seed}), jack = estimate +- 1.96 x exact jackknife SE (n > {stats.BOOTSTRAP_MAX_N})")
    published = paper.KENDALL_TAU.get((report.space, report.dataset))
    if published is not None:
        lines.append(f"  paper: Kendall tau {published:.3f} for NASWOT on {report.space} {report.dataset} "
                     f"({paper.KENDALL_SAMPLE})")
    lines += format_matrix(report)
    return "\n".join(lines)


def format_matrix(report: Evaluation) -> list[str]:
    """The proxy x proxy Kendall tau matrix as text lines (columns numbered as the rows)."""
    if len(report.proxies) < 2 or not report.proxy_kendall:
        return []
    w = max(len(p) for p in report.proxies) + 4
    lines = [f"  proxy x proxy Kendall tau-b ({report.n_archs} architectures):",
             "  " + " " * w + "".join(f"{k + 1:>7}" for k in range(len(report.proxies)))]
    for k, (name, row) in enumerate(zip(report.proxies, report.proxy_kendall, strict=True)):
        cells = "".join(f"{_fmt(v, '.2f'):>7}" for v in row)
        lines.append(f"  {f'{k + 1:>2} {name}':<{w}}{cells}")
    return lines
