"""An exact, faster forward pass for NB201-family networks (``TinyNetwork``).

The score only needs the binary codes at hooked modules, so this executor
walks the network's modules itself and computes nothing the kernel does not
depend on, while calling the *same* modules on the *same* tensors for
everything it does compute (so every value, hence every code, is bit for bit
the one the network's own forward pass produces):

* no hooks: the executor tells the accumulator what each hooked module reads;
* a ``none`` edge is not multiplied by zero, and a node is the plain left-to-
  right sum of its non-zero terms (``0 + a + b`` and ``a + b`` are the same
  floats; only the sign of an exact zero can differ, and no code or non-zero
  value depends on it);
* provably-zero activations (outputs of ``none`` edges, dead nodes, whole
  cells with no input->output path and everything after them) are carried
  as a shape only (``Zeros``); a hooked module that reads one adds ``n_l``
  to every entry of K analytically. Zeros stay zeros through ReLU, convs
  without bias, pools and train-mode BatchNorm whose bias is zero (default
  init); anything else materialises real zeros and runs normally;
* values nothing hooked depends on are not computed: edges into nodes no
  hooked module reads, the final ReLU (only its input code counts), global
  pooling and the classifier.

* train-mode BatchNorm on CPU runs ``core.batchnorm``'s kernel (PyTorch's
  own sums in PyTorch's order, eight channels at a time) where numba is
  installed.

Assumes finite activations (``x * 0 == 0``), which holds for these
BatchNorm networks. BatchNorm running statistics of skipped layers, and of
layers core.batchnorm computes, are not updated (they do not affect
train-mode outputs, and nothing reads them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeAlias

import torch
import torch.nn.functional as F
from torch import nn

from naswot_tui.core import batchnorm
from naswot_tui.core.spaces.nb201_ops import (
    FactorizedReduce,
    Identity,
    InferCell,
    Pooling,
    ReLUConvBN,
    ResNetBasicblock,
    TinyNetwork,
    Zero,
)

_KNOWN = (TinyNetwork, InferCell, ResNetBasicblock, ReLUConvBN, Pooling, FactorizedReduce, Identity, Zero,
          nn.Sequential, nn.ModuleList, nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
          nn.Linear, nn.ConstantPad2d)


class CodeSink(Protocol):
    """What the executor reports hooked reads to (``scoring``'s kernel accumulator)."""

    def add(self, x: torch.Tensor, count: int = 1) -> None: ...

    def add_zeros(self, units: int, count: int = 1) -> None: ...

    def drain(self) -> None: ...


def supports(model: nn.Module) -> bool:
    """True when every module is one the executor knows (NB201, NATS tss/sss)."""
    if type(model) is not TinyNetwork:
        return False
    from torch.nn.modules import module as _module

    if _module._global_forward_hooks or _module._global_forward_pre_hooks:
        return False  # someone observes every forward call: run the real one
    return all(type(m) in _KNOWN and not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


class Zeros:
    """An activation known to be all zeros: its shape, never its memory."""

    __slots__ = ("shape", "dtype", "device")

    def __init__(self, shape: Sequence[int], dtype: torch.dtype, device: torch.device) -> None:
        self.shape, self.dtype, self.device = tuple(shape), dtype, device

    @property
    def units(self) -> int:
        return math.prod(self.shape[1:])

    def materialise(self) -> torch.Tensor:
        return torch.zeros(self.shape, dtype=self.dtype, device=self.device)

    def like(self, shape: Sequence[int]) -> Zeros:
        return Zeros(shape, self.dtype, self.device)


# An activation as the executor carries it: a real tensor, or zeros known by their shape.
Value: TypeAlias = "torch.Tensor | Zeros"


def _meta_shape(fn: Callable[[torch.Tensor], torch.Tensor], shape: Sequence[int]) -> tuple[int, ...]:
    """Output shape of a parameter-free op, computed on the meta device."""
    return tuple(fn(torch.empty(shape, device="meta")).shape)


def _shifted_pool_ok(pool: nn.AvgPool2d, x: torch.Tensor) -> bool:
    k, s, p = (_pair(v) for v in (pool.kernel_size, pool.stride, pool.padding))
    return (s == (1, 1) and not pool.ceil_mode and not pool.count_include_pad and pool.divisor_override is None
            and k[0] == 2 * p[0] + 1 and k[1] == 2 * p[1] + 1 and x.dim() == 4 and x.is_contiguous()
            and x.dtype == torch.float32 and x.device.type == "cpu" and x.shape[2] > p[0] and x.shape[3] > p[1])


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])


