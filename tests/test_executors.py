"""Executors (core/executors): same scores and picks as local, faults, Ctrl-C, shards and merge.

Real worker processes (``spawn``) score real NB201 networks on a small batch;
fault tests kill workers with SIGKILL for real.
"""

from __future__ import annotations

import os
import signal

import pytest

from naswot_tui.core.config import RunConfig, shard_bounds
from naswot_tui.core.engine import Run
from naswot_tui.core.errors import RunCancelled, UsageError
from naswot_tui.core.events import ArchScored, RepeatFinished, RepeatStarted
from naswot_tui.core.executors.base import ChunkSizer
from naswot_tui.core.executors.worker import DIE_ON_INDEX_ENV, ChunkScorer
from naswot_tui.core.search import Control, naswot_search, sample_indices
from naswot_tui.core.spaces import get_space
from naswot_tui.core.trace import read_trace
from naswot_tui.tui.fake import FakeSpace, FakeTruth


def _config(tmp_path, **kw):
    base = dict(n=8, batch_size=8, seed=5, unique=True, cache=False, out_dir=str(tmp_path))
    base.update(kw)
    return RunConfig(**base)


def _scores(events):
    return {(e.repeat, e.i): (e.index, e.score, e.error) for e in events if isinstance(e, ArchScored)}


def _picks(events):
    return [(e.repeat, e.pick_index, e.pick_score) for e in events if isinstance(e, RepeatFinished)]


@pytest.fixture(scope="module")
def local_events(tmp_path_factory):
    run = Run(_config(tmp_path_factory.mktemp("local"), repeats=2))
    return list(run.events())


def test_procs_gives_the_scores_and_picks_of_local(tmp_path, local_events):
    run = Run(_config(tmp_path, repeats=2, executor="procs", workers=2))
    events = list(run.events())
    assert events[-1].status == "completed"
    assert _scores(events) == _scores(local_events)
    assert _picks(events) == _picks(local_events)
    workers = run.evaluator.worker_states()
    assert len(workers) == 2 and all(w.state == "dead" for w in workers)   # stopped by close()
    assert sum(w.scored for w in workers) == 16
    trace = read_trace(run.trace_path)
    assert sorted((s.repeat, s.i) for s in trace.scores) == [(r, i) for r in range(2) for i in range(8)]


def test_a_worker_killed_mid_run_has_its_chunk_retried(tmp_path, local_events):
    run = Run(_config(tmp_path, executor="procs", workers=2))
    events, killed = [], None
    for event in run.events():
        events.append(event)
        if isinstance(event, ArchScored) and killed is None:
            busy = [w for w in run.evaluator.worker_states() if w.state == "busy"]
            if busy:
                killed = busy[0].pid
                os.kill(killed, signal.SIGKILL)
    assert killed is not None and events[-1].status == "completed"
    trace = read_trace(run.trace_path)
    assert sorted(s.i for s in trace.scores) == list(range(8))   # every architecture once
    assert all(s.error is None for s in trace.scores)
    assert _scores(events) == {key: v for key, v in _scores(local_events).items() if key[0] == 0}
    assert _picks(events) == _picks(local_events)[:1]


def test_an_architecture_that_kills_workers_twice_is_recorded_as_failed(tmp_path, monkeypatch):
    space = get_space("nb201")
    killer = sample_indices(space, 6, 5, 0, unique=True)[2]
    monkeypatch.setenv(DIE_ON_INDEX_ENV, str(killer))   # spawned workers inherit it
    run = Run(_config(tmp_path, n=6, executor="procs", workers=2))
    events = list(run.events())
    assert events[-1].status == "completed"
    scored = _scores(events)
    assert sorted(scored) == [(0, i) for i in range(6)]
    index, score, error = scored[0, 2]
    assert index == killer and score is None and "worker died twice" in error
    assert all(err is None and s is not None for (_, i), (_, s, err) in scored.items() if i != 2)
    assert next(e for e in events if isinstance(e, RepeatFinished)).n_errors == 1


def test_ctrl_c_stops_every_worker_and_writes_the_footer(tmp_path):
    run = Run(_config(tmp_path, n=40, executor="procs", workers=2))
    stream = run.events()
    for event in stream:
        if isinstance(event, ArchScored):
            break
    pids = [w.process for w in run.evaluator.executor._workers]
    with pytest.raises(RunCancelled):
        stream.throw(KeyboardInterrupt())
    assert pids and not any(p.is_alive() for p in pids)
    trace = read_trace(run.trace_path)
    assert trace.status == "cancelled" and 1 <= len(trace.scores) < 40


