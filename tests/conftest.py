from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))  # tests import authors_reference

# One torch thread per test process: CI runs two xdist workers on two cores,
# and oversubscribed thread pools are many times slower than one thread each.
try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass

# ../shared beside the checkout (developers and CI have it; users do not).
SHARED_DATA = TESTS.parent.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Never touch the user's real runs or cache folders."""
    base = tmp_path_factory.mktemp("naswot-home")
    monkeypatch.setenv("NASWOT_TUI_RUNS_DIR", str(base / "runs"))
    monkeypatch.setenv("NASWOT_TUI_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("NASWOT_TUI_CONFIG_DIR", str(base / "config"))