_COUNTS: dict[tuple[int, ...], torch.Tensor] = {}  # (kernel, stride, padding, image h, w) -> in-image counts


def _in_image_counts(pool: nn.AvgPool2d, h: int, w: int) -> torch.Tensor:
    """How many cells of each output's window lie inside the h x w image
    (the divisor of a pool that does not count its padding)."""
    (kh, kw), (sh, sw), (ph, pw) = (_pair(v) for v in (pool.kernel_size, pool.stride, pool.padding))
    key = (kh, kw, sh, sw, ph, pw, h, w)
    counts = _COUNTS.get(key)
    if counts is None:
        cells = F.pad(torch.ones(1, 1, h, w), (pw, pw, ph, ph))
        counts = _COUNTS[key] = F.conv2d(cells, torch.ones(1, 1, kh, kw), stride=(sh, sw))
    return counts


def _shifted_avg_pool(pool: nn.AvgPool2d, x: torch.Tensor) -> torch.Tensor:
    """Stride-1 'same' average pooling without padding in the count, as
    whole-tensor shifted adds: PyTorch's NCHW CPU kernel is scalar and slow.

    Bit-identical: the kernel sums a window row by row from 0 and divides by
    the number of in-image cells; we add the same cells in the same order
    (cells outside the image are skipped, as there) and divide by the same
    count. tests/test_scoring_fast.py checks equality against the module.
    """
    (kh, kw), (ph, pw) = _pair(pool.kernel_size), _pair(pool.padding)
    h, w = x.shape[2], x.shape[3]
    acc = torch.zeros_like(x)
    for dh in range(-ph, kh - ph):          # window rows, top to bottom
        for dw in range(-pw, kw - pw):      # then columns, left to right
            # out[i, j] += x[i + dh, j + dw] wherever that cell is inside the image
            acc[:, :, max(0, -dh):h - max(0, dh), max(0, -dw):w - max(0, dw)] += \
                x[:, :, max(0, dh):h - max(0, -dh), max(0, dw):w - max(0, -dw)]
    return acc.div_(_in_image_counts(pool, h, w))


_ONES: dict[tuple[int, int, int], torch.Tensor] = {}      # (channels, kernel h, w) -> depthwise ones kernel
_CONV_POOL_EXACT: dict[tuple[Any, ...], bool] = {}     # input shape, pool geometry, threads -> verified exact?


def _conv_pool_ok(pool: nn.AvgPool2d, x: torch.Tensor) -> bool:
    """Pools whose divisor is the number of in-image cells of each window:
    unpadded (NB201's residual shortcut) or not counting the padding (its avg_pool_3x3)."""
    padding = _pair(pool.padding)
    return (not pool.ceil_mode and pool.divisor_override is None
            and (not pool.count_include_pad or padding == (0, 0))
            and x.dim() == 4 and x.is_contiguous() and x.dtype == torch.float32 and x.device.type == "cpu")


