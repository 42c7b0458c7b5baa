"""score_proxies: the public API, the registry's facts, one-pass sharing, order independence, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from naswot_tui.core.data import make_batch
from naswot_tui.core.errors import UsageError
from naswot_tui.core.proxies import (
    PROXIES,
    Cost,
    ensemble_scores,
    log_rank,
    score_proxies,
    split_proxy_names,
)
from naswot_tui.core.scoring import score_network
from naswot_tui.core.spaces import get_space

CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ALL = ["naswot", "naswot-relu", "jacov", "synflow", "snip", "grad_norm", "grasp", "fisher", "l2_norm", "plain",
       "zico", "swap", "swap-reg", "meco", "zen", "params", "flops"]


def _net(classes=10, seed=0, cell=CELL):
    torch.manual_seed(seed)
    return get_space("nb201").build(cell, num_classes=classes)


@pytest.fixture(scope="module")
def batch():
    return make_batch("cifar10", "embedded", batch_size=10)


def test_the_registry_holds_every_proxy_with_its_facts():
    assert set(ALL) <= set(PROXIES)
    for spec in PROXIES.values():
        assert isinstance(spec.cost, Cost) and spec.description and spec.citation
    labelled = {n for n, s in PROXIES.items() if s.needs_labels}
    assert labelled == {"snip", "grad_norm", "grasp", "fisher", "plain", "zico"}
    assert PROXIES["naswot"].cost is Cost.FORWARD and PROXIES["params"].cost is Cost.NO_DATA
    assert PROXIES["snip"].cost is Cost.FORWARD_BACKWARD


@pytest.mark.parametrize("classes", [1, 10])
def test_naswot_is_score_network_exactly(batch, classes):
    net = _net(classes)
    got = score_proxies(net, batch, ["naswot", "naswot-relu"])
    assert got["naswot"] == score_network(net, batch.to_tensor())
    assert got["naswot-relu"] == score_network(net, batch.to_tensor(), "relu")


def test_one_pass_of_all_proxies_equals_each_alone_in_any_order(batch):
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng_before = torch.get_rng_state()
    together = score_proxies(net, batch, ALL)
    assert torch.equal(torch.get_rng_state(), rng_before)  # zen/meco draw from their own generators
    assert list(together) == ALL
    backwards = score_proxies(net, batch, list(reversed(ALL)))
    for name in ALL:
        alone = score_proxies(net, batch, [name])[name]
        assert alone == together[name] == backwards[name], name
        assert math.isfinite(alone), name
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN statistics restored
    assert all(p.grad is None for p in net.parameters())


def test_the_shared_forward_runs_once_for_all_that_share_it(batch, monkeypatch):
    from naswot_tui.core.proxies import context

    calls = []
    original = context.ScoringPass._run_shared_forward
    monkeypatch.setattr(context.ScoringPass, "_run_shared_forward",
                        lambda self: calls.append(1) or original(self))
    score_proxies(_net(), batch, ["swap", "jacov", "snip", "grad_norm", "plain", "fisher", "grasp"])
    assert len(calls) == 1


def test_label_proxies_refuse_a_one_unit_network(batch):
    net = _net(classes=1)
    for name in ("snip", "zico", "grasp"):
        with pytest.raises(UsageError, match="num_classes"):
            score_proxies(net, batch, [name])
    assert "synflow" in score_proxies(net, batch, ["synflow", "swap", "jacov"])  # label-free is fine


def test_label_proxies_refuse_a_batch_without_labels(batch):
    from dataclasses import replace

    unlabelled = replace(batch, labels=None)
    with pytest.raises(UsageError, match="labels"):
        score_proxies(_net(), unlabelled, ["snip"])


def test_unknown_names_and_ensembles_are_refused_with_the_fix(batch):
    with pytest.raises(UsageError, match="unknown proxy 'snap'"):
        score_proxies(_net(), batch, ["snap"])
    with pytest.raises(UsageError, match="ensemble_scores"):
        score_proxies(_net(), batch, ["ensemble:naswot+synflow"])


def test_batches_carry_labels():
    embedded = make_batch("cifar10", "embedded", batch_size=20)
    assert embedded.labels.dtype == np.int64 and embedded.labels.shape == (20,)
    assert list(embedded.labels[:10]) == list(range(10))  # the shipped sample holds classes in turn
    synthetic = make_batch("cifar100", "synthetic", batch_size=64, seed=3)
    again = make_batch("cifar100", "synthetic", batch_size=64, seed=3)
    assert np.array_equal(synthetic.labels, again.labels)
    assert synthetic.labels.min() >= 0 and synthetic.labels.max() < 100 and len(set(synthetic.labels)) > 10


def test_ensemble_is_the_sum_of_log_normalised_ranks():
    columns = {"synflow": [1.0, 3.0, 2.0, float("nan")], "naswot": [4.0, 3.0, float("-inf"), 1.0]}
    got = ensemble_scores(columns, "ensemble:synflow+naswot")
    # ranks synflow: nan->1, 1->2, 2->3, 3->4 ; naswot: -inf->1, 1->2, 3->3, 4->4 ; n = 4
    expected = np.log(np.array([2, 4, 3, 1]) / 4) + np.log(np.array([4, 3, 1, 2]) / 4)
    assert np.allclose(got, expected)
    assert np.allclose(log_rank([5.0, 5.0]), np.log([1.5 / 2, 1.5 / 2]))  # ties share their average rank
    from scipy.stats import rankdata

    from naswot_tui.core.proxies.ensemble import average_ranks

    rng = np.random.default_rng(0)
    for values in (rng.integers(0, 5, 40).astype(float), rng.standard_normal(30), np.zeros(3)):
        assert np.array_equal(average_ranks(values), rankdata(values))
    per_network, ensembles = split_proxy_names(["naswot", "ensemble:synflow+naswot+jacov"])
    assert per_network == ["naswot", "synflow", "jacov"] and ensembles == ["ensemble:synflow+naswot+jacov"]
    with pytest.raises(UsageError, match="unknown"):
        split_proxy_names(["ensemble:naswot+nope"])
    with pytest.raises(UsageError, match="at least two"):
        split_proxy_names(["ensemble:naswot"])


def test_ensemble_of_real_scores_ranks_a_set(batch):
    space = get_space("nb201")
    cols = {"naswot": [], "synflow": []}
    for index in (11, 284, 6111, 0):
        torch.manual_seed(0)
        values = score_proxies(space.build(space.arch(index), num_classes=1), batch, list(cols))
        for k, column in cols.items():
            column.append(values[k])
    scores = ensemble_scores(cols, "ensemble:naswot+synflow")
    assert scores.shape == (4,) and np.all(scores <= 0)
    best = int(np.argmax(scores))
    assert best == int(np.argmax(log_rank(cols["naswot"]) + log_rank(cols["synflow"])))


@pytest.mark.parametrize("space_name, dataset", [("nats-sss", "cifar100"), ("nb201", "ImageNet16-120")])
def test_every_proxy_scores_other_spaces_and_datasets(space_name, dataset):
    space = get_space(space_name)
    classes = space.num_classes(dataset)
    torch.manual_seed(0)
    net = space.build(space.arch(284), num_classes=classes)
    batch = make_batch(dataset, "synthetic", batch_size=8, seed=2)
    assert batch.labels.max() < classes
    values = score_proxies(net, batch, ALL)
    assert set(values) == set(ALL)
    finite = [n for n, v in values.items() if math.isfinite(v)]
    assert len(finite) >= len(ALL) - 1, values  # naswot may be -inf on noise; nothing else should fail


def test_naswot_and_swap_read_the_same_codes_in_one_kernel_pass(batch, monkeypatch):
    from naswot_tui.core import scoring
    from naswot_tui.core.proxies import context

    kernels, forwards = [], []
    real_kernel, real_forward = scoring.hamming_kernel, context.ScoringPass._run_shared_forward
    monkeypatch.setattr(scoring, "hamming_kernel", lambda *a, **k: kernels.append(a[2]) or real_kernel(*a, **k))
    monkeypatch.setattr(context.ScoringPass, "_run_shared_forward",
                        lambda self: forwards.append(1) or real_forward(self))
    net = _net()
    got = score_proxies(net, batch, ["swap", "naswot", "swap-reg"])
    assert kernels == ["reference"] and forwards == []
    assert got["naswot"] == scoring.logdet(real_kernel(net, batch.to_tensor()))
