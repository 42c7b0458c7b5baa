"""Search spaces, looked up by name.

    >>> from naswot_tui.core.spaces import get_space
    >>> space = get_space("nb201")
    >>> space.size, space.arch(0)

Spaces are imported lazily so that listing them is cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from naswot_tui.core.errors import UsageError
from naswot_tui.core.spaces.base import SearchSpace


@dataclass(frozen=True)
class SpaceInfo:
    name: str
    description: str
    target: str                      # "module:Class"
    kwargs: dict[str, Any] = field(default_factory=dict)
    needs_file: bool = False         # True: the space is the benchmark file (NDS)
    takes_file: bool = False         # True: an optional benchmark file sets the index order (NB101)
    aliases: tuple[str, ...] = ()


# Register a new space by adding a line here (and a module under spaces/).
SPACES: dict[str, SpaceInfo] = {}


def register(info: SpaceInfo) -> None:
    SPACES[info.name] = info


register(SpaceInfo(
    "nb201", "NAS-Bench-201 / NATS-Bench topology (15,625 cells)",
    "naswot_tui.core.spaces.nb201:NB201Space", aliases=("nats-tss",),
))
register(SpaceInfo(
    "nats-sss", "NATS-Bench size (32,768 channel configurations)",
    "naswot_tui.core.spaces.nats_sss:NATSSizeSpace", aliases=("sss", "nats-size"),
))
register(SpaceInfo(
    "nb101", "NAS-Bench-101 (423,624 cells; index order from a .tfrecord when given)",
    "naswot_tui.core.spaces.nb101:NB101Space", aliases=("nasbench101", "nas-bench-101"), takes_file=True,
))

# NDS: one space per sweep file of the NDS release (nds-darts, nds-darts-in, ...).
from naswot_tui.core.spaces.nds_registry import nds_space_infos  # noqa: E402  (light module)

for _nds_info in nds_space_infos(SpaceInfo):
    register(_nds_info)


def space_names() -> list[str]:
    return list(SPACES)


def resolve_name(name: str) -> str:
    key = name.strip().lower()
    for info in SPACES.values():
        if key == info.name or key in info.aliases:
            return info.name
    raise UsageError(f"unknown search space {name!r}; choose one of: {', '.join(SPACES)}")


def get_space(name: str, benchmark_file: str | None = None, *, trust_benchmark_file: bool = False) -> SearchSpace:
    """The search space called ``name`` (see ``space_names()``).

    ``trust_benchmark_file`` is accepted for symmetry with ``ground_truth_for``:
    the files a space itself reads (NB101 ``.tfrecord``, NDS ``.json``) are
    parsed as data and never unpickled, so no space needs the official loaders.
    """
    del trust_benchmark_file  # nothing a space reads is a pickle
    info = SPACES[resolve_name(name)]
    module_name, _, cls_name = info.target.partition(":")
    cls: Callable[..., SearchSpace] = getattr(importlib.import_module(module_name), cls_name)
    if info.needs_file or (info.takes_file and benchmark_file is not None):
        return cls(benchmark_file=benchmark_file, **info.kwargs)
    return cls(**info.kwargs)


__all__ = ["SearchSpace", "SpaceInfo", "SPACES", "get_space", "register", "resolve_name", "space_names"]
