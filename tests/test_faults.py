"""The fault suite: traces survive kills, signals, second writers, changed data and bad input.

Real runs (NB201, CPU, a batch of 8, no cache), real subprocesses where a
process has to die or be signalled, the real CLI otherwise. Every bad input
must end in one line on stderr and its documented exit code (0 ok, 1 runtime,
2 usage or bad trace, 3 benchmark/dataset, 130 interrupted), and no trace may
lose or mix records.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from naswot_tui.cli import _register_subcommands, app
from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.errors import TraceError, UsageError
from naswot_tui.core.trace import lock_holder, read_trace
from naswot_tui.tui.app import make_app
from tui_helpers import fake_settings, fake_trace, sync, wait_until

_register_subcommands()

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "naswot_tui"]
TINY = ["--batch-size", "8", "--no-cache", "--device", "cpu"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _popen(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*CLI, "--headless", *args], env=_env(), text=True, **kwargs)


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


def _run(folder: Path, **config) -> Path:
    """A complete real trace, written in this process."""
    cfg = RunConfig(out_dir=str(folder), batch_size=8, cache=False, device="cpu", **config)
    run = Run(cfg)
    for _ in run.events():
        pass
    return run.trace_path


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _scores(path: Path) -> dict[tuple[int, int], tuple[int, float | None]]:
    return {(s.repeat, s.i): (s.index, s.score) for s in read_trace(path).scores}


def _wait_for_scores(path_glob: Path, count: int, proc: subprocess.Popen, timeout: float = 120) -> Path:
    """The trace a subprocess is writing, once it holds ``count`` score lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        for path in path_glob.glob("*.jsonl"):
            if path.read_bytes().count(b'"type":"score"') >= count:
                return path
        time.sleep(0.05)
    raise AssertionError("the run wrote no scores in time")


# ---------------------------------------------------------------- kill -9, then resume


