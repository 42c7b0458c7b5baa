"""core/allocator.py: freed activation memory is reused, and scores do not change."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Scores four networks, then the same four again, and counts the page faults of
# the second pass only: by then every activation size has been seen once, so a
# process that keeps freed memory faults (almost) nothing in it.
SCRIPT = r"""
import ctypes, resource, sys, torch
torch.set_num_threads(1)
from naswot_tui.core.allocator import keep_freed_memory
if sys.argv[1] == "tuned":
    assert keep_freed_memory()
elif sys.argv[1] == "unmapping":
    # a fixed mmap threshold at glibc's initial 128 KiB turns its adaptive rule off:
    # every activation is mapped on allocation and unmapped on free, the behaviour
    # the tuning exists to stop, and the same on every machine
    assert ctypes.CDLL("libc.so.6").mallopt(-3, 128 << 10) == 1
from naswot_tui.core.data import make_batch
from naswot_tui.core.scoring import get_proxy, init_seed
from naswot_tui.core.spaces import get_space
space, proxy = get_space("nb201"), get_proxy("naswot", "reference")
x = torch.from_numpy(make_batch("cifar10", "embedded", 32, 1, 0).images)
scores = []
for n, index in enumerate((5374, 11, 15624, 777) * 2):
    if n == 4:
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.manual_seed(init_seed(1, index))
    scores.append(proxy.fn(space.build(space.arch(index), num_classes=1), x))
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
# whether a 64 MiB block comes from mmap: glibc's own adaptive threshold stops at 32 MiB, so by
# default it always does, and with the tuning it never does (mallinfo2: glibc 2.33 and later)
libc = ctypes.CDLL("libc.so.6")
mapped = -1
if hasattr(libc, "mallinfo2"):
    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")]
    libc.mallinfo2.restype = MallInfo2
    before = libc.mallinfo2().hblkhd
    big = torch.empty(64 << 20, dtype=torch.uint8)
    mapped = libc.mallinfo2().hblkhd - before
print(faults, mapped, *map(repr, scores))
"""


def _run(mode: str) -> tuple[int, int, list[str]]:
    """(page faults of the second pass, bytes a 64 MiB tensor took from mmap or -1, the scores)."""
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    faults, mapped, *scores = out.stdout.split()
    return int(faults), int(mapped), scores


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_tuned_allocator_keeps_scores_and_stops_refaulting_memory() -> None:
    # glibc's default adapts its mmap threshold to what was freed before, so how
    # much it refaults depends on the machine and the order of allocations (CI
    # saw 4,509 pages where this machine sees 5,000 to 38,000): it is compared
    # for scores only, and the fault count against the fixed unmapping baseline
    _, plain_mapped, plain_scores = _run("plain")
    unmapping_faults, _, unmapping_scores = _run("unmapping")
    tuned_faults, tuned_mapped, tuned_scores = _run("tuned")
    assert tuned_scores == plain_scores == unmapping_scores   # bit for bit (repr of the floats)
    assert unmapping_faults > 50_000, unmapping_faults         # the baseline does refault every pass
    # tuned: 0 to 2,059 pages here (the heap now and then grows by a few MB for a new peak), against
    # 330,000 to 390,000 for the unmapping baseline
    assert tuned_faults * 20 < unmapping_faults, (tuned_faults, unmapping_faults)
    if plain_mapped >= 0:                                      # the tuning is what keeps blocks in the heap
        assert plain_mapped >= 64 << 20 and tuned_mapped == 0, (plain_mapped, tuned_mapped)
