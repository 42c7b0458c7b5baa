"""Plain re-implementations of each proxy's published code, the oracle for tests/test_proxies_faithful.py.

Each function follows its authors' procedure step by step (deep copies,
replaced forwards, ``.backward()`` into ``.grad``, global RNG) and names
the repository and file it follows. Written for this project from reading
those files; nothing is pasted. Every function takes a fresh network and
leaves the caller's network untouched (a copy is scored), as zero-cost-nas
does with ``get_prunable_copy``.
"""

from __future__ import annotations

import copy
import types

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _convs_linears(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _sum_arr(arr) -> float:
    total = 0.0
    for a in arr:
        total += torch.sum(a)
    return float(total)


def ref_snip(net, x, y) -> float:
    """SamsungLabs/zero-cost-nas foresight/pruners/measures/snip.py: a ones mask on each weight, |dL/dmask|."""
    net = copy.deepcopy(net).train()
    for layer in _convs_linears(net):
        layer.weight_mask = nn.Parameter(torch.ones_like(layer.weight))
        layer.weight.requires_grad = False
        if isinstance(layer, nn.Conv2d):
            def fwd(self, inp):
                return F.conv2d(inp, self.weight * self.weight_mask, self.bias, self.stride, self.padding,
                                self.dilation, self.groups)
        else:
            def fwd(self, inp):
                return F.linear(inp, self.weight * self.weight_mask, self.bias)
        layer.forward = types.MethodType(fwd, layer)
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    return _sum_arr([layer.weight_mask.grad.abs() if layer.weight_mask.grad is not None
                     else torch.zeros_like(layer.weight) for layer in _convs_linears(net)])


def _loss_grads(net, x, y):
    net = copy.deepcopy(net).train()
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    return net


def ref_grad_norm(net, x, y) -> float:
    """SamsungLabs/zero-cost-nas foresight/pruners/measures/grad_norm.py: per-layer ||dL/dw||, summed."""
    net = _loss_grads(net, x, y)
    return _sum_arr([layer.weight.grad.norm() if layer.weight.grad is not None else torch.zeros_like(layer.weight)
                     for layer in _convs_linears(net)])


def ref_plain(net, x, y) -> float:
    """SamsungLabs/zero-cost-nas foresight/pruners/measures/plain.py: sum of dL/dw * w."""
    net = _loss_grads(net, x, y)
    return _sum_arr([layer.weight.grad * layer.weight if layer.weight.grad is not None
                     else torch.zeros_like(layer.weight) for layer in _convs_linears(net)])


def ref_l2_norm(net) -> float:
    """SamsungLabs/zero-cost-nas foresight/pruners/measures/l2_norm.py: per-layer ||w||, summed."""
    return _sum_arr([layer.weight.norm() for layer in _convs_linears(net)])


def ref_fisher(net, x, y) -> float:
    """SamsungLabs/zero-cost-nas foresight/pruners/measures/fisher.py: an identity after every conv/linear
    with a backward hook; 0.5 * mean_n (sum_hw act * grad)^2 per channel, broadcast over the weight, summed."""
    net = copy.deepcopy(net).train()
    layers = _convs_linears(net)
    for layer in layers:
        layer.fisher = None
        layer.dummy = nn.Identity()
        if isinstance(layer, nn.Conv2d):
            def fwd(self, inp):
                self.act = self.dummy(F.conv2d(inp, self.weight, self.bias, self.stride, self.padding,
                                               self.dilation, self.groups))
                return self.act
        else:
            def fwd(self, inp):
                self.act = self.dummy(F.linear(inp, self.weight, self.bias))
                return self.act
        layer.forward = types.MethodType(fwd, layer)

        def hook(module, grad_input, grad_output, layer=layer):
            act, grad = layer.act.detach(), grad_output[0].detach()
            g = (act * grad).sum(list(range(2, act.dim()))) if act.dim() > 2 else act * grad
            d = g.pow(2).mean(0).mul(0.5)
            layer.fisher = d if layer.fisher is None else layer.fisher + d
        layer.dummy.register_full_backward_hook(hook)
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    arr = []
    for layer in layers:
        ch = layer.fisher.abs() if layer.fisher is not None else torch.zeros(layer.weight.shape[0])
        arr.append(torch.stack([torch.Tensor(layer.weight.shape[1:]).fill_(v) for v in ch]))
    return _sum_arr(arr)


def ref_grasp(net, x, y) -> float:
    """SamsungLabs/zero-cost-nas foresight/pruners/measures/grasp.py: g = dL/dw (pass 1); z = sum(g . dL/dw)
    with a graph (pass 2); z.backward(); score = sum(-w * Hg)."""
    net = copy.deepcopy(net).train()
    layers = _convs_linears(net)
    weights = [layer.weight for layer in layers]
    net.zero_grad()
    grad_w = list(torch.autograd.grad(F.cross_entropy(net(x), y), weights, allow_unused=True))
    grad_f = torch.autograd.grad(F.cross_entropy(net(x), y), weights, create_graph=True, allow_unused=True)
    z = 0
    for gw, gf in zip(grad_w, grad_f, strict=True):
        if gw is not None:
            z += (gw.data * gf).sum()
    z.backward()
    return _sum_arr([-layer.weight.data * layer.weight.grad if layer.weight.grad is not None
                     else torch.zeros_like(layer.weight) for layer in layers])


def ref_synflow(net, image_shape) -> float:
    """SamsungLabs/zero-cost-nas foresight/pruners/measures/synflow.py (bn=False copy: BN forwards are no-ops):
    abs every state tensor, double, all-ones input, sum(output).backward(), sum |w * grad|."""
    net = copy.deepcopy(net)
    for m in net.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            m.forward = types.MethodType(lambda self, inp: inp, m)
    with torch.no_grad():
        for p in net.state_dict().values():
            p.abs_()
    net.zero_grad()
    net.double()
    out = net.forward(torch.ones([1, *image_shape]).double())
    torch.sum(out).backward()
    return _sum_arr([torch.abs(layer.weight * layer.weight.grad) if layer.weight.grad is not None
                     else torch.zeros_like(layer.weight) for layer in _convs_linears(net)])


def ref_jacov(net, x) -> float:
    """SamsungLabs/zero-cost-nas foresight/pruners/measures/jacob_cov.py: x.grad of sum(output), corrcoef,
    np.linalg.eig, -sum(log(v + 1e-5) + 1/(v + 1e-5))."""
    net = copy.deepcopy(net).train()
    x = x.clone().requires_grad_(True)
    y = net(x)
    y.backward(torch.ones_like(y))
    jac = x.grad.detach().reshape(x.shape[0], -1).numpy()
    try:
        v, _ = np.linalg.eig(np.corrcoef(jac))
        k = 1e-5
        return float(np.real(-np.sum(np.log(v + k) + 1.0 / (v + k))))
    except np.linalg.LinAlgError:
        return float("nan")


def ref_zico(net, batches) -> float:
    """SLDGroup/ZiCo ZeroShotProxy/compute_zico.py: per loader batch, loss.backward() and keep every
    conv/linear weight's flattened grad; then per layer sum(mean|g| / std g) over nonzero std, log, summed."""
    net = copy.deepcopy(net).train()
    grad_dict: dict[str, list] = {}
    for x, y in batches:
        net.zero_grad()
        F.cross_entropy(net(x), y).backward()
        for name, mod in net.named_modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                grad_dict.setdefault(name, []).append(mod.weight.grad.data.cpu().reshape(-1).numpy())
    total = 0
    for grads in grad_dict.values():
        g = np.array(grads)
        std = np.std(g, axis=0)
        nz = np.nonzero(std)[0]
        tmp = np.sum(np.mean(np.abs(g), axis=0)[nz] / std[nz])
        if tmp != 0:
            total += np.log(tmp)
    return float(total)


def ref_swap(net, x, regular_factor: float = 1.0) -> float:
    """pym1024/SWAP src/metrics/swap.py: forward hooks on nn.ReLU (4-D inputs) keep outputs; concatenate,
    sign, transpose to (neurons, samples), count unique rows; times the regular factor."""
    feats = []

    def hook(module, inp, out):
        if isinstance(inp, tuple) and len(inp[0].size()) == 4:
            feats.append(out.detach())
    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    net = net.train()
    with torch.no_grad():
        net(x)
    for h in handles:
        h.remove()
    acts = torch.sign(torch.cat([f.view(x.shape[0], -1) for f in feats], 1))
    return torch.unique(acts.T, dim=0).size(0) * regular_factor


def ref_swap_regular_factor(net, mu: float, sigma: float) -> float:
    """pym1024/SWAP src/metrics/swap.py cal_regular_factor with src/utils/utilities.py count_parameters (/1e3)."""
    params = torch.as_tensor(np.sum([np.prod(v.size()) for _, v in net.named_parameters()]) / 1e3)
    return torch.exp(-(torch.pow(params - mu, 2) / sigma)).item()


def ref_meco(net, seed: int) -> float:
    """HamsterMimi/MeCo correlation/foresight/pruners/measures/meco.py: one randn(1,3,64,64) input, a forward
    hook on every module: corrcoef of the first sample's (C, HW) features, NaN/inf -> 0, min real eigenvalue;
    sum of the non-NaN minima."""
    net = copy.deepcopy(net).train()
    torch.manual_seed(seed)
    x = torch.randn(size=(1, 3, 64, 64))
    results = []

    def hook(module, inp, out):
        fea = out[0].detach()
        fea = fea.reshape(fea.shape[0], -1)
        corr = torch.corrcoef(fea)
        corr[torch.isnan(corr)] = 0
        corr[torch.isinf(corr)] = 0
        results.append(torch.min(torch.real(torch.linalg.eig(corr)[0])))
    for m in net.modules():
        m.register_forward_hook(hook)
    net(x)
    r = torch.tensor(results)
    return torch.sum(r[torch.logical_not(torch.isnan(r))]).item()


def ref_zen(net, seed: int, batch_size: int, resolution: int, mixup_gamma: float = 1e-2) -> float:
    """idstcv/ZenNAS ZeroShotProxy/compute_zen_score.py: Gaussian init (normal conv/linear weights, BN 1/0),
    two randn batches, output before global pooling for x and x + gamma * x2, log mean L1 change plus the
    sum over BN layers of log sqrt(mean running_var), in training mode."""
    net = copy.deepcopy(net).train()
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

        def pre_gap(inp):  # NB201 TinyNetwork: everything before global_pooling
            h = net.stem(inp)
            for cell in net.cells:
                h = cell(h)
            return net.lastact(h)
        x1 = torch.randn(size=[batch_size, 3, resolution, resolution])
        x2 = torch.randn(size=[batch_size, 3, resolution, resolution])
        out = pre_gap(x1)
        mixed = pre_gap(x1 + mixup_gamma * x2)
        score = torch.mean(torch.sum(torch.abs(out - mixed), dim=[1, 2, 3]))
        log_bn = 0.0
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                log_bn += torch.log(torch.sqrt(torch.mean(m.running_var)))
        return float(torch.log(score) + log_bn)
