"""REA and AREA (docs/method.md §5.2) through the real engine: traces, budgets, resume."""

from __future__ import annotations

import pytest

from naswot_tui.core.benchmarks import ground_truth_for
from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.errors import BenchmarkError
from naswot_tui.core.events import ArchScored, RunFinished
from naswot_tui.core.evolution import plan_budget
from naswot_tui.core.search import Control, sample_indices
from naswot_tui.core.spaces import get_space
from naswot_tui.core.trace import read_trace

SMALL = dict(batch_size=16, seed=4)


def _run(tmp_path, **kw) -> Run:
    run = Run(RunConfig(out_dir=str(tmp_path), **{**SMALL, **kw}))
    list(run.events())
    return run


def test_rea_trace_records_every_training_and_picks_the_fittest(tmp_path):
    run = _run(tmp_path, search="rea", repeats=2, seed_top_k=5, tournament_size=3, budget_evals=15)
    trace = read_trace(run.trace_path)
    truth = ground_truth_for("nb201")
    assert trace.status == "completed" and sorted(trace.repeat_ends) == [0, 1]
    for repeat in (0, 1):
        recs = sorted(trace.scores_of(repeat), key=lambda s: s.i)
        assert [s.i for s in recs] == list(range(15))
        assert [s.extra["phase"] for s in recs] == ["init"] * 5 + ["evolve"] * 10
        space = get_space("nb201")
        for s in recs:
            assert s.score is None and not s.error  # no proxy was computed for a training
            assert s.extra["fitness"] == truth.accuracy(s.index, "cifar10", "valid", 12)
            assert s.acc == truth.accuracy(s.index, "cifar10", "test", 200)
            if s.extra["phase"] == "evolve":
                # a child differs from its parent in exactly one edge
                diff = sum(a != b for a, b in zip(space.ops_of(s.index), space.ops_of(s.extra["parent"]), strict=True))
                assert diff == 1
        end = trace.repeat_ends[repeat]
        best = max(recs, key=lambda s: s.extra["fitness"])
        assert end.pick_index == best.index and end.extra["pick_fitness"] == best.extra["fitness"]
        assert end.pick_acc == truth.accuracy(best.index, "cifar10", "test", 200)
        assert end.pick_accs["cifar10"]["valid"] == truth.accuracy(best.index, "cifar10", "valid", 200)
        assert end.extra["budget_kind"] == "evals" and end.extra["n_evals"] == 15
        assert end.extra["tournament_size"] == 3
    # different repeats explore differently
    assert [s.index for s in trace.scores_of(0)] != [s.index for s in trace.scores_of(1)]


def test_area_scores_the_pool_then_seeds_with_its_best(tmp_path):
    run = _run(tmp_path, search="area", pool_size=6, seed_top_k=3, budget_evals=5)
    trace = read_trace(run.trace_path)
    recs = sorted(trace.scores_of(0), key=lambda s: s.i)
    pool = [s for s in recs if s.extra["phase"] == "pool"]
    init = [s for s in recs if s.extra["phase"] == "init"]
    assert len(recs) == 6 + 5 and len(pool) == 6 and len(init) == 3
    # the pool is NASWOT-N's own draw with the same seed, scored with NASWOT
    assert [s.index for s in pool] == sample_indices(get_space("nb201"), 6, 4, 0)
    assert all(isinstance(s.score, float) for s in pool)
    ranked = sorted(pool, key=lambda s: -s.score)
    assert [s.index for s in init] == [s.index for s in ranked[:3]]
    end = trace.repeat_ends[0]
    assert end.extra["search"] == "area" and end.extra["pool_size"] == 6
    assert end.pick_index in {s.index for s in recs if s.extra["phase"] != "pool"}


def test_area_resumed_after_cancel_picks_what_an_uninterrupted_run_picks(tmp_path):
    cfg = dict(search="area", repeats=2, pool_size=5, seed_top_k=3, budget_evals=6)
    whole = read_trace(_run(tmp_path / "whole", **cfg).trace_path)

    control = Control()
    run = Run(RunConfig(out_dir=str(tmp_path / "cut"), **{**SMALL, **cfg}), control=control)
    seen = 0
    for event in run.events():
        if isinstance(event, ArchScored):
            seen += 1
            if seen == 20:  # repeat 1, first evolution step (pool and population replayed on resume)
                control.cancel.set()
    cut = read_trace(run.trace_path)
    assert cut.status == "cancelled" and 0 in cut.repeat_ends and 1 not in cut.repeat_ends

    resumed = Run.resume(run.trace_path)
    events = list(resumed.events())
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"
    done = read_trace(run.trace_path)
    assert done.status == "completed"
    for r in (0, 1):
        assert done.repeat_ends[r].pick_index == whole.repeat_ends[r].pick_index
        assert [s.index for s in sorted(done.scores_of(r), key=lambda s: s.i)] == \
               [s.index for s in sorted(whole.scores_of(r), key=lambda s: s.i)]


def test_time_budget_with_benchmark_training_times(tmp_path, shared_data):
    bench = shared_data / "nats_fake_torch_dir" / "NATS-tss-v1_0-3ffb9-simple"
    run = _run(tmp_path, search="rea", seed_top_k=4, budget_s=1000.0, benchmark_file=str(bench))
    trace = read_trace(run.trace_path)
    recs = sorted(trace.scores_of(0), key=lambda s: s.i)
    clocks = [s.extra["sim_time_s"] for s in recs]
    assert clocks == sorted(clocks) and clocks[-1] >= 1000.0 > clocks[-2]
    end = trace.repeat_ends[0]
    assert end.extra["budget_kind"] == "time" and end.extra["sim_time_s"] == clocks[-1]


def test_time_budget_without_times_is_refused():
    with pytest.raises(BenchmarkError, match="budget-evals"):
        plan_budget(RunConfig(search="rea", budget_s=500.0), ground_truth_for("nb201"))
    budget = plan_budget(RunConfig(search="rea"), ground_truth_for("nb201"))
    assert budget.kind == "evals" and budget.value == 100 and "no training times" in budget.note
