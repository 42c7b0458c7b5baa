"""Reader for the NDS json files (facebookresearch/nds ``data.zip``).

docs/formats.md §2. A file is a JSON array of trained-model
entries, or an object ``{"top": [...], "mid": [...]}`` (``*_reruns.json``),
read as ``top + mid``. The files are tens to hundreds of MB, so we never hold
the parsed document: entries are decoded one at a time from a sliding text
buffer and each is reduced at once to a compact row (canonical ``net`` text,
final and best test accuracy, params, FLOPs, epochs).

A malformed entry (bad JSON, missing ``net`` or ``test_ep_top1``, a ``net``
we cannot build) is skipped and reported by its index in the file; it never
makes the whole file fail.

The rows are cached once per source file as a plain JSON table (no pickle)
under ``<cache dir>/nds/``, keyed by the source's path, size and mtime.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from naswot_tui.core.errors import BenchmarkError

FORMAT_VERSION = 1
CHUNK_CHARS = 1 << 20
MAX_WARNINGS = 10  # individual warnings per file; the rest are summarised

_WS = re.compile(r"\s*")
# The end of one top-level entry: "}" then "," and the next "{", or the array's "]".
# NDS entries hold no lists of objects, so this pattern only occurs between entries.
_BOUNDARY = re.compile(r"\}\s*(?:,\s*\{|\])")
_DECODER = json.JSONDecoder()


class NDSWarning(UserWarning):
    """A malformed NDS entry was skipped."""


# One usable entry reduced to what the table keeps (see ``entry_row``).
Row = dict[str, Any]


def canonical_net(net: dict[str, Any]) -> str:
    """Compact sorted-key JSON of a ``net`` object (the NDS notebooks' identity of a network)."""
    return json.dumps(net, sort_keys=True, separators=(",", ":"), allow_nan=False)


# ------------------------------------------------------------------ rows


def net_problem(net: object) -> tuple[str | None, str]:
    """(why ``net`` cannot be built or None, family): family is ``cell`` or the AnyNet block type."""
    from naswot_tui.core.spaces.nds_anynet import check_anynet
    from naswot_tui.core.spaces.nds_ops import check_genotype

    if not isinstance(net, dict):
        return "no 'net' object", ""
    if "genotype" in net:
        why = check_genotype(net["genotype"])
        if why is None:
            for key in ("width", "depth"):
                v = net.get(key)
                if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                    why = f"net.{key} must be a positive integer"
                    break
        return why, "cell"
    return check_anynet(net), str(net.get("block_type", ""))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def entry_row(entry: object) -> tuple[Row | None, str | None]:
    """(row, None) for a usable entry, (None, reason) for a malformed one."""
    if not isinstance(entry, dict):
        return None, f"entry is a {type(entry).__name__}, not an object"
    net = entry.get("net")
    why, family = net_problem(net)
    if why is not None:
        return None, why
    assert isinstance(net, dict)  # net_problem refuses anything else
    errors = entry.get("test_ep_top1")
    if not isinstance(errors, list) or not errors:
        return None, "no test_ep_top1 list (per-epoch test error)"
    final = _number(errors[-1])
    if final is None or not 0.0 <= final <= 100.0:
        return None, f"final test_ep_top1 value {errors[-1]!r} is not an error percentage"
    finite = [v for v in (_number(e) for e in errors) if v is not None]
    try:
        text = canonical_net(net)
    except ValueError:
        return None, "net holds NaN or infinity"
    return {
        "net": text,
        "family": family,
        "acc": 100.0 - final,                  # NASWOT's ground truth: final-epoch test accuracy
        "best_acc": 100.0 - min(finite),
        "params": _number(entry.get("params")),
        "flops": _number(entry.get("flops")),
        "epochs": len(errors),
    }, None


# ------------------------------------------------------------------ streaming parser


class _Stream:
    """A sliding window over a text file, decoding one JSON value at a time."""

    def __init__(self, f: IO[str], path: Path, chunk: int | None = None):
        self.f, self.path, self.chunk = f, path, chunk or CHUNK_CHARS
        self.buf, self.pos, self.eof = "", 0, False
        self.consumed = 0  # characters dropped from the front of buf

    def _more(self) -> bool:
        """Append a chunk (dropping what was already consumed); False at end of file."""
        if self.eof:
            return False
        data = self.f.read(self.chunk)
        if not data:
            self.eof = True
            return False
        self.consumed += self.pos
        self.buf = self.buf[self.pos:] + data
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next non-blank character ('' at end of file), not consumed."""
        while True:
            blanks = _WS.match(self.buf, self.pos)
            assert blanks is not None  # \s* matches (empty) anywhere
            self.pos = blanks.end()
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def take(self, ch: str) -> None:
        got = self.peek()
        if got != ch:
            where = self.consumed + self.pos
            raise BenchmarkError(f"{self.path} is not an NDS json file: expected {ch!r} at character {where}, "
                                 f"found {got or 'end of file'!r}; pass one of the <sweep>.json files of NDS data.zip")
        self.pos += 1

    def value(self) -> tuple[object, str | None]:
        """Decode the next value: (value, None), or (None, reason) when it is not valid JSON.

        On invalid JSON the window is moved to the end of the broken entry
        (the next entry boundary) so the caller can go on.
        """
        self.peek()
        start = self.pos
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, start)
                self.pos = end
                return obj, None
            except json.JSONDecodeError as exc:
                truncated = exc.pos >= len(self.buf) - 10 or exc.msg.startswith("Unterminated string")
                if truncated and self._more():
                    start = self.pos  # _more() rebased the window
                    continue
                reason = f"invalid JSON ({exc.msg})"
                while True:
                    m = _BOUNDARY.search(self.buf, self.pos + 1)
                    if m is not None:
                        self.pos = m.start() + 1  # just after the broken entry's closing brace
                        return None, reason
                    if not self._more():
                        self.pos = len(self.buf)
                        return None, reason + " at end of file (truncated download?)"

    def array(self) -> Iterator[tuple[object, str | None]]:
        """Yield (entry, reason) for each element of the array whose '[' was just taken."""
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            value, reason = self.value()
            yield value, reason
            c = self.peek()
            if c == ",":
                self.pos += 1
            elif c == "]":
                self.pos += 1
                return
            elif c == "":
                if reason is None:  # a broken last entry already said "at end of file"
                    yield None, "file ends inside the array (truncated download?)"
                return
            else:
                where = self.consumed + self.pos
                raise BenchmarkError(f"{self.path}: unexpected {c!r} between entries at character {where}; "
                                     "the file is damaged, download NDS data.zip again")


def _reduced(pairs: Iterator[tuple[object, str | None]]) -> Iterator[tuple[Row | None, str | None]]:
    for entry, reason in pairs:
        yield (None, reason) if reason is not None else entry_row(entry)


def iter_rows(path: Path) -> Iterator[tuple[int, Row | None, str | None]]:
    """(index, row, reason) for each entry of an NDS file, in NASWOT's order (``top`` + ``mid``).

    Each entry is reduced to a row as soon as it is decoded; ``row`` is None
    and ``reason`` says why when the entry is malformed. A file that is not
    UTF-8 text, or JSON nested deeper than Python's decoder can follow, is a
    BenchmarkError (real NDS entries are a few levels deep).
    """
    try:
        yield from _iter_rows(path)
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start:exc.start + 1].hex() if isinstance(exc.object, bytes) else "?"
        raise BenchmarkError(f"{path} is not UTF-8 text (byte 0x{bad}); NDS json files are UTF-8, "
                             "download NDS data.zip again") from None
    except RecursionError:
        raise BenchmarkError(f"{path}: JSON nested too deeply to be an NDS file; "
                             "pass one of the <sweep>.json files of NDS data.zip") from None


def _iter_rows(path: Path) -> Iterator[tuple[int, Row | None, str | None]]:
    """``iter_rows`` without the decoding guards."""
    with open(path, encoding="utf-8") as f:
        s = _Stream(f, path)
        c = s.peek()
        if c == "[":
            s.take("[")
            for i, (row, reason) in enumerate(_reduced(s.array())):
                yield i, row, reason
            return
        if c != "{":
            raise BenchmarkError(f"{path} is not an NDS json file (it does not start with '[' or '{{'); "
                                 "pass one of the <sweep>.json files of NDS data.zip")
        s.take("{")
        sections: dict[str, list[tuple[Row | None, str | None]]] = {}
        while s.peek() != "}":
            key, reason = s.value()
            if not isinstance(key, str):
                raise BenchmarkError(f"{path}: malformed top-level object; expected an NDS json file")
            s.take(":")
            if key in ("top", "mid") and s.peek() == "[":
                s.take("[")
                # Sections may come in either order; NASWOT reads top then mid.
                sections[key] = list(_reduced(s.array()))
            else:
                s.value()
            if s.peek() == ",":
                s.pos += 1
        if "top" not in sections or "mid" not in sections:
            raise BenchmarkError(f"{path}: a json object without 'top' and 'mid' arrays is not an NDS file; "
                                 "pass one of the <sweep>.json files of NDS data.zip")
        for i, (row, reason) in enumerate(sections["top"] + sections["mid"]):
            yield i, row, reason


# ------------------------------------------------------------------ table


@dataclass
class NDSTable:
    """The usable rows of one NDS file (columns) and what was skipped."""

    source: str
    n_entries: int
    nets: list[str]
    families: list[str]
    acc: np.ndarray         # 100 - final test_ep_top1 (percent)
    best_acc: np.ndarray    # 100 - min test_ep_top1
    params: np.ndarray      # raw counts, NaN when absent
    flops: np.ndarray       # raw counts, NaN when absent
    epochs: np.ndarray
    file_index: np.ndarray  # position of each row in the file (NASWOT's uid)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.nets)

    def to_json(self) -> dict[str, Any]:
        def col(a: np.ndarray) -> list[float | None]:
            return [None if not math.isfinite(v) else v for v in a.tolist()]

        return {"source": self.source, "n_entries": self.n_entries, "nets": self.nets, "families": self.families,
                "acc": col(self.acc), "best_acc": col(self.best_acc), "params": col(self.params),
                "flops": col(self.flops), "epochs": self.epochs.tolist(), "file_index": self.file_index.tolist(),
                "skipped": [list(s) for s in self.skipped]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NDSTable:
        def col(key: str) -> np.ndarray:
            return np.array([np.nan if v is None else v for v in d[key]], dtype=np.float64)

        return cls(d["source"], int(d["n_entries"]), list(d["nets"]), list(d["families"]), col("acc"),
                   col("best_acc"), col("params"), col("flops"), np.array(d["epochs"], dtype=np.int64),
                   np.array(d["file_index"], dtype=np.int64), [(int(i), str(r)) for i, r in d["skipped"]])

    @classmethod
    def from_rows(cls, source: str, n_entries: int, rows: list[tuple[int, Row]],
                  skipped: list[tuple[int, str]]) -> NDSTable:
        def col(key: str) -> np.ndarray:
            return np.array([np.nan if r[key] is None else r[key] for _, r in rows], dtype=np.float64)

        return cls(source, n_entries, [r["net"] for _, r in rows], [r["family"] for _, r in rows],
                   col("acc"), col("best_acc"), col("params"), col("flops"),
                   np.array([r["epochs"] for _, r in rows], dtype=np.int64),
                   np.array([i for i, _ in rows], dtype=np.int64), skipped)


def parse_nds_file(path: Path) -> NDSTable:
    """Read an NDS json file into a table (no caching)."""
    rows: list[tuple[int, Row]] = []
    skipped: list[tuple[int, str]] = []
    n = 0
    for i, row, reason in iter_rows(path):
        n = i + 1
        if row is not None:
            rows.append((i, row))
        elif reason is not None:  # a row or a reason, never both (iter_rows)
            skipped.append((i, reason))
    return NDSTable.from_rows(str(path), n, rows, skipped)


def _cache_path(path: Path, stat: os.stat_result) -> Path:
    from naswot_tui.core.paths import default_cache_dir

    key = f"{FORMAT_VERSION}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return default_cache_dir() / "nds" / f"{path.stem}-{digest}.json"


_MEMO: dict[tuple[str, int, int], NDSTable] = {}  # (resolved path, size, mtime_ns) -> table


def load_nds_table(path: str | Path, warn: bool = True) -> NDSTable:
    """The table of an NDS file: from memory, from the cache, or parsed (and cached) now."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise BenchmarkError(f"NDS file {path} does not exist; download https://dl.fbaipublicfiles.com/nds/data.zip, "
                             "unzip it and pass the space's <sweep>.json with --benchmark-file")
    stat = path.stat()
    memo_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    table = _MEMO.get(memo_key)
    if table is not None:
        return table
    cache = _cache_path(path, stat)
    if cache.is_file():
        try:
            with open(cache, encoding="utf-8") as f:
                data = json.load(f)
            if data.get("version") == FORMAT_VERSION:
                table = NDSTable.from_json(data["table"])
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            table = None  # a damaged cache is rebuilt
    if table is None:
        table = parse_nds_file(path)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".tmp{os.getpid()}")
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"version": FORMAT_VERSION, "table": table.to_json()}, f, separators=(",", ":"))
            os.replace(tmp, cache)
        except OSError:
            pass  # a read-only cache dir only costs a re-parse next time
    if warn:
        report_skipped(table)
    _MEMO[memo_key] = table
    return table


def report_skipped(table: NDSTable) -> None:
    for i, reason in table.skipped[:MAX_WARNINGS]:
        warnings.warn(f"{table.source}: entry {i} skipped: {reason}", NDSWarning, stacklevel=3)
    if len(table.skipped) > MAX_WARNINGS:
        warnings.warn(f"{table.source}: {len(table.skipped) - MAX_WARNINGS} more malformed entries skipped "
                      f"({len(table.skipped)} of {table.n_entries} in all)", NDSWarning, stacklevel=3)


__all__ = ["NDSTable", "NDSWarning", "canonical_net", "entry_row", "iter_rows", "load_nds_table",
           "net_problem", "parse_nds_file", "report_skipped"]