def _window_sum_pool(pool: nn.AvgPool2d, x: torch.Tensor) -> torch.Tensor:
    """The same average pooling as one depthwise convolution with a kernel of
    ones (one fused pass over memory instead of one per window cell), divided
    by the same cell counts: 1.0 * v is exact and each tap is one rounded
    add, so when the convolution adds the taps in the window's row-major
    order the sums are bit for bit the pooling kernel's.

    That order is the convolution library's choice, not a documented
    contract, so each (shape, pool, threads) is checked once per process
    against the pooling module itself on the first real input; where it
    differs we fall back to the shifted adds (exact by construction) or the
    module.
    """
    (kh, kw), (sh, sw), (ph, pw) = (_pair(v) for v in (pool.kernel_size, pool.stride, pool.padding))
    channels, h, w = x.shape[1], x.shape[2], x.shape[3]
    key = (tuple(x.shape), kh, kw, sh, sw, ph, pw, torch.get_num_threads())
    exact = _CONV_POOL_EXACT.get(key)
    if exact is False:
        return _shifted_avg_pool(pool, x) if _shifted_pool_ok(pool, x) else pool(x)
    ones = _ONES.get((channels, kh, kw))
    if ones is None:
        ones = _ONES[(channels, kh, kw)] = torch.ones(channels, 1, kh, kw)
    out = F.conv2d(x, ones, None, (sh, sw), (ph, pw), 1, channels).div_(_in_image_counts(pool, h, w))
    if exact is None:
        reference: torch.Tensor = pool(x)
        exact = _CONV_POOL_EXACT[key] = torch.equal(out, reference)
        if not exact:
            return reference
    return out


