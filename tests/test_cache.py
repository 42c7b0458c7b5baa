"""The persistent score cache: keys, round trips, two writer processes, and
its use by the engine (hits marked cached, --no-cache bypasses)."""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from naswot_tui.core.cache import CacheKey, ScoreCache
from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.events import ArchScored

ROOT = Path(__file__).resolve().parents[1]


def key(**changes) -> CacheKey:
    base = dict(space="nb201", data_fingerprint="abc", batch_size=128, hook_rule="reference", proxy="naswot",
                init_policy="seedseq-v1:seed=1", dtype="fp32", device_kind="cpu-avx512", version="0.1.0")
    base.update(changes)
    return CacheKey(**base)


def test_round_trip_keeps_minus_infinity_nan_and_fields(tmp_path):
    with ScoreCache(tmp_path / "c.sqlite3") as cache:
        cache.put_many(key(), [(1, "a", 1234.5, 0.4, 0.2), (2, "b", -math.inf, None, None),
                               (3, "c", math.nan, None, None)])
        got = cache.load(key())
    assert got[1].score == 1234.5 and got[1].params == 0.4 and got[1].arch == "a"
    assert got[2].score == -math.inf
    assert math.isnan(got[3].score)


@pytest.mark.parametrize("field,value", [("space", "nats-sss"), ("data_fingerprint", "zzz"), ("batch_size", 64),
                                         ("hook_rule", "relu"), ("proxy", "params"),
                                         ("init_policy", "seedseq-v1:seed=2"), ("dtype", "amp-bf16"),
                                         ("device_kind", "cpu-avx2"), ("device_kind", "cuda-sm90"),
                                         ("version", "9.9.9")])
def test_every_key_field_separates_scores(tmp_path, field, value):
    with ScoreCache(tmp_path / "c.sqlite3") as cache:
        cache.put(key(), 7, "arch", 1.0)
        assert cache.get(key(), 7).score == 1.0
        assert cache.get(key(**{field: value}), 7) is None


def test_load_subset_info_and_clear_by_space(tmp_path):
    with ScoreCache(tmp_path / "c.sqlite3") as cache:
        cache.put_many(key(), [(i, f"a{i}", float(i), None, None) for i in range(2000)])
        cache.put_many(key(space="nats-sss"), [(0, "x", 1.0, None, None)])
        assert sorted(cache.load(key(), [5, 1999, 5000])) == [5, 1999]  # more than SQLite's 999 parameters
        info = cache.info()
        assert info["scores"] == 2001 and len(info["contexts"]) == 2
        assert cache.clear("nats-sss") == 1
        assert cache.count(key()) == 2000 and cache.count(key(space="nats-sss")) == 0
        assert cache.clear() == 2000
        assert cache.info()["scores"] == 0


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from naswot_tui.core.cache import CacheKey, ScoreCache
    who, path = int(sys.argv[1]), sys.argv[2]
    cache = ScoreCache(path)
    shared = CacheKey("nb201", "fp", 128, "reference", "naswot", "seedseq-v1:seed=1", "fp32", "cpu", "t")
    own = CacheKey("nb201", "fp", 128, "reference", "naswot", f"seedseq-v1:seed={{100 + who}}", "fp32", "cpu", "t")
    for t in range(150):                       # many small transactions, interleaving with the other process
        cache.put_many(shared, [(t * 10 + k, f"arch{{t * 10 + k}}", float(t * 10 + k), None, None) for k in range(10)])
        cache.put(own, t, f"arch{{t}}", float(who), None, None)
        if t % 25 == 0:
            cache.load(shared)                 # readers during writes
    cache.close()
