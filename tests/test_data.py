"""Minibatch loaders on small files in the real dataset formats."""

from __future__ import annotations

import json
import pickle
import tarfile

import numpy as np
import pytest

from naswot_tui.core.data import NORMALIZATION, _normalise, embedded_images, make_batch
from naswot_tui.core.errors import DataError, UsageError


def _cifar_batch(n, seed, label_key="labels", offset=0):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    data[:, 0] = np.arange(offset, offset + n) % 256  # a marker per image
    return {"batch_label": "training batch", label_key: list(rng.integers(0, 10, n)), "data": data,
            "filenames": [f"img{k}.png" for k in range(n)]}


def _write_cifar10(folder, per_batch=20):
    folder.mkdir(parents=True)
    for b in range(1, 6):
        (folder / f"data_batch_{b}").write_bytes(pickle.dumps(_cifar_batch(per_batch, b, offset=b * 100)))
    (folder / "test_batch").write_bytes(pickle.dumps(_cifar_batch(per_batch, 99)))


def test_cifar10_python_folder(tmp_path):
    _write_cifar10(tmp_path / "cifar-10-batches-py")
    batch = make_batch("cifar10", "root", batch_size=16, seed=3, data_root=str(tmp_path))
    assert batch.images.shape == (16, 3, 32, 32) and batch.images.dtype == np.float32
    assert batch.source == "root" and len(batch.indices) == 16 and max(batch.indices) < 100
    # Normalised with the CIFAR-10 statistics: recompute from the raw pixels.
    raw = np.concatenate([pickle.loads((tmp_path / "cifar-10-batches-py" / f"data_batch_{b}").read_bytes())["data"]
                          for b in range(1, 6)]).reshape(-1, 3, 32, 32)
    np.testing.assert_allclose(batch.images, _normalise(raw[batch.indices], "cifar10"), rtol=1e-6)
    # Same seed and repeat: same batch; another repeat: another batch.
    again = make_batch("cifar10", "root", batch_size=16, seed=3, data_root=str(tmp_path))
    other = make_batch("cifar10", "root", batch_size=16, seed=3, repeat=1, data_root=str(tmp_path))
    assert again.fingerprint == batch.fingerprint != other.fingerprint


def test_cifar10_tar_gz(tmp_path):
    src = tmp_path / "src"
    _write_cifar10(src / "cifar-10-batches-py")
    archive = tmp_path / "root" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    from_tar = make_batch("cifar10", "root", batch_size=8, seed=1, data_root=str(archive.parent))
    from_dir = make_batch("cifar10", "root", batch_size=8, seed=1, data_root=str(src))
    assert from_tar.fingerprint == from_dir.fingerprint
    # The archive path itself works too.
    from_archive = make_batch("cifar10", "root", batch_size=8, seed=1, data_root=str(archive))
    assert from_archive.fingerprint == from_tar.fingerprint


def test_cifar100_python_folder(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(pickle.dumps(_cifar_batch(40, 5, label_key="fine_labels")))
    batch = make_batch("cifar100", "root", batch_size=10, seed=2, data_root=str(tmp_path))
    assert batch.images.shape == (10, 3, 32, 32)
    raw = pickle.loads((folder / "train").read_bytes())["data"].reshape(-1, 3, 32, 32)
    np.testing.assert_allclose(batch.images, _normalise(raw[batch.indices], "cifar100"), rtol=1e-6)


def test_imagenet16_pickles_keep_labels_1_to_120(tmp_path):
    folder = tmp_path / "ImageNet16"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for b in range(1, 3):
        labels = [1, 2, 120, 121, 500, 7, 60, 999] * 3
        data = rng.integers(0, 256, size=(len(labels), 768), dtype=np.uint8)
        data[:, 0] = np.array(labels) % 256
        (folder / f"train_data_batch_{b}").write_bytes(pickle.dumps({"data": data, "labels": labels}, protocol=2))
    batch = make_batch("ImageNet16-120", "root", batch_size=12, seed=0, data_root=str(tmp_path))
    assert batch.images.shape == (12, 3, 16, 16)
    mean, std = NORMALIZATION["ImageNet16-120"]
    marker = np.rint((batch.images[:, 0, 0, 0] * std[0] + mean[0]) * 255).astype(int)
    assert set(marker) <= {1, 2, 120, 7, 60}  # 121, 500, 999 are not ImageNet16-120


def test_split_file_limits_draw_to_train_half(tmp_path):
    _write_cifar10(tmp_path / "cifar-10-batches-py")
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["int", list(range(0, 100, 2))], "valid": ["int", list(range(1, 100, 2))]}))
    batch = make_batch("cifar10", "root", batch_size=20, seed=4, data_root=str(tmp_path), split_file=str(split))
    assert all(i % 2 == 0 for i in batch.indices)


def test_synthetic_is_seeded_and_shaped():
    a = make_batch("ImageNet16-120", "synthetic", batch_size=8, seed=5)
    b = make_batch("ImageNet16-120", "synthetic", batch_size=8, seed=5)
    c = make_batch("ImageNet16-120", "synthetic", batch_size=8, seed=6)
    assert a.images.shape == (8, 3, 16, 16)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert "synthetic" in a.description


