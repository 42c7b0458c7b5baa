"""Names of the NDS spaces (no heavy imports: the registry lists them cheaply)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

Info = TypeVar("Info")  # the caller's SpaceInfo class (kept out of this light module)

DATA_URL = "https://dl.fbaipublicfiles.com/nds/data.zip"

# Every sweep file of the NDS release (docs/formats.md §2.1).
SWEEPS = (
    "Amoeba", "Amoeba_in", "DARTS", "DARTS_fix-w-d", "DARTS_in", "DARTS_lr-wd", "DARTS_lr-wd_in", "ENAS",
    "ENAS_fix-w-d", "ENAS_in", "NASNet", "NASNet_in", "PNAS", "PNAS_fix-w-d", "PNAS_in", "ResNeXt-A",
    "ResNeXt-A_in", "ResNeXt-B", "ResNeXt-B_in", "ResNet-B", "ResNet", "ResNet_lr-wd", "ResNet_lr-wd_in",
    "ResNet_reruns", "ResNet_rng1", "ResNet_rng2", "ResNet_rng3", "Vanilla", "Vanilla_lr-wd",
    "Vanilla_lr-wd_in", "Vanilla_reruns", "Vanilla_rng1", "Vanilla_rng2", "Vanilla_rng3",
)
# The spaces of the paper's Figure 3 (and their ImageNet variants) come first.
PRIMARY = ("DARTS", "ENAS", "PNAS", "NASNet", "Amoeba", "ResNet", "ResNeXt-A", "ResNeXt-B", "Vanilla",
           "DARTS_fix-w-d", "ENAS_fix-w-d", "PNAS_fix-w-d", "DARTS_in", "ENAS_in", "PNAS_in", "NASNet_in",
           "Amoeba_in", "ResNeXt-A_in", "ResNeXt-B_in")

_ANYNET_FAMILY = {"ResNet": "res_basic_block", "ResNet-B": "res_bottleneck_block",
                  "ResNeXt-A": "res_bottleneck_block", "ResNeXt-B": "res_bottleneck_block",
                  "Vanilla": "double_plain_block"}


# Op vocabulary of each cell design space (pycls genotypes; docs/formats.md §2.4). An entry
# using another op belongs to another space: the wrong file for this --space.
CELL_OPS = {
    "NASNet": frozenset({"skip_connect", "conv_3x1_1x3", "conv_7x1_1x7", "dil_conv_3x3", "avg_pool_3x3",
                         "max_pool_3x3", "max_pool_5x5", "max_pool_7x7", "conv_1x1", "conv_3x3",
                         "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7"}),
    "Amoeba": frozenset({"skip_connect", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "avg_pool_3x3",
                         "max_pool_3x3", "dil_sep_conv_3x3", "conv_7x1_1x7"}),
    "PNAS": frozenset({"sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "conv_7x1_1x7", "skip_connect",
                       "avg_pool_3x3", "max_pool_3x3", "dil_conv_3x3"}),
    "ENAS": frozenset({"skip_connect", "sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3", "max_pool_3x3"}),
    "DARTS": frozenset({"none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                        "dil_conv_3x3", "dil_conv_5x5"}),
}


def cell_ops_of(sweep: str) -> frozenset[str] | None:
    """The op vocabulary of a cell sweep (None for AnyNet sweeps)."""
    return CELL_OPS.get(sweep.split("_")[0])


def space_name(sweep: str) -> str:
    """``DARTS_fix-w-d`` -> ``nds-darts-fix-w-d``; ``ResNeXt-A_in`` -> ``nds-resnext-a-in``."""
    return "nds-" + sweep.lower().replace("_", "-")


def family_of(sweep: str) -> str:
    """``cell`` or the AnyNet block type of a sweep's entries."""
    return _ANYNET_FAMILY.get(sweep.split("_")[0], "cell")


def nds_space_infos(space_info_cls: Callable[..., Info]) -> list[Info]:
    """SpaceInfo records of every NDS sweep, primary ones first."""
    ordered = list(PRIMARY) + [s for s in SWEEPS if s not in PRIMARY]
    infos: list[Info] = []
    for sweep in ordered:
        name = space_name(sweep)
        where = "ImageNet" if sweep.endswith("_in") else "CIFAR-10"
        aliases = tuple(a for a in {"nds-" + sweep.lower()} if a != name)
        infos.append(space_info_cls(
            name, f"NDS {sweep} ({where}; needs {sweep}.json from NDS data.zip)",
            "naswot_tui.core.spaces.nds:NDSSpace", kwargs={"sweep": sweep}, needs_file=True, aliases=aliases,
        ))
    return infos
