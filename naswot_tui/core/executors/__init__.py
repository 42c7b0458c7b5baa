"""Executors: where a run's architectures are scored (``--executor``).

``local`` scores in the run's process (threads, CUDA streams, ``--device all``):
that is ``core.engine.ArchEvaluator`` itself, so ``make_executor`` returns None for it;
``procs`` in N worker processes on this machine; ``ray`` on a Ray cluster.
All of them give the same scores (the init seed is fixed per (run seed, index)
and the one scoring routine is ``worker.score_architecture``) and the search
takes its argmax by draw position, so the picks are the same too.
"""

from __future__ import annotations

from typing import Any

from naswot_tui.core.executors.base import Executor, WorkerRefused, WorkerState, WorkResult, default_workers

EXECUTORS = ("local", "procs", "ray")

__all__ = ["EXECUTORS", "Executor", "WorkResult", "WorkerRefused", "WorkerState", "default_workers",
           "make_executor"]


def make_executor(config: Any, device: Any) -> Executor | None:
    """The executor ``config.executor`` names (None for local), with the worker's config.

    Workers get the run's config with ``executor="local"`` and no cache: they
    score what they are sent; the run keeps the cache and the pack.
    """
    from dataclasses import replace

    name = getattr(config, "executor", "local")
    if name == "local":
        return None
    worker_config = replace(config, executor="local", cache=False, workers=None, shard=None).to_dict()
    gpus = device.type == "cuda"
    if name == "procs":
        from naswot_tui.core.executors.procs import ProcsExecutor

        if gpus:
            import torch

            if config.device == "all":
                devices = [f"cuda:{k}" for k in range(torch.cuda.device_count())]
            else:
                devices = [str(device)]
            workers = config.workers or len(devices)
        else:
            devices, workers = ["cpu"], config.workers or default_workers()
        return ProcsExecutor(worker_config, workers, devices)
    if name == "ray":
        from naswot_tui.core.executors.ray import RayExecutor

        return RayExecutor(worker_config, config.workers, config.ray_address, gpus)
    raise ValueError(f"unknown executor {name!r}")  # validate() names the choices to users
