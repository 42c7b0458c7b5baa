"""TFRecord framing without TensorFlow (docs/formats.md §1.2).

Each record: u64le length, u32le masked CRC32C of those 8 bytes, payload,
u32le masked CRC32C of the payload. CRC32C is the Castagnoli CRC (reflected
polynomial 0x82F63B78), computed here from a 256-entry table.

Checking 1.27 million payload CRCs one byte at a time in Python would take
minutes, so ``crc32c_many`` runs the same table over a batch of payloads at
once with numpy: payloads are left-padded with zero bytes (a zero register
stays zero on zero input), with the initial 0xFFFFFFFF folded into each
payload's first four bytes instead.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from naswot_tui.core.errors import BenchmarkError

_POLY = 0x82F63B78
_MASK_DELTA = 0xA282EAD8


def _make_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


CRC_TABLE = _make_table()
_CRC_TABLE_NP = np.array(CRC_TABLE, dtype=np.uint32)


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC32C of ``data`` (``crc`` continues a previous value)."""
    c = crc ^ 0xFFFFFFFF
    table = CRC_TABLE
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def mask_crc(crc: int) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits, add a constant."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    return mask_crc(crc32c(data))


def crc32c_many(payloads: list[bytes]) -> np.ndarray:
    """CRC32C of each payload, vectorised over the batch (uint32 array)."""
    out = np.zeros(len(payloads), dtype=np.uint32)
    if not payloads:
        return out
    short = [i for i, p in enumerate(payloads) if len(p) < 4]
    for i in short:  # the fold trick needs 4 bytes; rare, do them directly
        out[i] = crc32c(payloads[i])
    width = max(len(p) for p in payloads)
    buf = np.zeros((len(payloads), width), dtype=np.uint8)
    for i, p in enumerate(payloads):
        if len(p) >= 4:
            buf[i, width - len(p):] = np.frombuffer(p, dtype=np.uint8)
            buf[i, width - len(p):width - len(p) + 4] ^= 0xFF
    reg = np.zeros(len(payloads), dtype=np.uint32)
    for col in range(width):
        reg = _CRC_TABLE_NP[(reg ^ buf[:, col]) & 0xFF] ^ (reg >> 8)
    reg ^= np.uint32(0xFFFFFFFF)
    long_ = np.array([len(p) >= 4 for p in payloads])
    out[long_] = reg[long_]
    return out


def mask_many(crcs: np.ndarray) -> np.ndarray:
    c = crcs.astype(np.uint64)
    rotated = ((c >> np.uint64(15)) | (c << np.uint64(17))) & np.uint64(0xFFFFFFFF)
    masked: np.ndarray = ((rotated + np.uint64(_MASK_DELTA)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    return masked


def encode_record(payload: bytes) -> bytes:
    """One framed record (used to write test files and small exports)."""
    header = struct.pack("<Q", len(payload))
    return (header + struct.pack("<I", masked_crc32c(header)) + payload
            + struct.pack("<I", masked_crc32c(payload)))


# A record over this size is certainly garbage for the benchmarks we read.
MAX_RECORD = 1 << 26


def iter_records(stream: BinaryIO, name: str = "tfrecord", batch: int = 4096,
                 progress: Callable[[int], None] | None = None,
                 chunk_size: int = 1 << 22) -> Iterator[tuple[int, bytes]]:
    """Yield ``(byte offset, payload)`` for every record, CRC-checked.

    Raises BenchmarkError naming the record's byte offset on a bad length
    CRC, a bad payload CRC or a truncated record. Payload CRCs are checked a
    batch at a time, so a bad record is reported before any record of its
    batch is yielded (nothing corrupt is ever handed out).
    """
    buf = b""
    base = 0          # file offset of buf[0]
    pos = 0           # position in buf
    eof = False
    header_crcs: dict[bytes, int] = {}  # lengths repeat: cache their CRCs
    pending: list[tuple[int, bytes, int]] = []  # offset, payload, stored masked crc

    while True:
        if len(buf) - pos < 12 and not eof:
            more = stream.read(chunk_size)
            if not more:
                eof = True
            buf, base, pos = buf[pos:] + more, base + pos, 0
            if progress is not None and more:
                progress(len(more))
            continue
        if len(buf) - pos == 0 and eof:
            break
        offset = base + pos
        if len(buf) - pos < 12:
            yield from _checked(pending, name)
            raise BenchmarkError(
                f"{name}: truncated record at byte offset {offset}: {len(buf) - pos} byte(s) left, "
                f"a record header needs 12; the file is incomplete, download it again"
            )
        header = buf[pos:pos + 8]
        (stored_len_crc,) = struct.unpack_from("<I", buf, pos + 8)
        expected = _length_crc(header, header_crcs)
        if expected != stored_len_crc:
            yield from _checked(pending, name)
            raise BenchmarkError(
                f"{name}: corrupt record at byte offset {offset}: length CRC mismatch "
                f"(stored 0x{stored_len_crc:08x}, computed 0x{expected:08x}); the file is damaged, download it again"
            )
        (length,) = struct.unpack("<Q", header)
        if length > MAX_RECORD:
            raise BenchmarkError(
                f"{name}: record at byte offset {offset} claims {length} bytes; not a benchmark record")
        need = 12 + length + 4
        while len(buf) - pos < need and not eof:
            more = stream.read(max(chunk_size, need))
            if not more:
                eof = True
                break
            buf, base, pos = buf[pos:] + more, base + pos, 0
            if progress is not None:
                progress(len(more))
        if len(buf) - pos < need:
            yield from _checked(pending, name)
            raise BenchmarkError(
                f"{name}: truncated record at byte offset {offset}: needs {need} bytes, "
                f"{len(buf) - pos} left; the file is incomplete, download it again"
            )
        payload = buf[pos + 12:pos + 12 + length]
        (stored_crc,) = struct.unpack_from("<I", buf, pos + 12 + length)
        pending.append((offset, payload, stored_crc))
        pos += need
        if len(pending) >= batch:
            yield from _checked(pending, name)
    yield from _checked(pending, name)


def _length_crc(header: bytes, cache: dict[bytes, int]) -> int:
    """The masked CRC of a length header, memoised (a file has few distinct lengths)."""
    crc = cache.get(header)
    if crc is None:
        crc = masked_crc32c(header)
        if len(cache) < 65536:  # bound the memo on files whose lengths never repeat
            cache[header] = crc
    return crc


def _checked(pending: list[tuple[int, bytes, int]], name: str) -> list[tuple[int, bytes]]:
    """Check the payload CRCs of a batch in one vectorised pass and empty it.

    Returns the batch as ``(offset, payload)``, or raises BenchmarkError at the
    first bad record, so nothing of a corrupt batch is handed out.
    """
    if not pending:
        return []
    computed = mask_many(crc32c_many([p for _, p, _ in pending]))
    for (offset, _payload, stored), got in zip(pending, computed, strict=True):
        if int(got) != stored:
            raise BenchmarkError(
                f"{name}: corrupt record at byte offset {offset}: payload CRC mismatch "
                f"(stored 0x{stored:08x}, computed 0x{int(got):08x}); the file is damaged, download it again"
            )
    out = [(o, p) for o, p, _ in pending]
    pending.clear()
    return out


def read_records(path: Path, **kwargs: Any) -> Iterator[tuple[int, bytes]]:
    """``iter_records`` over a file on disk."""
    with open(path, "rb") as f:
        yield from iter_records(f, name=Path(path).name, **kwargs)
