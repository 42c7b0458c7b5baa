"""params / flops proxies: our networks' costs equal the benchmark's own numbers."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch

from naswot_tui.core.evaluate import architecture_costs
from naswot_tui.core.flops import flops
from naswot_tui.core.scoring import PROXIES, count_params, get_proxy
from naswot_tui.core.spaces import get_space

FIXTURE = (0, 11, 284)
HEADS = (("cifar10-valid", 10, 32), ("cifar100", 100, 32), ("ImageNet16-120", 120, 16))


def _nats_costs(shared_data, kind: str, hp: str) -> dict:
    import nats_bench

    name = {"tss": "NATS-tss-v1_0-3ffb9-simple", "sss": "NATS-sss-v1_0-50262-simple"}[kind]
    with contextlib.redirect_stdout(io.StringIO()):
        api = nats_bench.create(str(shared_data / "nats_fake_torch_dir" / name), kind, fast_mode=True, verbose=False)
        return {(i, ds): (api.arch(i), api.get_cost_info(i, ds, hp=hp)) for i in FIXTURE for ds, _, _ in HEADS}


def test_nb201_params_and_flops_equal_nats_tss(shared_data):
    costs = _nats_costs(shared_data, "tss", "200")
    space = get_space("nb201")
    for index in FIXTURE:
        for ds, classes, size in HEADS:
            arch, cost = costs[(index, ds)]
            assert space.arch(index) == arch
            model = space.build(arch, num_classes=classes)
            assert count_params(model) == round(float(cost["params"]) * 1e6)
            mflops = flops(model, (3, size, size), convention="nb201") / 1e6
            assert mflops == pytest.approx(float(cost["flops"]), abs=1e-9)
    # evaluate's meta-device path gives the same numbers
    got = architecture_costs("nb201", "ImageNet16-120", [space.arch(i) for i in FIXTURE])
    for index in FIXTURE:
        params, fl = got[space.arch(index)]
        assert fl / 1e6 == pytest.approx(float(costs[(index, "ImageNet16-120")][1]["flops"]), abs=1e-9)
        assert params == round(float(costs[(index, "ImageNet16-120")][1]["params"]) * 1e6)


def test_nats_sss_flops_equal_the_benchmark(shared_data):
    from naswot_tui.core.spaces import space_names

    if "nats-sss" not in space_names():
        pytest.skip("NATS size space not registered in this tree")
    costs = _nats_costs(shared_data, "sss", "90")
    space = get_space("nats-sss")
    for index in FIXTURE:
        for ds, classes, size in HEADS:
            arch, cost = costs[(index, ds)]
            model = space.build(arch, num_classes=classes)
            mflops = flops(model, (3, size, size), convention="nb201") / 1e6
            assert mflops == pytest.approx(float(cost["flops"]), abs=1e-9)


def test_flops_and_params_are_proxies_like_naswot(tmp_path):
    assert {"naswot", "naswot-relu", "params", "flops"} <= set(PROXIES)
    space = get_space("nb201")
    model = space.build(space.arch(11), num_classes=1)
    batch = torch.randn(4, 3, 32, 32)
    proxy = get_proxy("flops")
    assert not proxy.uses_batch
    assert proxy.fn(model, batch) == flops(model, (3, 32, 32), convention="nb201")
    assert model.training  # the counter leaves the network as it found it


def test_a_search_can_rank_by_flops(tmp_path):
    from naswot_tui.core.config import RunConfig
    from naswot_tui.core.engine import Run
    from naswot_tui.core.events import ArchScored, RepeatFinished

    events = list(Run(RunConfig(n=5, batch_size=4, seed=3, proxy="flops", out_dir=str(tmp_path))).events())
    scored = [e for e in events if isinstance(e, ArchScored)]
    pick = next(e for e in events if isinstance(e, RepeatFinished))
    space = get_space("nb201")
    for e in scored:
        assert e.score == flops(space.build(e.arch, num_classes=1), (3, 32, 32), convention="nb201")
    assert pick.pick_score == max(e.score for e in scored)


def test_nb201_costs_shortcut_equals_building_every_network(tmp_path, monkeypatch):
    """evaluate's NB201 params/FLOPs (linear in the conv counts) equal counts of the built networks."""
    import numpy as np
    import torch

    from naswot_tui.core.data import IMAGE_SIZE
    from naswot_tui.core.evaluate import architecture_costs
    from naswot_tui.core.flops import flops
    from naswot_tui.core.scoring import count_params
    from naswot_tui.core.spaces import get_space

    monkeypatch.setenv("NASWOT_TUI_CACHE_DIR", str(tmp_path))
    space = get_space("nb201")
    archs = [space.arch(int(i)) for i in np.random.default_rng(7).choice(space.size, 25, replace=False)]
    for dataset in ("cifar10", "ImageNet16-120"):
        costs = architecture_costs("nb201", dataset, archs, space)
        size = IMAGE_SIZE[dataset]
        for arch in archs:
            with torch.device("meta"):
                model = space.build(arch, num_classes=space.num_classes(dataset))
            assert costs[arch] == (float(count_params(model)), float(flops(model, (3, size, size), convention="nb201")))
