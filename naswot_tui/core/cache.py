"""A persistent score cache: SQLite in the user cache dir.

A score is reusable only when everything that determines it is the same, so
the key (``CacheKey``) holds: search space, data fingerprint (the batch's
SHA-256 prefix), batch size, hook rule, proxy, initialisation policy (the
per-architecture seed is ``init_seed(run_seed, index)``, so the policy name
*and the run seed* are in the key), dtype/precision (fp32, TF32, AMP),
device kind (``device_kind``: the CPU's vector instruction set or the GPU's
compute capability, since each picks other convolution kernels, which round
differently) and the package version. Rows are (context, architecture index) with the
architecture string stored and checked on read.

Concurrency: WAL journal, a 30 s busy timeout and short write transactions,
so two runs (two processes) can fill one cache at once; ``INSERT OR
REPLACE`` makes a race between them harmless (both write the same score).
A damaged or unreadable cache never stops a run: the evaluator falls back
to scoring (see ``ArchEvaluator``). Opening one raises ``CacheUnusable`` (one
line, exit 1); ``move_aside`` renames the bad file (or a directory standing
where the file should be) so ``naswot-tui cache clear`` can always reset it.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from naswot_tui.core.errors import NaswotError
from naswot_tui.core.paths import default_cache_dir

FILENAME = "scores.sqlite3"
INIT_POLICY = "seedseq-v1"  # torch.manual_seed(SeedSequence([run_seed, index])) then default init


def device_kind(device: Any) -> str:
    """The numeric identity of a scoring device: scores repeat bit for bit only on one kind.

    On CPU that is ATen's vector instruction set (``cpu-avx512``, ``cpu-avx2``,
    ``cpu-default``, ...; ``ATEN_CPU_CAPABILITY`` lowers it), with oneDNN's cap
    appended when ``ONEDNN_MAX_CPU_ISA`` is set: both choose kernels that sum in
    another order. Measured: NB201 scores on an AVX2 and an AVX-512 machine
    differ by up to 3e-7 relative, median 6e-9. On CUDA: the compute capability.
    """
    import torch

    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        return f"cuda-sm{major}{minor}"
    kind = "cpu-" + torch.backends.cpu.get_cpu_capability().lower().replace(" ", "_")
    onednn = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    return f"{kind}+onednn-{onednn.strip().lower()}" if onednn else kind

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contexts (
    id INTEGER PRIMARY KEY,
    space TEXT NOT NULL, data_fingerprint TEXT NOT NULL, batch_size INTEGER NOT NULL,
    hook_rule TEXT NOT NULL, proxy TEXT NOT NULL, init_policy TEXT NOT NULL, dtype TEXT NOT NULL,
    device_kind TEXT NOT NULL, version TEXT NOT NULL,
    UNIQUE (space, data_fingerprint, batch_size, hook_rule, proxy, init_policy, dtype, device_kind, version)
);
CREATE TABLE IF NOT EXISTS scores (
    ctx INTEGER NOT NULL REFERENCES contexts(id) ON DELETE CASCADE,
    arch_index INTEGER NOT NULL,
    arch TEXT NOT NULL,
    score REAL,             -- finite score, else NULL and 'special' says which
    special TEXT,           -- '-inf' | 'inf' | 'nan' | NULL
    params REAL,            -- millions, when known
    t_s REAL,               -- seconds the original scoring took
    created REAL NOT NULL,
    PRIMARY KEY (ctx, arch_index)
) WITHOUT ROWID;
"""


class CacheUnusable(NaswotError):
    """The cache file cannot be opened or used: garbage, read-only, a directory, ..."""

    def __init__(self, path: Path, exc: BaseException) -> None:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        super().__init__(f"score cache {path} is unusable ({reason}); "
                         "run `naswot-tui cache clear` to reset it (or --no-cache)")
        self.path, self.reason = Path(path), reason


