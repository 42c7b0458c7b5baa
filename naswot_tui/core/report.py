"""The paper's Table 2, reproduced from traces, with the published numbers beside ours.

Published figures come from ``core/paper.py`` (Mellor et al., ICML 2021,
Table 2: NAS-Bench-201, 500 runs, CIFAR-10 images for scoring). The paper
also reports REA / AREA and other methods; we print none for them rather
than quote from memory.

Rows are grouped by method: traces with the same space, dataset, search,
N (NASWOT) or budget (REA/AREA), proxy and hook rule pool their repeats.
Each cell is mean +- std (population std, as the paper) of the picks'
200-epoch accuracies. A delta against the paper is **bold** in Markdown
(``flag`` in JSON) when it is larger than the paper's own std.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from naswot_tui.core import paper
from naswot_tui.core.evaluate import Evaluation, evaluate_trace, scored_architectures
from naswot_tui.core.stats import kendall, rank_ready
from naswot_tui.core.trace import Trace

COLUMNS = (("cifar10", "valid"), ("cifar10", "test"), ("cifar100", "valid"), ("cifar100", "test"),
           ("ImageNet16-120", "valid"), ("ImageNet16-120", "test"))
SHORT = {"cifar10": "C-10", "cifar100": "C-100", "ImageNet16-120": "IN16-120"}


def _group_key(trace: Trace) -> tuple[Any, ...]:
    c = trace.config
    size = c.n if c.search == "naswot" else (c.budget_s, c.budget_evals, c.pool_size if c.search == "area" else 0,
                                             c.seed_top_k, c.tournament_size)
    return (c.space, c.dataset, c.search, size, c.proxy, trace.header.get("hook_rule", c.hook_rule))


def method_label(trace: Trace) -> str:
    c = trace.config
    if c.search == "naswot":
        name = f"NASWOT (N={c.n})" if c.proxy == "naswot" else f"{c.proxy} (N={c.n})"
    elif c.search == "rea":
        name = "REA"
    else:
        name = f"AREA (pool {c.pool_size}, top {c.seed_top_k}" + ("" if c.proxy == "naswot" else f", {c.proxy}") + ")"
    if c.search != "naswot":
        name += f" [T={c.tournament_size}]"
    if trace.header.get("hook_rule", c.hook_rule) == "relu" and c.proxy == "naswot":
        name += " [relu hooks]"
    return name


def _mean_std(values: list[float]) -> dict[str, Any] | None:
    if not values:
        return None
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "n": len(values)}


def _our_row(traces: list[Trace]) -> dict[str, Any]:
    first = traces[0]
    c = first.config
    ends = [r for t in traces for _, r in sorted(t.repeat_ends.items())]
    accs: dict[str, dict[str, Any]] = {}
    for ds, split in COLUMNS:
        vals = [r.pick_accs[ds][split] for r in ends if split in r.pick_accs.get(ds, {})]
        accs.setdefault(ds, {})[split] = _mean_std(vals)
    if c.search == "naswot":
        time_kind, times = "wall", [r.elapsed_s for r in ends]
    elif ends and all(r.extra.get("budget_kind") == "time" for r in ends):
        time_kind, times = "simulated", [r.extra.get("sim_time_s", 0.0) for r in ends]
    else:
        time_kind, times = "wall", [r.elapsed_s for r in ends]
    row = {"method": method_label(first), "source": "ours", "space": c.space, "dataset": c.dataset,
           "search": c.search, "n": c.n if c.search == "naswot" else None, "repeats": len(ends),
           "traces": [str(t.path) for t in traces],
           "device": (first.header.get("env") or {}).get("device"), "data": first.header.get("data"),
           "search_time_s": {**(_mean_std(times) or {"mean": None, "std": None, "n": 0}), "kind": time_kind},
           "accs": accs}
    if c.search != "naswot" and ends:
        row["budget"] = {"kind": ends[0].extra.get("budget_kind"), "value": ends[0].extra.get("budget"),
                         "note": ends[0].extra.get("budget_note"),
                         "evals_mean": float(np.mean([r.extra.get("n_evals", 0) for r in ends]))}
    published = paper.NASWOT_TABLE2.get(c.n) if (c.search == "naswot" and c.proxy == "naswot"
                                                  and c.space == "nb201" and c.dataset == "cifar10") else None
    if published:
        delta = {}
        for ds, (p_mean, p_std) in published.test.items():
            ours = accs.get(ds, {}).get("test")
            if ours:
                d = ours["mean"] - p_mean
                delta[ds] = {"test": {"delta": d, "paper_mean": p_mean, "paper_std": p_std, "flag": abs(d) > p_std}}
        row["paper_row"] = f"NASWOT (N={c.n})"
        row["delta_vs_paper"] = delta
    return row


def _correlation_rows(groups: list[list[Trace]]) -> list[dict[str, Any]]:
    """Kendall tau of each NASWOT-N trace's score with its dataset's test accuracy, beside the paper's."""
    rows = []
    for traces in groups:
        for t in traces:
            c = t.config
            if c.search != "naswot":
                continue
            # Same architecture set as ``evaluate``: -inf scores kept (ranked last).
            scored, _ = scored_architectures(t)
            acc_of = {s.index: s.acc for s in t.scores}
            pairs = [(score, acc) for i, (_, score) in scored.items() if (acc := acc_of.get(i)) is not None]
            if len(pairs) < 10:
                continue
            published = paper.KENDALL_TAU.get((c.space, c.dataset)) if c.proxy == "naswot" else None
            tau = kendall(rank_ready([p[0] for p in pairs]), [p[1] for p in pairs])
            rows.append({"trace": str(t.path), "method": method_label(t), "space": c.space, "dataset": c.dataset,
                         "n_archs": len(pairs), "kendall_tau": tau, "paper_kendall_tau": published,
                         "delta": None if published is None or tau is None else tau - published})
    return rows


