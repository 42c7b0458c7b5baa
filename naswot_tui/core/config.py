"""RunConfig: the one description of a run, and the one declaration of its options.

Each field of ``RunConfig`` carries an ``Option`` (in the field's metadata):
its command-line flag, help, form label and widget kind, allowed values and
range, and the group it belongs to. Everything that shows or reads options is
generated from these declarations:

- the ``naswot-tui --headless`` flags (``naswot_tui/cli.py``),
- ``RunConfig.to_cli_args`` (the equivalent command line) and
  ``RunConfig.validate`` (per-field checks plus a few cross-field ones),
- the Setup form of the app (``naswot_tui/tui/screens/setup.py``).

The trace header stores ``to_dict()``; field names never change, so old
traces keep loading through ``from_dict``. This module imports neither torch
nor textual: the app's first frame and the CLI's ``--help`` stay fast.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum
from functools import cache
from typing import Any

from naswot_tui.core.errors import UsageError
from naswot_tui.core.paths import default_cache_dir as default_cache_dir  # re-exported: moved to paths
from naswot_tui.core.paths import default_runs_dir as default_runs_dir

SEARCHES = ("naswot", "rea", "area")
# The names core.scoring accepts (``PROXIES``) and its hook rules. Repeated here
# because core.scoring imports torch and the form must paint without it;
# tests/test_options.py fails when the two lists drift apart.
PROXY_NAMES = ("naswot", "naswot-relu", "params", "flops")
# Every per-network proxy of the proxy lab (core.proxies.PROXIES), for --proxies;
# repeated for the same reason (core.proxies imports torch); tests/test_proxy_lab.py
# fails when the lists drift apart.
LAB_PROXY_NAMES = ("naswot", "naswot-relu", "swap", "swap-reg", "jacov", "snip", "grad_norm", "plain", "fisher",
                   "grasp", "meco", "params", "flops", "l2_norm", "synflow", "zen", "zico")
ENSEMBLE_PREFIX = "ensemble:"
HOOK_RULES = ("reference", "relu")
NB101_AGGREGATES = ("mean", "max")
AMP_MODES = (None, "bf16", "fp16")
EXECUTOR_NAMES = ("local", "procs", "ray")   # core.executors.EXECUTORS (this module stays torch-free)
_SHARD = re.compile(r"(\d+)/(\d+)")
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?|all")
# Upper bounds: past them a draw, a batch or the trace cannot fit in memory or on disk, so a typo
# (``--n 10^15``) is a usage error before anything starts, not a MemoryError inside a run.
MAX_N = 10_000_000          # NB101 has 423,624 cells; 10M draws per repeat is already ~1 GB of trace
MAX_REPEATS = 1_000_000
MAX_BATCH = 65_536


class Group(str, Enum):
    """Where an option sits: basic ones first, the others in collapsible groups."""

    BASIC = "basic"
    SEARCH = "search"
    ADVANCED = "advanced"

    @property
    def heading(self) -> str:
        return _GROUP_TITLES[self]


_GROUP_TITLES = {
    Group.BASIC: "Run (basic)",
    Group.SEARCH: "Search: method, proxy, budgets",
    Group.ADVANCED: "Advanced: files, precision, cache, output",
}


class Widget(str, Enum):
    """How the Setup form edits an option (and which Python type it holds)."""

    SELECT = "select"        # one of a list of choices
    INTEGER = "integer"      # a whole number
    NUMBER = "number"        # a real number
    TEXT = "text"            # free text, e.g. a path
    CHECKBOX = "checkbox"    # on/off


_PY_TYPES: dict[Widget, type] = {Widget.SELECT: str, Widget.INTEGER: int, Widget.NUMBER: float,
                                 Widget.TEXT: str, Widget.CHECKBOX: bool}


@dataclass(frozen=True)
class Option:
    """Everything the CLI, the form and validation need to know about one field.

    ``name`` and ``default`` are filled from the dataclass field by ``options()``.
    """

    flag: str                              # "--batch-size"
    label: str                             # the form's label (at most 15 characters)
    help: str                              # one line, shown by --help and as a tooltip
    group: Group
    widget: Widget
    choices: Sequence[Any] | Callable[[], Sequence[Any]] | None = None   # the allowed values
    suggestions: Sequence[Any] | None = None  # offered by the form, not enforced (device)
    describe: Callable[[Any], str] | None = None   # a choice's text in the form
    noun: str = ""                         # "unknown <noun> 'x'" in errors
    minimum: float | None = None           # value >= minimum
    above: float | None = None             # value > above
    maximum: float | None = None           # value <= maximum (beyond it a run cannot fit in memory)
    hint: str = ""                         # appended to range errors
    check: Callable[[Any], Any] | None = None   # extra check; returns the canonical value
    off_flag: str | None = None            # for a checkbox that is on by default: "--no-cache"
    metavar: str | None = None
    cli_type: type | None = None           # the CLI reads the value as this type (``--n all``)
    placeholder: str = ""                  # the form's hint for an empty optional field
    shown_when: tuple[str, tuple[Any, ...]] | None = None   # (field, values) where it applies
    name: str = ""
    default: Any = None

    # ------------------------------------------------------------ facts
    @property
    def py_type(self) -> type:
        return _PY_TYPES[self.widget]

    @property
    def optional(self) -> bool:
        """``None`` is a value (left out of the command line)."""
        return self.default is None and self.widget is not Widget.CHECKBOX

    def choice_values(self) -> tuple[Any, ...]:
        """Allowed values (or, for open fields such as the device, the suggested ones)."""
        source = self.choices if self.choices is not None else self.suggestions
        if source is None:
            return ()
        return tuple(source() if callable(source) else source)

    def describe_choice(self, value: Any) -> str:
        if self.describe is not None:
            return self.describe(value)
        return "off" if value is None else str(value)

    def applies(self, values: dict[str, Any]) -> bool:
        """Whether the option matters given the other fields (e.g. pool size only for AREA)."""
        if self.shown_when is None:
            return True
        other, wanted = self.shown_when
        return values.get(other) in wanted

    # ------------------------------------------------------------ values
    def parse(self, text: str) -> Any:
        """A value from the text a user typed (form fields); UsageError names the field."""
        text = text.strip()
        if not text and (self.optional or self.widget is Widget.TEXT):
            return None
        if self.widget is Widget.INTEGER:
            try:
                return int(text)
            except ValueError:
                raise UsageError(f"{self.flag} takes a whole number (got {text!r})") from None
        if self.widget is Widget.NUMBER:
            try:
                return float(text)
            except ValueError:
                raise UsageError(f"{self.flag} takes a number (got {text!r})") from None
        if self.widget is Widget.CHECKBOX:
            return text.lower() in ("1", "true", "yes", "on")
        return text

    def check_value(self, value: Any) -> Any:
        """``value`` if it is allowed (canonicalised), else UsageError naming the flag."""
        if value is None:
            if self.optional:
                return None
            raise UsageError(f"{self.flag} needs a value")
        kind = self.py_type
        ok_type = (isinstance(value, (int, float)) and not isinstance(value, bool)) if kind is float else (
            isinstance(value, kind) and (kind is bool or not isinstance(value, bool)))
        if not ok_type:
            raise UsageError(f"{self.flag} takes {_KIND_WORDS[self.widget]} (got {value!r})")
        if self.check is not None:
            value = self.check(value)
        if self.choices is not None:
            allowed = self.choice_values()
            if value not in allowed:
                names = ", ".join(str(v) for v in allowed if v is not None)
                raise UsageError(f"unknown {self.noun or self.label.lower()} {value!r} for {self.flag}; "
                                 f"choose one of: {names}{self.hint}")
        if self.minimum is not None and value < self.minimum:
            raise UsageError(f"{self.flag} must be at least {self.minimum:g} (got {value}){self.hint}")
        if self.above is not None and value <= self.above:
            raise UsageError(f"{self.flag} must be greater than {self.above:g} (got {value}){self.hint}")
        if self.maximum is not None and value > self.maximum:
            raise UsageError(f"{self.flag} must be at most {self.maximum:,.0f} (got {value}){self.hint}")
        return value

    def to_args(self, value: Any) -> list[str]:
        """The command-line words for a non-default ``value``."""
        if self.widget is Widget.CHECKBOX:
            if value:
                return [self.flag]
            if self.off_flag is None:
                raise ValueError(f"{self.flag} has no off flag")  # a declaration bug, not user input
            return [self.off_flag]
        return [self.flag, str(value)]


_KIND_WORDS = {Widget.SELECT: "a name", Widget.INTEGER: "a whole number", Widget.NUMBER: "a number",
               Widget.TEXT: "text", Widget.CHECKBOX: "true or false"}


def _option(default: Any, **declaration: Any) -> Any:
    """A dataclass field whose metadata holds its Option."""
    return field(default=default, metadata={"option": Option(**declaration)})


# ---------------------------------------------------------------- checks and choices (lazy: light imports)
def _space_names() -> list[str]:
    from naswot_tui.core.spaces import space_names

    return space_names()


def _resolve_space(name: str) -> str:
    from naswot_tui.core.spaces import resolve_name

    return resolve_name(name)   # aliases (nats-tss -> nb201); its own error names the choices


def _describe_space(name: str) -> str:
    from naswot_tui.core.spaces import SPACES

    return f"{name}  {SPACES[name].description}"


def _datasets() -> tuple[str, ...]:
    from naswot_tui.core.data import DATASETS

    return DATASETS


def _data_sources() -> tuple[str, ...]:
    from naswot_tui.core.data import DATA_SOURCES

    return DATA_SOURCES


def _check_proxies(text: str) -> str | None:
    """``--proxies a,b,ensemble:c+d``: known names, no repeats; canonical comma-joined text."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        return None
    for name in names:
        members = name[len(ENSEMBLE_PREFIX):].split("+") if name.startswith(ENSEMBLE_PREFIX) else [name]
        if name.startswith(ENSEMBLE_PREFIX) and len(members) < 2:
            raise UsageError(f"--proxies: ensemble {name!r} needs two proxies or more, e.g. ensemble:naswot+synflow")
        unknown = [m for m in members if m not in LAB_PROXY_NAMES]
        if unknown:
            raise UsageError(f"--proxies: unknown proxy {unknown[0]!r}; choose from: {', '.join(LAB_PROXY_NAMES)}, "
                             f"or {ENSEMBLE_PREFIX}<a>+<b>")
    if len(set(names)) != len(names):
        raise UsageError("--proxies names a proxy twice; list each once")
    return ",".join(names)