""")


def test_two_writer_processes_do_not_corrupt_the_cache(tmp_path):
    path = tmp_path / "shared.sqlite3"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(ROOT)))
    procs = [subprocess.Popen([sys.executable, str(script), str(who), str(path)], stderr=subprocess.PIPE)
             for who in (1, 2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with ScoreCache(path) as cache:
        shared = CacheKey("nb201", "fp", 128, "reference", "naswot", "seedseq-v1:seed=1", "fp32", "cpu", "t")
        rows = cache.load(shared)
        assert len(rows) == 1500 and all(rows[i].score == float(i) for i in rows)
        for who in (1, 2):
            own = CacheKey("nb201", "fp", 128, "reference", "naswot", f"seedseq-v1:seed={100 + who}", "fp32",
                           "cpu", "t")
            mine = cache.load(own)
            assert len(mine) == 150 and {r.score for r in mine.values()} == {float(who)}


# ------------------------------------------------------------------ engine


def small_config(**changes) -> RunConfig:
    base = dict(space="nb201", n=3, repeats=2, seed=5, batch_size=8, device="cpu")
    base.update(changes)
    return RunConfig(**base)


def scores_of(run: Run) -> list[ArchScored]:
    return [e for e in run.events() if isinstance(e, ArchScored)]


def test_second_run_is_served_from_the_cache_with_identical_scores():
    first = scores_of(Run(small_config()))
    assert not any(s.extra.get("cached") for s in first[:3])
    second = scores_of(Run(small_config()))
    assert all(s.extra.get("cached") for s in second)
    assert [s.score for s in second] == [s.score for s in first]
    assert [s.acc for s in second] == [s.acc for s in first]


def test_cached_score_is_the_score_a_fresh_computation_gives():
    run = Run(small_config(n=2, repeats=1))
    fresh = scores_of(run)
    info = ScoreCache().info()
    assert info["scores"] == len({s.index for s in fresh})
    nocache = scores_of(Run(small_config(n=2, repeats=1, cache=False)))
    assert [s.score for s in nocache] == [s.score for s in fresh]
    assert not any(s.extra.get("cached") for s in nocache)


def test_no_cache_neither_reads_nor_writes():
    scores_of(Run(small_config(n=2, repeats=1, cache=False)))
    assert ScoreCache().info()["scores"] == 0
    assert "--no-cache" in small_config(cache=False).to_cli_args()


def test_a_different_run_seed_is_a_different_key():
    scores_of(Run(small_config(n=2, repeats=1)))
    other = scores_of(Run(small_config(n=2, repeats=1, seed=6)))
    assert not any(s.extra.get("cached") for s in other)


def test_an_unusable_cache_never_stops_a_run(tmp_path, monkeypatch):
    bad = tmp_path / "not-a-dir"
    bad.write_text("a file where the cache folder should be")
    monkeypatch.setenv("NASWOT_TUI_CACHE_DIR", str(bad))
    with pytest.warns(UserWarning, match="score cache disabled"):
        run = Run(small_config(n=2, repeats=1))
        scores = scores_of(run)
    assert all(s.score is not None for s in scores)


def test_work_in_flight_gives_the_same_records_as_one_at_a_time(monkeypatch):
    """The CUDA path (helper threads scoring ahead of the search) on CPU."""
    sequential = scores_of(Run(small_config(n=4, repeats=2, cache=False)))
    monkeypatch.setenv("NASWOT_TUI_INFLIGHT", "2")
    run = Run(small_config(n=4, repeats=2, cache=False))
    parallel = scores_of(run)
    assert run.evaluator._pool is None  # closed at the end of the run
    assert [(s.index, s.score) for s in parallel] == [(s.index, s.score) for s in sequential]


def test_cache_cli_info_and_clear(monkeypatch):
    from typer.testing import CliRunner

    from naswot_tui import cli

    scores_of(Run(small_config(n=2, repeats=1)))
    if not any(getattr(g, "name", None) == "cache" for g in cli.app.registered_groups):
        import naswot_tui.commands.cache as cache_cmd

        cache_cmd.register(cli.app)
    runner = CliRunner()
    res = runner.invoke(cli.app, ["cache", "info", "--json"])
    assert res.exit_code == 0, res.output
    import json

    assert json.loads(res.stdout)["scores"] == 2
    res = runner.invoke(cli.app, ["cache", "clear", "--yes"])
    assert res.exit_code == 0 and "removed 2" in res.stdout
    assert ScoreCache().info()["scores"] == 0


def test_amp_scores_are_cached_under_their_own_dtype():
    fp32 = scores_of(Run(small_config(n=2, repeats=1)))
    amp = scores_of(Run(small_config(n=2, repeats=1, amp="bf16")))
    assert not any(s.extra.get("cached") for s in amp)        # fp32 scores are not reused for bf16
    assert all(s.score is not None and math.isfinite(s.score) for s in amp)
    dtypes = {c["dtype"] for c in ScoreCache().info()["contexts"]}
    assert dtypes == {"fp32", "amp-bf16"}
    assert [s.index for s in amp] == [s.index for s in fp32]


def test_amp_must_be_bf16_or_fp16():
    from naswot_tui.core.errors import UsageError

    with pytest.raises(UsageError, match="--amp"):
        small_config(amp="int4").validate()


# ------------------------------------------------ issue 11: a broken cache can always be reset


def _cache_cli():
    from typer.testing import CliRunner

    from naswot_tui import cli

    if not any(getattr(g, "name", None) == "cache" for g in cli.app.registered_groups):
        import naswot_tui.commands.cache as cache_cmd

        cache_cmd.register(cli.app)
    return CliRunner(), cli.app


def _cache_file() -> Path:
    from naswot_tui.core.cache import FILENAME
    from naswot_tui.core.paths import default_cache_dir

    path = default_cache_dir() / FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not an SQLite database, just text" * 50)


def _directory(path: Path) -> None:
    path.mkdir()
    (path / "something").write_text("x")


def _foreign_schema(path: Path) -> None:
    with sqlite3.connect(path) as conn:  # a real database, not ours: `scores` lacks our columns
        conn.execute("CREATE TABLE scores (x TEXT)")


@pytest.mark.parametrize("breaker", [_garbage, _directory, _foreign_schema])
def test_info_and_clear_on_a_broken_cache(breaker):
    from naswot_tui.core.cache import CacheUnusable

    runner, app = _cache_cli()
    path = _cache_file()
    breaker(path)
    with pytest.raises(CacheUnusable, match="cache clear"):
        ScoreCache()
    res = runner.invoke(app, ["cache", "info"])
    assert res.exit_code == 1, res.output
    assert res.stderr.count("\n") == 1 and "unusable" in res.stderr and "cache clear" in res.stderr
    assert not isinstance(res.exception, (sqlite3.Error, OSError))

    res = runner.invoke(app, ["cache", "clear", "--space", "nb201", "--yes"])  # space by space cannot fix it
    assert res.exit_code == 1 and "without --space" in res.stderr
    res = runner.invoke(app, ["cache", "clear"], input="n\n")                 # declined: nothing moves
    assert res.exit_code == 1 and path.exists()
    res = runner.invoke(app, ["cache", "clear"], input="y\ny\n")
    assert res.exit_code == 0, res.output
    moved = [p for p in path.parent.iterdir() if p.name.startswith(path.name + ".broken-")]
    assert len(moved) == 1 and "moved the unusable cache" in res.stdout
    assert not path.exists()
    res = runner.invoke(app, ["cache", "info", "--json"])                     # a fresh, empty cache
    assert res.exit_code == 0 and '"scores": 0' in res.stdout


@pytest.mark.skipif(hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0,
                    reason="root writes read-only files")
def test_read_only_cache_gives_one_line_and_can_be_moved_aside():
    runner, app = _cache_cli()
    path = _cache_file()
    ScoreCache().close()
    path.chmod(0o444)
    res = runner.invoke(app, ["cache", "info"])
    assert res.exit_code == 1 and res.stderr.count("\n") == 1 and "unusable" in res.stderr
    res = runner.invoke(app, ["cache", "clear", "--yes"])
    assert res.exit_code == 0 and not path.exists()


def test_clear_refuses_an_unknown_space_and_accepts_an_alias():
    runner, app = _cache_cli()
    cache = ScoreCache()
    cache.put(key(space="nb201"), 1, "arch", 1.0)
    cache.put(key(space="nats-sss"), 1, "arch", 2.0)
    cache.close()
    res = runner.invoke(app, ["cache", "clear", "--space", "nb2O1", "--yes"])
    assert res.exit_code == 2 and "unknown search space 'nb2O1'" in res.stderr
    res = runner.invoke(app, ["cache", "clear", "--space", "nats-tss", "--yes"])  # alias of nb201
    assert res.exit_code == 0 and "removed 1" in res.stdout
    assert [c["space"] for c in ScoreCache().info()["contexts"]] == ["nats-sss"]


def test_device_kind_names_the_cpu_instruction_set_and_the_onednn_cap(monkeypatch):
    import torch

    from naswot_tui.core.cache import device_kind

    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    plain = device_kind(torch.device("cpu"))
    assert plain == "cpu-" + torch.backends.cpu.get_cpu_capability().lower().replace(" ", "_")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")    # oneDNN then picks other kernels: another kind
    assert device_kind(torch.device("cpu")) == plain + "+onednn-avx2"


def test_aten_capability_changes_the_device_kind():
    """ATEN_CPU_CAPABILITY=default runs other kernels (other roundings): its scores get their own kind."""
    code = ("import torch; from naswot_tui.core.cache import device_kind; "
            "print(device_kind(torch.device('cpu')))")
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "cpu-default"
