"""RunConfig: the one description of a run.

The TUI setup screen, the CLI flags and the trace header are three views of
this dataclass; ``to_cli_args`` turns it back into the headless command line.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from naswot_tui.core.errors import UsageError

SEARCHES = ("naswot", "rea", "area")


@dataclass
class RunConfig:
    space: str = "nb201"
    dataset: str = "cifar10"
    n: int = 100                      # architectures scored per repeat (NASWOT-N)
    repeats: int = 1
    seed: int = 1
    unique: bool = False              # draw without replacement
    data: str = "embedded"            # embedded | root | synthetic
    data_root: str | None = None
    split_file: str | None = None
    benchmark_file: str | None = None
    device: str = "auto"              # auto | cpu | cuda | cuda:N
    batch_size: int = 128
    hook_rule: str = "reference"      # reference | relu
    proxy: str = "naswot"             # the score that ranks candidates
    search: str = "naswot"            # naswot | rea | area
    # REA / AREA (docs/method.md §5.2; core/evolution.py). Paper: pool 20, seed top 10.
    pool_size: int = 20               # AREA: architectures scored with the proxy first
    seed_top_k: int = 10              # AREA: best k of the pool seed the population; REA: population size
    tournament_size: int = 5          # the paper does not say; 5 is our default
    budget_s: float | None = None     # simulated training seconds (default 12000 when times are known)
    budget_evals: int | None = None   # fitness evaluations (default 100 when no times are known)
    nb101_aggregate: str = "mean"     # NB101 ground truth over repeats: mean | max (the authors')
    tf32: bool = False                # TF32 changes activations, hence scores: off by default
    cache: bool = True                # reuse / store scores in the score cache (core/cache.py)
    amp: str | None = None            # None (fp32) | bf16 | fp16 autocast forward; changes scores
    out_dir: str | None = None
    # Read NB201 .pth / NATS pickles with the official loaders, which run any code
    # the file carries; off: our restricted unpickler (core/benchmarks/safe_pickle.py).
    trust_benchmark_file: bool = False

    def validate(self) -> "RunConfig":
        from naswot_tui.core.data import DATA_SOURCES, check_dataset
        from naswot_tui.core.scoring import HOOK_RULES
        from naswot_tui.core.spaces import resolve_name

        self.space = resolve_name(self.space)
        check_dataset(self.dataset)
        if self.n < 1:
            raise UsageError(f"--n must be at least 1 (got {self.n})")
        if self.repeats < 1:
            raise UsageError(f"--repeats must be at least 1 (got {self.repeats})")
        if self.batch_size < 2:
            raise UsageError(f"--batch-size must be at least 2 (got {self.batch_size}); the paper uses 128")
        if self.hook_rule not in HOOK_RULES:
            raise UsageError(f"unknown hook rule {self.hook_rule!r}; choose one of: {', '.join(HOOK_RULES)}")
        if self.data_root and self.data == "embedded":
            self.data = "root"
        if self.data not in DATA_SOURCES:
            raise UsageError(f"unknown data source {self.data!r}; choose one of: {', '.join(DATA_SOURCES)}")
        if self.data == "root" and not self.data_root:
            raise UsageError("data source 'root' needs --data-root DIR")
        if self.nb101_aggregate not in ("mean", "max"):
            raise UsageError(f"--nb101-aggregate takes mean or max (got {self.nb101_aggregate!r})")
        if self.amp not in (None, "bf16", "fp16"):
            raise UsageError(f"--amp takes bf16 or fp16 (got {self.amp!r}); leave it out for fp32")
        if self.search not in SEARCHES:
            raise UsageError(f"unknown search {self.search!r}; choose one of: {', '.join(SEARCHES)}")
        if self.pool_size < 1 or self.seed_top_k < 1 or self.tournament_size < 1:
            raise UsageError("--pool-size, --seed-top-k and --tournament-size must be at least 1")
        if (self.budget_s is not None and self.budget_s <= 0) or (self.budget_evals is not None and self.budget_evals < 1):
            raise UsageError("--budget-s must be positive and --budget-evals at least 1")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_cli_args(self) -> list[str]:
        """The equivalent ``naswot-tui --headless ...`` arguments (defaults left out)."""
        default = RunConfig()
        args = ["naswot-tui", "--headless"]
        flag_names = {"n": "--n", "data_root": "--data-root", "split_file": "--split-file",
                      "benchmark_file": "--benchmark-file", "batch_size": "--batch-size",
                      "hook_rule": "--hook-rule", "out_dir": "--out"}
        for f in fields(self):
            value, base = getattr(self, f.name), getattr(default, f.name)
            if value == base or value is None:
                continue
            if f.name == "data" and value == "root":
                continue  # implied by --data-root
            flag = flag_names.get(f.name, "--" + f.name.replace("_", "-"))
            if isinstance(value, bool):
                args.append(flag if value else "--no-" + flag[2:])
            else:
                args += [flag, str(value)]
        return args

    def to_cli(self) -> str:
        return shlex.join(self.to_cli_args())


def default_runs_dir() -> Path:
    """Where traces go: ``$NASWOT_TUI_RUNS_DIR`` or the user data dir."""
    env = os.environ.get("NASWOT_TUI_RUNS_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("naswot-tui")) / "runs"


def default_cache_dir() -> Path:
    """Where caches go: ``$NASWOT_TUI_CACHE_DIR`` or the user cache dir."""
    env = os.environ.get("NASWOT_TUI_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("naswot-tui"))
