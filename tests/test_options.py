"""Options declared once (core/config.py): the CLI, to_cli_args, validate and the
remembered settings all follow the declarations; no torch, no app."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from naswot_tui.cli import app as cli_app
from naswot_tui.cli import parse_headless_line
from naswot_tui.core.config import Group, RunConfig, Widget, option, options
from naswot_tui.core.errors import UsageError
from naswot_tui.tui.settings import remembered_config

ROOT = Path(__file__).resolve().parent.parent

# The flags of the first release, as scripts spell them (the contract).
FIRST_RELEASE_FLAGS = {
    "--space", "--dataset", "--n", "--repeats", "--seed", "--unique", "--data-root", "--data", "--split-file",
    "--benchmark-file", "--device", "--batch-size", "--hook-rule", "--proxy", "--search", "--pool-size",
    "--seed-top-k", "--tournament-size", "--budget-s", "--budget-evals", "--nb101-aggregate", "--tf32",
    "--cache", "--no-cache", "--amp", "--out",
}
NOT_RUN_CONFIG = {"--headless", "--json", "--jsonl", "--resume"}


def _command_options() -> dict:
    """Flag -> option of the real command (typer vendors click: compare by kind, not class)."""
    command = typer.main.get_command(cli_app)
    found = {}
    for param in command.params:
        if param.param_type_name == "option":
            for flag in (*param.opts, *param.secondary_opts):
                found[flag] = param
    return found


def test_every_field_is_declared_once_in_its_group():
    """Each of the 31 fields has one Option; the groups are the ones the Setup form shows."""
    names = [f.name for f in dataclasses.fields(RunConfig)]
    assert [opt.name for opt in options()] == names and len(names) == 31
    groups = {g: {opt.name for opt in options() if opt.group is g} for g in Group}
    assert groups[Group.BASIC] == {"space", "dataset", "n", "repeats", "seed", "data", "data_root", "device",
                                   "batch_size", "hook_rule"}
    assert groups[Group.SEARCH] == {"search", "proxy", "proxies", "unique", "pool_size", "seed_top_k",
                                    "tournament_size", "budget_s", "budget_evals"}
    assert groups[Group.ADVANCED] == {"split_file", "benchmark_file", "amp", "tf32", "cache", "nb101_aggregate",
                                      "out_dir", "trust_benchmark_file", "executor", "workers", "ray_address",
                                      "shard"}
    for opt in options():
        assert opt.flag.startswith("--") and opt.help.endswith(".") and 0 < len(opt.label) <= 15, opt
        assert opt.default == getattr(RunConfig(), opt.name)


def test_choice_lists_match_what_scoring_accepts():
    """The torch-free copies of the proxy names and hook rules equal core.scoring's (executors: core.executors)."""
    from naswot_tui.core import executors, scoring

    assert tuple(option("executor").choice_values()) == executors.EXECUTORS

    assert set(option("proxy").choice_values()) == set(scoring.PROXIES)
    assert tuple(option("hook_rule").choice_values()) == scoring.HOOK_RULES


def test_cli_has_every_first_release_flag_with_its_default():
    """The generated typer command keeps every flag's spelling and default; only declared flags are added."""
    found = _command_options()
    added_since = {"--trust-benchmark-file", "--executor", "--workers", "--ray-address", "--shard", "--proxies"}
    assert set(found) == FIRST_RELEASE_FLAGS | NOT_RUN_CONFIG | added_since
    for opt in options():
        param = found[opt.flag]
        assert param.name == opt.name
        expected = str(opt.default) if opt.name == "n" else opt.default
        assert param.default == expected, opt.name
    assert found["--no-cache"] is found["--cache"]


def test_defaults_parse_to_the_default_config():
    assert parse_headless_line(["naswot-tui", "--headless"]) == RunConfig().validate()
    assert RunConfig().to_cli_args() == ["naswot-tui", "--headless"]


def test_n_all_is_every_architecture_once():
    config = parse_headless_line(["--headless", "--n", "all"])
    assert (config.n, config.unique) == (15625, True)