def move_aside(path: Path) -> Path:
    """Rename a broken cache (file or directory) and its WAL side files; returns the new name.

    Moving rather than deleting keeps a file the user may want to inspect; the
    next run creates a fresh cache. Raises ``NaswotError`` when even that fails.
    """
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while target.exists():
        target, n = path.with_name(f"{path.name}.broken-{stamp}-{n}"), n + 1
    try:
        path.rename(target)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.is_file():
                side.rename(target.with_name(target.name + suffix))
    except OSError as exc:
        raise NaswotError(f"cannot move the broken score cache {path} aside ({exc.strerror or exc}); "
                          f"delete it by hand or set NASWOT_TUI_CACHE_DIR to another folder") from None
    return target


@dataclass(frozen=True)
class CacheKey:
    space: str
    data_fingerprint: str
    batch_size: int
    hook_rule: str
    proxy: str
    init_policy: str       # e.g. "seedseq-v1:seed=1"
    dtype: str             # "fp32", "fp32+tf32", "amp-bf16", ...
    device_kind: str       # device_kind(): "cpu-avx512", "cpu-avx2", "cuda-sm90", ...
    version: str


@dataclass(frozen=True)
class CachedScore:
    index: int
    arch: str
    score: float | None
    params: float | None
    t_s: float | None


def _encode(score: float | None) -> tuple[float | None, str | None]:
    if score is None:
        return None, None
    if math.isnan(score):
        return None, "nan"
    if math.isinf(score):
        return None, "inf" if score > 0 else "-inf"
    return float(score), None


def _decode(score: float | None, special: str | None) -> float | None:
    if special is None:
        return score
    return {"-inf": -math.inf, "inf": math.inf, "nan": math.nan}[special]


