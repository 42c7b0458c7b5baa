"""Setup: the form over RunConfig, the equivalent headless command line, Start.

The form is generated from the option declarations in ``core/config.py``:
one row per RunConfig field, basic fields first, the search and advanced
ones in collapsible groups. Whatever headless accepts, the form offers, and
the command line under the form reproduces every choice.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget as TextualWidget
from textual.widgets import Button, Checkbox, Collapsible, Footer, Header, Input, Label, Select, Static
from textual.widgets.select import InvalidSelectValueError

from naswot_tui.core.config import Group, Option, RunConfig, Widget, option, options
from naswot_tui.core.errors import NaswotError, UsageError

# Fields whose value decides whether other rows apply (e.g. search -> pool size).
_CONTROLLERS = {opt.shown_when[0] for opt in options() if opt.shown_when}


def _editor(opt: Option, value: Any) -> TextualWidget:
    """The input widget for one option, holding ``value``."""
    if opt.widget is Widget.SELECT:
        choices = list(opt.choice_values())
        if value not in choices:
            value = opt.default  # e.g. a remembered GPU: on_mount restores it once the probe lists it
        return Select([(opt.describe_choice(v), v) for v in choices], value=value, allow_blank=False,
                      compact=True, id=opt.name)
    if opt.widget is Widget.CHECKBOX:
        return Checkbox(opt.help, bool(value), compact=True, id=opt.name)
    kind = {Widget.INTEGER: "integer", Widget.NUMBER: "number"}.get(opt.widget, "text")
    return Input("" if value is None else str(value), type=kind, placeholder=opt.placeholder, compact=True,
                 id=opt.name)


def _row(opt: Option, value: Any) -> Horizontal:
    row = Horizontal(Label(opt.label, classes="field-label"), _editor(opt, value), classes="field",
                     id=f"row-{opt.name}")
    row.tooltip = f"{opt.flag}: {opt.help}"
    return row


class SetupScreen(Screen):
    AUTO_FOCUS = "#space"
    BINDINGS = [
        Binding("ctrl+r", "start", "Start run", priority=True),
        Binding("ctrl+y", "copy_cli", "Copy CLI", priority=True),
        Binding("ctrl+o", "app.mode('runs')", "Runs", priority=True),
    ]

    def compose(self) -> ComposeResult:
        config = self.app.settings.last_config()
        yield Header()
        with VerticalScroll(id="setup-form"):
            for opt in options():
                if opt.group is Group.BASIC:
                    yield _row(opt, getattr(config, opt.name))
            for group in (Group.SEARCH, Group.ADVANCED):
                with Collapsible(title=group.heading, id=f"group-{group.value}", classes="option-group"):
                    for opt in options():
                        if opt.group is group:
                            yield _row(opt, getattr(config, opt.name))
                            if opt.name == "benchmark_file":
                                yield Static("", id="bench-msg")  # shown once there is a message
        # Outside the scrolling form: the command line and the buttons stay in view.
        yield Static("", id="cli-line")
        with Horizontal(id="setup-buttons"):
            yield Button("Start ^r", variant="primary", id="start", compact=True)
            yield Button("Copy CLI ^y", id="copy", compact=True)
            yield Button("Runs ^o", id="runs", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self._wanted_device = self.app.settings.last_config().device
        self._show_applicable_rows()
        self._update_cli()
        probe = self.app.settings.device_probe
        if probe is not None:
            self._set_devices(probe())
        else:
            # Torch loads here, after the first frame, in a thread.
            self.set_timer(0.3, self._probe_devices)

    # ------------------------------------------------------------ devices
    @work(thread=True, group="probe", exclusive=True, exit_on_error=False)
    def _probe_devices(self) -> None:
        from naswot_tui.core.engine import available_devices

        devices = [(d.name, d.label) for d in available_devices()]
        self.app.call_from_thread(self._set_devices, devices)

    def _set_devices(self, devices: list[tuple[str, str]]) -> None:
        describe = option("device").describe_choice
        select = self.query_one("#device", Select)
        choices = [(describe("auto"), "auto")] + [(label, name) for name, label in devices]
        if sum(name.startswith("cuda") for name, _ in devices) > 1:
            choices.append((describe("all"), "all"))
        current = select.value
        select.set_options(choices)
        names = [v for _, v in choices]
        select.value = self._wanted_device if self._wanted_device in names else (
            current if current in names else "auto")

    # ------------------------------------------------------------ the form
    def read_config(self) -> RunConfig:
        """The form as a checked RunConfig; raises UsageError naming the bad field."""
        values: dict[str, Any] = {}
        for opt in options():
            widget = self.query_one(f"#{opt.name}")
            if isinstance(widget, Input):
                values[opt.name] = opt.parse(widget.value)
            else:  # Select and Checkbox hold typed values
                values[opt.name] = widget.value
        return RunConfig(**values).validate()

    def fill(self, config: RunConfig) -> None:
        """Show ``config`` in the form (values the form cannot offer, e.g. an absent GPU, are left)."""
        for opt in options():
            value = getattr(config, opt.name)
            widget = self.query_one(f"#{opt.name}")
            if isinstance(widget, Input):
                widget.value = "" if value is None else str(value)
            elif isinstance(widget, Checkbox):
                widget.value = bool(value)
            elif isinstance(widget, Select):
                with suppress(InvalidSelectValueError):
                    widget.value = value
        self._show_applicable_rows()
        self._update_cli()

    def _raw_values(self) -> dict[str, Any]:
        return {name: self.query_one(f"#{name}", Select).value for name in _CONTROLLERS}

    def _show_applicable_rows(self) -> None:
        """Hide the rows that do not apply (e.g. REA/AREA settings while the search is naswot)."""
        values = self._raw_values()
        for opt in options():
            if opt.shown_when:
                self.query_one(f"#row-{opt.name}").display = opt.applies(values)

    def _update_cli(self) -> None:
        try:
            line = self.read_config().to_cli()
        except UsageError as exc:
            line = f"({exc})"
        self.query_one("#cli-line", Static).update(f"[b]CLI[/b] {line}")

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        if event.control.id in _CONTROLLERS:
            self._show_applicable_rows()
        self._update_cli()
        if isinstance(event, Input.Changed) and event.input.id == "benchmark_file":
            self._check_benchmark_path(event.value)

    def _bench_message(self, text: str) -> None:
        msg = self.query_one("#bench-msg", Static)
        msg.update(text)
        msg.display = bool(text)  # no empty row under the field

    def _check_benchmark_path(self, text: str) -> None:
        text = text.strip()
        if not text:
            self._bench_message("")
        elif not Path(text).expanduser().exists():
            self._bench_message(f"[$warning]benchmark file not found: {text}[/]")
        else:
            self._bench_message("checking benchmark file...")
            self._validate_benchmark(text, self.query_one("#space", Select).value)

    @work(thread=True, group="validate", exclusive=True, exit_on_error=False)
    def _validate_benchmark(self, path: str, space: str) -> None:
        from naswot_tui.core.benchmarks import ground_truth_for

        try:
            truth = ground_truth_for(space, str(Path(path).expanduser()))
            text = f"[$success]benchmark ok: {truth.source}[/]"
        except NaswotError as exc:
            text = f"[$error]{exc}[/]"
        except Exception as exc:  # noqa: BLE001 - an unreadable file of the wrong kind
            text = f"[$error]cannot use {path}: {type(exc).__name__}: {exc}[/]"
        self.app.call_from_thread(self._bench_message, text)

    # ------------------------------------------------------------ actions
    def action_start(self) -> None:
        try:
            config = self.read_config()
        except NaswotError as exc:
            self.notify(str(exc), title="Cannot start", severity="error")
            return
        self.app.settings.save_state(last_config=config.to_dict())
        self.app.start_run(config)

    def action_copy_cli(self) -> None:
        try:
            line = self.read_config().to_cli()
        except NaswotError as exc:
            self.notify(str(exc), severity="error")
            return
        self.app.copy_to_clipboard(line)
        self.notify("Copied the command line (OSC 52).")

    @on(Button.Pressed, "#start")
    def _start(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#copy")
    def _copy(self) -> None:
        self.action_copy_cli()

    @on(Button.Pressed, "#runs")
    def _runs(self) -> None:
        self.app.action_mode("runs")
