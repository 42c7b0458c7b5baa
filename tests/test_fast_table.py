"""Fast tables: real benchmark files extracted once, then loaded in well under a second."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import time
from collections import OrderedDict

import numpy as np
import pytest

from naswot_tui.core.benchmarks import ground_truth_for
from naswot_tui.core.benchmarks.fast_table import cache_path, cached_table, load
from naswot_tui.core.paths import default_cache_dir
from naswot_tui.core.spaces import get_space

FIXTURE = (0, 11, 284)
TSS = "NATS-tss-v1_0-3ffb9-simple"


def _never() -> None:
    raise AssertionError("the benchmark API was opened although the cached table is fresh")


@pytest.fixture
def tss_copy(shared_data, tmp_path):
    """A private copy of the real NATS tss fixture (we touch its mtime)."""
    dst = tmp_path / TSS
    shutil.copytree(shared_data / "nats_fake_torch_dir" / TSS, dst)
    return dst


def test_nats_tss_table_equals_the_api_and_reloads_fast(tss_copy):
    import nats_bench

    truth = ground_truth_for("nb201", str(tss_copy))          # first use: extraction
    table = truth.providers[0]
    assert "fast table" in table.source and table.path.is_file()
    assert table.path.parent == default_cache_dir() / "benchmarks"
    with contextlib.redirect_stdout(io.StringIO()):
        api = nats_bench.create(str(tss_copy), "tss", fast_mode=True, verbose=False)
        for i in FIXTURE:
            for hp, epochs in (("200", 200), ("12", 12)):
                c10v = api.get_more_info(i, "cifar10-valid", hp=hp, is_random=False)
                c100 = api.get_more_info(i, "cifar100", hp=hp, is_random=False)
                c10 = api.get_more_info(i, "cifar10", hp=hp, is_random=False)
                assert table.accuracy(i, "cifar10", "valid", epochs) == c10v["valid-accuracy"]
                assert table.accuracy(i, "cifar10", "test", epochs) == c10["test-accuracy"]
                assert table.accuracy(i, "cifar100", "valid", epochs) == c100["valid-accuracy"]
                assert table.train_time(i, "cifar10", epochs) == c10v["train-all-time"]
            cost = api.get_cost_info(i, "cifar10-valid", hp="200")
            assert table.params(i) == float(cost["params"]) and table.flops(i) == float(cost["flops"])
            assert table.arch(i) == get_space("nb201").arch(i)
    assert table.accuracy(1, "cifar10", "test") is None and table.available.sum() == 3
    # the cut-down file's gaps fall back to the embedded table
    assert truth.accuracy(6111, "cifar10", "test") == pytest.approx(94.3733, abs=1e-4)

    started = time.perf_counter()
    again = cached_table(tss_copy, "nats-tss", _never)
    assert time.perf_counter() - started < 1.0
    assert again.accuracy(11, "ImageNet16-120", "valid", 12) == table.accuracy(11, "ImageNet16-120", "valid", 12)
    # plain arrays, no pickle anywhere in the cache file
    with np.load(again.path, allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)


def test_a_changed_source_is_extracted_again(tss_copy):
    first = cached_table(tss_copy, "nats-tss", lambda: _open(tss_copy))
    assert first.meta["source"]["files"] == 4
    newer = time.time() + 60
    os.utime(tss_copy / "000011.pickle.pbz2", (newer, newer))
    with pytest.raises(AssertionError, match="cached table is fresh"):
        cached_table(tss_copy, "nats-tss", _never)
    rebuilt = cached_table(tss_copy, "nats-tss", lambda: _open(tss_copy))
    assert rebuilt.meta["source"]["mtime_ns"] > first.meta["source"]["mtime_ns"]


def _open(path):
    from naswot_tui.core.benchmarks.adapters import load_nats_dir

    return load_nats_dir(path, "tss")


def _result(dataset: str, seed: int, epochs: int, acc: float, evals: tuple[str, ...]):
    """One trial in nas_201_api's own ResultsCount, with per-epoch curves."""
    from nas_201_api.api_utils import ResultsCount

    config = {"name": "infer.tiny", "C": 16, "N": 5, "arch_str": "-", "num_classes": 10}
    res = ResultsCount(dataset, None, None, None, params=0.5 + seed / 100, flop=80.0 + seed,
                       arch_config=config, seed=seed, epochs=epochs, latency=[0.01])
    curve = {e: acc * (e + 1) / epochs for e in range(epochs)}
    res.update_train_info(curve, curve, {e: 1.0 for e in range(epochs)}, {e: 2.0 + seed for e in range(epochs)})
    accs, losses, times = {}, {}, {}
    for k, name in enumerate(evals):
        for e in range(epochs):
            accs[f"{name}@{e}"] = acc - k - seed * 0.5
            losses[f"{name}@{e}"] = 1.0
            times[f"{name}@{e}"] = 0.5
    res.update_eval(accs, losses, times)
    return res