class _Executor:
    def __init__(self, model: nn.Module, acc: CodeSink, hooked: list[nn.Module]) -> None:
        self.acc = acc
        self.hooked = {id(m) for m in hooked}
        # _has_hook: the module or a descendant is hooked (its input must exist);
        # _inner: a strict descendant is hooked (it must run even when its own
        # output is not needed).
        self._has_hook: dict[int, bool] = {}
        self._inner: dict[int, bool] = {}
        self._mark(model)
        self._zero_bn: dict[int, bool] = {}
        # ReLU outputs of the current cell by input: the edges leaving one node each start with
        # their own (parameter-free, identical) ReLU of it; compute it once. Cleared per cell.
        self._relu_of: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._shape_only = False  # True while propagating a shape (no hook reports)
        self._handlers: dict[type[nn.Module], Callable[[Any, Value, bool], Value | None]] = {
            TinyNetwork: self._network, InferCell: self._cell, ResNetBasicblock: self._resblock,
            ReLUConvBN: self._sequence_of("op"), Pooling: self._pooling, FactorizedReduce: self._factorized,
            Identity: self._identity, Zero: self._zero, nn.Sequential: self._sequential,
        }

    def _mark(self, module: nn.Module) -> bool:
        inner = False
        for child in module.children():
            inner = self._mark(child) or inner
        self._inner[id(module)] = inner
        self._has_hook[id(module)] = flag = inner or id(module) in self.hooked
        return flag

    def _bn_keeps_zeros(self, bn: nn.BatchNorm2d) -> bool:
        """Train-mode BatchNorm maps all-zero input to its bias: zero under
        default init. Checked lazily, only when zeros reach this layer."""
        key = id(bn)
        if self._shape_only:
            return True
        if key not in self._zero_bn:
            self._zero_bn[key] = bool(bn.training) and (bn.bias is None or not bool(bn.bias.detach().any()))
        return self._zero_bn[key]

    # ------------------------------------------------------------ dispatch
    def run(self, module: nn.Module, x: Value, need: bool = True) -> Value | None:
        """Output of ``module`` on ``x`` (a tensor or Zeros), or None when not
        ``need``-ed; hooked reads are reported to the accumulator either way."""
        if id(module) in self.hooked and not self._shape_only:
            if isinstance(x, Zeros):
                self.acc.add_zeros(x.units)
            else:
                self.acc.add(x)
        if not need and not self._inner[id(module)]:
            return None
        handler = self._handlers.get(type(module))
        if handler is not None:
            return handler(module, x, need)
        return self._leaf(module, x, need)

    def _leaf(self, module: nn.Module, x: Value, need: bool) -> Value | None:
        if not need:
            return None
        if isinstance(x, Zeros):
            zeros = self._zero_leaf(module, x)
            if zeros is not None:
                return zeros
            x = x.materialise()
        if type(module) is nn.AvgPool2d and _conv_pool_ok(module, x):
            return _window_sum_pool(module, x)
        if getattr(module, "inplace", False):
            self.acc.drain()  # a pending code product may still read x
            self._relu_of.clear()  # and x may be a remembered ReLU input or output
        elif type(module) is nn.BatchNorm2d:
            return self._batch_norm(module, x)
        elif type(module) is nn.ReLU:
            seen = self._relu_of.get(id(x))
            if seen is not None and seen[0] is x:
                return seen[1]
            relu: torch.Tensor = module(x)
            self._relu_of[id(x)] = (x, relu)
            return relu
        out: torch.Tensor = module(x)
        return out

    @staticmethod
    def _batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
        """``bn(x)``, through core.batchnorm's exact CPU kernel where it applies."""
        fast = batchnorm.batch_norm(bn, x)
        if fast is not None:
            return fast
        out: torch.Tensor = bn(x)
        return out

    def _zero_leaf(self, module: nn.Module, x: Zeros) -> Zeros | None:
        """Zeros in -> Zeros out where that is exact; None otherwise."""
        if isinstance(module, nn.ReLU):
            return x
        if isinstance(module, nn.Conv2d):
            if module.bias is not None or module.padding_mode != "zeros":
                return None
            conv, w = module, module.weight
            return x.like(_meta_shape(lambda t: F.conv2d(
                t, torch.empty(w.shape, device="meta"), None, conv.stride, conv.padding, conv.dilation,
                conv.groups), x.shape))
        if isinstance(module, nn.BatchNorm2d):
            return x if self._bn_keeps_zeros(module) else None
        if isinstance(module, nn.AvgPool2d):
            return x.like(_meta_shape(module, x.shape))
        if isinstance(module, nn.ConstantPad2d) and module.value == 0:
            return x.like(_meta_shape(module, x.shape))
        return None

    # ------------------------------------------------------------ containers
    def _sequential(self, module: nn.Sequential, x: Value, need: bool) -> Value | None:
        children = list(module)
        for k, child in enumerate(children):
            later = need or any(self._has_hook[id(c)] for c in children[k + 1:])
            out = self.run(child, x, later)
            if out is None:
                return None
            x = out
        return x

    def _sequence_of(self, attr: str) -> Callable[[nn.Module, Value, bool], Value | None]:
        def handler(module: nn.Module, x: Value, need: bool) -> Value | None:
            return self.run(getattr(module, attr), x, need)
        return handler

    def _identity(self, module: Identity, x: Value, need: bool) -> Value:
        return x

    def _zero(self, module: Zero, x: Value, need: bool) -> Zeros | None:
        if not need:
            return None
        shape = list(x.shape)
        if module.c_in == module.c_out and module.stride != 1:
            shape[2] = len(range(0, shape[2], module.stride))
            shape[3] = len(range(0, shape[3], module.stride))
        shape[1] = module.c_out
        if isinstance(x, Zeros):
            return x.like(shape)
        return Zeros(shape, x.dtype, x.device)

    def _pooling(self, module: Pooling, x: Value, need: bool) -> Value | None:
        if module.preprocess is not None:
            projected = self.run(module.preprocess, x, need)
            if projected is None:
                return None
            x = projected
        return self.run(module.op, x, need)

    def _factorized(self, module: FactorizedReduce, x: Value, need: bool) -> Value | None:
        if isinstance(x, Zeros):
            x = x.materialise()  # not on NB201 cells; keep it simple and exact
        if module.stride == 2:
            x = self.run(module.relu, x, True)  # type: ignore[assignment]  # a ReLU of a real tensor is real
            if not need:
                return None
            y = module.pad(x)
            out = torch.cat([module.convs[0](x), module.convs[1](y[:, :, 1:, 1:])], dim=1)
        else:
            if not need:
                return None
            out = module.conv(x)
        return self._batch_norm(module.bn, out)

    @staticmethod
    def _add(terms: Sequence[Value]) -> Value:
        """Left-to-right sum of the terms that are not Zeros (as the module's ``sum``)."""
        real = [t for t in terms if not isinstance(t, Zeros)]
        if not real:
            return terms[0]
        total = real[0]
        for t in real[1:]:
            total = total + t
        return total

    def _cell(self, cell: InferCell, x: Value, need: bool) -> Value | None:
        try:
            return self._cell_nodes(cell, x, need)
        finally:
            self._relu_of.clear()   # nothing outside the cell reads these again; free them

    def _cell_nodes(self, cell: InferCell, x: Value, need: bool) -> Value | None:
        edges_of = cell.node_inputs            # per node 1..n: [(layer index, source node)]
        n_nodes = len(edges_of) + 1
        # needed[j]: node j's value must exist (it is the needed output, or an
        # edge reading it is hooked or feeds a needed node through a real op).
        needed = [False] * n_nodes
        needed[-1] = need
        for target in range(n_nodes - 1, 0, -1):
            for k, src in edges_of[target - 1]:
                layer = cell.layers[k]
                if self._has_hook[id(layer)] or (needed[target] and type(layer) is not Zero):
                    needed[src] = True
        nodes: list[Value | None] = [x]
        for target in range(1, n_nodes):
            terms = []
            for k, src in edges_of[target - 1]:
                layer, source = cell.layers[k], nodes[src]
                if source is None:
                    # Node src is not needed, so this edge is unhooked and either a 'none' edge or one
                    # into an unneeded node: nothing to read, nothing to compute.
                    continue
                out = self.run(layer, source, needed[target])
                if out is not None:
                    terms.append(out)
            if not needed[target]:
                nodes.append(None)
            elif any(not isinstance(t, Zeros) for t in terms):
                nodes.append(self._add(terms))
            else:
                nodes.append(Zeros(self._node_shape(cell, x), x.dtype, x.device))
        return nodes[-1] if need else None

    def _node_shape(self, cell: InferCell, x: Value) -> tuple[int, ...]:
        """Shape of an inner node: that of the op on the edge 0 -> 1 (all inner
        nodes of a cell share it), propagated symbolically."""
        first = cell.node_inputs[0][0][0]
        self._shape_only = True
        try:
            out = self.run(cell.layers[first], Zeros(x.shape, x.dtype, x.device), True)
            assert out is not None  # need=True always yields a value
            return tuple(out.shape)
        finally:
            self._shape_only = False

    def _resblock(self, block: ResNetBasicblock, x: Value, need: bool) -> Value | None:
        a = self.run(block.conv_a, x, need or self._has_hook[id(block.conv_b)])
        out = self.run(block.conv_b, a, need) if a is not None else None
        residual = x if block.downsample is None else self.run(block.downsample, x, need)
        if not need:
            return None
        assert residual is not None and out is not None  # need=True computed both
        return self._add([residual, out])

    def _network(self, net: TinyNetwork, x: Value, need: bool) -> None:
        stages = [net.stem, *net.cells, net.lastact, net.global_pooling, net.classifier]
        for k, module in enumerate(stages):
            later = any(self._has_hook[id(m)] for m in stages[k + 1:])
            out = self.run(module, x, later)
            if out is None:
                break
            x = out
        return None


def run(model: nn.Module, batch: torch.Tensor, acc: CodeSink, hooked: list[nn.Module]) -> None:
    """Feed ``acc`` every read of a ``hooked`` module in ``model``'s forward pass on ``batch``.

    ``hooked`` is ``scoring.hooked_modules(model, hook_rule)``: the caller
    passes it, so this module does not import ``scoring`` (which imports it).
    """
    _Executor(model, acc, hooked).run(model, batch, need=False)
