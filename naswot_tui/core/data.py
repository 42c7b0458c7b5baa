"""The scoring minibatch (docs/method.md §3), read without torchvision.

One batch per repeat of a run, shared by every candidate: 128 training
images, ToTensor + Normalize only. Sources:

- ``embedded``: 128 CIFAR-10 test-set JPEGs shipped in the package (the
  default: no download). Same images in every repeat.
- ``root``: a dataset on disk (CIFAR-10/100 python folders or ``.tar.gz``,
  ImageNet16-120 pickles); each repeat draws its own seeded batch.
- ``synthetic``: seeded standard-normal noise of the dataset's shape.

Every batch carries its class ``labels`` where they exist (label-based
proxies such as snip need them): the embedded images' CIFAR-10 labels, the
dataset's own labels from disk, seeded uniform labels over the dataset's
classes for synthetic noise, and ``None`` for the upsampled embedded
ImageNet stand-in (its CIFAR-10 labels name no ImageNet class).

Dataset pickles are user-named files; we still unpickle them with a loader
that only admits the numpy and builtin types those files contain.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import tarfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from naswot_tui.core.errors import DataError, UsageError

if TYPE_CHECKING:
    import torch

DATASETS = ("cifar10", "cifar100", "ImageNet16-120", "imagenet")
DATA_SOURCES = ("embedded", "root", "synthetic")

# (mean, std) on the 0-1 pixel scale.
NORMALIZATION = {
    "cifar10": ([x / 255 for x in (125.3, 123.0, 113.9)], [x / 255 for x in (63.0, 62.1, 66.7)]),
    "cifar100": ([x / 255 for x in (129.3, 124.1, 112.4)], [x / 255 for x in (68.2, 65.4, 70.4)]),
    "ImageNet16-120": ([x / 255 for x in (122.68, 116.66, 104.01)], [x / 255 for x in (63.22, 61.26, 65.09)]),
}
IMAGE_SIZE = {"cifar10": 32, "cifar100": 32, "ImageNet16-120": 16, "imagenet": 224}
NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120, "imagenet": 1000}

_CIFAR_LAYOUT = {
    "cifar10": ("cifar-10-batches-py", "cifar-10-python.tar.gz",
                [f"data_batch_{i}" for i in range(1, 6)], "labels"),
    "cifar100": ("cifar-100-python", "cifar-100-python.tar.gz", ["train"], "fine_labels"),
}
# The largest file of each real release, in bytes, with a 25% margin: a member or
# batch file beyond it is refused before it is read into memory (a small .tar.gz
# can hold a member of many GB). CIFAR-10 data_batch_N: 31,035,704 B; CIFAR-100
# train: 155,249,918 B; an ImageNet16 train_data_batch_N holds ~128k images of
# 768 B (about 100 MB).
_MAX_FILE_BYTES = {
    "cifar10": int(31_035_704 * 1.25),
    "cifar100": int(155_249_918 * 1.25),
    "ImageNet16-120": 160_000_000,
}

_EXPECTED = {
    "cifar10": "a folder holding cifar-10-batches-py/ (data_batch_1..5) or cifar-10-python.tar.gz",
    "cifar100": "a folder holding cifar-100-python/ (train, test) or cifar-100-python.tar.gz",
    "ImageNet16-120": "a folder holding ImageNet16 pickles train_data_batch_1..10 (optionally in ImageNet16/)",
    "imagenet": "an ImageNet-style folder of class/*.jpg images (e.g. imagenette2/train)",
}


def check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise UsageError(f"unknown dataset {dataset!r}; choose one of: {', '.join(DATASETS)}")
    return dataset


@dataclass
class Batch:
    """A normalised float32 batch (numpy, NCHW) and where it came from."""

    images: np.ndarray
    dataset: str
    source: str                       # embedded | root | synthetic
    description: str                  # human-readable, goes into the trace
    indices: list[int] | None = None  # training-set indices when drawn from disk
    fingerprint: str = field(default="")
    labels: np.ndarray | None = None  # int64 class index per image, or None where there are none

    def __post_init__(self) -> None:
        if not self.fingerprint:
            self.fingerprint = hashlib.sha256(np.ascontiguousarray(self.images).tobytes()).hexdigest()[:16]

    def to_tensor(self, device: str | torch.device = "cpu") -> torch.Tensor:
        import torch

        return torch.from_numpy(np.ascontiguousarray(self.images)).to(device)


# ------------------------------------------------------------- safe unpickle


class _ArrayUnpickler(pickle.Unpickler):
    """Admits only what CIFAR / ImageNet16 pickles hold: numpy arrays, builtins."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("builtins", "list"), ("builtins", "dict"), ("builtins", "tuple"), ("builtins", "set"),
        ("collections", "OrderedDict"), ("_codecs", "encode"),
        # Protocol 5 pickles an array as _frombuffer(bytearray, dtype, shape, order).
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset pickle")


