"""One scoring pass over one network: the artefacts several proxies share, each computed once.

``ScoringPass.shared`` runs ONE forward pass on the batch (BatchNorm in
training mode, as every reference code scores) and, from that one graph,
whatever the requested proxies need:

- the ReLU output codes (SWAP),
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


def weighted_layers(net: nn.Module) -> list[nn.Module]:
    """The Conv2d and Linear layers, in module order (what the zero-cost papers score)."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def check_head(logits: torch.Tensor, proxy: str) -> None:
    """Label-based proxies need a classifier, not NASWOT's one-unit head."""
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise UsageError(f"proxy {proxy} needs class labels and a classifier head, but this network has "
                         f"{logits.shape[-1]} output unit(s); build it with the dataset's class count "
                         "(space.build(arch, num_classes=...))")


@dataclass
class SharedForward:
    logits: torch.Tensor
    relu_codes: list[torch.Tensor] = field(default_factory=list)   # bool (N, units) per ReLU call
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
        want_codes = bool(wanted & NEEDS_CODES)
        want_jac = bool(wanted & NEEDS_JACOBIAN)
        want_wgrad = bool(wanted & NEEDS_WEIGHT_GRADS)
        want_ograd = bool(wanted & NEEDS_OUTPUT_GRADS)
        want_loss = want_wgrad or want_ograd
        label_proxy = sorted(wanted & (NEEDS_WEIGHT_GRADS | NEEDS_OUTPUT_GRADS))
        labels = self.require_labels(label_proxy[0]) if want_loss else None

        net.train()
        codes: list[torch.Tensor] = []
        outputs: dict[int, torch.Tensor] = {}
        handles = []
        if want_codes:
            def on_relu(module, args, output):
                # SWAP's rule: nn.ReLU modules fed a 4-D tensor; the code is sign(output) = output > 0.
                if isinstance(args, tuple) and args and args[0].dim() == 4:
                    codes.append(output.detach().reshape(output.shape[0], -1) > 0)
            handles += [m.register_forward_hook(on_relu) for m in net.modules() if isinstance(m, nn.ReLU)]
        if want_ograd:
            for k, layer in enumerate(self.layers):
                def on_output(module, args, output, k=k):
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
                    loss = F.cross_entropy(logits, labels)
                    weights = [layer.weight for layer in self.layers]
                    outs = [outputs.get(k) for k in range(len(self.layers))] if want_ograd else []
                    targets = weights + [o for o in outs if o is not None]
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
