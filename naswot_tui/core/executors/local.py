"""``--executor local`` (the default): scoring in the run's own process.

Nothing is sent anywhere: the evaluator (core/engine.py ``ArchEvaluator``)
scores one architecture at a time on the CPU, or several in flight on CUDA
streams, with every GPU under ``--device all``. This module only describes
that worker for front ends.
"""

from __future__ import annotations

from naswot_tui.core.executors.base import WorkerState


def local_states(device_label: str, scored: int, busy_s: float, busy: bool) -> list[WorkerState]:
    """The one local 'worker' as the Live screen shows it."""
    return [WorkerState(0, device_label, state="busy" if busy else "idle", scored=scored, busy_s=busy_s)]
