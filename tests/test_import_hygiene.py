"""Layering, proved in fresh interpreters: the headless path never loads
textual, and the app paints its first frame without torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_headless_path_never_imports_textual():
    """cli, headless and the engine import no textual (the CLI must start fast and work without a TTY)."""
    result = _run("""
        import sys
        import naswot_tui.cli, naswot_tui.headless, naswot_tui.core.engine, naswot_tui.core.comparison
        import naswot_tui.commands.compare
        bad = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
        assert not bad, bad
    """)
    assert result.returncode == 0, result.stderr


def test_app_module_and_first_frame_never_import_torch(tmp_path):
    """Importing the app and painting the setup, runs and live screens loads no torch."""
    result = _run(f"""
        import asyncio, sys
        from pathlib import Path
        import naswot_tui.tui.app as app_module
        assert "torch" not in sys.modules, "import"
        from naswot_tui.tui.settings import Settings

        async def main():
            app = app_module.make_app(Settings(runs_dir=Path({str(tmp_path / 'runs')!r}),
                                               config_dir=Path({str(tmp_path / 'cfg')!r}),
                                               device_probe=lambda: [("cpu", "CPU")]))
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                for key in ("f3", "f4", "f1"):
                    await pilot.press(key)
                await app.workers.wait_for_complete()
                await pilot.pause()
            assert "torch" not in sys.modules, "first frame"

        asyncio.run(main())
    """)
    assert result.returncode == 0, result.stderr