def _lab_rows(traces: list[Trace]) -> list[dict[str, Any]]:
    """``--proxies`` traces: each proxy's tau, rho (with intervals) and nDCG@10 against each
    dataset's test accuracy (``evaluate``'s numbers), beside VKDNW's published figures on C-10."""
    out = []
    for t in traces:
        if not t.header.get("proxies"):
            continue
        ev: Evaluation = evaluate_trace(t)
        for r in ev.results:
            if r.target is None or r.target.split != "test" or r.target.epochs != 200:
                continue
            published = paper.VKDNW_TABLE1_NB201_C10.get(r.proxy) if (
                t.config.space == "nb201" and r.target.dataset == "cifar10") else None
            out.append({"trace": str(t.path), "proxy": r.proxy, "dataset": r.target.dataset, "n": r.n,
                        "kendall_tau": r.kendall.to_json(), "spearman_rho": r.spearman.to_json(),
                        "ndcg10": r.ndcg.get(10),
                        "paper_kendall_tau": None if published is None else published[0],
                        "paper_spearman_rho": None if published is None else published[1]})
    return out


def build_report(traces: list[Trace]) -> dict[str, Any]:
    groups: dict[tuple[Any, ...], list[Trace]] = {}
    for t in traces:
        groups.setdefault(_group_key(t), []).append(t)
    rows = [_our_row(g) for g in groups.values() if any(t.repeat_ends for t in g)]
    rows.sort(key=lambda r: (r["space"], r["dataset"], r["search"] != "naswot", r["n"] or 0, r["method"]))
    paper_rows = []
    for n, row in paper.NASWOT_TABLE2.items():
        paper_rows.append({"method": f"NASWOT (N={n})", "source": "paper", "repeats": paper.RUNS_PER_ROW,
                           "search_time_s": {"mean": row.time_s, "std": None, "kind": paper.TIME_DEVICE},
                           "accs": {ds: {"valid": None, "test": {"mean": m, "std": s}}
                                    for ds, (m, s) in row.test.items()}})
    for name, vals in paper.REFERENCE_ROWS.items():
        paper_rows.append({"method": name, "source": "paper", "repeats": None, "search_time_s": None,
                           "accs": {ds: {"valid": None, "test": {"mean": v, "std": None}} for ds, v in vals.items()}})
    notes = [
        "Paper numbers: Mellor et al., ICML 2021, Table 2 (NAS-Bench-201, 500 runs, CIFAR-10 images, "
        "test accuracy only). The paper's REA/AREA rows are not quoted here.",
        "Ours: 200-epoch accuracies of each repeat's pick from the trace's ground truth; "
        "search time is wall time on our device for NASWOT, simulated training seconds for REA/AREA "
        "with a time budget (wall time when the budget was a count of trainings).",
        "A delta is flagged (bold) when it exceeds the paper's std.",
    ]
    lab = _lab_rows(traces)
    if lab:
        notes.append(f"Proxy lab: published figures from {paper.VKDNW_CITATION}: "
                     "their own batch, images and initialisation, so compare loosely.")
    return {"rows": rows, "paper_rows": paper_rows, "correlations": _correlation_rows(list(groups.values())),
            "proxy_lab": lab, "notes": notes}


