"""report --protocol paper: the Table 2 sweep over whole-space scores (core/protocol.py)."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from naswot_tui.cli import _register_subcommands, app
from naswot_tui.core import paper
from naswot_tui.core.benchmarks import EmbeddedNB201
from naswot_tui.core.protocol import FILL_COMMAND, SpaceScores, draws, run_protocol, space_scores
from naswot_tui.core.score_pack import load_score_pack, shipped_pack_path
from naswot_tui.core.search import is_better, sample_indices
from naswot_tui.core.spaces import get_space

SIZE = 15625


@pytest.fixture(autouse=True)
def _subcommands():
    _register_subcommands()


def _table(ds: str = "cifar10") -> np.ndarray:
    col = EmbeddedNB201().column(ds, "test", 200)
    assert col is not None
    return np.asarray(col, dtype=np.float64)


def _params() -> np.ndarray:
    return np.asarray([EmbeddedNB201().params(i) for i in range(SIZE)], dtype=np.float64)


def _full(scores: np.ndarray) -> SpaceScores:
    return SpaceScores(scores, np.ones(SIZE, dtype=bool), "test")


def _write_pack(path, index, score) -> str:
    np.savez_compressed(path, index=np.asarray(index, dtype=np.int32), score=np.asarray(score, dtype=np.float64))
    return str(path)


def test_draws_are_the_headless_draws():
    """Each repeat's candidates are sample_indices(seed, repeat), with replacement."""
    d = draws(100, 7, seed=3)
    space = get_space("nb201")
    assert d.shape == (7, 100)
    for r in range(7):
        assert d[r].tolist() == sample_indices(space, 100, 3, r, unique=False)


def test_oracle_score_picks_the_in_sample_optimum():
    """Scoring by CIFAR-10 accuracy itself: the NASWOT row equals the optimal-in-sample row on CIFAR-10."""
    result = run_protocol(_full(_table("cifar10")), seed=1, ns=(10, 100), repeats=50)
    for entry in result["sweep"]:
        assert entry["naswot"]["cifar10"] == entry["optimal"]["cifar10"]
        # On the other datasets the CIFAR-10 oracle is not the optimum.
        assert entry["naswot"]["cifar100"]["mean"] <= entry["optimal"]["cifar100"]["mean"]


def test_constant_score_picks_the_first_drawn():
    """All ties: the pick is the first drawn cell, which is the random-pick row."""
    result = run_protocol(_full(np.zeros(SIZE)), seed=2, ns=(10,), repeats=40)
    entry = result["sweep"][0]
    for ds in ("cifar10", "cifar100", "ImageNet16-120"):
        assert entry["naswot"][ds] == entry["random"][ds]


def test_picks_follow_the_search_argmax_rule_with_special_scores():
    """-inf and NaN cells: the vectorised pick equals core.search.is_better applied in draw order."""
    rng = np.random.default_rng(0)
    scores = _params() + rng.normal(0, 1e-3, SIZE)
    scores[rng.choice(SIZE, 3000, replace=False)] = -math.inf
    scores[rng.choice(SIZE, 3000, replace=False)] = math.nan
    acc = _table("cifar10")
    result = run_protocol(_full(scores), seed=5, ns=(10,), repeats=60)
    expected = []
    for candidates in draws(10, 60, seed=5):
        best = None
        for index in candidates:
            if is_better(scores[index], None if best is None else scores[best]):
                best = int(index)
        expected.append(acc[best])
    got = result["sweep"][0]["naswot"]["cifar10"]
    assert got["mean"] == pytest.approx(np.mean(expected), abs=1e-12)
    assert got["std"] == pytest.approx(np.std(expected), abs=1e-12)