def _check_device(spec: str) -> str:
    spec = spec.strip().lower()
    if not _DEVICE.fullmatch(spec):
        raise UsageError(f"unknown device {spec!r} for --device; use auto, cpu, cuda, cuda:N or all")
    return spec


def _check_shard(spec: str) -> str:
    match = _SHARD.fullmatch(spec.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise UsageError(f"--shard takes K/N with 1 <= K <= N, e.g. 2/8 (got {spec!r})")
    return f"{int(match.group(1))}/{int(match.group(2))}"


def shard_bounds(shard: str | None, n: int) -> tuple[int, int]:
    """[lo, hi) of the draw positions that shard ``K/N`` scores: the K-th of N contiguous slices."""
    if not shard:
        return 0, n
    k, parts = (int(x) for x in shard.split("/"))
    return (k - 1) * n // parts, k * n // parts


_EXECUTOR_LABELS = {"local": "local (this process)", "procs": "procs (worker processes)",
                    "ray": "ray (a Ray cluster)"}
_DEVICE_LABELS = {"auto": "auto (GPU if present)", "cpu": "cpu", "all": "all GPUs (one worker each)"}
_AREA_OR_REA = ("search", ("rea", "area"))

B, S, A = Group.BASIC, Group.SEARCH, Group.ADVANCED   # short names for the declarations below


@dataclass
class RunConfig:
    """A run's settings. Field order is the order of the form and of ``--help``."""

    # ---------------------------------------------------------------- basic
    space: str = _option(
        "nb201", flag="--space", label="Search space", group=B, widget=Widget.SELECT,
        help="Search space: nb201 (= nats-tss), nats-sss, nb101, nds-*.",
        choices=_space_names, check=_resolve_space, describe=_describe_space, noun="search space")
    dataset: str = _option(
        "cifar10", flag="--dataset", label="Dataset", group=B, widget=Widget.SELECT,
        help="cifar10 | cifar100 | ImageNet16-120 | imagenet.", choices=_datasets, noun="dataset")
    n: int = _option(  # architectures scored per repeat (NASWOT-N)
        100, flag="--n", label="Sample size N", group=B, widget=Widget.INTEGER, minimum=1, maximum=MAX_N,
        help="Architectures scored per repeat, or 'all' (every architecture once).",
        metavar="N|all", cli_type=str)
    repeats: int = _option(
        1, flag="--repeats", label="Repeats", group=B, widget=Widget.INTEGER, minimum=1, maximum=MAX_REPEATS,
        help="Independent repeats (the paper: 500).")
    seed: int = _option(
        1, flag="--seed", label="Seed", group=B, widget=Widget.INTEGER, minimum=0, maximum=2**63 - 1,
        help="Run seed: draws, batch and initialisation derive from it.")
    data: str = _option(
        "embedded", flag="--data", label="Data source", group=B, widget=Widget.SELECT,
        help="embedded (128 CIFAR-10 images, the default) | root (needs --data-root) | synthetic.",
        choices=_data_sources, noun="data source")
    data_root: str | None = _option(
        None, flag="--data-root", label="Data root", group=B, widget=Widget.TEXT, metavar="DIR",
        help="Folder holding the dataset (implies --data root).", placeholder="folder (data source 'root')")
    device: str = _option(  # auto | cpu | cuda | cuda:N | all
        "auto", flag="--device", label="Device", group=B, widget=Widget.SELECT,
        help="auto | cpu | cuda | cuda:N | all (one worker per GPU).",
        suggestions=("auto", "cpu"), check=_check_device, describe=lambda d: _DEVICE_LABELS.get(d, d))
    batch_size: int = _option(
        128, flag="--batch-size", label="Batch size", group=B, widget=Widget.INTEGER, minimum=2, maximum=MAX_BATCH,
        help="Images in the scoring batch (paper: 128).", hint="; the paper uses 128")
    hook_rule: str = _option(
        "reference", flag="--hook-rule", label="Hook rule", group=B, widget=Widget.SELECT,
        help="reference (the authors' modules) | relu (activations only).", choices=HOOK_RULES,
        noun="hook rule")

    # ---------------------------------------------------------------- search (docs/method.md §5.2; core/evolution.py)
    search: str = _option(
        "naswot", flag="--search", label="Search method", group=S, widget=Widget.SELECT,
        help="naswot (score N, pick the best) | rea | area (evolution on the benchmark).",
        choices=SEARCHES, noun="search")
    proxy: str = _option(  # the score that ranks candidates
        "naswot", flag="--proxy", label="Proxy", group=S, widget=Widget.SELECT,
        help="Score that ranks candidates: naswot | naswot-relu | params | flops.",
        choices=PROXY_NAMES, noun="proxy")
    proxies: str | None = _option(  # the proxy lab: every named proxy per architecture, one pass
        None, flag="--proxies", label="Also score", group=S, widget=Widget.TEXT, metavar="A,B,...",
        help="Also score these proxies, in one pass per network (e.g. naswot,synflow,jacov,ensemble:a+b).",
        check=_check_proxies, placeholder="e.g. naswot,synflow,jacov")
    unique: bool = _option(
        False, flag="--unique", label="Unique draws", group=S, widget=Widget.CHECKBOX,
        help="Draw without replacement (the reference draws with).")
    pool_size: int = _option(  # paper: 20
        20, flag="--pool-size", label="Pool size", group=S, widget=Widget.INTEGER, minimum=1,
        help="AREA: architectures scored with the proxy first (paper: 20).", shown_when=("search", ("area",)))
    seed_top_k: int = _option(  # paper: 10
        10, flag="--seed-top-k", label="Seed top-k", group=S, widget=Widget.INTEGER, minimum=1,
        help="AREA: best k of the pool seed the population; REA: population size (paper: 10).",
        shown_when=_AREA_OR_REA)
    tournament_size: int = _option(  # the paper does not say; 5 is our default
        5, flag="--tournament-size", label="Tournament", group=S, widget=Widget.INTEGER, minimum=1,
        help="REA/AREA tournament size (paper silent; default 5).", shown_when=_AREA_OR_REA)
    budget_s: float | None = _option(
        None, flag="--budget-s", label="Budget (s)", group=S, widget=Widget.NUMBER, above=0, metavar="SECONDS",
        help="REA/AREA: simulated training seconds (default 12000 when the benchmark has times).",
        placeholder="12000 when the benchmark has times", shown_when=_AREA_OR_REA)
    budget_evals: int | None = _option(
        None, flag="--budget-evals", label="Budget (evals)", group=S, widget=Widget.INTEGER, minimum=1,
        metavar="N", help="REA/AREA: fitness evaluations (default 100 when it has none).",
        placeholder="100 when there are no times", shown_when=_AREA_OR_REA)

    # ---------------------------------------------------------------- advanced
    split_file: str | None = _option(
        None, flag="--split-file", label="Split file", group=A, widget=Widget.TEXT, metavar="SPLIT.json",
        help="cifar10-valid split JSON (draw from its train half).", placeholder="optional split JSON")
    benchmark_file: str | None = _option(
        None, flag="--benchmark-file", label="Benchmark file", group=A, widget=Widget.TEXT, metavar="PATH",
        help="Benchmark file or directory (its accuracies win over the embedded table).",
        placeholder="optional .pth / dir")
    amp: str | None = _option(  # None = fp32; autocast changes scores
        None, flag="--amp", label="AMP", group=A, widget=Widget.SELECT, choices=AMP_MODES, noun="AMP mode",
        help="bf16 | fp16 forward pass (changes scores; never default).", hint=" (leave it out for fp32)",
        describe=lambda m: "off (fp32)" if m is None else f"{m} autocast (changes scores)")
    tf32: bool = _option(  # TF32 changes activations, hence scores: off by default
        False, flag="--tf32", label="TF32", group=A, widget=Widget.CHECKBOX,
        help="Allow TF32 on GPU (changes scores).")
    cache: bool = _option(  # reuse / store scores in the score cache (core/cache.py)
        True, flag="--cache", off_flag="--no-cache", label="Score cache", group=A, widget=Widget.CHECKBOX,
        help="Reuse and store scores in the score cache.")
    nb101_aggregate: str = _option(  # NB101 ground truth over its 3 training repeats
        "mean", flag="--nb101-aggregate", label="NB101 truth", group=A, widget=Widget.SELECT,
        help="NB101 ground truth over the 3 repeats: mean | max (the authors').",
        choices=NB101_AGGREGATES, noun="NB101 aggregate")
    out_dir: str | None = _option(
        None, flag="--out", label="Trace folder", group=A, widget=Widget.TEXT, metavar="DIR",
        help="Folder for the trace (default: the user data dir, which the Runs screen lists).",
        placeholder="default: the runs folder")
    # Off: NB201 .pth / NATS pickles go through our restricted unpickler
    # (core/benchmarks/safe_pickle.py); on: the official loaders, which run any code the file carries.
    trust_benchmark_file: bool = _option(
        False, flag="--trust-benchmark-file", label="Trust file", group=A, widget=Widget.CHECKBOX,
        help="Load the benchmark file with the official loaders (runs code a malicious file carries).")

    # ---------------------------------------------------------------- scale-out (core/executors)
    executor: str = _option(
        "local", flag="--executor", label="Executor", group=A, widget=Widget.SELECT, choices=EXECUTOR_NAMES,
        help="local (this process) | procs (worker processes) | ray (a Ray cluster).", noun="executor",
        describe=lambda e: _EXECUTOR_LABELS.get(e, e))
    workers: int | None = _option(
        None, flag="--workers", label="Workers", group=A, widget=Widget.INTEGER, minimum=1, metavar="N",
        help="Worker count (default: the cores for procs, the cluster's GPUs or CPUs for ray).",
        placeholder="default: cores / cluster", shown_when=("executor", ("procs", "ray")))
    ray_address: str | None = _option(
        None, flag="--ray-address", label="Ray address", group=A, widget=Widget.TEXT, metavar="auto|HOST:PORT",
        help="Ray cluster to join (default: start a local Ray and stop it after the run).",
        placeholder="default: a local Ray", shown_when=("executor", ("ray",)))
    shard: str | None = _option(
        None, flag="--shard", label="Shard", group=A, widget=Widget.TEXT, metavar="K/N", check=_check_shard,
        help="Score only the K-th of N slices of each draw (merge the shards with naswot-tui merge).",
        placeholder="K/N, e.g. 1/4")

    # ---------------------------------------------------------------- behaviour
    def validate(self) -> RunConfig:
        """Check every field against its declaration, then the cross-field rules; canonicalise."""
        if self.data_root and self.data == "embedded":
            self.data = "root"   # --data-root alone means "read from that folder"
        for opt in options():
            setattr(self, opt.name, opt.check_value(getattr(self, opt.name)))
        self._check_combinations()
        picker = self.picking_proxy()
        if self.proxies and picker not in self.proxy_list():
            self.proxies = f"{picker},{self.proxies}"  # the score that picks is always among those computed
        return self

    def _check_combinations(self) -> None:
        """Cross-field rules: flags that contradict each other or would be silently ignored."""
        if self.data == "root" and not self.data_root:
            raise UsageError("data source 'root' needs --data-root DIR")
        if self.data_root and self.data != "root":
            raise UsageError(f"--data-root is read only with --data root, not --data {self.data}; "
                             "drop --data-root or --data")
        if self.split_file and not self.data_root:
            raise UsageError("--split-file restricts draws from --data-root images; "
                             "pass --data-root DIR or drop --split-file")
        if self.proxies and self.executor != "local":
            raise UsageError(f"--proxies runs on the local executor only (got --executor {self.executor}); "
                             "drop --executor or --proxies")
        if self.search == "area" and self.seed_top_k > self.pool_size:
            raise UsageError(f"--seed-top-k {self.seed_top_k} is larger than --pool-size {self.pool_size}: "
                             "AREA seeds its population from the pool's best; raise --pool-size or lower "
                             "--seed-top-k")

    def picking_proxy(self) -> str:
        """The lab name of the score that picks (``--proxy`` under ``--hook-rule``)."""
        return "naswot-relu" if self.proxy == "naswot" and self.hook_rule == "relu" else self.proxy

    def proxy_list(self) -> list[str]:
        """``--proxies`` as a list (ensembles included); empty when not given."""
        return [n for n in (self.proxies or "").split(",") if n]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Load a trace header or saved settings; unknown keys (other versions) are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_cli_args(self) -> list[str]:
        """The equivalent ``naswot-tui --headless ...`` arguments (defaults left out)."""
        args = ["naswot-tui", "--headless"]
        for opt in options():
            value = getattr(self, opt.name)
            if value is None or value == opt.default:
                continue
            if opt.name == "data" and value == "root" and self.data_root:
                continue  # implied by --data-root
            args += opt.to_args(value)
        return args

    def to_cli(self) -> str:
        return shlex.join(self.to_cli_args())


@cache
def options() -> tuple[Option, ...]:
    """Every RunConfig option, in field order, with its name and default filled in."""
    return tuple(replace(f.metadata["option"], name=f.name, default=f.default) for f in fields(RunConfig))


def option(name: str) -> Option:
    """The declaration of field ``name``."""
    for opt in options():
        if opt.name == name:
            return opt
    raise KeyError(name)
