"""Small NDS json files in the real layout (docs/formats.md §2.2-2.5), for the NDS tests."""

from __future__ import annotations

import json
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NNI_EXAMPLES = SHARED_DATA / "nds" / "nni_nds_examples_transcribed.json"


def nds_entry(net: dict, final_error: float, job_id: int = 0, params: int | None = None,
              flops: int | None = None, epochs: int = 100) -> dict:
    """One job summary with the keys the NDS files carry (losses may hold NaN)."""
    test = [min(90.0, final_error + 30.0 * (epochs - 1 - e) / epochs) for e in range(epochs)]
    test[-1] = final_error
    entry = {
        "job_id": job_id,
        "rng_seed": 1,
        "net": net,
        "optim": {"base_lr": 0.1, "wd": 5e-4, "max_ep": epochs},
        "exp_mem": 1.0,
        "act_mem": 1.0,
        "prec_time": {"train_fw_bw": 0.05, "test_fw": 0.01},
        "iter_time": 0.06,
        "min_test_top1": min(test),
        "test_ep_top1": test,
        "train_ep_top1": [e / 2 for e in test],
        "train_ep_loss": [float("nan")] + [1.0 / (e + 1) for e in range(epochs - 1)],
        "train_it_top1": [50.0, 40.0],
        "train_it_loss": [2.0, 1.5],
    }
    if params is not None:
        entry["params"] = params
    if flops is not None:
        entry["flops"] = flops
    return entry


def cell_net(normal, normal_concat, reduce, reduce_concat, width=8, depth=5) -> dict:
    return {"genotype": {"normal": [list(p) for p in normal], "normal_concat": list(normal_concat),
                         "reduce": [list(p) for p in reduce], "reduce_concat": list(reduce_concat)},
            "width": width, "depth": depth, "aux": False, "drop_prob": 0.0}