def test_embedded_sample_is_128_real_cifar10_images():
    images, labels = embedded_images()
    assert images.shape == (128, 3, 32, 32) and images.dtype == np.uint8
    assert sorted(np.bincount(labels)) == [12, 12] + [13] * 8
    batch = make_batch("cifar10", "embedded", batch_size=128)
    assert batch.images.shape == (128, 3, 32, 32)
    assert abs(float(batch.images.mean())) < 0.5  # normalised real images, roughly centred
    small = make_batch("ImageNet16-120", "embedded", batch_size=16)
    assert small.images.shape == (16, 3, 16, 16) and "downsampled" in small.description


@pytest.mark.parametrize("setup, fragment", [
    (lambda p: p / "nope", "not found"),
    (lambda p: (p / "cifar-10-batches-py").mkdir() or p, "no training batches"),
])
def test_missing_dataset_is_a_data_error(tmp_path, setup, fragment):
    root = setup(tmp_path)
    with pytest.raises(DataError, match=fragment) as info:
        make_batch("cifar10", "root", batch_size=8, data_root=str(root))
    assert "cifar-10-batches-py" in str(info.value) and str(root) in str(info.value)
    assert info.value.exit_code == 3


def test_malformed_batch_is_a_data_error(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar10(folder)
    (folder / "data_batch_3").write_bytes(b"not a pickle at all")
    with pytest.raises(DataError, match="malformed batch data_batch_3"):
        make_batch("cifar10", "root", batch_size=8, data_root=str(tmp_path))


def test_pickles_cannot_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(pickle.dumps({"data": Evil(), "fine_labels": []}))
    with pytest.raises(DataError, match="refusing to load builtins.print"):
        make_batch("cifar100", "root", batch_size=8, data_root=str(tmp_path))


def test_bad_values_are_usage_errors():
    with pytest.raises(UsageError, match="unknown dataset"):
        make_batch("mnist")
    with pytest.raises(UsageError, match="embedded sample holds 128"):
        make_batch("cifar10", "embedded", batch_size=256)


# ------------------------------------------------- issue 11: size caps, protocol 5


def test_protocol_5_batches_load_like_protocol_2(tmp_path):
    """numpy pickles arrays as _frombuffer(...) under protocol 5: still only data."""
    for protocol, sub in ((2, "p2"), (5, "p5")):
        folder = tmp_path / sub / "cifar-100-python"
        folder.mkdir(parents=True)
        (folder / "train").write_bytes(pickle.dumps(_cifar_batch(40, 5, label_key="fine_labels"), protocol=protocol))
    b2 = make_batch("cifar100", "root", batch_size=8, data_root=str(tmp_path / "p2"))
    b5 = make_batch("cifar100", "root", batch_size=8, data_root=str(tmp_path / "p5"))
    assert np.array_equal(b2.images, b5.images)


def test_protocol_5_imagenet16_loads(tmp_path):
    folder = tmp_path / "ImageNet16"
    folder.mkdir()
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, size=(30, 768), dtype=np.uint8)
    labels = list(rng.integers(1, 121, 30))
    (folder / "train_data_batch_1").write_bytes(pickle.dumps({"data": data, "labels": labels}, protocol=5))
    assert make_batch("ImageNet16-120", "root", batch_size=8, data_root=str(tmp_path)).images.shape == (8, 3, 16, 16)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_code_in_a_pickle_of_any_protocol_is_refused(tmp_path, protocol):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(pickle.dumps({"data": Evil(), "fine_labels": []}, protocol=protocol))
    with pytest.raises(DataError, match="refusing to load"):
        make_batch("cifar100", "root", batch_size=8, data_root=str(tmp_path))
    assert not marker.exists()


def test_huge_archive_member_is_refused_before_reading(tmp_path):
    """A tar.gz of ~100 KB whose data_batch_1 is 100 MB: refused from TarInfo.size, never read."""
    import io as _io

    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for b in range(1, 6):
            info = tarfile.TarInfo(f"cifar-10-batches-py/data_batch_{b}")
            if b == 1:
                # 100 MB of zeros compresses to ~100 KB; written lazily, never held in memory.
                info.size = 100_000_000
                tar.addfile(info, _Zeros(info.size))
            else:
                raw = pickle.dumps(_cifar_batch(10, b))
                info.size = len(raw)
                tar.addfile(info, _io.BytesIO(raw))
    assert archive.stat().st_size < 2_000_000
    with pytest.raises(DataError, match=r"member data_batch_1 is 100,000,000 bytes.*refusing to read it"):
        make_batch("cifar10", "root", batch_size=8, data_root=str(tmp_path))


class _Zeros:
    """A file-like of ``size`` zero bytes that never holds them all in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n is None or n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n)


def test_oversized_batch_file_on_disk_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar10(folder)
    with open(folder / "data_batch_2", "r+b") as fh:  # sparse: no real disk use
        fh.truncate(40_000_000)
    with pytest.raises(DataError, match="data_batch_2: file is 40,000,000 bytes"):
        make_batch("cifar10", "root", batch_size=8, data_root=str(tmp_path))


def test_corrupt_gzip_archive_is_a_data_error(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    with pytest.raises(DataError, match="unreadable archive"):
        make_batch("cifar10", "root", batch_size=8, data_root=str(tmp_path))
