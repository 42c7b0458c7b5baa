"""Images for the NDS ImageNet (``_in``) spaces (issue 7)."""

from __future__ import annotations

import numpy as np
import pytest

from naswot_tui.core.data import embedded_images
from naswot_tui.core.errors import DataError
from naswot_tui.core.imagefolder import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    UPSAMPLED_LABEL,
    list_image_folder,
    load_image_folder,
    upsample,
)
from nds_fixtures import SHARED_DATA

JPEG_TREE = SHARED_DATA / "images" / "cifar10_test_jpg_yoongikim"


@pytest.mark.skipif(not JPEG_TREE.is_dir(), reason=f"shared JPEG tree not found at {JPEG_TREE}")
def test_image_folder_batch():
    pytest.importorskip("PIL")
    files, labels, classes = list_image_folder(JPEG_TREE)
    assert len(classes) == 10 and len(files) == 300 and sorted(set(labels)) == list(range(10))
    images, got_labels, paths = load_image_folder(JPEG_TREE, batch_size=6, seed=3)
    assert images.shape == (6, 3, 224, 224) and images.dtype == np.float32
    again, _, paths2 = load_image_folder(JPEG_TREE, batch_size=6, seed=3)
    assert paths == paths2 and np.array_equal(images, again)
    # ImageNet normalisation: back on the 0-1 pixel scale everything lies in [0, 1].
    pixels = images * np.asarray(IMAGENET_STD)[None, :, None, None] + np.asarray(IMAGENET_MEAN)[None, :, None, None]
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5


def test_image_folder_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        list_image_folder(tmp_path / "nope")
    (tmp_path / "cls").mkdir()
    with pytest.raises(DataError, match="no images"):
        list_image_folder(tmp_path)
    (tmp_path / "cls" / "broken.jpg").write_bytes(b"not a jpeg")
    pytest.importorskip("PIL")
    (tmp_path / "cls" / "broken2.jpg").write_bytes(b"not a jpeg either")
    with pytest.raises(DataError, match="cannot decode"):
        load_image_folder(tmp_path, batch_size=2)


def test_upsampled_embedded_images():
    x = upsample(embedded_images()[0][:4])
    assert x.shape == (4, 3, 224, 224) and x.dtype == np.float32
    assert "upsampled" in UPSAMPLED_LABEL and "NOT ImageNet" in UPSAMPLED_LABEL
    pixels = x * np.asarray(IMAGENET_STD)[None, :, None, None] + np.asarray(IMAGENET_MEAN)[None, :, None, None]
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5
    assert np.array_equal(upsample(embedded_images()[0][:4]), x)
