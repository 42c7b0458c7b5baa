"""The engine in-process: failures recorded, cancel, batching, events vs trace."""

from __future__ import annotations

import math
import threading

from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run, batched
from naswot_tui.core.events import ArchScored, RepeatFinished, RunFinished
from naswot_tui.core.search import Control
from naswot_tui.core.spaces import SpaceInfo, get_space, register
from naswot_tui.core.spaces.nb201 import NB201Space
from naswot_tui.core.trace import read_trace


class BrokenNB201(NB201Space):
    """NB201 whose every third index fails to build (a stand-in for a bad benchmark entry)."""

    name = "test-broken"

    def build(self, arch, num_classes=1):
        if self.index(arch) % 3 == 0:
            raise RuntimeError("cannot build this one")
        return super().build(arch, num_classes)


register(SpaceInfo("test-broken", "test only", f"{__name__}:BrokenNB201"))


def _config(tmp_path, **kw):
    base = dict(n=6, batch_size=8, seed=3, out_dir=str(tmp_path))
    base.update(kw)
    return RunConfig(**base)


def test_a_failing_architecture_is_recorded_not_fatal(tmp_path):
    run = Run(_config(tmp_path, space="test-broken", n=9))
    events = list(run.events())
    scored = [e for e in events if isinstance(e, ArchScored)]
    failed = [e for e in scored if e.error]
    assert failed and all(e.index % 3 == 0 and e.score is None for e in failed)
    assert "cannot build this one" in failed[0].error
    end = events[-1]
    assert isinstance(end, RunFinished) and end.status == "completed"
    pick = next(e for e in events if isinstance(e, RepeatFinished))
    assert pick.n_errors == len(failed) and pick.pick_index % 3 != 0
    trace = read_trace(run.trace_path)
    assert [s.error for s in trace.scores] == [e.error for e in scored]


def test_events_and_trace_agree(tmp_path):
    run = Run(_config(tmp_path, repeats=2))
    events = list(run.events())
    trace = read_trace(run.trace_path)
    scored = [e for e in events if isinstance(e, ArchScored)]
    assert [(s.index, s.score) for s in trace.scores] == [(e.index, e.score) for e in scored]
    assert len(trace.repeat_starts) == 2 and trace.status == "completed"
    space = get_space("nb201")
    for e in scored:
        assert e.arch == space.arch(e.index) and e.acc is not None and e.params is not None


def test_cancel_from_another_thread_writes_cancelled_footer(tmp_path):
    control = Control()
    run = Run(_config(tmp_path, n=200), control=control)
    seen = []
    for event in run.events():
        seen.append(event)
        if sum(isinstance(e, ArchScored) for e in seen) == 2:
            threading.Timer(0.0, control.cancel.set).start()
    assert isinstance(seen[-1], RunFinished) and seen[-1].status == "cancelled"
    trace = read_trace(run.trace_path)
    assert trace.status == "cancelled" and 2 <= len(trace.scores) < 200


def test_pick_is_argmax_ignoring_failures(tmp_path):
    run = Run(_config(tmp_path, space="test-broken", n=12, seed=5))
    events = list(run.events())
    scored = [e for e in events if isinstance(e, ArchScored) and e.score is not None and not math.isnan(e.score)]
    pick = next(e for e in events if isinstance(e, RepeatFinished))
    assert pick.pick_score == max(e.score for e in scored)


def test_batched_groups_by_time_and_flushes_milestones():
    events = [ArchScored(0, i, i, "a", 1.0, 0.0) for i in range(50)]
    events.append(RepeatFinished(0, 1, "a", 1.0, None))
    groups = list(batched(iter(events), interval=3600))
    assert len(groups) == 1 and len(groups[0]) == 51
    assert len(list(batched(iter(events), interval=0))) == 51


def test_batched_flushes_while_the_producer_stalls():
    import time as _time

    def slow():
        yield ArchScored(0, 0, 0, "a", 1.0, 0.0)
        _time.sleep(3.0)  # a pause or one slow network
        yield ArchScored(0, 1, 1, "a", 1.0, 0.0)

    started = _time.monotonic()
    first = next(iter(batched(slow(), interval=0.1)))
    # Well before the stall ends (a wide margin: CI machines are busy), not after it.
    assert len(first) == 1 and _time.monotonic() - started < 2.0


def test_batched_reraises_producer_errors_after_earlier_events():
    def broken():
        yield ArchScored(0, 0, 0, "a", 1.0, 0.0)
        raise RuntimeError("engine died")

    got = []
    try:
        for group in batched(broken(), interval=3600):
            got.extend(group)
    except RuntimeError as exc:
        assert "engine died" in str(exc)
    else:
        raise AssertionError("the producer's error was swallowed")
    assert len(got) == 1
