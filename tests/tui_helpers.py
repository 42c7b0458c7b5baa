"""Shared helpers for the TUI tests: settings with a fake engine, waiting on the app."""

from __future__ import annotations

import json
import time
from pathlib import Path

from naswot_tui.core.config import RunConfig
from naswot_tui.core.search import Control
from naswot_tui.tui.fake import FakeSource
from naswot_tui.tui.settings import Settings


def fake_settings(base: Path, *, last: dict | None = None, **source_options) -> Settings:
    """Settings in ``base`` with the deterministic fake source and a frozen clock."""
    config_dir = base / "config"
    if last is not None:
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "tui.json").write_text(json.dumps({"last_config": RunConfig(**last).to_dict()}))
    return Settings(runs_dir=base / "runs", config_dir=config_dir, source=FakeSource.factory(**source_options),
                    device_probe=lambda: [("cpu", "CPU (test)")], clock=lambda: 1000.0)


def fake_trace(folder: Path, **config) -> Path:
    """A complete trace written by the fake source (no torch)."""
    cfg = RunConfig(out_dir=str(folder), **config)
    source = FakeSource(cfg, Control())
    source.prepare()
    for _ in source.events():
        pass
    return source.trace_path


async def wait_until(pilot, condition, timeout: float = 20.0) -> None:
    """Let the app process messages until ``condition()`` holds (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before timeout")
        await pilot.pause(0.02)


def sync(test):
    """Run an async test with asyncio.run (no pytest-asyncio plugin needed)."""
    import asyncio
    import functools

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper
