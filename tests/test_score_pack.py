"""Score packs (core/score_pack.py, scripts/build_score_pack.py): built from a real trace,
used as cache entries only in their exact context, and the shipped NB201 pack re-scored."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from naswot_tui.core import score_pack
from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.events import ArchScored

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import build_score_pack  # noqa: E402


def _run(tmp_path, **kw):
    config = RunConfig(**{"n": 6, "batch_size": 8, "seed": 5, "unique": True, "out_dir": str(tmp_path), **kw})
    run = Run(config)
    return run, [e for e in run.events() if isinstance(e, ArchScored)]


def test_a_pack_serves_its_context_and_only_it(tmp_path, monkeypatch):
    first, scored = _run(tmp_path / "a")
    pack = tmp_path / "pack.npz"
    assert build_score_pack.main([str(first.trace_path), "--out", str(pack)]) == 2   # 6 of 15625: refused
    assert build_score_pack.main([str(first.trace_path), "--partial", "--out", str(pack)]) == 0
    with np.load(pack, allow_pickle=False) as npz:
        assert npz["index"].dtype == np.int32 and npz["score"].dtype == np.float64
    monkeypatch.setattr(score_pack, "_shipped", lambda: (score_pack.read_pack(pack),))
    monkeypatch.setenv("NASWOT_TUI_CACHE_DIR", str(tmp_path / "fresh-cache"))   # a fresh install: no cache

    _, again = _run(tmp_path / "b")
    assert all(e.extra.get("pack") for e in again)
    assert [(e.index, e.score) for e in again] == [(e.index, e.score) for e in scored]

    _, uncached = _run(tmp_path / "c", cache=False)          # --no-cache: the pack is a cache too
    assert not any(e.extra.get("pack") for e in uncached)
    _, other_seed = _run(tmp_path / "d", seed=6)              # another init seed: another context
    assert not any(e.extra.get("pack") for e in other_seed)


def test_a_pack_refuses_duplicate_indices(tmp_path):
    context = dict.fromkeys(score_pack.CONTEXT_FIELDS, "x")
    with pytest.raises(ValueError, match="one score per"):
        score_pack.write_pack(tmp_path / "p.npz", context, np.array([1, 1]), np.array([1.0, 2.0]))


SHIPPED = ROOT / "naswot_tui" / "data" / score_pack.SHIPPED[0]


@pytest.mark.skipif(not SHIPPED.is_file(), reason="the NB201 score pack is not in this checkout")
def test_twenty_random_cells_rescore_to_the_shipped_pack(tmp_path):
    context, scores = score_pack.read_pack(SHIPPED)
    assert len(scores) == 15625 and context["space"] == "nb201" and context["device_kind"] == "cpu"
    picks = np.random.default_rng(20261130).choice(15625, size=20, replace=False)
    from naswot_tui.core.benchmarks import ground_truth_for
    from naswot_tui.core.engine import ArchEvaluator, resolve_device
    from naswot_tui.core.spaces import get_space

    config = RunConfig(seed=1, cache=False).validate()
    ev = ArchEvaluator(config, get_space("nb201"), ground_truth_for("nb201", None, "mean"), resolve_device("cpu"))
    ev.begin_repeat(0)
    assert ev.cache_key().data_fingerprint == context["data_fingerprint"]
    for i, index in enumerate(picks.tolist()):
        rec = ev(0, i, index)
        packed = scores[index]
        assert rec.score == packed or (math.isnan(packed) and rec.score is None), index
