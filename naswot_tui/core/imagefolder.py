"""ImageNet-style scoring images for the NDS ``_in`` spaces (224 x 224).

- ``load_image_folder``: any ``<root>/<class>/*.jpg`` tree (ImageNet train,
  imagenette2, ...): resize the shorter side to 256, centre crop 224,
  ToTensor + ImageNet normalisation, as the ImageNet evaluation transform.
  Decoding needs Pillow (optional; a DataError says how to install it).
- ``upsample``: small images (``data`` passes the package's embedded
  32 x 32 CIFAR-10 images) bilinearly upsampled to 224 x 224 and normalised
  with the ImageNet statistics; a stand-in when no ImageNet images are on
  disk. Traces must say so (``UPSAMPLED_LABEL``): these are not ImageNet images.
"""

from __future__ import annotations

import struct
from pathlib import Path
from types import ModuleType

import numpy as np

from naswot_tui.core.errors import DataError, UsageError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESIZE, CROP = 256, 224
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
UPSAMPLED_LABEL = "embedded CIFAR-10 test JPEGs bilinearly upsampled 32->224 (NOT ImageNet images)"


def normalise_imagenet(images: np.ndarray) -> np.ndarray:
    """float 0-1 NCHW -> ImageNet-normalised float32 NCHW."""
    x = np.asarray(images, dtype=np.float32)
    x = x - np.asarray(IMAGENET_MEAN, dtype=np.float32)[None, :, None, None]
    return x / np.asarray(IMAGENET_STD, dtype=np.float32)[None, :, None, None]


def list_image_folder(root: str | Path) -> tuple[list[Path], list[int], list[str]]:
    """(files, labels, class names) of a ``class/*.jpg`` tree, sorted for reproducibility."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist; pass a folder of class sub-folders of JPEGs "
                        "(e.g. imagenette2/train)")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files, labels = [], []
    for label, name in enumerate(classes):
        for f in sorted((root / name).rglob("*")):
            if f.suffix.lower() in EXTENSIONS and f.is_file():
                files.append(f)
                labels.append(label)
    if not files:
        raise DataError(f"image folder {root} holds no images in class sub-folders; expected "
                        f"{root}/<class>/*.jpg (e.g. imagenette2/train)")
    return files, labels, classes


def _pillow() -> ModuleType:
    try:
        from PIL import Image
    except ImportError:
        raise DataError("reading JPEG folders needs Pillow, which is not installed; run `pip install pillow` "
                        "or use the embedded images") from None
    return Image


def load_image(path: Path, resize: int = RESIZE, crop: int = CROP) -> np.ndarray:
    """One image as float32 (3, crop, crop) in 0-1: shorter side -> ``resize``, centre crop."""
    Image = _pillow()
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            scale = resize / min(w, h)
            # Integer sizes as torchvision's Resize(int): the shorter side is exactly ``resize``.
            nw, nh = (resize, int(resize * h / w)) if w <= h else (int(resize * w / h), resize)
            if scale != 1.0:
                im = im.resize((nw, nh), Image.BILINEAR)
            left = int(round((nw - crop) / 2.0))
            top = int(round((nh - crop) / 2.0))
            im = im.crop((left, top, left + crop, top + crop))
            arr = np.asarray(im, dtype=np.float32) / 255.0
    # Pillow raises SyntaxError / EOFError / struct.error for some damaged files, and
    # DecompressionBombError for an image of absurd pixel count (a memory bomb).
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot decode image {path}: {exc}; remove it or pass another --data-root") from None
    chw: np.ndarray = arr.transpose(2, 0, 1)
    return chw


def load_image_folder(root: str | Path, batch_size: int = 128, seed: int = 1, repeat: int = 0
                      ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A seeded batch from an image folder: (images float32 (B, 3, 224, 224), labels, file paths)."""
    if batch_size < 2:
        raise UsageError(f"batch size {batch_size} is too small; NASWOT needs at least 2 images")
    files, labels, _ = list_image_folder(root)
    if len(files) < batch_size:
        raise DataError(f"image folder {root} holds {len(files)} images, fewer than the batch size {batch_size}")
    rng = np.random.default_rng([int(seed), int(repeat)])
    picked = np.sort(rng.choice(len(files), size=batch_size, replace=False))
    images = np.stack([load_image(files[i]) for i in picked])
    return normalise_imagenet(images), np.asarray([labels[i] for i in picked]), [str(files[i]) for i in picked]


def upsample(images_u8: np.ndarray, size: int = CROP) -> np.ndarray:
    """uint8 NCHW images bilinearly upsampled to ``size`` x ``size``, ImageNet-normalised."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(images_u8.astype(np.float32) / 255.0)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp_(0.0, 1.0)
    return normalise_imagenet(x.numpy())


__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "UPSAMPLED_LABEL", "list_image_folder", "load_image",
           "load_image_folder", "normalise_imagenet", "upsample"]
