"""Read benchmark pickles without running code they carry.

A pickle can name any importable callable and call it while loading (that is
how ``__reduce__`` works), so a doctored ``.pth`` or ``.pickle.pbz2`` could
run anything. The official loaders (``nas_201_api``, ``nats_bench``) unpickle
with no restriction; by default we read the files ourselves and admit only
the globals the real files hold:

- NATS-Bench ``-simple`` archives (``meta.pickle.pbz2`` and the per-arch
  ``NNNNNN.pickle.pbz2``): ``collections.OrderedDict`` and numpy scalars
  (``numpy.core.multiarray.scalar``, spelled ``numpy._core.multiarray.scalar``
  by numpy 2, and ``numpy.dtype``); everything else is builtin containers.
- NAS-Bench-201 ``.pth`` (``torch.save`` of the dict nas_201_api writes):
  ``builtins.set`` and ``collections.OrderedDict``, read by torch's own
  ``weights_only`` unpickler with the numpy scalar globals added, so both the
  old (pre-1.6) and the zip format load and tensors stay data.

Anything else is refused with a ``BenchmarkError`` naming the global; users
who trust a file opt into the official loaders with ``--trust-benchmark-file``.
"""

from __future__ import annotations

import bz2
import collections
import pickle
import re
import warnings
from pathlib import Path
from typing import IO, Any

from naswot_tui.core.errors import BenchmarkError

TRUST_HINT = "pass --trust-benchmark-file only if you trust where the file came from"


def _numpy_globals() -> dict[tuple[str, str], Any]:
    """The numpy callables real benchmark files use, under both numpy spellings."""
    import numpy as np

    try:  # numpy 2 moved the module; the old name still resolves through a shim
        # numpy 1.x stubs lack numpy._core (attr-defined there); numpy 2's have it (unused-ignore)
        from numpy._core.multiarray import scalar  # type: ignore[attr-defined, unused-ignore]
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import scalar  # type: ignore[no-redef]
    return {
        ("numpy.core.multiarray", "scalar"): scalar,
        ("numpy._core.multiarray", "scalar"): scalar,
        ("numpy", "dtype"): np.dtype,
    }


def allowed_globals() -> dict[tuple[str, str], Any]:
    """(module, name) -> object: everything a benchmark pickle may name."""
    allowed: dict[tuple[str, str], Any] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("builtins", "set"): set,
        ("__builtin__", "set"): set,  # the protocol-2 spelling of builtins.set
    }
    allowed.update(_numpy_globals())
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only ``allowed_globals()``; no persistent ids."""

    def __init__(self, file: IO[bytes], **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._allowed = allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        found = self._allowed.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"refusing global {module}.{name}")
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refusing a persistent id (not a plain benchmark pickle)")


def load_pbz2(path: Path) -> Any:
    """A NATS-Bench ``.pickle.pbz2`` through ``RestrictedUnpickler``, or BenchmarkError."""
    path = Path(path)
    try:
        with bz2.BZ2File(str(path), "rb") as fh:
            return RestrictedUnpickler(fh).load()
    except pickle.UnpicklingError as exc:
        raise BenchmarkError(f"{path}: {_one_line(exc)}; not a NATS-Bench file as released ({TRUST_HINT})") from None
    except (OSError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError, RecursionError) as exc:
        raise BenchmarkError(
            f"cannot read {path}: {_one_line(exc)}; expected a bz2-compressed NATS-Bench pickle") from None


def load_pth(path: Path) -> Any:
    """A NAS-Bench-201 ``.pth`` through torch's ``weights_only`` unpickler, or BenchmarkError."""
    import torch

    path = Path(path)
    extra = [obj for (module, _), obj in allowed_globals().items() if module.startswith("numpy")]
    try:
        with torch.serialization.safe_globals(extra), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch notes the pickle protocol
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
        if found:
            raise BenchmarkError(f"{path}: refusing global {found.group(1)}; "
                                 f"not a NAS-Bench-201 .pth as released ({TRUST_HINT})") from None
        # torch wraps the cause in paragraphs of advice; keep the cause only.
        cause = text.split("WeightsUnpickler error:", 1)[-1] if "WeightsUnpickler error:" in text else text
        raise BenchmarkError(f"cannot read NAS-Bench-201 file {path}: {_one_line(cause)}; "
                             "expected NAS-Bench-201-v1_*.pth") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a damaged file
        raise BenchmarkError(
            f"cannot read NAS-Bench-201 file {path}: {_one_line(exc)}; expected NAS-Bench-201-v1_*.pth"
        ) from None


def _one_line(exc: BaseException | str) -> str:
    """The first line of an exception's message (torch's run to many lines)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]
