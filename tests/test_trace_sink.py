"""One encoder for trace records, the trace as a sink, and the footer written once.

Runs here use the real search and the real ``Run`` on the TUI's fake evaluator
(no torch networks), so they are fast; tests/test_engine.py covers real scoring.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.errors import RunCancelled, TraceError
from naswot_tui.core.events import (
    ArchScored,
    LogMessage,
    RepeatFinished,
    RepeatStarted,
    RunFinished,
    RunStarted,
    from_record,
    to_record,
)
from naswot_tui.core.search import Control
from naswot_tui.core.trace import TraceSink, read_trace
from naswot_tui.headless import _pick
from naswot_tui.tui.fake import FakeEvaluator, fake_parts

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
# proxy_lab/ holds a measurement stopped at a deadline (a ``cancelled`` trace); tests/test_proxy_lab.py reads it.
FIRST_RELEASE_TRACES = sorted(p for p in RESULTS.rglob("*.jsonl") if p.parent.name != "proxy_lab")


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("path", FIRST_RELEASE_TRACES, ids=lambda p: p.parent.name)
def test_first_release_traces_load_and_every_record_round_trips(path):
    """naswot-trace/1 files written by the first release: decode and re-encode to the same records."""
    records = _records(path)
    assert records[0]["schema"] == "naswot-trace/1"
    for rec in records:
        event = from_record(rec)
        assert event is not None, rec["type"]
        assert to_record(event) == rec
    trace = read_trace(path)
    assert trace.status == "completed" and len(trace.scores) == sum(r["type"] == "score" for r in records)


def test_first_release_traces_are_present():
    assert len(FIRST_RELEASE_TRACES) >= 3


@pytest.mark.parametrize("score", [1.5, -math.inf, math.nan, None])
def test_every_event_type_round_trips(score):
    events = [
        RunStarted({"type": "header", "schema": "naswot-trace/1", "config": {}}),
        RepeatStarted(1, 20, "cifar10 train", "ab" * 8),
        ArchScored(1, 3, 77, "a", score, 0.25, params=1.2, acc=91.0, error=None if score else "boom",
                   extra={"phase": "pool"}),
        RepeatFinished(1, 77, "a", score, 91.0, {"cifar10": {"test": 91.0}}, 2.0, 20, 1, extra={"fitness": "x"}),
        RunFinished("failed", {"repeats": 2, "acc_mean": 90.0}, error="RuntimeError: x"),
    ]
    for event in events:
        rec = to_record(event)
        json.dumps(rec, allow_nan=False)  # strict JSON: -inf and NaN are encoded, not written raw
        back = to_record(from_record(json.loads(json.dumps(rec))))
        assert back == rec
    decoded = from_record(to_record(events[2]))
    assert (decoded.score is None and score is None) or decoded.score == score or math.isnan(decoded.score)
    assert to_record(LogMessage("info", "x")) is None  # log lines are not data
    assert from_record({"type": "something-newer"}) is None


def test_json_picks_use_the_trace_encoder():
    """--json picks: -inf keeps its score_inf marker, REA's own fields keep their names."""
    pick = _pick(RepeatFinished(0, 5, "a", -math.inf, 90.0, extra={"pick_fitness": 88.0, "fitness": "valid@12"}))
    assert pick["index"] == 5 and pick["score"] is None and pick["score_inf"] == -1
    assert pick["pick_fitness"] == 88.0 and pick["fitness"] == "valid@12"
    json.dumps(pick, allow_nan=False)


def test_sink_writes_the_footer_once_and_refuses_events_after_it(tmp_path):
    path = tmp_path / "t.jsonl"
    sink = TraceSink(path)
    sink.on_event(RunStarted({"type": "header", "schema": "naswot-trace/1", "config": {}}))
    sink.on_event(LogMessage("info", "not written"))
    sink.close(RunFinished("cancelled"))
    sink.close(RunFinished("completed"))
    assert [r["type"] for r in _records(path)] == ["header", "end"]
    assert read_trace(path).status == "cancelled"
    with pytest.raises(TraceError, match="closed"):
        sink.on_event(RepeatStarted(0, 1, "", ""))


def _fake_run(tmp_path, evaluator_cls=FakeEvaluator, control=None, **config) -> Run:
    cfg = RunConfig(out_dir=str(tmp_path), **{"n": 12, "repeats": 2, "seed": 3, **config})
    parts = fake_parts(cfg)
    parts.evaluator = evaluator_cls(cfg, parts.truth)
    return Run(cfg, trace_path=tmp_path / "run.jsonl", control=control, parts=parts)


