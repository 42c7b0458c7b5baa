"""The headless CLI as scripts use it: real engine, real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from naswot_tui.core.trace import read_trace

CLI = [sys.executable, "-m", "naswot_tui"]
SMALL = ["--batch-size", "16"]


def run_cli(*args, env=None, timeout=300):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_json_run_is_data_only_and_reproducible(tmp_path):
    args = ["--headless", "--n", "6", "--repeats", "3", "--seed", "1", "--json", "--out", str(tmp_path), *SMALL]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)  # the whole of stdout is one JSON document
    assert doc["status"] == "completed" and len(doc["picks"]) == 3
    for pick in doc["picks"]:
        assert isinstance(pick["arch"], str) and isinstance(pick["index"], int)
        assert isinstance(pick["score"], float) and 0 < pick["acc"] < 100
    assert first.stderr == ""  # no progress bar when stderr is not a terminal
    second = json.loads(run_cli(*args).stdout)
    assert [p["score"] for p in second["picks"]] == [p["score"] for p in doc["picks"]]
    trace = read_trace(doc["trace"])
    assert trace.status == "completed" and len(trace.scores) == 18
    assert trace.header["batch_size"] == 16 and trace.header["hook_rule"] == "reference"


def test_jsonl_streams_trace_records(tmp_path):
    out = run_cli("--headless", "--n", "3", "--jsonl", "--out", str(tmp_path), "--data", "synthetic", *SMALL)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["type"] for r in records] == ["header", "repeat_start", "score", "score", "score", "repeat_end", "end"]
    assert records[0]["data_source"] == "synthetic"


def test_text_summary(tmp_path):
    out = run_cli("--headless", "--n", "3", "--out", str(tmp_path), *SMALL)
    assert out.returncode == 0
    assert "repeat 1/1: pick #" in out.stdout and "trace:" in out.stdout


@pytest.mark.parametrize("args, code, fragment", [
    (["--data-root", "/nonexistent"], 3, "/nonexistent"),
    (["--benchmark-file", "/nonexistent.pth"], 3, "/nonexistent.pth"),
    (["--space", "nb999"], 2, "unknown search space"),
    (["--dataset", "mnist"], 2, "unknown dataset"),
    (["--n", "lots"], 2, "--n takes"),
    (["--n", "0"], 2, "--n must be at least 1"),
    (["--n", "20000", "--unique"], 2, "only 15625 architectures"),
    (["--hook-rule", "gelu"], 2, "unknown hook rule"),
    # Checks generated from the option declarations (core/config.py).
    (["--seed", "-1"], 2, "--seed must be at least 0"),
    (["--proxy", "zen"], 2, "unknown proxy 'zen' for --proxy"),
    (["--amp", "fp8"], 2, "leave it out for fp32"),
    (["--device", "tpu"], 2, "unknown device 'tpu'"),
    (["--search", "rea", "--budget-s", "0"], 2, "--budget-s must be greater than 0"),
])
def test_bad_input_exit_codes(tmp_path, args, code, fragment):
    out = run_cli("--headless", "--n", "2", "--json", "--out", str(tmp_path), *args)
    assert out.returncode == code, out.stderr
    assert out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and fragment in out.stderr
    assert not list(tmp_path.glob("*.jsonl"))  # no empty trace left behind


def test_sigkill_then_resume_gives_the_same_picks(tmp_path):
    # --no-cache: with the score cache the second run would finish before the kill.
    base = ["--headless", "--n", "8", "--repeats", "2", "--seed", "7", "--json", "--no-cache", *SMALL]
    whole = run_cli(*base, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    expected = [(p["index"], p["score"]) for p in json.loads(whole.stdout)["picks"]]

    folder = tmp_path / "killed"
    proc = subprocess.Popen([*CLI, *base, "--out", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline:  # wait until some, not all, scores are on disk
        traces = list(folder.glob("*.jsonl"))
        if traces and traces[0].read_text().count('"type":"score"') >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    path = next(folder.glob("*.jsonl"))
    partial = read_trace(path)
    assert partial.status == "incomplete" and 0 < len(partial.scores) < 16

    resumed = run_cli("--headless", "--resume", str(path), "--json")
    assert resumed.returncode == 0, resumed.stderr
    got = [(p["index"], p["score"]) for p in json.loads(resumed.stdout)["picks"]]
    assert got == expected
    final = read_trace(path)
    assert final.status == "completed" and len(final.scores) == 16
    assert sorted((s.repeat, s.i) for s in final.scores) == [(r, i) for r in range(2) for i in range(8)]


def test_resume_of_completed_trace_is_refused(tmp_path):
    out = run_cli("--headless", "--n", "2", "--json", "--out", str(tmp_path), *SMALL)
    path = json.loads(out.stdout)["trace"]
    again = run_cli("--headless", "--resume", path)
    assert again.returncode == 2 and "already completed" in again.stderr


def test_sigint_writes_cancelled_footer_and_exits_130(tmp_path):
    # Ctrl-C at a terminal: SIGINT at its default disposition in the child, even when this test
    # runs under a background shell (which starts its jobs with SIGINT ignored, as POSIX says).
    proc = subprocess.Popen([*CLI, "--headless", "--n", "500", "--no-cache", "--out", str(tmp_path), *SMALL],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 240
    while time.time() < deadline:
        traces = list(Path(tmp_path).glob("*.jsonl"))
        if traces and '"type":"score"' in traces[0].read_text():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    trace = read_trace(next(Path(tmp_path).glob("*.jsonl")))
    assert trace.status == "cancelled"


def test_python_dash_m_and_console_script_agree():
    out = run_cli("--help")
    assert out.returncode == 0 and "--headless" in out.stdout


def test_help_lists_every_option_in_its_group():
    """--help (generated from the declarations) shows each flag once, under its group's panel."""
    from naswot_tui.core.config import Group, options

    out = run_cli("--help", env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert out.returncode == 0, out.stderr
    panels = {g: out.stdout.index(g.heading) for g in Group}
    assert panels[Group.BASIC] < panels[Group.SEARCH] < panels[Group.ADVANCED]
    for opt in options():
        at = out.stdout.index(f"{opt.flag} ")
        group_at = max((p for p in panels.values() if p < at), default=-1)
        assert group_at == panels[opt.group], opt.flag