def _valid_configs() -> st.SearchStrategy[RunConfig]:
    """Random configs that validate: every field drawn from what its declaration allows."""
    path = st.text(alphabet="abc/ _-.'x\"", min_size=1, max_size=12).filter(lambda s: s.strip() == s and s)

    def field(opt):
        if opt.name == "device":
            return st.sampled_from(["auto", "cpu", "cuda", "cuda:0", "cuda:3", "all"])
        if opt.name == "shard":
            return st.none() | st.sampled_from(["1/1", "2/3", "8/8"])
        if opt.name == "proxies":  # names are checked against the proxy registry
            return st.none() | st.sampled_from(["naswot,synflow", "jacov,zico,ensemble:jacov+zico", "params"])
        if opt.widget is Widget.SELECT:
            return st.sampled_from(opt.choice_values())
        if opt.widget is Widget.CHECKBOX:
            return st.booleans()
        if opt.widget is Widget.INTEGER:
            low = int(opt.minimum) if opt.minimum is not None else -5
            ints = st.integers(min_value=low, max_value=low + 500)
            return st.none() | ints if opt.optional else ints
        if opt.widget is Widget.NUMBER:
            return st.none() | st.floats(min_value=1e-3, max_value=1e7, allow_nan=False)
        return st.none() | path

    drawn = st.fixed_dictionaries({opt.name: field(opt) for opt in options() if opt.name != "data"})
    def consistent(values: dict, data: str) -> RunConfig:
        """The cross-field rules of RunConfig.validate: --data-root means data root, a split
        file needs a data root, AREA's seed-top-k fits in its pool, --proxies runs locally."""
        if values["data_root"]:
            data = "root"
        elif data == "root":
            data = "synthetic"
        return RunConfig(**{**values, "split_file": values["split_file"] if values["data_root"] else None,
                            "seed_top_k": min(values["seed_top_k"], values["pool_size"]),
                            "proxies": values["proxies"] if values["executor"] == "local" else None}, data=data)

    return st.builds(consistent, drawn, st.sampled_from(option("data").choice_values()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_valid_configs())
def test_cli_line_round_trips_through_the_parser(config):
    """to_cli() -> shlex -> the real typer parser gives back an equal RunConfig."""
    config = config.validate()
    assert parse_headless_line(shlex.split(config.to_cli())) == config


@pytest.mark.parametrize("changes, fragment", [
    ({"n": 0}, "--n must be at least 1 (got 0)"),
    ({"repeats": 0}, "--repeats must be at least 1"),
    ({"seed": -1}, "--seed must be at least 0"),
    ({"batch_size": 1}, "--batch-size must be at least 2 (got 1); the paper uses 128"),
    ({"pool_size": 0}, "--pool-size must be at least 1"),
    ({"budget_s": 0.0}, "--budget-s must be greater than 0"),
    ({"budget_evals": 0}, "--budget-evals must be at least 1"),
    ({"space": "nb999"}, "unknown search space 'nb999'"),
    ({"dataset": "mnist"}, "unknown dataset 'mnist' for --dataset"),
    ({"hook_rule": "gelu"}, "unknown hook rule 'gelu'"),
    ({"proxy": "zen"}, "unknown proxy 'zen' for --proxy"),
    ({"search": "random"}, "unknown search 'random' for --search"),
    ({"amp": "fp8"}, "(leave it out for fp32)"),
    ({"nb101_aggregate": "median"}, "--nb101-aggregate"),
    ({"device": "tpu"}, "unknown device 'tpu'"),
    ({"data": "root"}, "needs --data-root"),
    ({"n": "12"}, "--n takes a whole number"),
    ({"unique": 1}, "--unique takes true or false"),
])
def test_validate_names_the_flag(changes, fragment):
    with pytest.raises(UsageError) as info:
        RunConfig(**changes).validate()
    assert fragment in str(info.value)


def test_validate_canonicalises():
    config = RunConfig(space="NATS-TSS", device="CPU", data_root="/data").validate()
    assert (config.space, config.device, config.data) == ("nb201", "cpu", "root")
    assert "--data" not in config.to_cli_args()  # implied by --data-root


def test_old_trace_headers_still_load():
    """Headers written before cache/amp/nb101_aggregate existed load and validate."""
    traces = sorted((ROOT / "benchmarks" / "results").rglob("*.jsonl"))
    assert traces
    for path in traces:
        header = json.loads(path.read_text().splitlines()[0])
        config = RunConfig.from_dict({**header["config"], "from_a_future_version": 1})
        assert config.validate().to_dict().items() >= header["config"].items()


def test_remembered_settings_keep_good_fields_and_drop_bad_ones():
    saved = {**RunConfig(search="area", pool_size=7, amp="bf16", cache=False, out_dir="/t").to_dict(),
             "n": "lots", "hook_rule": "gelu", "batch_size": 1, "data": "root"}
    config = remembered_config(saved)
    assert (config.search, config.pool_size, config.amp, config.cache, config.out_dir) == ("area", 7, "bf16",
                                                                                          False, "/t")
    assert (config.n, config.hook_rule, config.batch_size, config.data) == (100, "reference", 128, "embedded")
    assert remembered_config(None) == RunConfig() == remembered_config(["not", "a", "dict"])


def test_readme_headless_block_lists_every_flag():
    """The README's usage block (the headless contract) names every declared flag."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("naswot-tui --headless [--space"):]
    block = block[:block.index("```")]
    flags = set(re.findall(r"--[a-z0-9-]+", block))
    for opt in options():
        assert opt.flag in flags or opt.off_flag in flags, opt.flag
