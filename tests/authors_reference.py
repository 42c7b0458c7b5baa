"""A deliberately plain re-implementation of the authors' scoring procedure.

Used only by tests (and benchmarks/score_speed.py) as the yardstick our fast
scorer must equal: forward with grad, backward with ones, then a second
forward through forward hooks on every module whose class name contains
``ReLU``; per hooked call two products on the host, accumulated in numpy
float64; ``np.linalg.slogdet``.
"""

from __future__ import annotations

import numpy as np
import torch


def authors_score(model: torch.nn.Module, batch: torch.Tensor, hook_rule: str = "reference") -> float:
    batch_size = batch.shape[0]
    state = {"K": np.zeros((batch_size, batch_size)), "armed": False}

    def hook(module, inputs, output):
        if not state["armed"]:
            return
        x = inputs[0].reshape(batch_size, -1)
        x = (x > 0).float()
        k1 = x @ x.t()
        k2 = (1.0 - x) @ (1.0 - x.t())
        state["K"] = state["K"] + k1.cpu().numpy() + k2.cpu().numpy()

    if hook_rule == "reference":
        chosen = [m for m in model.modules() if "ReLU" in str(type(m))]  # the authors' exact test
    else:
        chosen = [m for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    handles = [m.register_forward_hook(hook) for m in chosen]
    try:
        model.train()
        model.zero_grad()
        x = batch.clone().requires_grad_(True)
        y = model(x)
        y.backward(torch.ones_like(y))
        state["armed"] = True
        model(batch)
    finally:
        for h in handles:
            h.remove()
    _, logdet = np.linalg.slogdet(state["K"])
    return float(logdet)
