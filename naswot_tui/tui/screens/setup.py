"""Setup: one form over RunConfig, the equivalent headless command line, Start."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

from naswot_tui.core.config import RunConfig
from naswot_tui.core.data import DATA_SOURCES, DATASETS
from naswot_tui.core.errors import NaswotError, UsageError
from naswot_tui.core.spaces import SPACES, space_names

# core.scoring.HOOK_RULES, repeated here because that module imports torch;
# the device probe replaces these with the real list once torch is loaded.
HOOK_RULES = ("reference", "relu")
INT_FIELDS = ("n", "repeats", "seed", "batch_size")


def _row(label: str, widget) -> Horizontal:
    return Horizontal(Label(label, classes="field-label"), widget, classes="field")


class SetupScreen(Screen):
    AUTO_FOCUS = "#space"
    BINDINGS = [
        Binding("ctrl+r", "start", "Start run", priority=True),
        Binding("ctrl+y", "copy_cli", "Copy CLI", priority=True),
        Binding("ctrl+o", "app.mode('runs')", "Runs", priority=True),
    ]

    def compose(self) -> ComposeResult:
        c = self.app.settings.last_config()
        spaces = space_names()
        yield Header()
        with VerticalScroll(id="setup-form"):
            yield _row("Search space", Select([(f"{n}  {SPACES[n].description}", n) for n in spaces],
                                              value=c.space if c.space in spaces else spaces[0],
                                              allow_blank=False, compact=True, id="space"))
            yield _row("Dataset", Select([(d, d) for d in DATASETS], value=c.dataset if c.dataset in DATASETS
                                         else DATASETS[0], allow_blank=False, compact=True, id="dataset"))
            yield _row("Sample size N", Input(str(c.n), type="integer", compact=True, id="n"))
            yield _row("Repeats", Input(str(c.repeats), type="integer", compact=True, id="repeats"))
            yield _row("Seed", Input(str(c.seed), type="integer", compact=True, id="seed"))
            yield _row("Batch size", Input(str(c.batch_size), type="integer", compact=True, id="batch_size"))
            yield _row("Hook rule", Select([(h, h) for h in HOOK_RULES], value=c.hook_rule if c.hook_rule in
                                           HOOK_RULES else HOOK_RULES[0], allow_blank=False, compact=True,
                                           id="hook_rule"))
            device = c.device if c.device in ("auto", "cpu") else "auto"
            yield _row("Device", Select([("auto (GPU if present)", "auto"), ("cpu", "cpu")], value=device,
                                        allow_blank=False, compact=True, id="device"))
            yield _row("Data source", Select([(d, d) for d in DATA_SOURCES], value=c.data if c.data in
                                             DATA_SOURCES else "embedded", allow_blank=False, compact=True,
                                             id="data"))
            yield _row("Data root", Input(c.data_root or "", placeholder="folder (data source 'root')",
                                          compact=True, id="data_root"))
            yield _row("Benchmark file", Input(c.benchmark_file or "", placeholder="optional .pth / dir",
                                               compact=True, id="benchmark_file"))
            yield Static("", id="bench-msg")
            yield Static("", id="cli-line")
            with Horizontal(id="setup-buttons"):
                yield Button("Start ^r", variant="primary", id="start", compact=True)
                yield Button("Copy CLI ^y", id="copy", compact=True)
                yield Button("Runs ^o", id="runs", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self._wanted_device = self.app.settings.last_config().device
        self._update_cli()
        probe = self.app.settings.device_probe
        if probe is not None:
            self._set_devices(probe(), None)
        else:
            # Torch loads here, after the first frame, in a thread.
            self.set_timer(0.3, self._probe_devices)

    # ------------------------------------------------------------ devices
    @work(thread=True, group="probe", exclusive=True, exit_on_error=False)
    def _probe_devices(self) -> None:
        from naswot_tui.core.engine import available_devices
        from naswot_tui.core.scoring import HOOK_RULES as rules

        devices = [(d.name, d.label) for d in available_devices()]
        self.app.call_from_thread(self._set_devices, devices, tuple(rules))

    def _set_devices(self, devices: list[tuple[str, str]], rules: tuple[str, ...] | None) -> None:
        select = self.query_one("#device", Select)
        options = [("auto (GPU if present)", "auto")] + [(label, name) for name, label in devices]
        current = select.value
        select.set_options(options)
        names = [v for _, v in options]
        select.value = self._wanted_device if self._wanted_device in names else (
            current if current in names else "auto")
        if rules:
            hook = self.query_one("#hook_rule", Select)
            value = hook.value
            hook.set_options([(h, h) for h in rules])
            hook.value = value if value in rules else rules[0]

    # ------------------------------------------------------------ the form
    def read_config(self) -> RunConfig:
        """The form as a RunConfig; raises UsageError naming the bad field."""
        values: dict = {}
        for key in INT_FIELDS:
            text = self.query_one(f"#{key}", Input).value.strip()
            try:
                values[key] = int(text)
            except ValueError:
                raise UsageError(f"{key.replace('_', ' ')} must be a whole number (got {text!r})") from None
        for key in ("space", "dataset", "hook_rule", "device", "data"):
            values[key] = self.query_one(f"#{key}", Select).value
        for key in ("data_root", "benchmark_file"):
            values[key] = self.query_one(f"#{key}", Input).value.strip() or None
        if values["data_root"] and values["data"] == "embedded":
            values["data"] = "root"
        return RunConfig(**values)

    def _update_cli(self) -> None:
        try:
            line = self.read_config().to_cli()
        except UsageError as exc:
            line = f"({exc})"
        self.query_one("#cli-line", Static).update(f"[b]CLI[/b] {line}")

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event) -> None:
        self._update_cli()
        if getattr(event, "input", None) is not None and event.input.id == "benchmark_file":
            self._check_benchmark_path(event.value)

    def _check_benchmark_path(self, text: str) -> None:
        msg = self.query_one("#bench-msg", Static)
        text = text.strip()
        if not text:
            msg.update("")
        elif not Path(text).expanduser().exists():
            msg.update(f"[$warning]benchmark file not found: {text}[/]")
        else:
            msg.update("checking benchmark file...")
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
        self.app.call_from_thread(self.query_one("#bench-msg", Static).update, text)

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
