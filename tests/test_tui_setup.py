"""The Setup screen under run_test: a form generated from the option declarations
that offers everything headless has, fits 80x24, and whose CLI line means what
the form shows (down to the scores of a real run)."""

from __future__ import annotations

import dataclasses
import json
import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.widgets import Checkbox, Collapsible, Input, Select
from typer.testing import CliRunner

from naswot_tui.cli import app as cli_app
from naswot_tui.cli import parse_headless_line
from naswot_tui.core.config import Group, RunConfig, Widget, option, options
from naswot_tui.core.trace import read_trace
from naswot_tui.tui.app import make_app
from naswot_tui.tui.settings import Settings
from tui_helpers import fake_settings, sync, wait_until

WIDGETS = {Widget.SELECT: Select, Widget.CHECKBOX: Checkbox, Widget.INTEGER: Input, Widget.NUMBER: Input,
           Widget.TEXT: Input}
AREA_ONLY = {"pool_size"}
EVOLUTION = {"seed_top_k", "tournament_size", "budget_s", "budget_evals"}


def _cli_line(screen) -> str:
    text = str(screen.query_one("#cli-line").render())
    assert text.startswith("CLI naswot-tui --headless"), text
    return text.removeprefix("CLI ")


@sync
async def test_every_option_has_a_widget_in_its_group(tmp_path):
    """Basic fields sit in the form itself; search and advanced ones in their collapsed groups."""
    app = make_app(fake_settings(tmp_path))
    async with app.run_test(size=(80, 24)):
        screen = app.screen
        form = screen.query_one("#setup-form")
        groups = {g: screen.query_one(f"#group-{g.value}", Collapsible) for g in (Group.SEARCH, Group.ADVANCED)}
        assert all(c.collapsed for c in groups.values())
        for opt in options():
            widget = screen.query_one(f"#{opt.name}")
            assert isinstance(widget, WIDGETS[opt.widget]), opt.name
            row = screen.query_one(f"#row-{opt.name}")
            if opt.group is Group.BASIC:
                assert row.parent is form, opt.name
            else:
                assert groups[opt.group] in row.ancestors, opt.name
        basic_rows = [w.id for w in form.children if w.id and w.id.startswith("row-")]
        assert basic_rows == [f"row-{o.name}" for o in options() if o.group is Group.BASIC]
        assert [w.id for w in form.children if isinstance(w, Collapsible)] == ["group-search", "group-advanced"]