# Small genotypes per cell space, using (between them) every op of the space's vocabulary.
CELL_NETS = {
    "DARTS": [
        cell_net([("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("dil_conv_3x3", 0), ("skip_connect", 2),
                  ("max_pool_3x3", 1), ("avg_pool_3x3", 3), ("dil_conv_5x5", 2), ("none", 4)], [2, 3, 4, 5],
                 [("max_pool_3x3", 0), ("skip_connect", 1), ("sep_conv_3x3", 2), ("avg_pool_3x3", 0),
                  ("dil_conv_5x5", 1), ("none", 3), ("skip_connect", 0), ("sep_conv_5x5", 4)], [2, 3, 4, 5]),
        cell_net([("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 1),
                  ("skip_connect", 0), ("dil_conv_3x3", 2), ("sep_conv_3x3", 0), ("skip_connect", 1)], [2, 3, 4, 5],
                 [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
                  ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)], [2, 3, 4, 5],
                 width=6, depth=4),
    ],
    "ENAS": [
        cell_net([("sep_conv_3x3", 0), ("skip_connect", 1), ("sep_conv_5x5", 1), ("avg_pool_3x3", 2),
                  ("max_pool_3x3", 0), ("skip_connect", 3), ("sep_conv_3x3", 4), ("avg_pool_3x3", 1),
                  ("sep_conv_5x5", 2), ("skip_connect", 5)], [6],
                 [("avg_pool_3x3", 0), ("sep_conv_3x3", 1), ("max_pool_3x3", 2), ("sep_conv_5x5", 0),
                  ("skip_connect", 3), ("avg_pool_3x3", 1), ("sep_conv_3x3", 4), ("max_pool_3x3", 2),
                  ("sep_conv_5x5", 5), ("skip_connect", 0)], [6]),
    ],
    "PNAS": [
        cell_net([("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_7x7", 2), ("conv_7x1_1x7", 0),
                  ("skip_connect", 1), ("avg_pool_3x3", 3), ("max_pool_3x3", 2), ("dil_conv_3x3", 4),
                  ("sep_conv_3x3", 5), ("skip_connect", 0)], [4, 5, 6],
                 [("max_pool_3x3", 0), ("dil_conv_3x3", 1), ("sep_conv_7x7", 0), ("conv_7x1_1x7", 2),
                  ("avg_pool_3x3", 1), ("skip_connect", 3), ("sep_conv_5x5", 4), ("skip_connect", 0),
                  ("sep_conv_3x3", 5), ("max_pool_3x3", 1)], [6]),
    ],
    "NASNet": [
        cell_net([("skip_connect", 0), ("conv_3x1_1x3", 1), ("conv_7x1_1x7", 2), ("dil_conv_3x3", 0),
                  ("avg_pool_3x3", 3), ("max_pool_3x3", 1), ("max_pool_5x5", 4), ("max_pool_7x7", 2),
                  ("conv_1x1", 5), ("conv_3x3", 0)], [6],
                 [("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_7x7", 2), ("conv_3x1_1x3", 0),
                  ("max_pool_7x7", 1), ("conv_1x1", 3), ("conv_3x3", 4), ("skip_connect", 1),
                  ("max_pool_5x5", 0), ("dil_conv_3x3", 5)], [6]),
    ],
    "Amoeba": [
        cell_net([("avg_pool_3x3", 0), ("conv_7x1_1x7", 1), ("sep_conv_3x3", 2), ("sep_conv_5x5", 0),
                  ("dil_sep_conv_3x3", 2), ("dil_sep_conv_3x3", 2), ("skip_connect", 4), ("dil_sep_conv_3x3", 4),
                  ("conv_7x1_1x7", 2), ("sep_conv_3x3", 4)], [3, 5, 6],
                 [("avg_pool_3x3", 0), ("dil_sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 0),
                  ("skip_connect", 2), ("sep_conv_7x7", 0), ("conv_7x1_1x7", 4), ("skip_connect", 4),
                  ("max_pool_3x3", 0), ("conv_7x1_1x7", 5)], [3, 6]),
    ],
}

ANYNET_NETS = {
    "ResNet": [
        {"block_type": "res_basic_block", "ds": [1, 2, 1, 2], "ws": [8, 8, 16, 24], "ss": [1, 1, 2, 2]},
        {"block_type": "res_basic_block", "ds": [1, 1, 2, 1], "ws": [8, 12, 12, 16], "ss": [1, 1, 2, 2]},
    ],
    "ResNeXt-A": [
        {"block_type": "res_bottleneck_block", "ds": [1, 2, 1, 2], "ws": [8, 16, 32, 16], "ss": [1, 1, 2, 2],
         "bot_muls": [0.0, 0.5, 0.25, 1.0], "num_gs": [1, 2, 1, 4]},
        {"block_type": "res_bottleneck_block", "ds": [1, 1, 1, 1], "ws": [8, 16, 32, 16], "ss": [1, 1, 2, 2],
         "bot_muls": [0.0, 0.5, 0.25, 1.0], "num_gs": [1, 2, 1, 4]},
    ],
    "ResNeXt-B": [
        {"block_type": "res_bottleneck_block", "ds": [1, 1, 2, 1], "ws": [8, 32, 32, 64], "ss": [1, 1, 2, 2],
         "bot_muls": [0.0, 0.25, 0.5, 0.25], "num_gs": [1, 4, 8, 16]},
    ],
    "Vanilla": [
        {"block_type": "double_plain_block", "ds": [1, 2, 1, 1], "ws": [8, 8, 16, 24], "ss": [1, 1, 2, 2]},
        {"block_type": "double_plain_block", "ds": [1, 1, 1, 2], "ws": [8, 16, 16, 24], "ss": [1, 1, 2, 2]},
    ],
}


def write_nds(path: Path, nets: list[dict], layout: str = "list", errors: list[float] | None = None) -> Path:
    """Write ``nets`` as an NDS file (``list`` or ``reruns`` = {"top", "mid"} layout)."""
    errors = errors or [10.0 + i for i in range(len(nets))]
    entries = [nds_entry(n, e, job_id=i) for i, (n, e) in enumerate(zip(nets, errors, strict=True))]
    if layout == "reruns":
        half = (len(entries) + 1) // 2
        doc = {"mid": entries[half:], "top": entries[:half]}  # mid first: the reader must still do top + mid
    else:
        doc = entries
    path.write_text(json.dumps(doc, indent=1))  # json.dumps writes NaN bare, as the NDS files do
    return path


def transcribed_records() -> dict[str, dict]:
    """The four real NDS records (reconstructed NDS entries), keyed by family."""
    data = json.loads(NNI_EXAMPLES.read_text())
    out = {}
    for example in data["examples"]:
        out[example["space_guess"].split(" ")[0]] = example["nds_entry_reconstructed"]
    return out
