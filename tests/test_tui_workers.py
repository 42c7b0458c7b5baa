"""The Live screen's workers line with a real ``procs`` run started from Setup."""

from __future__ import annotations

from naswot_tui.core.executors.base import WorkerState
from naswot_tui.core.trace import read_trace
from naswot_tui.tui.app import make_app
from naswot_tui.tui.settings import Settings
from naswot_tui.tui.widgets.workers import describe_workers
from tui_helpers import sync, wait_until


def test_the_line_names_each_workers_state_rate_and_device():
    busy = WorkerState(0, "cpu", state="busy", scored=10, busy_s=5.0)
    idle = WorkerState(1, "cuda:1 (H200)", state="idle", scored=4, busy_s=1.0)
    line = describe_workers([busy, idle]).plain
    assert "#0 ● cpu 2.0/s 10" in line and "#1 ○ cuda:1 (H200) 4.0/s 4" in line


@sync
async def test_a_procs_run_from_setup_shows_its_workers(tmp_path):
    settings = Settings(runs_dir=tmp_path / "runs", config_dir=tmp_path / "config",
                        device_probe=lambda: [("cpu", "CPU")])
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        form = app.screen
        for key, value in (("n", "6"), ("batch_size", "8"), ("seed", "2"), ("workers", "2")):
            form.query_one(f"#{key}").value = value
        form.query_one("#device").value = "cpu"
        form.query_one("#executor").value = "procs"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.state.status not in ("idle", "preparing"), timeout=60)
        assert app.state.status == "running", (app.state.status, list(app.state.log)[-3:])
        await wait_until(pilot, lambda: app.screen.query("#workers") and app.screen.query_one("#workers").display,
                         timeout=120)
        line = app.screen.query_one("#workers").render().plain
        assert "#0" in line and "#1" in line and "cpu" in line
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.state.status == "completed", timeout=120)
        trace = read_trace(app.state.trace_path)
        assert trace.header["config"]["executor"] == "procs" and len(trace.scores) == 6