@pytest.mark.parametrize("search", ["naswot", "rea", "area"])
def test_searches_open_each_repeat_with_repeat_started(tmp_path, search):
    run = _fake_run(tmp_path, search=search, budget_evals=8, seed_top_k=3, pool_size=5)
    events = list(run.events())
    kinds = [type(e).__name__ for e in events]
    starts = [k for k, e in enumerate(events) if isinstance(e, RepeatStarted)]
    assert [events[k].repeat for k in starts] == [0, 1]
    for k in starts:  # a start comes right after the header or the previous repeat's end
        assert kinds[k - 1] in ("RunStarted", "RepeatFinished") and kinds[k + 1] == "ArchScored"
        expected_total = 12 if search == "naswot" else 8 + (5 if search == "area" else 0)
        assert events[k].batch == "fake batch" and events[k].total == expected_total
    records = _records(run.trace_path)
    assert [r["type"] for r in records].count("repeat_start") == 2
    assert [r["type"] for r in records].count("end") == 1 and records[-1]["status"] == "completed"
    # what the trace holds is what the front end saw, through the same encoder
    assert [to_record(e) for e in events if to_record(e) is not None] == records


class FailingEvaluator(FakeEvaluator):
    """Raises something that is not a bad architecture (a bug, a lost device) at candidate 5."""

    def __call__(self, repeat, i, index):
        if i == 5:
            raise OSError("device went away")
        return super().__call__(repeat, i, index)


class InterruptedEvaluator(FakeEvaluator):
    def __call__(self, repeat, i, index):
        if repeat == 1 and i == 2:
            raise KeyboardInterrupt
        return super().__call__(repeat, i, index)


def test_other_exceptions_write_one_failed_footer_and_propagate(tmp_path):
    run = _fake_run(tmp_path, evaluator_cls=FailingEvaluator)
    with pytest.raises(OSError, match="device went away"):
        list(run.events())
    records = _records(run.trace_path)
    ends = [r for r in records if r["type"] == "end"]
    assert len(ends) == 1 and ends[0]["status"] == "failed" and "device went away" in ends[0]["error"]
    assert sum(r["type"] == "score" for r in records) == 5 and run.status == "failed"


def test_ctrl_c_writes_cancelled_footer_then_raises_run_cancelled(tmp_path):
    run = _fake_run(tmp_path, evaluator_cls=InterruptedEvaluator)
    with pytest.raises(RunCancelled, match="resume with --resume"):
        list(run.events())
    trace = read_trace(run.trace_path)
    assert trace.status == "cancelled" and len(trace.scores) == 12 + 2
    assert [r["type"] for r in _records(run.trace_path)].count("end") == 1
    assert trace.end["repeats"] == 1  # the footer's summary covers the finished repeat


def test_cancel_then_resume_appends_without_duplicates_and_picks_the_same(tmp_path):
    whole = _fake_run(tmp_path / "whole")
    picks = [(e.pick_index, e.pick_score) for e in whole.events() if isinstance(e, RepeatFinished)]

    control = Control()
    first = _fake_run(tmp_path / "cut", control=control)
    seen = 0
    events = []
    for event in first.events():
        events.append(event)
        if isinstance(event, ArchScored):
            seen += 1
            if seen == 16:  # inside repeat 1
                control.cancel.set()
    assert isinstance(events[-1], RunFinished) and events[-1].status == "cancelled"

    cfg = read_trace(first.trace_path).config
    resumed = Run.resume(first.trace_path, parts=fake_parts(cfg))
    again = list(resumed.events())
    assert again[-1].status == "completed"
    assert [(e.pick_index, e.pick_score) for e in again if isinstance(e, RepeatFinished)] == picks
    records = _records(first.trace_path)
    types = [r["type"] for r in records]
    assert types.count("header") == 1 and types.count("repeat_start") == 2 and types.count("repeat_end") == 2
    keys = [(r["repeat"], r["i"]) for r in records if r["type"] == "score"]
    assert sorted(keys) == [(r, i) for r in range(2) for i in range(12)]  # each candidate once
    assert read_trace(first.trace_path).status == "completed"


def test_a_fake_run_imports_no_torch(tmp_path):
    """The fake evaluator drives the real Run and search without loading torch."""
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from naswot_tui.core.config import RunConfig
        from naswot_tui.core.engine import Run
        from naswot_tui.tui.fake import fake_parts
        cfg = RunConfig(n=5, out_dir={str(tmp_path)!r})
        run = Run(cfg, trace_path=Path({str(tmp_path / 't.jsonl')!r}), parts=fake_parts(cfg))
        assert list(run.events())[-1].status == "completed"
        assert "torch" not in sys.modules, "torch was imported"
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
