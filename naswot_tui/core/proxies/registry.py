"""The one registry of training-free proxies: name -> what it costs, what it needs, how to compute it.

Every proxy is a :class:`ProxySpec` whose ``fn`` reads a :class:`~.context.ScoringPass`
(the network, the batch and the artefacts several proxies share) and returns
one float, higher meaning "predicted better". Family modules register their
proxies on import; ``naswot_tui.core.proxies`` imports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from naswot_tui.core.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from naswot_tui.core.proxies.context import ScoringPass


class Cost(str, Enum):
    """What a proxy runs through the network (its cost class)."""

    NO_DATA = "no data"                    # weights or shapes only, or a random / all-ones input
    FORWARD = "forward"                    # forward pass(es) on the batch
    FORWARD_BACKWARD = "forward+backward"  # at least one backward pass


@dataclass(frozen=True)
class ProxySpec:
    """A training-free score of one network; higher is better."""

    name: str
    cost: Cost
    needs_labels: bool
    description: str
    citation: str
    fn: Callable[[ScoringPass], float]


PROXIES: dict[str, ProxySpec] = {}

ENSEMBLE_PREFIX = "ensemble:"


def register(spec: ProxySpec) -> ProxySpec:
    if spec.name in PROXIES:
        raise KeyError(f"proxy {spec.name!r} registered twice")
    PROXIES[spec.name] = spec
    return spec


def proxy_names() -> list[str]:
    """Every per-network proxy name, in registration order."""
    return list(PROXIES)


def get_spec(name: str) -> ProxySpec:
    try:
        return PROXIES[name]
    except KeyError:
        if name.startswith(ENSEMBLE_PREFIX):
            raise UsageError(f"{name!r} ranks a set of architectures, not one network; score its members "
                             "with score_proxies and combine the columns with ensemble_scores") from None
        raise UsageError(f"unknown proxy {name!r}; choose from: {', '.join(PROXIES)}, "
                         f"or {ENSEMBLE_PREFIX}<a>+<b>+...") from None