class ScoreCache:
    """One SQLite file; safe to share between threads (one lock) and processes (WAL)."""

    def __init__(self, path: str | Path | None = None, timeout: float = 30.0) -> None:
        self.path = Path(path) if path else default_cache_dir() / FILENAME
        self._lock = threading.Lock()
        conn: sqlite3.Connection | None = None
        try:
            if self.path.is_dir():  # sqlite's own message ("unable to open") would not say why
                raise IsADirectoryError(f"{self.path} is a directory, not a cache file")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=timeout, check_same_thread=False,
                                   isolation_level=None)  # autocommit; explicit BEGIN for writes
            self._conn = conn
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
            self._conn.execute("PRAGMA foreign_keys=ON")
            with self._write():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
            self._check_schema()
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            raise CacheUnusable(self.path, exc) from None
        self._contexts: dict[CacheKey, int] = {}

    def _check_schema(self) -> None:
        """An SQLite file made by someone else ("CREATE TABLE IF NOT EXISTS" kept its tables)."""
        for table, needed in (("contexts", [f.name for f in fields(CacheKey)]),
                              ("scores", ["ctx", "arch_index", "arch", "score", "special", "params", "t_s"])):
            have = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            missing = [c for c in needed if c not in have]
            if missing:
                raise sqlite3.DatabaseError(f"not a naswot-tui score cache: table {table} lacks {', '.join(missing)}")

    # ------------------------------------------------------------ plumbing
    class _Tx:
        def __init__(self, cache: ScoreCache) -> None:
            self.cache = cache

        def __enter__(self) -> sqlite3.Connection:
            self.cache._lock.acquire()
            try:
                # IMMEDIATE takes the write lock now (waiting up to the busy
                # timeout), so a transaction never fails half-way on a lock.
                self.cache._conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.cache._lock.release()
                raise
            return self.cache._conn

        def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                     tb: TracebackType | None) -> Literal[False]:
            try:
                self.cache._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
            finally:
                self.cache._lock.release()
            return False

    def _write(self) -> ScoreCache._Tx:
        return ScoreCache._Tx(self)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ScoreCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ contexts
    def context_id(self, key: CacheKey, create: bool = True) -> int | None:
        if key in self._contexts:
            return self._contexts[key]
        names = [f.name for f in fields(CacheKey)]
        where = " AND ".join(f"{n} = ?" for n in names)
        with self._lock:
            row = self._conn.execute(f"SELECT id FROM contexts WHERE {where}", astuple(key)).fetchone()
        if row is None and create:
            with self._write() as conn:
                conn.execute(f"INSERT OR IGNORE INTO contexts ({', '.join(names)}) VALUES "
                             f"({', '.join('?' * len(names))})", astuple(key))
                row = conn.execute(f"SELECT id FROM contexts WHERE {where}", astuple(key)).fetchone()
        if row is None:
            return None
        self._contexts[key] = int(row[0])
        return self._contexts[key]

    # ------------------------------------------------------------ reads
    def count(self, key: CacheKey) -> int:
        ctx = self.context_id(key, create=False)
        if ctx is None:
            return 0
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM scores WHERE ctx = ?", (ctx,)).fetchone()[0])

    def load(self, key: CacheKey, indices: Iterable[int] | None = None) -> dict[int, CachedScore]:
        """Every cached score of ``key`` (or of ``indices``), in one query."""
        ctx = self.context_id(key, create=False)
        if ctx is None:
            return {}
        sql = "SELECT arch_index, arch, score, special, params, t_s FROM scores WHERE ctx = ?"
        with self._lock:
            if indices is None:
                rows = self._conn.execute(sql, (ctx,)).fetchall()
            else:
                wanted = sorted(set(int(i) for i in indices))
                rows = []
                for k in range(0, len(wanted), 900):  # SQLite's bound-parameter limit
                    chunk = wanted[k:k + 900]
                    rows += self._conn.execute(sql + f" AND arch_index IN ({', '.join('?' * len(chunk))})",
                                               (ctx, *chunk)).fetchall()
        return {r[0]: CachedScore(r[0], r[1], _decode(r[2], r[3]), r[4], r[5]) for r in rows}

    def get(self, key: CacheKey, index: int) -> CachedScore | None:
        return self.load(key, [index]).get(int(index))

    # ------------------------------------------------------------ writes
    def put_many(self, key: CacheKey, rows: Iterable[tuple[int, str, float | None, float | None, float | None]]) -> int:
        """Store (index, arch, score, params, t_s) rows in one transaction."""
        ctx = self.context_id(key)
        now = time.time()
        data = [(ctx, int(i), arch, *_encode(score), params, t_s, now) for i, arch, score, params, t_s in rows]
        if not data:
            return 0
        with self._write() as conn:
            conn.executemany("INSERT OR REPLACE INTO scores (ctx, arch_index, arch, score, special, params, t_s, "
                             "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data)
        return len(data)

    def put(self, key: CacheKey, index: int, arch: str, score: float | None, params: float | None = None,
            t_s: float | None = None) -> None:
        self.put_many(key, [(index, arch, score, params, t_s)])

    # ------------------------------------------------------------ admin
    def info(self) -> dict[str, Any]:
        with self._lock:
            total = self._conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
            per = self._conn.execute(
                "SELECT c.space, c.proxy, c.hook_rule, c.batch_size, c.device_kind, c.dtype, c.version, "
                "c.init_policy, c.data_fingerprint, COUNT(s.arch_index) FROM contexts c "
                "LEFT JOIN scores s ON s.ctx = c.id GROUP BY c.id ORDER BY c.space, c.id").fetchall()
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        keys = ("space", "proxy", "hook_rule", "batch_size", "device_kind", "dtype", "version", "init_policy",
                "data_fingerprint", "scores")
        return {"path": str(self.path), "bytes": size, "scores": total,
                "contexts": [dict(zip(keys, row, strict=True)) for row in per]}

    def clear(self, space: str | None = None) -> int:
        """Delete all scores (or one space's); returns how many rows went."""
        with self._write() as conn:
            if space is None:
                n = int(conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0])
                conn.execute("DELETE FROM scores")
                conn.execute("DELETE FROM contexts")
            else:
                n = int(conn.execute("SELECT COUNT(*) FROM scores s JOIN contexts c ON s.ctx = c.id "
                                     "WHERE c.space = ?", (space,)).fetchone()[0])
                conn.execute("DELETE FROM scores WHERE ctx IN (SELECT id FROM contexts WHERE space = ?)", (space,))
                conn.execute("DELETE FROM contexts WHERE space = ?", (space,))
        self._contexts.clear()
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            if space is None:
                self._conn.execute("VACUUM")
        return n