# ------------------------------------------------------------------ Markdown


def _est(value: dict[str, Any] | None) -> str:
    if not value or value.get("value") is None:
        return "-"
    ci = value.get("ci95")
    return f"{value['value']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _lab_markdown(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    lines = ["", "### Proxy lab: every proxy against test accuracy", "",
             "| Run | proxy | dataset | archs | Kendall τ [95% CI] | Spearman ρ [95% CI] | nDCG@10 | τ / ρ (VKDNW) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ndcg = "-" if r["ndcg10"] is None else f"{r['ndcg10']:.3f}"
        published = "-" if r["paper_kendall_tau"] is None else (
            f"{r['paper_kendall_tau']:.3f} / {r['paper_spearman_rho']:.3f}")
        lines.append(f"| {Path(r['trace']).name} | {r['proxy']} | {r['dataset']} | {r['n']} | "
                     f"{_est(r['kendall_tau'])} | {_est(r['spearman_rho'])} | {ndcg} | {published} |")
    return lines


def _cell(value: dict[str, Any] | None) -> str:
    if not value or value.get("mean") is None:
        return "-"
    if value.get("std") is None:
        return f"{value['mean']:.2f}"
    return f"{value['mean']:.2f} ± {value['std']:.2f}"


def _time(value: dict[str, Any] | None) -> str:
    if not value or value.get("mean") is None:
        return "-"
    kind = value.get("kind")
    text = f"{value['mean']:.2f} s" if value["mean"] < 1000 else f"{value['mean']:.0f} s"
    return text + (f" ({kind})" if kind else "")


def to_markdown(report: dict[str, Any]) -> str:
    head = "| Method | source | repeats | search time | " + " | ".join(
        f"{SHORT[ds]} {split}" for ds, split in COLUMNS) + " |"
    sep = "|" + "---|" * (4 + len(COLUMNS))
    lines = ["## NAS-Bench-201 search results (Table 2 shape)", "", head, sep]

    def row_line(r: dict[str, Any]) -> str:
        cells = [_cell((r["accs"].get(ds) or {}).get(split)) for ds, split in COLUMNS]
        rep = "-" if r.get("repeats") is None else str(r["repeats"])
        spent = _time(r.get("search_time_s"))
        if (r.get("budget") or {}).get("kind") == "evals":
            spent += f" + {r['budget']['evals_mean']:.0f} trainings"
        return f"| {r['method']} | {r['source']} | {rep} | {spent} | " + " | ".join(cells) + " |"

    paper_by_method = {p["method"]: p for p in report["paper_rows"]}
    shown = set()
    for r in report["rows"]:
        lines.append(row_line(r))
        if "paper_row" in r:
            p = paper_by_method[r["paper_row"]]
            lines.append(row_line(p))
            shown.add(p["method"])
            deltas = []
            for ds, split in COLUMNS:
                d = (r["delta_vs_paper"].get(ds) or {}).get(split)
                if d is None:
                    deltas.append("")
                else:
                    text = f"{d['delta']:+.2f}"
                    deltas.append(f"**{text}**" if d["flag"] else text)
            lines.append("| Δ ours − paper | | | | " + " | ".join(deltas) + " |")
    for p in report["paper_rows"]:
        if p["method"] not in shown:
            lines.append(row_line(p))
    if report["correlations"]:
        lines += ["", "### Rank correlation of the score with test accuracy", "",
                  "| Run | dataset | archs | Kendall τ (ours) | Kendall τ (paper) | Δ |", "|---|---|---|---|---|---|"]
        for c in report["correlations"]:
            tau = "-" if c["kendall_tau"] is None else f"{c['kendall_tau']:.3f}"
            published = "-" if c["paper_kendall_tau"] is None else f"{c['paper_kendall_tau']:.3f}"
            delta = "-" if c["delta"] is None else f"{c['delta']:+.3f}"
            lines.append(f"| {c['method']} ({Path(c['trace']).name}) | {c['dataset']} | {c['n_archs']} | "
                         f"{tau} | {published} | {delta} |")
    lines += _lab_markdown(report.get("proxy_lab") or [])
    lines += [""] + [f"- {n}" for n in report["notes"]]
    for r in report["rows"]:
        if r.get("budget"):
            lines.append(f"- {r['method']}: budget {r['budget']['value']:g} {r['budget']['kind']} "
                         f"({r['budget']['note']}); {r['budget']['evals_mean']:.0f} trainings per repeat on average.")
    return "\n".join(lines) + "\n"