def test_cli_json_and_markdown_from_a_named_pack(tmp_path):
    """A params-as-score pack: JSON has the three N with 500 runs beside the paper; Markdown shows the rows."""
    pack = _write_pack(tmp_path / "params.npz", np.arange(SIZE), _params())
    t0 = time.perf_counter()
    res = CliRunner().invoke(app, ["report", "--protocol", "paper", "--scores", pack, "--format", "json"])
    assert res.exit_code == 0, res.output
    assert time.perf_counter() - t0 < 30
    doc = json.loads(res.output)
    assert [e["n"] for e in doc["sweep"]] == [10, 100, 1000]
    acc = _table("cifar10")
    for entry in doc["sweep"]:
        assert entry["repeats"] == 500
        assert entry["paper"]["cifar10"]["mean"] == paper.NASWOT_TABLE2[entry["n"]].test["cifar10"].mean
        ours = entry["naswot"]["cifar10"]["mean"]
        assert entry["delta"]["cifar10"] == pytest.approx(ours - entry["paper"]["cifar10"]["mean"])
        # A size proxy beats a random pick and cannot beat the in-sample optimum.
        assert entry["random"]["cifar10"]["mean"] < ours <= entry["optimal"]["cifar10"]["mean"]
    assert doc["benchmark_best"]["cifar10"] == pytest.approx(acc.max())
    md = CliRunner().invoke(app, ["report", "--protocol", "paper", "--scores", pack, "--repeats", "20"])
    assert md.exit_code == 0, md.output
    assert "| NASWOT (N=100) | paper | 500 | 92.81 ± 0.99 | 69.48 ± 1.70 | 43.10 ± 3.16 |" in md.output
    assert "| NASWOT (N=1000) | ours | 20 |" in md.output
    assert "Optimal in-sample (N=100)" in md.output and "Random pick" in md.output


def test_missing_scores_name_the_count_and_the_command(tmp_path):
    """Half the space scored: exit 3, one line with how many cells are missing and how to score them."""
    half = np.arange(0, SIZE, 2)
    pack = _write_pack(tmp_path / "half.npz", half, _params()[half])
    res = CliRunner().invoke(app, ["report", "--protocol", "paper", "--scores", pack])
    assert res.exit_code == 3
    line = res.output.strip()
    assert "\n" not in line
    assert f"{SIZE - len(half)} of {SIZE}" in line and FILL_COMMAND in line


def test_bad_inputs_are_one_line_errors(tmp_path):
    """A non-npz pack exits 3; traces with --protocol, a bad protocol or no traces at all exit 2."""
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    runner = CliRunner()
    res = runner.invoke(app, ["report", "--protocol", "paper", "--scores", str(bad)])
    assert res.exit_code == 3 and "unreadable" in res.output
    assert runner.invoke(app, ["report", "--protocol", "table3"]).exit_code == 2
    assert runner.invoke(app, ["report", "--protocol", "paper", str(bad)]).exit_code == 2
    assert runner.invoke(app, ["report"]).exit_code == 2


def test_cache_fills_what_the_pack_lacks(tmp_path):
    """Without a pack, scores cached under the protocol's context count as known."""
    from naswot_tui import __version__
    from naswot_tui.core.cache import INIT_POLICY, CacheKey, ScoreCache
    from naswot_tui.core.data import make_batch

    batch = make_batch("cifar10", "embedded", 128, 1)
    key = CacheKey("nb201", batch.fingerprint, 128, "reference", "naswot", f"{INIT_POLICY}:seed=1", "fp32", "cpu",
                   __version__)
    space = get_space("nb201")
    with ScoreCache(tmp_path / "c.sqlite3") as cache:
        cache.put_many(key, [(i, space.arch(i), float(i), None, 0.0) for i in range(100)]
                       + [(100, space.arch(100), -math.inf, None, 0.0)])
    got = space_scores(cache_path=tmp_path / "c.sqlite3")
    if shipped_pack_path() is None:
        assert got.missing == SIZE - 101
        assert got.scores[7] == 7.0 and got.scores[100] == -math.inf
        assert "101 cells" in got.source


@pytest.mark.slow
def test_shipped_pack_reproduces_the_paper_n100():
    """The shipped pack: CIFAR-10 NASWOT N=100 within one paper std of 92.81, in under 60 s."""
    if shipped_pack_path() is None:
        pytest.skip("this install ships no score pack")
    t0 = time.perf_counter()
    pack = load_score_pack()
    assert pack is not None
    scores, known = pack.dense(SIZE)
    result = run_protocol(SpaceScores(scores, known, pack.source))
    assert time.perf_counter() - t0 < 60
    n100 = next(e for e in result["sweep"] if e["n"] == 100)
    assert abs(n100["naswot"]["cifar10"]["mean"] - 92.81) <= 0.99
