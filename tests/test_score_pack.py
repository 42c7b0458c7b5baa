"""Score packs (core/score_pack.py, scripts/build_score_pack.py): built from a real trace,
used as cache entries only in their exact context, and the shipped NB201 pack re-scored."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from naswot_tui.core import score_pack
from naswot_tui.core.cache import device_kind
from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.events import ArchScored
from naswot_tui.core.trace import read_trace

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


DATA = ROOT / "naswot_tui" / "data"


def test_a_pack_serves_only_the_device_kind_it_was_scored_on(tmp_path, monkeypatch):
    first, _ = _run(tmp_path / "a")
    pack = tmp_path / "pack.npz"
    assert read_trace(first.trace_path).header["env"]["device_kind"] == device_kind(torch.device("cpu"))
    assert build_score_pack.main([str(first.trace_path), "--partial", "--out", str(pack)]) == 0
    context, scores = score_pack.read_pack(pack)
    assert context["device_kind"] == device_kind(torch.device("cpu"))
    other = "cpu-avx2" if context["device_kind"] != "cpu-avx2" else "cpu-avx512"
    score_pack.write_pack(pack, {**context, "device_kind": other}, np.array(list(scores)),
                          np.array(list(scores.values())))
    monkeypatch.setattr(score_pack, "_shipped", lambda: (score_pack.read_pack(pack),))
    monkeypatch.setenv("NASWOT_TUI_CACHE_DIR", str(tmp_path / "fresh-cache"))
    _, again = _run(tmp_path / "b")
    assert again and not any(e.extra.get("pack") for e in again)


def test_a_trace_without_its_device_kind_needs_one_named(tmp_path, capsys):
    first, _ = _run(tmp_path / "a")
    lines = first.trace_path.read_text().splitlines()
    header = json.loads(lines[0])
    del header["env"]["device_kind"]                       # as traces written before it was recorded
    old = tmp_path / "old.jsonl"
    old.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    assert build_score_pack.main([str(old), "--partial", "--out", str(tmp_path / "p.npz")]) == 2
    assert "--device-kind" in capsys.readouterr().err
    assert build_score_pack.main([str(old), "--partial", "--device-kind", "cpu-avx2",
                                  "--out", str(tmp_path / "p.npz")]) == 0
    assert score_pack.read_pack(tmp_path / "p.npz")[0]["device_kind"] == "cpu-avx2"


def test_the_shipped_packs_are_named_for_their_device_kind_and_agree():
    packs = {name: score_pack.read_pack(DATA / name) for name in score_pack.SHIPPED}
    contexts = [c for c, _ in packs.values()]
    for name, (context, scores) in packs.items():
        assert Path(name).stem.endswith("_" + context["device_kind"]) and context["device_kind"].startswith("cpu-")
        assert len(scores) == 15625 and context["space"] == "nb201"
    assert len({c["device_kind"] for c in contexts}) == len(contexts)          # one pack per kind
    assert all({k: v for k, v in c.items() if k != "device_kind"} ==
               {k: v for k, v in contexts[0].items() if k != "device_kind"} for c in contexts)
    # two CPU kinds round differently, but only in the last digits: same -inf cells, same failures
    first, *others = (np.array([s[i] for i in range(15625)]) for _, s in packs.values())
    for other in others:
        assert np.array_equal(np.isneginf(first), np.isneginf(other))
        assert np.array_equal(np.isnan(first), np.isnan(other))
        finite = np.isfinite(first)
        assert np.max(np.abs(first[finite] - other[finite]) / np.abs(first[finite])) < 1e-6


def test_twenty_random_cells_rescore_to_the_pack_of_this_cpu(tmp_path):
    kind = device_kind(torch.device("cpu"))
    path = score_pack.shipped_pack_path(kind)
    if path is None or not path.stem.endswith("_" + kind):
        pytest.skip(f"no NB201 pack ships for this CPU kind ({kind}); its runs score every cell")
    context, scores = score_pack.read_pack(path)
    assert len(scores) == 15625 and context["space"] == "nb201" and context["device_kind"] == kind
    picks = np.random.default_rng(20261130).choice(15625, size=20, replace=False)
    from naswot_tui.core.benchmarks import ground_truth_for
    from naswot_tui.core.engine import ArchEvaluator, resolve_device
    from naswot_tui.core.spaces import get_space

    config = RunConfig(seed=1, cache=False).validate()
    ev = ArchEvaluator(config, get_space("nb201"), ground_truth_for("nb201", None, "mean"), resolve_device("cpu"))
    ev.begin_repeat(0)
    assert score_pack.context_of(ev.cache_key()) == context     # the run's own key names this pack
    for i, index in enumerate(picks.tolist()):
        rec = ev(0, i, index)
        packed = scores[index]
        assert rec.score == packed or (math.isnan(packed) and rec.score is None), index
