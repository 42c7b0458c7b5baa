"""Rebuild the data files shipped inside the package from ../shared/data.

Run from the repository root: ``python scripts/build_embedded_data.py``.
Needs Pillow (to decode the JPEGs); the package itself never does.

Writes:
- naswot_tui/data/cifar10_embedded_128.npz   128 CIFAR-10 test-set JPEGs, decoded
- naswot_tui/data/nb201_table.npz             NAS-Bench-201 order + ground truth
See naswot_tui/data/PROVENANCE.md for where every number comes from.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "naswot_tui" / "data"

CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]
NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def build_images() -> None:
    from PIL import Image

    folder = SHARED / "images" / "cifar10_test_jpg_yoongikim"
    # 13 images for classes 0-7 and 12 for classes 8-9 make 128; the first
    # images of each class in CIFAR-10 test order.
    per_class = [13] * 8 + [12] * 2
    images, labels, names = [], [], []
    for label, (cls, count) in enumerate(zip(CIFAR10_CLASSES, per_class, strict=True)):
        for k in range(count):
            path = folder / cls / f"{k:04d}.jpg"
            pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)
            assert pixels.shape == (32, 32, 3), path
            images.append(pixels.transpose(2, 0, 1))  # channel-planar, like CIFAR
            labels.append(label)
            names.append(f"{cls}/{k:04d}.jpg")
    # Interleave classes so any prefix of the batch is class-balanced.
    order = sorted(range(len(images)), key=lambda i: (names[i].split("/")[1], labels[i]))
    np.savez_compressed(
        OUT / "cifar10_embedded_128.npz",
        images=np.stack([images[i] for i in order]),
        labels=np.array([labels[i] for i in order], dtype=np.int64),
        names=np.array([names[i] for i in order]),
    )


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _encode(arch: str) -> list[int]:
    ops = [tok.split("~")[0] for node in arch.strip("|").split("|+|") for tok in node.split("|")]
    return [NB201_OPS.index(op) for op in ops]


def build_nb201_table() -> None:
    d = SHARED / "nasbench201"
    v1 = _read_csv(d / "naswot_v1_arch_score_acc.csv")
    nats = _read_csv(d / "nats_tss_200epoch_test_acc.csv")
    mini = _read_csv(d / "mini-bench-arch-cell-accs_12epoch.csv")
    assert len(v1) == len(nats) == len(mini) == 15625
    for i, (a, b, c) in enumerate(zip(v1, nats, mini, strict=True)):
        assert int(a["arch"]) == i and int(c["arch"]) == i
        assert a["cellstr"] == b["ArchitectureString"] == c["cellstr"], i

    def col(rows, key):
        return np.array([float(r[key]) for r in rows], dtype=np.float64)

    np.savez_compressed(
        OUT / "nb201_table.npz",
        archs=np.array([_encode(r["cellstr"]) for r in v1], dtype=np.uint8),
        params_m=col(v1, "params"),
        # 200-epoch ground truth
        cifar10_test_200=col(v1, "test_top1"),          # NB201 v1_1, cifar10 / ori-test
        cifar10_valid_200=col(v1, "valid_top1"),        # NB201 v1_1, cifar10-valid / x-valid
        cifar10_valid_test_200=col(v1, "valid_test_top1"),  # cifar10-valid / ori-test
        nats_cifar10_test_200=col(nats, "CIFAR10TestAccuracy200Epochs"),
        cifar100_test_200=col(nats, "CIFAR100TestAccuracy200Epochs"),    # NATS tss, x-test
        imagenet16_test_200=col(nats, "ImageNetTestAccuracy200Epochs"),  # NATS tss, x-test
        # 12-epoch ground truth (REA/AREA fitness, NB201's own protocol)
        cifar10_test_12=col(mini, "cifar10-test"),
        cifar10_valid_12=col(mini, "cifar10-val"),
        cifar100_test_12=col(mini, "cifar100-test"),
        cifar100_valid_12=col(mini, "cifar100-val"),
        imagenet16_test_12=col(mini, "imagenet-test"),
        imagenet16_valid_12=col(mini, "imagenet-val"),
    )


if __name__ == "__main__":
    if not SHARED.is_dir():
        sys.exit(f"error: {SHARED} not found; run from a checkout with ../shared beside it")
    OUT.mkdir(parents=True, exist_ok=True)
    build_images()
    build_nb201_table()
    print("wrote", *sorted(p.name for p in OUT.glob("*.npz")))
