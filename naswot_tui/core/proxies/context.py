"""One scoring pass over one network: the artefacts several proxies share, each computed once.

``ScoringPass.shared`` runs ONE forward pass on the batch (BatchNorm in
training mode, as every reference code scores) and, from that one graph,
whatever the requested proxies need:

- the ReLU output codes (SWAP), unless NASWOT's kernel pass reads them
  first: on NB201-family networks SWAP reads the very codes NASWOT's exact
  fast path feeds its kernel (``hamming_kernel``'s observer), so NASWOT
  and SWAP together cost one pass,
- the input Jacobian of ``sum(output)`` (jacov),
- the gradients of the cross-entropy loss with respect to every Conv2d /
  Linear weight (snip, grad_norm, plain, and grasp's first gradient; with
  ``create_graph`` when grasp also needs its Hessian-gradient product) and
  with respect to those layers' outputs (fisher).

Gradients are taken with ``torch.autograd.grad``, never accumulated into
``.grad``, so the network's parameters and gradients are left as found.
Proxies that change weights (synflow, zen) work on a deep copy; proxies that
draw random inputs use their own generator seeded from the pass's seed, so
the order in which proxies are asked for never changes a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from naswot_tui.core.errors import UsageError

# Which requested proxies need which shared artefact.
NEEDS_CODES = frozenset({"swap", "swap-reg"})
NEEDS_JACOBIAN = frozenset({"jacov"})
NEEDS_WEIGHT_GRADS = frozenset({"snip", "grad_norm", "plain", "grasp"})
NEEDS_OUTPUT_GRADS = frozenset({"fisher"})
NEEDS_HESSIAN = frozenset({"grasp"})


def weighted_layers(net: nn.Module) -> list[nn.Conv2d | nn.Linear]:
    """The Conv2d and Linear layers, in module order (what the zero-cost papers score)."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def layer_weights(layers: list[nn.Conv2d | nn.Linear]) -> list[torch.Tensor]:
    """Each layer's weight tensor (typed: nn.Module attributes read as Tensor | Module)."""
    return [layer.weight for layer in layers]


def check_head(logits: torch.Tensor, proxy: str) -> None:
    """Label-based proxies need a classifier, not NASWOT's one-unit head."""
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise UsageError(f"proxy {proxy} needs class labels and a classifier head, but this network has "
                         f"{logits.shape[-1]} output unit(s); build it with the dataset's class count "
                         "(space.build(arch, num_classes=...))")


class CodeCollector:
    """Binary activation codes, one packed row of N bits per unit, for counting distinct patterns.

    Called as ``collector(x, units)`` by the NASWOT kernel pass (``x`` None:
    an input known to be all zeros) or with each ReLU output of a forward pass.
    """

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []  # (units, ceil(N/8)) uint8
        self.zero_units = 0

    def __call__(self, x: torch.Tensor | None, units: int) -> None:
        if x is None:
            self.zero_units += int(units)
        elif x.dim() == 4:  # SWAP reads 4-D feature maps only
            codes = (x.detach().reshape(x.shape[0], -1) > 0).cpu().numpy()
            self.blocks.append(np.packbits(codes.T, axis=1))


@dataclass
class SharedForward:
    logits: torch.Tensor
    relu_codes: CodeCollector = field(default_factory=CodeCollector)
    jacobian: torch.Tensor | None = None                            # d sum(out) / d input, (N, C, H, W)
    weight_grads: list[torch.Tensor | None] | None = None           # per weighted layer, may carry a graph
    outputs: list[torch.Tensor | None] | None = None                # per weighted layer: its output
    output_grads: list[torch.Tensor | None] | None = None           # per weighted layer: d loss / d output


