"""The published figures we compare against: the one place they are written.

Source: J. Mellor, J. Turner, A. Storkey, E. J. Crowley, "Neural Architecture
Search without Training", ICML 2021 (PMLR 139), arXiv:2006.04647 v3:

- Table 2 (NAS-Bench-201, search on CIFAR-10 images, 500 runs): test
  accuracy mean +- std of NASWOT's pick for N = 10, 100, 1000, with search
  time on a GTX 1080 Ti; the "Random", "Optimal (N=100)" and benchmark-best
  rows.
- The rank correlations the paper reports between the score and final
  accuracy over ~1000 sampled networks: Kendall tau per search space.
- #params and FLOPs as baselines on NB201 CIFAR-10 (approximate Spearman
  rho, as the paper's discussion gives them: "~").

The paper's REA / AREA rows are not copied here; ``report`` prints none for
them rather than quote from memory.
"""

from __future__ import annotations

from typing import NamedTuple


class MeanStd(NamedTuple):
    mean: float
    std: float


class NaswotRow(NamedTuple):
    """One NASWOT-N row of Table 2: search time and test accuracy per dataset."""

    time_s: float                      # GTX 1080 Ti
    test: dict[str, MeanStd]           # dataset -> accuracy (%), mean +- std over 500 runs


RUNS_PER_ROW = 500
TIME_DEVICE = "GTX 1080 Ti"

# Table 2, NASWOT rows, keyed by N.
NASWOT_TABLE2: dict[int, NaswotRow] = {
    10: NaswotRow(3.05, {"cifar10": MeanStd(92.44, 1.13), "cifar100": MeanStd(68.62, 2.04),
                         "ImageNet16-120": MeanStd(41.31, 4.11)}),
    100: NaswotRow(30.01, {"cifar10": MeanStd(92.81, 0.99), "cifar100": MeanStd(69.48, 1.70),
                           "ImageNet16-120": MeanStd(43.10, 3.16)}),
    1000: NaswotRow(306.19, {"cifar10": MeanStd(92.96, 0.81), "cifar100": MeanStd(69.98, 1.22),
                             "ImageNet16-120": MeanStd(44.44, 2.10)}),
}

# Table 2, reference rows: test accuracy (%) per dataset.
REFERENCE_ROWS: dict[str, dict[str, float]] = {
    "Random pick": {"cifar10": 86.61, "cifar100": 60.83, "ImageNet16-120": 33.13},
    "Optimal in-sample (N=100)": {"cifar10": 93.84, "cifar100": 71.56, "ImageNet16-120": 45.67},
    "Benchmark best": {"cifar10": 94.37, "cifar100": 73.51, "ImageNet16-120": 47.31},
}

# Kendall tau of the NASWOT score with final accuracy, ~1000 networks, per (space, dataset).
KENDALL_TAU: dict[tuple[str, str], float] = {
    ("nb201", "cifar10"): 0.574, ("nb201", "cifar100"): 0.611, ("nb201", "ImageNet16-120"): 0.549,
    ("nb101", "cifar10"): 0.285,
    ("nds-darts", "cifar10"): 0.467, ("nds-enas", "cifar10"): 0.365, ("nds-pnas", "cifar10"): 0.382,
    ("nds-nasnet", "cifar10"): 0.304, ("nds-amoeba", "cifar10"): 0.223,
}
KENDALL_SAMPLE = "~1000 architectures, training images"

# Approximate Spearman rho on NB201 CIFAR-10 of NASWOT and the two size baselines.
SPEARMAN_NB201_C10: dict[str, float] = {"naswot": 0.77, "params": 0.72, "flops": 0.70}

# Other training-free proxies on NB201 CIFAR-10, each re-run with its authors' code:
# VKDNW (O. Tybl, L. Neumann, "Training-free Neural Architecture Search through Variance of
# Knowledge of Deep Network Weights", CVPR 2025, ondratybl/VKDNW), Table 1:
# (Kendall tau, Spearman rho) over the whole benchmark. AZ-NAS is the rank-aggregation ensemble.
VKDNW_TABLE1_NB201_C10: dict[str, tuple[float, float]] = {
    "naswot": (0.571, 0.762), "jacov": (0.616, 0.800), "synflow": (0.561, 0.758), "snip": (0.431, 0.591),
    "grad_norm": (0.328, 0.438), "grasp": (0.352, 0.505), "zico": (0.607, 0.802), "zen": (0.102, 0.103),
    "flops": (0.623, 0.799), "az-nas (ensemble)": (0.712, 0.892),
}
# The same table's nDCG column, for the proxies it is quoted for here (its own nDCG definition).
VKDNW_TABLE1_NDCG: dict[str, float] = {"naswot": 0.607, "flops": 0.745, "zico": 0.751}
VKDNW_CITATION = "VKDNW, Tybl & Neumann, CVPR 2025, Table 1 (NB201 CIFAR-10, each proxy's own code)"
