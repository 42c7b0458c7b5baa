"""Where naswot-tui keeps its files: run traces and caches.

A leaf module (it imports nothing of ours) so that every layer of ``core``,
the benchmark readers included, can ask for a directory without importing
``config`` above them. ``config`` re-exports both functions for older importers.
"""

from __future__ import annotations

import os
from pathlib import Path


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