@pytest.mark.slow   # about 25 s on a busy 2-core machine: CI's slow pass runs it
def test_kill_9_at_random_points_then_resume_gives_the_uninterrupted_run(tmp_path):
    """SIGKILL after a random number of scores (two points), then --resume: the same scores
    and picks as a run never interrupted, each (repeat, step) exactly once."""
    reference = _run(tmp_path / "ref", n=15, repeats=2, seed=3)
    want_scores, want = _scores(reference), read_trace(reference)
    rng = random.Random(11)
    for point in (rng.randint(1, 8), rng.randint(15, 22)):   # in the first repeat, in the second
        folder = tmp_path / f"killed-{point}"
        proc = _popen("--n", "15", "--repeats", "2", "--seed", "3", "--out", str(folder), *TINY,
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            trace = _wait_for_scores(folder, point, proc)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert read_trace(trace).status == "incomplete"
        result = _cli("--headless", "--resume", str(trace), "--no-cache")
        assert result.exit_code == 0, result.output
        done = read_trace(trace)
        assert done.status == "completed"
        assert _scores(trace) == want_scores                  # nothing lost, nothing recomputed differently
        assert len(done.scores) == len(want.scores) == 30       # and nothing twice
        assert [r.pick_index for r in done.repeat_ends.values()] == [
            r.pick_index for r in want.repeat_ends.values()]


# ---------------------------------------------------------------- one writer per trace


def test_resume_of_a_live_trace_is_refused_and_leaves_it_byte_identical_then_sigterm_cancels(tmp_path):
    """While a run writes its trace, --resume of that trace exits 2 naming the writer's pid and
    does not touch the file; SIGTERM then ends the run like Ctrl-C: footer cancelled, exit 130,
    one line on stderr, and the trace resumes to completion."""
    proc = _popen("--n", "400", "--seed", "2", "--out", str(tmp_path), *TINY,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        trace = _wait_for_scores(tmp_path, 2, proc)
        proc.send_signal(signal.SIGSTOP)          # freeze the writer: its lock stays held
        try:
            before = trace.read_bytes()
            assert lock_holder(trace)["pid"] == proc.pid
            refused = _cli("--headless", "--resume", str(trace))
            assert refused.exit_code == 2
            assert f"process {proc.pid}" in refused.output and len(refused.output.strip().splitlines()) == 1
            assert trace.read_bytes() == before
        finally:
            proc.send_signal(signal.SIGCONT)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [err.strip()] and "SIGTERM" in err
    assert read_trace(trace).status == "cancelled" and lock_holder(trace) is None
    assert not trace.with_name(trace.name + ".lock").exists()


def test_sighup_writes_the_cancelled_footer(tmp_path):
    """SIGHUP (the terminal went away) ends a headless run like Ctrl-C: footer cancelled, exit 130."""
    proc = _popen("--n", "400", "--seed", "4", "--out", str(tmp_path), *TINY,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        trace = _wait_for_scores(tmp_path, 1, proc)
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "SIGHUP" in err
    t = read_trace(trace)
    assert t.status == "cancelled" and t.end is not None


def _cut(trace: Path, keep: int) -> bytes:
    """Make ``trace`` look killed: only its first ``keep`` lines survive."""
    lines = trace.read_bytes().splitlines(keepends=True)
    trace.write_bytes(b"".join(lines[:keep]))
    return trace.read_bytes()


def test_two_resumes_of_one_killed_trace_one_is_refused(tmp_path):
    """Two resumes at once of the same killed trace: the second is refused before it reads or
    writes anything, so the finished trace has each step once."""
    trace = _run(tmp_path, n=4, seed=5)
    _cut(trace, 4)     # header, repeat_start, two scores
    first = Run.resume(trace, cache=False)
    with pytest.raises(TraceError, match=f"process {os.getpid()}"):
        Run.resume(trace, cache=False)
    for _ in first.events():
        pass
    done = read_trace(trace)
    assert done.status == "completed" and [s.i for s in done.scores] == [0, 1, 2, 3]
    again = Run.resume(_cut_end(trace), cache=False)   # the lock went with the first run
    again.release()


def _cut_end(trace: Path) -> Path:
    lines = trace.read_bytes().splitlines(keepends=True)
    trace.write_bytes(b"".join(lines[:-1]))
    return trace


# ---------------------------------------------------------------- resume checks what it continues


def _cifar10(root: Path, seed: int) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in [f"data_batch_{b}" for b in range(1, 6)] + ["test_batch"]:
        batch = {"labels": list(rng.integers(0, 10, 10)), "data": rng.integers(0, 256, (10, 3072), dtype=np.uint8)}
        (folder / name).write_bytes(pickle.dumps(batch))
    return root


def test_resume_after_the_data_changed_is_refused(tmp_path):
    """--data-root images replaced between the kill and the resume: exit 2 naming the
    fingerprints, the trace untouched (no repeat scored half on each batch)."""
    root = _cifar10(tmp_path / "data", seed=1)
    trace = _run(tmp_path / "runs", n=4, data_root=str(root))
    before = _cut(trace, 4)
    _cifar10(tmp_path / "data", seed=2)          # other images, same layout
    from naswot_tui.core.data import _train_set

    _train_set.cache_clear()    # a resume runs in a new process: nothing read before is remembered
    result = _cli("--headless", "--resume", str(trace))
    assert result.exit_code == 2 and "the data changed" in result.output
    assert trace.read_bytes() == before and lock_holder(trace) is None


def test_edited_header_seed_is_noticed(tmp_path):
    """A hand-edited seed (header and config alike) no longer draws the recorded candidates."""
    trace = _run(tmp_path, n=4, seed=1)
    _cut(trace, 4)
    lines = trace.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["seed"] = header["config"]["seed"] = 9
    lines[0] = json.dumps(header) + "\n"
    trace.write_text("".join(lines))
    with pytest.raises(TraceError, match="draws"):
        Run.resume(trace).prepare()
    assert lock_holder(trace) is None   # a refused resume gives the lock back


@pytest.mark.parametrize("flag, value, ok", [
    ("--seed", "7", False), ("--n", "5", False), ("--space", "nats-sss", False), ("--dataset", "cifar100", False),
    ("--hook-rule", "relu", False), ("--seed", "1", True), ("--space", "nats-tss", True), ("--n", "4", True),
])
def test_resume_flags_that_contradict_the_trace_are_refused(tmp_path, flag, value, ok):
    """Flags given with --resume must equal the trace's values (aliases count as equal)."""
    trace = _run(tmp_path, n=4, seed=1)
    before = _cut(trace, 4)
    result = _cli("--headless", "--resume", str(trace), flag, value, "--no-cache")
    if ok:
        assert result.exit_code == 0, result.output
        assert read_trace(trace).status == "completed"
    else:
        assert result.exit_code == 2 and f"{flag} " in result.output and "contradicts" in result.output
        assert trace.read_bytes() == before


# ---------------------------------------------------------------- readers validate the schema


def _corrupt(path: Path, how: str) -> int:
    """Break one record of ``path`` in a JSON-valid way; the 1-based line number broken."""
    lines = path.read_text().splitlines()
    recs = [json.loads(line) for line in lines]
    k = next(n for n, r in enumerate(recs) if r["type"] == "score")
    if how == "score without index":
        del recs[k]["index"]
    elif how == "string score":
        recs[k]["score"] = "12.5"
    elif how == "non-string space":
        k = 0
        recs[0]["config"]["space"] = 201
    elif how == "bad status":
        k = len(recs) - 1
        recs[k]["status"] = "done"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return k + 1


BAD = ["score without index", "string score", "non-string space", "bad status"]


@pytest.mark.parametrize("how", BAD)
@pytest.mark.parametrize("command", ["evaluate", "compare", "report", "plot", "resume"])
def test_bad_trace_is_exit_2_naming_file_and_line(tmp_path, command, how):
    good = fake_trace(tmp_path / "good", n=5)
    bad = fake_trace(tmp_path / "bad", n=5)
    line = _corrupt(bad, how)
    args = {"evaluate": ["evaluate", str(bad)], "compare": ["compare", str(good), str(bad), "--json"],
            "report": ["report", str(bad)], "plot": ["plot", str(bad), "--kind", "curves",
                                                      "--out", str(tmp_path / "x.png")],
            "resume": ["--headless", "--resume", str(bad)]}[command]
    result = _cli(*args)
    if command == "plot" and "pip install" in result.output:
        pytest.skip("the plots extra is not installed")
    assert result.exit_code == 2, result.output
    assert f"{bad}:{line}:" in result.output and len(result.output.strip().splitlines()) == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_runs_lists_good_runs_and_marks_bad_ones(tmp_path, monkeypatch):
    folder = tmp_path / "runs"
    good = fake_trace(folder, n=5)
    bad = fake_trace(folder, n=6)
    line = _corrupt(bad, "string score")
    text = _cli("runs", "--dir", str(folder))
    assert text.exit_code == 0
    assert str(good) in text.output and f"{bad}:{line}" in text.output and "unreadable" in text.output
    rows = json.loads(_cli("runs", "--dir", str(folder), "--json").output)
    assert sorted(r["status"] for r in rows) == ["completed", "unreadable"]


@sync
async def test_runs_screen_marks_a_malformed_trace_and_still_lists_the_rest(tmp_path):
    """One malformed trace used to leave the Runs screen on 'loading runs...' forever."""
    runs = tmp_path / "runs"
    fake_trace(runs, n=5)
    _corrupt(fake_trace(runs, n=6), "score without index")
    app = make_app(fake_settings(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.screen.query_one("#runs-table").row_count == 2)
        table = app.screen.query_one("#runs-table")
        statuses = sorted(str(table.get_row_at(k)[0]).strip() for k in range(2))
        assert statuses == ["completed", "unreadable"]
        assert "loading" not in app.screen.query_one("#runs-status").render().plain


def test_compare_json_keeps_minus_inf_and_nan_lossless(tmp_path):
    """A real --n 1 --seed 30 run draws the all-none cell (score -inf); compare --json encodes it
    (and a NaN) the way traces do instead of failing on allow_nan=False."""
    inf_run = _run(tmp_path, n=1, seed=30)
    assert read_trace(inf_run).scores[0].score == -math.inf
    nan_run = fake_trace(tmp_path / "nan", n=3)
    recs = _records(nan_run)
    for r in recs:
        if r["type"] == "score":
            r.update(score=None, score_nan=True)
    nan_run.write_text("".join(json.dumps(r) + "\n" for r in recs))
    result = _cli("compare", str(inf_run), str(nan_run), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)     # strict JSON: no Infinity / NaN tokens
    first = doc["runs"][0]
    assert first["best_score"] is None and first["best_score_inf"] == -1


# ---------------------------------------------------------------- input errors: one line, documented code


def _no_traces(folder: Path) -> bool:
    return not folder.exists() or not list(folder.glob("*.jsonl"))


@pytest.mark.parametrize("args, code, fragment", [
    (["--seed", "-1"], 2, "--seed"),
    (["--n", str(10 ** 15)], 2, "--n must be at most"),
    (["--repeats", str(10 ** 12)], 2, "--repeats"),
    (["--data", "synthetic", "--data-root", "/tmp"], 2, "--data-root"),
    (["--split-file", "/tmp/split.json"], 2, "--split-file"),
    (["--search", "area", "--pool-size", "3", "--seed-top-k", "10"], 2, "--seed-top-k"),
    (["--benchmark-file", "/nonexistent.pth"], 3, "/nonexistent.pth"),
    (["--json", "--jsonl"], 2, "exclusive"),
])
def test_bad_run_input_is_one_line_with_its_exit_code_and_leaves_no_trace(tmp_path, args, code, fragment):
    result = _cli("--headless", "--n", "2", "--out", str(tmp_path / "runs"), *TINY, *args) if "--n" not in args \
        else _cli("--headless", "--out", str(tmp_path / "runs"), *TINY, *args)
    assert result.exit_code == code, result.output
    assert fragment in result.output and len(result.output.strip().splitlines()) == 1
    assert _no_traces(tmp_path / "runs")


def test_garbage_benchmark_file_is_exit_3(tmp_path):
    bad = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    bad.write_bytes(b"not a torch file at all")
    result = _cli("--headless", "--n", "2", "--out", str(tmp_path / "runs"), *TINY, "--benchmark-file", str(bad))
    assert result.exit_code == 3 and len(result.output.strip().splitlines()) == 1
    assert _no_traces(tmp_path / "runs")


@pytest.mark.parametrize("value", ["1000000000", "1e9"])
def test_evaluate_huge_resamples_is_a_usage_error(tmp_path, value):
    trace = fake_trace(tmp_path, n=5)
    result = _cli("evaluate", str(trace), "--resamples", value)
    assert result.exit_code == 2


def test_validate_refuses_contradicting_flags_in_the_form_too():
    """The Setup form validates the same RunConfig: the rules hold there as well."""
    with pytest.raises(UsageError, match="--data-root"):
        RunConfig(data="synthetic", data_root="/tmp").validate()
    RunConfig(search="area", pool_size=10, seed_top_k=10).validate()
    RunConfig(search="rea", pool_size=3, seed_top_k=10).validate()   # REA has no pool


# ---------------------------------------------------------------- a closed stdout never fails a finished run


def test_closed_pipe_does_not_fail_the_run(tmp_path):
    """`naswot-tui --headless --jsonl | head -1`: output stops, the run completes (footer
    `completed`), exit 1, nothing on stderr (a closed pipe is the reader's choice)."""
    proc = _popen("--n", "4", "--jsonl", "--out", str(tmp_path), *TINY,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()                            # the reader goes away, as head does
    err = proc.stderr.read()
    proc.wait(timeout=300)
    assert json.loads(first)["type"] == "header"
    assert proc.returncode == 1 and err == ""
    (trace,) = tmp_path.glob("*.jsonl")
    assert read_trace(trace).status == "completed"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_stdout_does_not_fail_the_run_and_amp_on_cpu_warns(tmp_path):
    """stdout on /dev/full: the run completes, exit 1 with one line. (The same subprocess
    checks that --amp on the CPU warns in one line: one process start instead of two.)"""
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*CLI, "--headless", "--n", "2", "--json", "--amp", "bf16", "--out", str(tmp_path),
                               *TINY], env=_env(), stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith("warning: --amp bf16 on the CPU")
    assert "could not write the results" in lines[1]
    (trace,) = tmp_path.glob("*.jsonl")
    assert read_trace(trace).status == "completed"


@pytest.mark.parametrize("line", [b"[" * 100_000 + b"]" * 100_000, b'{"type":"score","arch":"\xff"}',
                                  b'{"type":"score","repeat":0,"i":9,"index":1,"arch":"a","score":Infinity}',
                                  b'{"type":"repeat_end","repeat":0,"pick_accs":{"cifar10":"x"}}'])
def test_deep_non_utf8_and_non_json_lines_are_trace_errors(tmp_path, line):
    """Nesting 100k deep, a byte that is not UTF-8, an `Infinity` token, a wrong nested type:
    each a TraceError naming file:line, not a RecursionError or a traceback later."""
    trace = fake_trace(tmp_path, n=3)
    lines = trace.read_bytes().splitlines(keepends=True)
    trace.write_bytes(b"".join([*lines[:2], line + b"\n", *lines[2:]]))
    with pytest.raises(TraceError, match=f"{trace}:3: "):
        read_trace(trace)


@sync
async def test_sigterm_quits_the_app_and_cancels_its_run_with_a_footer(tmp_path):
    """In the app, SIGTERM (or SIGHUP when the SSH session drops) quits as `q` does: the run in
    progress ends with a `cancelled` footer and stays resumable."""
    from naswot_tui.cli import exit_app_on_signals

    app = make_app(fake_settings(tmp_path, last={"n": 500, "seed": 4}, hold_after=20))
    with exit_app_on_signals(app) as fired:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: app.state.done == 20)
            trace = Path(app.state.trace_path)
            os.kill(os.getpid(), signal.SIGTERM)
            await wait_until(pilot, lambda: not app.is_running, timeout=20)
    assert fired == [signal.SIGTERM]
    deadline = time.monotonic() + 20
    while read_trace(trace).status != "cancelled":
        assert time.monotonic() < deadline, "no cancelled footer"
        time.sleep(0.05)
    assert len(read_trace(trace).scores) == 20