@sync
async def test_choosing_area_exposes_its_options(tmp_path):
    """Pool size and budgets are hidden for a NASWOT search; REA shows its own, AREA all of them."""
    app = make_app(fake_settings(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.click("#group-search CollapsibleTitle")
        await pilot.pause()

        def shown() -> set[str]:
            return {o.name for o in options() if o.shown_when and screen.query_one(f"#row-{o.name}").display}

        assert shown() == set()
        screen.query_one("#search", Select).value = "rea"
        await pilot.pause()
        assert shown() == EVOLUTION
        screen.query_one("#search", Select).value = "area"
        await pilot.pause()
        assert shown() == EVOLUTION | AREA_ONLY
        pool = screen.query_one("#pool_size", Input)
        assert pool.region.height == 1 and pool.region.y < 22  # laid out on screen, not only flagged
        pool.value = "17"
        await pilot.pause()
        assert "--search area --pool-size 17" in _cli_line(screen)


@sync
async def test_whole_form_fits_80x24_with_cli_line_and_start_in_view(tmp_path):
    """Both groups open, AREA chosen: the form scrolls, the CLI line, Start and the footer stay put."""
    app = make_app(fake_settings(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        screen.fill(RunConfig(search="area", unique=True, amp="bf16", cache=False, out_dir="some/folder"))
        for group in ("search", "advanced"):
            screen.query_one(f"#group-{group}", Collapsible).collapsed = False
        await pilot.pause()
        form, cli, start = (screen.query_one(s) for s in ("#setup-form", "#cli-line", "#start"))
        assert form.max_scroll_y > 0  # 25 fields do not fit 22 rows: the form scrolls
        fixed = (cli.region, start.region)
        assert cli.region.bottom <= start.region.y and start.region.bottom <= 23  # above the footer
        assert cli.region.height <= 5
        assert "--amp bf16" in _cli_line(screen) and "--out some/folder" in _cli_line(screen)
        screen.query_one("#out_dir").focus()  # the last field scrolls into view
        await pilot.pause()
        await wait_until(pilot, lambda: screen.query_one("#out_dir").region.bottom <= form.region.bottom)
        assert form.scroll_y > 0
        assert (cli.region, start.region) == fixed
        keys = [k for k in screen.query("FooterKey") if "Start" in str(k.render())]
        assert keys and keys[0].region.y == 23


def _form_configs() -> st.SearchStrategy[RunConfig]:
    """Random configs the form can hold (devices limited to what the probe offers)."""
    text = st.none() | st.text(alphabet="ab/ _-.'x\"", min_size=1, max_size=10).filter(lambda s: s.strip() == s)

    def field(opt):
        if opt.name == "device":
            return st.sampled_from(["auto", "cpu"])
        if opt.name == "shard":
            return st.none() | st.sampled_from(["1/1", "2/3"])
        if opt.name == "proxies":  # names are checked against the proxy registry
            return st.none() | st.sampled_from(["naswot,synflow", "jacov,zico,ensemble:jacov+zico"])
        if opt.widget is Widget.SELECT:
            return st.sampled_from(opt.choice_values())
        if opt.widget is Widget.CHECKBOX:
            return st.booleans()
        if opt.widget is Widget.INTEGER:
            ints = st.integers(min_value=int(opt.minimum or 0), max_value=int(min(opt.maximum or 10**6, 10**6)))
            return st.none() | ints if opt.optional else ints
        if opt.widget is Widget.NUMBER:
            return st.none() | st.floats(min_value=0.5, max_value=1e6, allow_nan=False)
        return text

    def consistent(v: dict) -> RunConfig:
        """The cross-field rules of RunConfig.validate: --data-root means data root, a split
        file needs a data root, AREA's seed-top-k fits in its pool."""
        data = "root" if v["data_root"] else ("synthetic" if v["data"] == "root" else v["data"])
        split_file = v["split_file"] if v["data_root"] else None
        return RunConfig(**{**v, "data": data, "split_file": split_file,
                            "seed_top_k": min(v["seed_top_k"], v["pool_size"]),
                            "proxies": v["proxies"] if v["executor"] == "local" else None})

    return st.fixed_dictionaries({o.name: field(o) for o in options()}).map(consistent)


@sync
async def test_cli_line_round_trips_through_the_cli_parser(tmp_path):
    """For many random configs: form -> read_config is the config, and the CLI line it shows
    parses (shlex, then the real typer command) to an equal RunConfig."""
    app = make_app(fake_settings(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.pause()

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(_form_configs())
        def round_trip(config: RunConfig) -> None:
            config = config.validate()
            screen.fill(config)
            assert screen.read_config() == config
            assert parse_headless_line(shlex.split(_cli_line(screen))) == config

        round_trip()


@sync
async def test_form_remembers_every_field(tmp_path):
    """A run started with a non-default value in every field comes back, whole, in the next session."""
    chosen = RunConfig(space="nats-sss", dataset="cifar100", n=7, repeats=2, seed=11, data="root",
                       data_root=str(tmp_path / "data"), device="cpu", batch_size=16, hook_rule="relu",
                       search="area", proxy="params", unique=True, pool_size=9, seed_top_k=4,
                       tournament_size=3,
                       budget_evals=30, split_file="split.json", benchmark_file="bench.pth",
                       amp="fp16", tf32=True, cache=False, nb101_aggregate="max", out_dir=str(tmp_path / "elsewhere"),
                       trust_benchmark_file=True, executor="ray", workers=3, ray_address="auto", shard="1/1")
    # (the fake source scores in-process whatever the executor; shard 1/1 is the whole draw)
    # proxies stays unset: --proxies runs on the local executor only, and this run asks for ray.
    # budget_s stays unset: the fake benchmark has no training times, so a time budget cannot run
    # (test_remembered_budget_s below covers that field).
    assert all(getattr(chosen, o.name) != o.default for o in options() if o.name not in ("budget_s", "proxies"))
    (tmp_path / "elsewhere").mkdir()
    settings_ = fake_settings(tmp_path)
    app = make_app(settings_)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.fill(chosen)
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.state.status == "completed")
        header = read_trace(app.state.trace_path).header
        assert header["config"] == chosen.to_dict()  # the run got the form's config, out dir included
    again = make_app(settings_)
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert again.screen.read_config() == chosen


@pytest.mark.parametrize("form", [
    pytest.param({"n": "3", "seed": "3", "batch_size": "8", "hook_rule": "relu", "unique": True,
                  "cache": False, "data": "synthetic"}, id="naswot"),
    pytest.param({"n": "3", "seed": "2", "batch_size": "8", "cache": False, "search": "area",
                  "pool_size": "3", "seed_top_k": "2", "budget_evals": "4"}, id="area"),
])
@sync
async def test_form_run_scores_equal_the_headless_run_of_its_cli_line(tmp_path, form):
    """Real engine: a run started from the form and its shown CLI line, run headless, score the
    same architectures identically."""
    settings_ = Settings(runs_dir=tmp_path / "runs", config_dir=tmp_path / "config",
                         device_probe=lambda: [("cpu", "CPU")])
    app = make_app(settings_)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        screen.query_one("#device", Select).value = "cpu"
        for name, value in form.items():
            screen.query_one(f"#{name}").value = value
        await pilot.pause()
        line = _cli_line(screen)
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.state.status == "completed", timeout=180)
        from_form = read_trace(app.state.trace_path)
    for name, value in form.items():
        assert (option(name).off_flag if value is False else option(name).flag) in shlex.split(line), name
    result = CliRunner().invoke(cli_app, [*shlex.split(line)[1:], "--json", "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    from_cli = read_trace(json.loads(result.stdout)["trace"])
    assert from_cli.config == dataclasses.replace(from_form.config, out_dir=str(tmp_path / "cli"))
    scored = [(s.repeat, s.i, s.arch, s.score) for s in from_form.scores]
    assert len(scored) >= 3
    assert [(s.repeat, s.i, s.arch, s.score) for s in from_cli.scores] == scored


def test_remembered_budget_s():
    """The one field the run above leaves at its default comes back from tui.json too."""
    from naswot_tui.tui.settings import remembered_config

    assert remembered_config({"search": "area", "budget_s": 500.0}).budget_s == 500.0
    assert remembered_config({"proxies": "params,flops"}).proxies == "params,flops"
