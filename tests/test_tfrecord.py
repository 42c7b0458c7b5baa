"""NAS-Bench-101 tfrecord reader: CRC32C, framing, protobuf, conversion, corruption.

The test files are written here byte by byte in the real format, with an
independent bit-at-a-time CRC32C and a hand-rolled protobuf encoder, so the
reader is checked against the format, not against itself.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from naswot_tui.core.benchmarks import ground_truth_for
from naswot_tui.core.benchmarks.nb101_tfrecord import (
    cache_path,
    decode_model_metrics,
    load_table,
    open_nb101,
)
from naswot_tui.core.benchmarks.tfrecord import (
    crc32c,
    crc32c_many,
    encode_record,
    mask_crc,
    read_records,
)
from naswot_tui.core.errors import BenchmarkError

# ---------------------------------------------------------------- independent writer


def _crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    c = _crc32c_bitwise(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _frame(payload: bytes) -> bytes:
    n = struct.pack("<Q", len(payload))
    return n + struct.pack("<I", _masked(n)) + payload + struct.pack("<I", _masked(payload))


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _eval_data(epoch, time_, train, valid, test, path="") -> bytes:
    body = (b"\x09" + struct.pack("<d", epoch) + b"\x11" + struct.pack("<d", time_)
            + b"\x19" + struct.pack("<d", train) + b"\x21" + struct.pack("<d", valid)
            + b"\x29" + struct.pack("<d", test))
    if path:
        body += b"\x32" + _varint(len(path)) + path.encode()
    return body


def _metrics(params: int, final: tuple, epochs: int = 108, unknown_field: bool = False) -> bytes:
    """ModelMetrics: eval at start, halfway, end; params; total time."""
    test, valid, time_ = final
    evals = [_eval_data(0, 0, 0.1, 0.1, 0.1), _eval_data(epochs / 2, time_ / 2, 0.8, 0.8, 0.8, "ckpt/half"),
             _eval_data(epochs, time_, 1.0, valid, test)]
    out = b"".join(b"\x0a" + _varint(len(e)) + e for e in evals)
    out += b"\x10" + _varint(params) + b"\x19" + struct.pack("<d", time_ + 12.5)
    if unknown_field:
        out += b"\x78" + _varint(7)  # field 15, varint: must be skipped
    return out


def _payload(h, epochs, bits, ops, metrics) -> bytes:
    return json.dumps([h, epochs, bits, ",".join(ops), base64.b64encode(metrics).decode()]).encode()


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "nasbench101"

# Two real modules (reference_specs_transcribed.json); the per-repeat values of
# the first are nni's printed ones, those of the second partly synthetic.
NNI_HASH = "00005c142e6f48ac74fdcf73e3439874"
NNI_BITS = "0100110001000000010010000010000001000000010000000"
NNI_OPS = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"]
NNI_REPEATS = [(0.9211738705635071, 0.9241786599159241, 1769.1279296875),
               (0.9190705418586731, 0.9245793223381042, 1768.2509765625),
               (0.9215745329856873, 0.9304887652397156, 1768.9759521484375)]
INC_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"
INC_BITS = "0111100000000100000010000001000001000000010000000"
INC_OPS = ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"]
INC_REPEATS = [(0.9311898946762085, 0.9376001358032227, 1155.85302734375),
               (0.9290865659713745, 0.9350961446762085, 1157.0),
               (0.9300881624221802, 0.9366987347602844, 1156.5)]


def _records(full: bool = False) -> list[bytes]:
    recs = []
    for h, bits, ops, params, reps in ((NNI_HASH, NNI_BITS, NNI_OPS, 8555530, NNI_REPEATS),
                                       (INC_HASH, INC_BITS, INC_OPS, 2694282, INC_REPEATS)):
        if full:  # the full file also holds shorter budgets; they must be ignored
            recs.append(_payload(h, 4, bits, ops, _metrics(params, (0.5, 0.5, 60.0), 4)))
        for k, rep in enumerate(reps):
            recs.append(_payload(h, 108, bits, ops, _metrics(params, rep, unknown_field=(k == 1))))
    return recs


def _write(path: Path, payloads: list[bytes]) -> list[int]:
    offsets, data = [], b""
    for p in payloads:
        offsets.append(len(data))
        data += _frame(p)
    path.write_bytes(data)
    return offsets


# ---------------------------------------------------------------- CRC


def test_crc32c_check_vectors():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert mask_crc(crc32c(struct.pack("<Q", 24))) == 0x224B7FA3


def test_vectorised_crc_equals_scalar_and_bitwise():
    rng = np.random.default_rng(0)
    payloads = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in (0, 1, 2, 3, 4, 5, 9, 64, 391, 1000)]
    got = [int(c) for c in crc32c_many(payloads)]
    assert got == [crc32c(p) for p in payloads] == [_crc32c_bitwise(p) for p in payloads]


def test_our_writer_matches_independent_framing():
    p = b'["x", 1]'
    assert encode_record(p) == _frame(p)


# ---------------------------------------------------------------- protobuf


def test_model_metrics_decoding():
    m = decode_model_metrics(_metrics(8555530, NNI_REPEATS[0], unknown_field=True))
    assert m["trainable_parameters"] == 8555530
    assert m["total_time"] == NNI_REPEATS[0][2] + 12.5
    assert len(m["evaluation_data"]) == 3
    final = m["evaluation_data"][2]
    assert final["test_accuracy"] == NNI_REPEATS[0][0]
    assert final["validation_accuracy"] == NNI_REPEATS[0][1]
    assert final["training_time"] == NNI_REPEATS[0][2]
    assert m["evaluation_data"][1]["checkpoint_path"] == "ckpt/half"
    assert m["evaluation_data"][0]["checkpoint_path"] == ""


# ---------------------------------------------------------------- files


@pytest.mark.parametrize("full", [False, True])
def test_round_trip_and_ground_truth(tmp_path, full):
    path = tmp_path / ("nasbench_full.tfrecord" if full else "nasbench_only108.tfrecord")
    payloads = _records(full)
    offsets = _write(path, payloads)
    got = list(read_records(path, batch=2))  # small batches: exercise the flushing
    assert [o for o, _ in got] == offsets
    assert [p for _, p in got] == payloads

    table = load_table(path)
    assert len(table) == 2
    assert [table.hash(0), table.hash(1)] == [NNI_HASH, INC_HASH]  # first-appearance order
    assert table.arrays["params"].tolist() == [8555530, 2694282]
    assert table.repeats(0, "test").tolist() == [r[0] for r in NNI_REPEATS]
    matrix, labels = table.spec_arrays(1)
    assert "".join(map(str, matrix.ravel())) == INC_BITS
    assert labels == [-1, 0, 1, 2, 0, 0, -2]
    assert cache_path(path).is_file()

    mean = open_nb101(path, "mean")
    mx = open_nb101(path, "max")
    assert "mean of 3 repeats" in mean.source and "max of 3 repeats" in mx.source
    assert mean.accuracy(0, "cifar10", "test") == pytest.approx(100 * np.mean([r[0] for r in NNI_REPEATS]), abs=1e-12)
    assert mx.accuracy(0, "cifar10", "test") == 100 * max(r[0] for r in NNI_REPEATS)
    assert mean.accuracy(1, "cifar10", "valid") == pytest.approx(100 * np.mean([r[1] for r in INC_REPEATS]), abs=1e-12)
    # nni printed 92.11738705635071 / 91.907... / 92.157...: mean 92.0606, max 92.1575
    assert mean.accuracy(0, "cifar10", "test") == pytest.approx(92.06063151359558, abs=1e-9)
    assert mean.params(0) == pytest.approx(8.55553)
    assert mean.train_time(0, "cifar10") == pytest.approx(np.mean([r[2] for r in NNI_REPEATS]))
    assert mx.train_time(0, "cifar10") == NNI_REPEATS[2][2]  # the max-test-accuracy repeat
    assert mean.accuracy(0, "cifar100", "test") is None
    assert mean.accuracy(0, "cifar10", "test", epochs=12) is None

    # through the public entry point
    truth = ground_truth_for("nb101", str(path))
    assert truth.accuracy(0, "cifar10", "test") == mean.accuracy(0, "cifar10", "test")
    assert "NAS-Bench-101" in truth.source


def test_cache_is_reused(tmp_path, monkeypatch):
    path = tmp_path / "nasbench_only108.tfrecord"
    _write(path, _records())
    load_table(path)
    target = cache_path(path)
    assert target.parent.parent == Path(os.environ["NASWOT_TUI_CACHE_DIR"])
    stamp = target.stat().st_mtime_ns
    import naswot_tui.core.benchmarks.nb101_tfrecord as mod

    def boom(*a, **k):
        raise AssertionError("converted again")

    monkeypatch.setattr(mod, "convert", boom)
    table = load_table(path)
    assert table.hash(1) == INC_HASH and target.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("where", ["length", "length_crc", "payload", "payload_crc"])
def test_flipped_byte_is_rejected_with_offset(tmp_path, where):
    path = tmp_path / "nasbench_only108.tfrecord"
    offsets = _write(path, _records())
    data = bytearray(path.read_bytes())
    victim = offsets[3]
    length = struct.unpack_from("<Q", data, victim)[0]
    pos = {"length": victim + 1, "length_crc": victim + 9, "payload": victim + 12 + length // 2,
           "payload_crc": victim + 12 + length + 2}[where]
    data[pos] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BenchmarkError, match=f"byte offset {victim}\\b") as err:
        load_table(path)
    assert "CRC mismatch" in str(err.value)
    assert not cache_path(path).exists()  # nothing half-converted is kept


@pytest.mark.parametrize("cut", [5, 14, 40])
def test_truncated_file_is_rejected_with_offset(tmp_path, cut):
    path = tmp_path / "nasbench_only108.tfrecord"
    offsets = _write(path, _records())
    data = path.read_bytes()
    path.write_bytes(data[: offsets[-1] + cut])
    with pytest.raises(BenchmarkError, match=f"truncated record at byte offset {offsets[-1]}\\b"):
        load_table(path)


def test_bad_payload_is_rejected_with_offset(tmp_path):
    path = tmp_path / "x.tfrecord"
    good = _records()[:2]
    offsets = _write(path, good + [b'["not", "five"]'])
    with pytest.raises(BenchmarkError, match=f"byte offset {offsets[2]} .*five items"):
        load_table(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(BenchmarkError, match="does not exist"):
        ground_truth_for("nb101", str(tmp_path / "nope.tfrecord"))
    empty = tmp_path / "empty.tfrecord"
    empty.write_bytes(b"")
    with pytest.raises(BenchmarkError, match="no records"):
        load_table(empty)


def test_space_with_file_uses_the_table(tmp_path):
    from naswot_tui.core.spaces import get_space

    path = tmp_path / "nasbench_only108.tfrecord"
    _write(path, _records())
    space = get_space("nb101", str(path))
    assert space.size == 2
    assert space.arch(0) == NNI_BITS + "|c3,mp,c3,c3,c1"
    assert space.index(INC_HASH) == 1
    assert space.arch_hash(1) == INC_HASH
    # the Inception-like cell in its query vertex order finds the same module
    if SHARED.is_dir():
        ref = json.loads((SHARED / "reference_specs_transcribed.json").read_text())["examples"][1]
        from naswot_tui.core.spaces.nb101_spec import make_spec

        assert space.spec_index(make_spec(ref["query_matrix"], ref["query_ops"])) == 1
    rng = np.random.default_rng(0)
    assert {space.sample(rng) for _ in range(50)} == {0, 1}