def _unpickle(raw: bytes) -> dict[str, Any]:
    obj = _ArrayUnpickler(io.BytesIO(raw), encoding="latin1").load()
    if not isinstance(obj, dict):
        raise pickle.UnpicklingError("not a dict")
    # Python-2 pickles may have bytes keys.
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}


# ------------------------------------------------------------- loaders


def _fail(dataset: str, path: Path, why: str) -> DataError:
    why = " ".join(why.split())  # one line: decoder messages (pickle's among them) carry newlines
    return DataError(f"dataset {dataset} at {path}: {why}; expected {_EXPECTED[dataset]}")


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    """Up to ``limit`` bytes of a regular-file member of an open archive."""
    handle = tar.extractfile(member)
    if handle is None:  # only links and devices have no data; callers pass regular files
        raise tarfile.TarError(f"{member.name} is not a regular file")
    return handle.read(limit)


def _check_size(dataset: str, path: Path, size: int, cap: int, member: str | None = None) -> None:
    if size > cap:
        what = f"member {member} is" if member else "file is"
        raise _fail(dataset, path, f"{what} {size:,} bytes, more than any real {dataset} file "
                                   f"(limit {cap:,}); refusing to read it")


def _read_cifar_train(dataset: str, root: Path) -> tuple[np.ndarray, np.ndarray]:
    folder_name, archive_name, files, label_key = _CIFAR_LAYOUT[dataset]
    candidates = [root / folder_name, root] if root.is_dir() else []
    blobs: dict[str, bytes] | None = None
    cap = _MAX_FILE_BYTES[dataset]
    for folder in candidates:
        if all((folder / f).is_file() for f in files):
            for f in files:
                _check_size(dataset, folder / f, (folder / f).stat().st_size, cap)
            blobs = {f: (folder / f).read_bytes() for f in files}
            break
    if blobs is None:
        archive = root if root.is_file() else root / archive_name
        if archive.is_file():
            try:
                with tarfile.open(archive, "r:gz") as tar:
                    members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
                    missing = [f for f in files if f not in members]
                    if missing:
                        raise _fail(dataset, archive, f"archive lacks {', '.join(missing)}")
                    for f in files:  # before reading: TarInfo.size is the member's true size
                        _check_size(dataset, archive, members[f].size, cap, member=f)
                    blobs = {f: _member_bytes(tar, members[f], cap + 1) for f in files}
            except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
                raise _fail(dataset, archive, f"unreadable archive ({exc})") from None
    if blobs is None:
        raise _fail(dataset, root, "not found" if not root.exists() else "no training batches")
    images, labels = [], []
    for name in files:
        try:
            d = _unpickle(blobs[name])
            data = np.asarray(d["data"], dtype=np.uint8)
            lab = np.asarray(d[label_key], dtype=np.int64)
        except Exception as exc:  # noqa: BLE001 - any decoding problem means a malformed file
            raise _fail(dataset, root, f"malformed batch {name} ({exc})") from None
        if data.ndim != 2 or data.shape[1] != 3072 or len(lab) != len(data):
            raise _fail(dataset, root, f"batch {name} has data of shape {data.shape}, expected (N, 3072)")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(lab)
    return np.concatenate(images), np.concatenate(labels)


