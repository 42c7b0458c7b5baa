"""Traces: lossless score encoding, torn tails, corrupt lines, resume state."""

from __future__ import annotations

import json
import math

import pytest

from naswot_tui.core.config import RunConfig
from naswot_tui.core.errors import TraceError
from naswot_tui.core.events import ArchScored, RepeatFinished, RunFinished, RunStarted, decode_score, encode_score
from naswot_tui.core.trace import TraceWriter, read_trace


@pytest.mark.parametrize("value", [1234.5, -math.inf, math.inf, None, 0.0])
def test_score_encoding_round_trips(value):
    rec = encode_score(value)
    json.dumps(rec, allow_nan=False)
    assert decode_score(rec) == value


def test_nan_round_trips_as_nan():
    assert math.isnan(decode_score(encode_score(math.nan)))


def _write(path, n=4, end=True):
    w = TraceWriter(path)
    w.write(RunStarted({"type": "header", "schema": "naswot-trace/1", "config": RunConfig(n=n).to_dict()}))
    for i in range(n):
        w.write(ArchScored(repeat=0, i=i, index=10 + i, arch=f"a{i}", score=-math.inf if i == 1 else float(i),
                           t_s=0.1, acc=90.0 + i, error="boom" if i == 2 else None))
    w.write(RepeatFinished(repeat=0, pick_index=13, pick_arch="a3", pick_score=3.0, pick_acc=93.0))
    if end:
        w.write(RunFinished("completed", {"acc_mean": 93.0}))
    w.close()


def test_round_trip(tmp_path):
    path = tmp_path / "t.jsonl"
    _write(path)
    t = read_trace(path)
    assert t.status == "completed" and t.config.n == 4
    assert [s.score for s in t.scores] == [0.0, -math.inf, 2.0, 3.0]
    assert t.scores[2].error == "boom"
    assert t.repeat_ends[0].pick_index == 13
    for line in path.read_text().splitlines():
        json.loads(line)  # every line is strict JSON


def test_torn_last_line_is_dropped(tmp_path):
    path = tmp_path / "t.jsonl"
    _write(path, end=False)
    with open(path, "a") as f:
        f.write('{"type":"score","repeat":0,"i":4,"ar')  # killed mid-write
    t = read_trace(path)
    assert t.status == "incomplete" and t.torn_tail and len(t.scores) == 4


def test_corrupt_middle_line_names_its_number(tmp_path):
    path = tmp_path / "t.jsonl"
    _write(path)
    lines = path.read_text().splitlines()
    lines[2] = "{garbage"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceError, match="line 3 is corrupt"):
        read_trace(path)


def test_not_a_trace(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"type": "score"}\n')
    with pytest.raises(TraceError, match="not a naswot-tui trace"):
        read_trace(path)


def test_append_cuts_torn_tail_first(tmp_path):
    path = tmp_path / "t.jsonl"
    _write(path, end=False)
    with open(path, "a") as f:
        f.write('{"type":"sco')
    w = TraceWriter(path, append=True)
    w.write(RunFinished("completed", {}))
    w.close()
    t = read_trace(path)
    assert t.status == "completed" and not t.torn_tail and len(t.scores) == 4
