"""``naswot-tui merge SHARD.jsonl... [--out FILE]``: the shards of a job array as one trace.

Shards come from ``--shard K/N`` runs of one configuration (each scores the
K-th contiguous slice of every repeat's draw). The merged trace holds every
score once, in draw order, with each repeat's pick recomputed over the whole
draw (the same argmax as a search: highest score, ties to the first drawn), so
it equals the trace of one unsharded run but for timings. Shards whose
configuration or batch hash differ are refused (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import typer

from naswot_tui.commands.common import fail
from naswot_tui.core.errors import NaswotError, UsageError

#: config fields that say how a run was executed, not what it computed
_EXECUTION_FIELDS = ("shard", "executor", "workers", "ray_address", "out_dir", "cache")


def _what(header: dict) -> dict:
    return {k: v for k, v in header.get("config", {}).items() if k not in _EXECUTION_FIELDS}


def _check_shards(traces: list) -> int:
    """The shards' common N; UsageError when they are not the complete shards of one run."""
    first = traces[0]
    base, fingerprint = _what(first.header), first.header.get("batch_fingerprint")
    seen: dict[int, str] = {}
    parts = None
    for t in traces:
        name = t.path.name
        if t.status != "completed":
            raise UsageError(f"shard {name} is {t.status}; finish it first (naswot-tui --headless --resume {t.path})")
        shard = t.header.get("config", {}).get("shard")
        if not shard:
            raise UsageError(f"{name} is not a shard (its run had no --shard K/N)")
        if t.header.get("batch_fingerprint") != fingerprint:
            raise UsageError(f"shard {name} was scored on another minibatch (batch hash "
                             f"{t.header.get('batch_fingerprint')} vs {fingerprint}); merge shards of one run only")
        diff = sorted(k for k in set(base) | set(_what(t.header)) if base.get(k) != _what(t.header).get(k))
        if diff:
            k = diff[0]
            raise UsageError(f"shard {name} has another config ({k}: {_what(t.header).get(k)!r} vs {base.get(k)!r}); "
                             "merge shards of one run only")
        k_of, n_of = (int(x) for x in shard.split("/"))
        if parts is not None and n_of != parts:
            raise UsageError(f"shard {name} is {shard} but others are out of {parts}; merge shards of one run only")
        parts = n_of
        if k_of in seen:
            raise UsageError(f"shard {shard} given twice ({seen[k_of]} and {name})")
        seen[k_of] = name
    assert parts is not None
    missing = [f"{k}/{parts}" for k in range(1, parts + 1) if k not in seen]
    if missing:
        raise UsageError(f"shard(s) {', '.join(missing)} missing; pass all {parts} shards")
    return parts


def merge_traces(paths: list[Path], out: Path | None = None) -> Path:
    """Merge shard traces into one trace file; returns its path."""
    from naswot_tui.core.benchmarks import ground_truth_for
    from naswot_tui.core.config import RunConfig
    from naswot_tui.core.events import RepeatFinished, RepeatStarted, RunFinished, RunStarted
    from naswot_tui.core.search import better_of, pick_accuracies, summarize
    from naswot_tui.core.trace import TraceWriter, new_trace_path, read_trace

    if not paths:
        raise UsageError("merge needs the shard traces: naswot-tui merge SHARD.jsonl...")
    traces = [read_trace(p) for p in paths]
    _check_shards(traces)
    header = dict(traces[0].header)
    config = RunConfig.from_dict(header["config"])
    config.shard = None
    header["config"] = config.to_dict()
    header["merged_from"] = [str(p) for p in paths]
    truth = ground_truth_for(config.space, config.benchmark_file, config.nb101_aggregate,
                             trust_benchmark_file=config.trust_benchmark_file)
    target = Path(out) if out else new_trace_path(Path(paths[0]).parent, config)
    if target.exists():
        raise UsageError(f"{target} exists; choose another --out (merge never overwrites a trace)")
    target.parent.mkdir(parents=True, exist_ok=True)
    writer = TraceWriter(target)
    finished: list[RepeatFinished] = []
    try:
        writer.write(RunStarted(header))
        for repeat in sorted({r for t in traces for r in t.repeat_ends}):
            start = next(t.repeat_starts[repeat] for t in traces if repeat in t.repeat_starts)
            writer.write(RepeatStarted(repeat, config.n, start.get("batch", ""), start.get("batch_fingerprint", "")))
            scores = sorted({s.i: s for t in traces for s in t.scores_of(repeat)}.values(),
                            key=lambda s: s.i)
            best = None
            for s in scores:
                s.replayed = False
                writer.write(s)
                best = better_of(best, s)
            ends = [t.repeat_ends[repeat] for t in traces if repeat in t.repeat_ends]
            pick = best.index if best else None
            end = RepeatFinished(repeat=repeat, pick_index=pick, pick_arch=best.arch if best else None,
                                 pick_score=best.score if best else None,
                                 pick_acc=truth.accuracy(pick, config.dataset, "test", 200) if best else None,
                                 pick_accs=pick_accuracies(truth, pick) if best else {},
                                 elapsed_s=sum(e.elapsed_s for e in ends), n_scored=len(scores),
                                 n_errors=sum(1 for s in scores if s.error))
            writer.write(end)
            finished.append(end)
        writer.write(RunFinished("completed", summarize(finished)))
    finally:
        writer.close()
    return target


def register(app: typer.Typer) -> None:
    @app.command("merge")
    def merge_command(
        shards: list[Path] = typer.Argument(..., help="The shard traces (from --shard K/N runs).",  # noqa: B008
                                            metavar="SHARD.jsonl..."),
        out: Path | None = typer.Option(None, "--out", help="Merged trace file (default: beside the first shard)."),
    ) -> None:
        """Merge the shards of a job array (--shard K/N) into one trace."""
        try:
            target = merge_traces(list(shards), out)
        except NaswotError as exc:
            raise fail(exc) from None
        typer.echo(str(target))