class ScoringPass:
    """A network, its batch and what the requested proxies share (see the module docstring)."""

    def __init__(self, net: nn.Module, images: torch.Tensor, labels: torch.Tensor | None,
                 wanted: set[str], seed: int = 0) -> None:
        self.net = net
        self.images = images
        self.labels = labels
        self.wanted = set(wanted)
        self.seed = int(seed)
        self.layers = weighted_layers(net)
        self._kernels: dict[str, np.ndarray] = {}
        self._kernel_codes: CodeCollector | None = None

    def swap_rule(self) -> str | None:
        """The NASWOT hook rule whose kernel pass also collects SWAP's codes, or None.

        Only on networks core.fastpath runs (NB201 family), where every hooked
        tensor is the input of an ``nn.ReLU`` (``ReLUConvBN`` and its inner ReLU
        read the same tensor), so the distinct codes are exactly SWAP's.
        """
        from naswot_tui.core import fastpath

        if not (self.wanted & NEEDS_CODES) or not fastpath.supports(self.net):
            return None
        return "reference" if "naswot" in self.wanted or "naswot-relu" not in self.wanted else "relu"

    def kernel(self, hook_rule: str) -> np.ndarray:
        """NASWOT's K under ``hook_rule`` (core.scoring.hamming_kernel), once per rule."""
        from naswot_tui.core.scoring import hamming_kernel

        if hook_rule not in self._kernels:
            collector = CodeCollector() if self.swap_rule() == hook_rule else None
            self._kernels[hook_rule] = hamming_kernel(self.net, self.images, hook_rule, observer=collector)
            if collector is not None:
                self._kernel_codes = collector
        return self._kernels[hook_rule]

    def relu_codes(self) -> CodeCollector:
        """SWAP's codes: from NASWOT's kernel pass where it can, else from the shared forward."""
        rule = self.swap_rule()
        if rule is None:
            return self.shared.relu_codes
        self.kernel(rule)
        assert self._kernel_codes is not None
        return self._kernel_codes

    def generator(self, salt: int) -> torch.Generator:
        """A fresh CPU generator for one proxy: its draws depend on (seed, salt) only."""
        g = torch.Generator()
        g.manual_seed(int(np.random.SeedSequence([self.seed, salt]).generate_state(1)[0]))
        return g

    def require_labels(self, proxy: str) -> torch.Tensor:
        if self.labels is None:
            raise UsageError(f"proxy {proxy} needs class labels, but this batch has none; "
                             "use an embedded, root or synthetic CIFAR/ImageNet16 batch")
        return self.labels

    @cached_property
    def shared(self) -> SharedForward:
        return self._run_shared_forward()

    def _run_shared_forward(self) -> SharedForward:
        net, wanted = self.net, self.wanted
        want_codes = bool(wanted & NEEDS_CODES) and self.swap_rule() is None
        want_jac = bool(wanted & NEEDS_JACOBIAN)
        want_wgrad = bool(wanted & NEEDS_WEIGHT_GRADS)
        want_ograd = bool(wanted & NEEDS_OUTPUT_GRADS)
        want_loss = want_wgrad or want_ograd
        label_proxy = sorted(wanted & (NEEDS_WEIGHT_GRADS | NEEDS_OUTPUT_GRADS))
        labels = self.require_labels(label_proxy[0]) if want_loss else None

        net.train()
        codes = CodeCollector()
        outputs: dict[int, torch.Tensor] = {}
        handles = []
        if want_codes:
            def on_relu(module: nn.Module, args: Any, output: torch.Tensor) -> None:
                # SWAP's rule: nn.ReLU modules fed a 4-D tensor; the code is sign(output) = output > 0.
                if isinstance(args, tuple) and args and args[0].dim() == 4:
                    codes(output, 0)
            handles += [m.register_forward_hook(on_relu) for m in net.modules() if isinstance(m, nn.ReLU)]
        if want_ograd:
            for k, layer in enumerate(self.layers):
                def on_output(module: nn.Module, args: Any, output: torch.Tensor, k: int = k) -> None:
                    outputs[k] = output
                handles.append(layer.register_forward_hook(on_output))
        try:
            with torch.enable_grad():
                x = self.images.detach().clone().requires_grad_(want_jac)
                logits = net(x)
                result = SharedForward(logits=logits.detach(), relu_codes=codes)
                if want_jac:
                    (jac,) = torch.autograd.grad(logits.sum(), x, retain_graph=want_loss)
                    result.jacobian = jac.detach()
                if want_loss:
                    check_head(logits, label_proxy[0])
                    assert labels is not None  # require_labels raised otherwise
                    loss = F.cross_entropy(logits, labels)
                    weights = layer_weights(self.layers)
                    outs = [outputs.get(k) for k in range(len(self.layers))] if want_ograd else []
                    targets: list[torch.Tensor] = weights + [o for o in outs if o is not None]
                    grads = torch.autograd.grad(loss, targets, allow_unused=True,
                                                create_graph=bool(wanted & NEEDS_HESSIAN))
                    result.weight_grads = list(grads[:len(weights)])
                    if want_ograd:
                        it = iter(grads[len(weights):])
                        result.outputs = outs
                        result.output_grads = [None if o is None else next(it) for o in outs]
        finally:
            for h in handles:
                h.remove()
        return result