def test_a_worker_refuses_a_minibatch_that_is_not_the_headers():
    config = _config(".").to_dict()
    scorer = ChunkScorer(config, "cpu")
    from naswot_tui.core.data import make_batch

    right = make_batch("cifar10", "embedded", 8, 5, 0).fingerprint
    assert scorer.prepare(0, right) is None
    refusal = scorer.prepare(0, "0123456789abcdef")
    assert refusal is not None and "refuses to score" in refusal and "0123456789abcdef" in refusal


class _ShuffledFake:
    """Scores by a formula with many ties, returned in reverse order (as workers may)."""

    def __init__(self, reverse: bool) -> None:
        self.reverse = reverse

    def begin_repeat(self, repeat):
        return RepeatStarted(repeat, 0, "fake", "fake")

    def __call__(self, repeat, i, index):
        return ArchScored(repeat, i, index, str(index), float(index % 7), 0.0)

    def score_many(self, repeat, items):
        records = [self(repeat, i, index) for i, index in items]
        yield from (reversed(records) if self.reverse else records)


def test_the_pick_does_not_depend_on_arrival_order():
    config = RunConfig(n=60, repeats=3, seed=2)
    space, truth = FakeSpace(), FakeTruth(2)
    picks = []
    for reverse in (False, True):
        events = list(naswot_search(config, space, _ShuffledFake(reverse), truth, Control()))
        picks.append([(e.pick_index, e.pick_score) for e in events if isinstance(e, RepeatFinished)])
    assert picks[0] == picks[1]
    for repeat, (index, score) in enumerate(picks[0]):
        draw = sample_indices(space, 60, 2, repeat)
        assert score == 6.0 and index == next(x for x in draw if x % 7 == 6)   # first drawn of the ties


def test_chunks_aim_at_a_second_and_share_the_tail():
    sizer = ChunkSizer()
    assert sizer.size(1000, 2) == 2            # no timing yet
    for _ in range(10):
        sizer.observe(0.1)
    assert sizer.size(1000, 2) == 10           # ~1 s of 0.1 s architectures
    assert sizer.size(7, 2) == 4               # never more than a fair share of the rest
    assert sizer.size(1, 4) == 1


def test_shard_bounds_cover_the_draw_once():
    for n in (1, 7, 100):
        for parts in (1, 3, 8):
            slices = [range(*shard_bounds(f"{k}/{parts}", n)) for k in range(1, parts + 1)]
            assert [i for s in slices for i in s] == list(range(n))
    with pytest.raises(UsageError, match="K/N"):
        RunConfig(shard="4/3").validate()
    with pytest.raises(UsageError, match="K/N"):
        RunConfig(shard="x").validate()


def test_shards_then_merge_equal_one_unsharded_run(tmp_path, local_events):
    from naswot_tui.commands.merge import merge_traces

    paths = []
    for k in (1, 2, 3):
        run = Run(_config(tmp_path / f"s{k}", repeats=2, shard=f"{k}/3"))
        events = list(run.events())
        lo, hi = shard_bounds(f"{k}/3", 8)
        assert sorted(_scores(events)) == [(r, i) for r in range(2) for i in range(lo, hi)]
        paths.append(run.trace_path)
    merged = read_trace(merge_traces(paths, tmp_path / "merged.jsonl"))
    assert merged.status == "completed" and merged.config.shard is None
    local_scores = {(e.repeat, e.i): (e.index, e.score) for e in local_events if isinstance(e, ArchScored)}
    assert {(s.repeat, s.i): (s.index, s.score) for s in merged.scores} == local_scores
    local_picks = {e.repeat: (e.pick_index, e.pick_score, e.pick_acc) for e in local_events
                   if isinstance(e, RepeatFinished)}
    assert {r: (e.pick_index, e.pick_score, e.pick_acc) for r, e in merged.repeat_ends.items()} == local_picks
    assert all(e.n_scored == 8 for e in merged.repeat_ends.values())


def test_merge_refuses_shards_of_another_run(tmp_path):
    from naswot_tui.commands.merge import merge_traces

    a = Run(_config(tmp_path / "a", n=2, shard="1/2"))
    list(a.events())
    b = Run(_config(tmp_path / "b", n=2, seed=6, shard="2/2"))
    list(b.events())
    with pytest.raises(UsageError, match="another config .seed"):
        merge_traces([a.trace_path, b.trace_path], tmp_path / "m.jsonl")
    with pytest.raises(UsageError, match="2/2 missing"):
        merge_traces([a.trace_path], tmp_path / "m.jsonl")


def test_merge_command_exit_code_2(tmp_path):
    import subprocess
    import sys

    a = Run(_config(tmp_path / "a", n=2))
    list(a.events())
    out = subprocess.run([sys.executable, "-m", "naswot_tui", "merge", str(a.trace_path)], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "is not a shard" in out.stderr