def _arch_results(index: int, arch: str, epochs: int, base: float):
    from nas_201_api.api_utils import ArchResults

    sets = {"cifar10-valid": ("x-valid", "ori-test"), "cifar10": ("ori-test",),
            "cifar100": ("x-valid", "x-test", "ori-test"), "ImageNet16-120": ("x-valid", "x-test", "ori-test")}
    ar = ArchResults(index, arch)
    for k, (ds, evals) in enumerate(sets.items()):
        for seed in (777, 888):
            ar.update(ds, seed, _result(ds, seed, epochs, base - 10 * k, evals))
    return ar


def test_tiny_nb201_pth_round_trip(tmp_path):
    import torch
    from nas_201_api import NASBench201API

    space = get_space("nb201")
    metas = [space.arch(i) for i in range(space.size)]
    infos = OrderedDict((i, {"less": _arch_results(i, metas[i], 12, 70.0 + i % 7).state_dict(),
                             "full": _arch_results(i, metas[i], 200, 90.0 + i % 7).state_dict()})
                        for i in (3, 9930))
    path = tmp_path / "NAS-Bench-201-v1_1-tiny.pth"
    torch.save({"meta_archs": metas, "arch2infos": infos, "evaluated_indexes": set(infos)}, path)

    truth = ground_truth_for("nb201", str(path))
    table = truth.providers[0]
    # (our dataset, split) -> (the API's dataset name, its result field)
    api_names = {("cifar10", "valid"): ("cifar10-valid", "valid-accuracy"),
                 ("cifar10", "test"): ("cifar10", "test-accuracy"),
                 ("cifar100", "test"): ("cifar100", "test-accuracy"),
                 ("ImageNet16-120", "valid"): ("ImageNet16-120", "valid-accuracy")}
    with contextlib.redirect_stdout(io.StringIO()):
        api = NASBench201API(torch.load(path, weights_only=False), verbose=False)
        for i in (3, 9930):
            for hp, epochs in (("200", 200), ("12", 12)):
                for (ds, split), (api_ds, field) in api_names.items():
                    expected = api.get_more_info(i, api_ds, hp=hp, is_random=False)[field]
                    assert table.accuracy(i, ds, split, epochs) == pytest.approx(expected, abs=0)
            assert table.params(i) == pytest.approx(0.5 + (7.77 + 8.88) / 2)  # mean over the two trials
            assert table.train_time(i, "cifar10", 12) == pytest.approx(12 * ((2 + 777) + (2 + 888)) / 2)
    assert table.accuracy(4, "cifar10", "test") is None
    assert truth.accuracy(4, "cifar10", "test") is not None  # embedded fallback

    started = time.perf_counter()
    again = load(cache_path(path, "nb201"))
    assert time.perf_counter() - started < 1.0
    assert again.accuracy(9930, "cifar100", "test") == table.accuracy(9930, "cifar100", "test")