def _read_imagenet16_train(root: Path) -> tuple[np.ndarray, np.ndarray]:
    dataset = "ImageNet16-120"
    files = [f"train_data_batch_{i}" for i in range(1, 11)]
    folder = next((f for f in (root, root / "ImageNet16", root / "ImageNet16-120")
                   if f.is_dir() and (f / files[0]).is_file()), None)
    if folder is None:
        raise _fail(dataset, root, "not found" if not root.exists() else "no train_data_batch_1")
    images, labels = [], []
    for name in files:
        path = folder / name
        if not path.is_file():
            continue  # a partial copy still gives valid training images
        _check_size(dataset, path, path.stat().st_size, _MAX_FILE_BYTES[dataset])
        try:
            d = _unpickle(path.read_bytes())
            data = np.asarray(d["data"], dtype=np.uint8)
            lab = np.asarray(d["labels"], dtype=np.int64)
        except Exception as exc:  # noqa: BLE001
            raise _fail(dataset, path, f"malformed pickle ({exc})") from None
        if data.ndim != 2 or data.shape[1] != 768 or len(lab) != len(data):
            raise _fail(dataset, path, f"data of shape {data.shape}, expected (N, 768)")
        keep = (lab >= 1) & (lab <= 120)  # ImageNet16-120 = labels 1..120 (1-based)
        images.append(data[keep].reshape(-1, 3, 16, 16))
        labels.append(lab[keep] - 1)
    return np.concatenate(images), np.concatenate(labels)


def _read_split(path: Path) -> list[int]:
    try:
        split = json.loads(Path(path).read_text())
        kind, indices = split["train"]
        return [int(i) for i in indices]
    except FileNotFoundError:
        raise DataError(f"split file {path} does not exist; pass a JSON file like "
                        '{"train": ["int", [...]], "valid": ["int", [...]]}') from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"split file {path} is malformed ({exc}); expected "
                        '{"train": ["int", [...]], "valid": ["int", [...]]}') from None


@lru_cache(maxsize=2)
def _train_set(dataset: str, root: str) -> tuple[np.ndarray, np.ndarray]:
    path = Path(root).expanduser()
    if dataset == "ImageNet16-120":
        return _read_imagenet16_train(path)
    return _read_cifar_train(dataset, path)


@lru_cache(maxsize=1)
def embedded_images() -> tuple[np.ndarray, np.ndarray]:
    """The 128 shipped CIFAR-10 test images, uint8 (128, 3, 32, 32), and labels."""
    ref = resources.files("naswot_tui") / "data" / "cifar10_embedded_128.npz"
    with resources.as_file(ref) as p, np.load(p, allow_pickle=False) as npz:
        return npz["images"], npz["labels"]


def _imagenet_batch(source: str, batch_size: int, seed: int, repeat: int, data_root: str | None) -> Batch:
    """224x224 batches for the NDS ImageNet (``_in``) spaces."""
    from naswot_tui.core import imagefolder

    if source == "embedded":
        images, _ = embedded_images()
        if batch_size > len(images):
            raise UsageError(f"the embedded sample holds {len(images)} images; use --batch-size <= {len(images)}")
        return Batch(imagefolder.upsample(images[:batch_size]), "imagenet", "embedded",
                     f"{imagefolder.UPSAMPLED_LABEL} ({batch_size} images)")
    if not data_root:
        raise UsageError("data source 'root' needs --data-root DIR")
    images, labels, _files = imagefolder.load_image_folder(data_root, batch_size, seed, repeat)
    return Batch(images, "imagenet", "root", f"ImageNet-style images from {data_root}",
                 labels=np.asarray(labels, dtype=np.int64))


