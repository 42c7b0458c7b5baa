"""Proxies read from binary ReLU codes: NASWOT (both hook rules) and SWAP.

``naswot`` is core.scoring's kernel itself (``hamming_kernel`` and ``logdet``,
exactly what ``score_network`` computes; not a second implementation): on
NB201-family networks it runs the exact fast path that skips provably-zero
subgraphs. SWAP counts distinct patterns among the same codes, collected
during that kernel pass (``ScoringPass.relu_codes``), or from the shared
forward's ReLU hooks on other networks.
"""

from __future__ import annotations

import math

import numpy as np

from naswot_tui.core.proxies.context import CodeCollector, ScoringPass
from naswot_tui.core.proxies.registry import Cost, ProxySpec, register
from naswot_tui.core.scoring import count_params, logdet

NASWOT_CITATION = ("Mellor et al., Neural Architecture Search without Training, ICML 2021; "
                   "BayesWatch/nas-without-training score_networks.py")
SWAP_CITATION = ("Peng et al., SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS, ICLR 2024; "
                 "pym1024/SWAP src/metrics/swap.py")

# swap-reg's Gaussian prior on model size, in thousands of parameters as SWAP counts them
# (count_parameters / 1e3). The authors leave mu and sigma to the user; these defaults centre
# the prior on a mid-sized NB201 cell (about 1.0 M parameters) with a wide spread.
SWAP_REG_MU = 1000.0
SWAP_REG_SIGMA = 1.0e6


def swap_count(codes: CodeCollector) -> int:
    """Number of distinct per-unit activation patterns over the batch.

    Each unit's N bits, packed into bytes, are one row; an all-zero input
    adds the all-zero pattern. The count is a sort of short keys.
    """
    blocks = list(codes.blocks)
    if codes.zero_units:
        width = blocks[0].shape[1] if blocks else 1
        blocks.append(np.zeros((1, width), dtype=np.uint8))
    if not blocks:
        return 0
    rows = np.ascontiguousarray(np.concatenate(blocks, axis=0))
    keys = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
    return int(np.unique(keys).size)


def swap_regular_factor(n_params: int, mu: float = SWAP_REG_MU, sigma: float = SWAP_REG_SIGMA) -> float:
    """SWAP's size prior: exp(-(params/1e3 - mu)^2 / sigma)."""
    return math.exp(-((n_params / 1e3 - mu) ** 2) / sigma)


def _swap(p: ScoringPass) -> float:
    return float(swap_count(p.relu_codes()))


def _swap_reg(p: ScoringPass) -> float:
    return float(swap_count(p.relu_codes())) * swap_regular_factor(count_params(p.net))


register(ProxySpec("naswot", Cost.FORWARD, False,
                   "NASWOT log|det K| of the Hamming kernel of ReLU codes (authors' hook rule)",
                   NASWOT_CITATION, lambda p: logdet(p.kernel("reference"))))
register(ProxySpec("naswot-relu", Cost.FORWARD, False,
                   "NASWOT log|det K|, activation modules only (the paper's equation)",
                   NASWOT_CITATION, lambda p: logdet(p.kernel("relu"))))
register(ProxySpec("swap", Cost.FORWARD, False,
                   "SWAP: number of distinct sample-wise ReLU activation patterns", SWAP_CITATION, _swap))
register(ProxySpec("swap-reg", Cost.FORWARD, False,
                   f"SWAP times the size prior exp(-(kparams-{SWAP_REG_MU:g})^2/{SWAP_REG_SIGMA:g})",
                   SWAP_CITATION, _swap_reg))
