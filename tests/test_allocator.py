"""core/allocator.py: freed activation memory is reused, and scores do not change."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = r"""
import resource, sys, torch
torch.set_num_threads(1)
from naswot_tui.core.allocator import keep_freed_memory
if sys.argv[1] == "tuned":
    assert keep_freed_memory()
from naswot_tui.core.data import make_batch
from naswot_tui.core.scoring import get_proxy, init_seed
from naswot_tui.core.spaces import get_space
space, proxy = get_space("nb201"), get_proxy("naswot", "reference")
x = torch.from_numpy(make_batch("cifar10", "embedded", 32, 1, 0).images)
scores = []
for n, index in enumerate((5374, 11, 15624, 777, 5374, 11)):
    if n == 2:   # count page faults after the first two networks warmed the heap
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.manual_seed(init_seed(1, index))
    scores.append(proxy.fn(space.build(space.arch(index), num_classes=1), x))
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults, *map(repr, scores))
"""


def _run(mode: str) -> tuple[int, list[str]]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    faults, *scores = out.stdout.split()
    return int(faults), scores


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_tuned_allocator_keeps_scores_and_stops_refaulting_memory() -> None:
    plain_faults, plain_scores = _run("plain")
    tuned_faults, tuned_scores = _run("tuned")
    assert tuned_scores == plain_scores            # bit for bit (repr of the floats)
    assert tuned_faults * 3 < plain_faults, (tuned_faults, plain_faults)