def _normalise(images_u8: np.ndarray, dataset: str) -> np.ndarray:
    mean, std = NORMALIZATION[dataset]
    x = images_u8.astype(np.float32) / 255.0
    x -= np.asarray(mean, dtype=np.float32)[None, :, None, None]
    x /= np.asarray(std, dtype=np.float32)[None, :, None, None]
    return x


def _downsample(images_u8: np.ndarray, size: int) -> np.ndarray:
    """Box-filter 32x32 images down to ``size`` (embedded images for ImageNet16)."""
    factor = images_u8.shape[-1] // size
    n, c, h, w = images_u8.shape
    pooled = images_u8.reshape(n, c, h // factor, factor, w // factor, factor).astype(np.float32).mean(axis=(3, 5))
    out: np.ndarray = np.rint(pooled).astype(np.uint8)
    return out


def make_batch(dataset: str = "cifar10", source: str = "embedded", batch_size: int = 128, seed: int = 1,
               repeat: int = 0, data_root: str | None = None, split_file: str | None = None) -> Batch:
    """The scoring batch of one repeat of a run."""
    check_dataset(dataset)
    if batch_size < 2:
        raise UsageError(f"batch size {batch_size} is too small; NASWOT needs at least 2 images (paper: 128)")
    if dataset == "imagenet" and source != "synthetic":
        return _imagenet_batch(source, batch_size, seed, repeat, data_root)
    size = IMAGE_SIZE[dataset]
    if source == "synthetic":
        rng = np.random.default_rng([int(seed), int(repeat), 7])
        x = rng.standard_normal((batch_size, 3, size, size)).astype(np.float32)
        # Drawn after the images from the same stream: the images stay as they were before labels existed.
        y = rng.integers(0, NUM_CLASSES[dataset], size=batch_size, dtype=np.int64)
        return Batch(x, dataset, "synthetic", f"synthetic N(0,1) {batch_size}x3x{size}x{size}, seed {seed}",
                     labels=y)
    if source == "embedded":
        images, labels = embedded_images()
        if batch_size > len(images):
            raise UsageError(f"the embedded sample holds {len(images)} images; use --batch-size <= {len(images)} "
                             "or --data-root with a real dataset")
        chosen = images[:batch_size]
        what = "embedded CIFAR-10 test JPEGs"
        if size != 32:
            chosen = _downsample(chosen, size)
            what += f", box-downsampled to {size}x{size}"
        return Batch(_normalise(chosen, dataset), dataset, "embedded", f"{what} ({batch_size} images)",
                     labels=np.asarray(labels[:batch_size], dtype=np.int64))
    if source != "root":
        raise UsageError(f"unknown data source {source!r}; choose one of: {', '.join(DATA_SOURCES)}")
    if not data_root:
        raise UsageError("data source 'root' needs --data-root DIR")
    images, labels = _train_set(dataset, str(data_root))
    pool = np.arange(len(images))
    if split_file:
        if dataset != "cifar10":
            raise UsageError("--split-file applies to cifar10 (the cifar10-valid protocol) only")
        pool = np.asarray(_read_split(Path(split_file)), dtype=np.int64)
        if pool.size == 0 or pool.max() >= len(images) or pool.min() < 0:
            raise DataError(f"split file {split_file}: train indices out of range 0..{len(images) - 1}")
    if len(pool) < batch_size:
        raise DataError(f"dataset {dataset} at {data_root}: only {len(pool)} training images, "
                        f"fewer than the batch size {batch_size}")
    rng = np.random.default_rng([int(seed), int(repeat)])
    picked = np.sort(rng.choice(pool, size=batch_size, replace=False))
    return Batch(_normalise(images[picked], dataset), dataset, "root",
                 f"{dataset} training images from {data_root}", indices=[int(i) for i in picked],
                 labels=np.asarray(labels[picked], dtype=np.int64))
