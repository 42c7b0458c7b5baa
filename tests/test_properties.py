"""Property-based tests (hypothesis) for every parser of user input (issue 11, item 7).

Two kinds of property: round trips (``parse(format(x)) == x`` for every
architecture of every space) and robustness (random or mutated input gives
the parser's one documented error type, never another exception).
Examples are few and deadlines off: these run in the default suite.
"""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import tarfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from naswot_tui.core.errors import BenchmarkError, DataError, UsageError
from naswot_tui.core.spaces import get_space
from naswot_tui.core.spaces.nats_sss import WIDTHS, format_channels, parse_channels
from naswot_tui.core.spaces.nb101_spec import format_spec, parse_spec, random_spec
from naswot_tui.core.spaces.nb201 import OPS as NB201_OPS
from naswot_tui.core.spaces.nb201 import format_cell, parse_cell

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])

# Text that looks like architecture strings, to reach past the first checks.
_ARCH_ALPHABET = st.sampled_from(list("|+~:,0123456789_abcmpnorv \n") + ["²", "٣", "\x00", "é", "{", "}", "\""])
arch_like = st.one_of(st.text(max_size=80), st.text(alphabet=_ARCH_ALPHABET, max_size=80))


def _mutations(text: str):
    """Strategy: ``text`` with one character dropped, replaced or inserted."""
    return st.tuples(st.integers(0, max(len(text) - 1, 0)), st.sampled_from(["drop", "swap", "add"]),
                     st.characters()).map(lambda t: _mutate(text, *t))


def _mutate(text: str, at: int, how: str, ch: str) -> str:
    if how == "drop":
        return text[:at] + text[at + 1:]
    if how == "swap":
        return text[:at] + ch + text[at + 1:]
    return text[:at] + ch + text[at:]


# ------------------------------------------------------------ NB201 / NATS-tss

@FAST
@given(st.lists(st.sampled_from(NB201_OPS), min_size=6, max_size=6))
def test_nb201_round_trip(ops):
    assert parse_cell(format_cell(ops)) == tuple(ops)
    space = get_space("nb201")
    assert space.arch(space.index(format_cell(ops))) == format_cell(ops)


@FAST
@given(st.one_of(arch_like, st.integers(0, 15624).flatmap(lambda i: _mutations(get_space("nb201").arch(i)))))
def test_nb201_garbage_is_a_usage_error(text):
    try:
        ops = parse_cell(text)
    except UsageError:
        return
    assert format_cell(ops) == text  # accepted only when it is canonical


# ------------------------------------------------------------ NATS-sss

@FAST
@given(st.lists(st.sampled_from(WIDTHS), min_size=5, max_size=5))
def test_nats_sss_round_trip(widths):
    assert parse_channels(format_channels(widths)) == tuple(widths)
    space = get_space("nats-sss")
    assert space.arch(space.index(format_channels(widths))) == format_channels(widths)


@FAST
@given(st.one_of(arch_like, st.integers(0, 32767).flatmap(lambda i: _mutations(get_space("nats-sss").arch(i)))))
def test_nats_sss_garbage_is_a_usage_error(text):
    try:
        widths = parse_channels(text)
    except UsageError:
        return
    assert format_channels(widths) == text


# ------------------------------------------------------------ NB101

@FAST
@given(st.integers(0, 2**32 - 1))
def test_nb101_round_trip(seed):
    spec = random_spec(np.random.default_rng(seed))  # a valid, pruned cell of 2..7 vertices
    text = format_spec(spec)
    again = parse_spec(text)
    assert format_spec(again) == text and again.hash() == spec.hash()


@FAST
@given(st.one_of(arch_like, st.sampled_from(["0110001100001000|c3,mp", "0100001000011000|c1,c3"]).flatmap(_mutations)))
def test_nb101_garbage_is_a_usage_error(text):
    with contextlib.suppress(UsageError):
        parse_spec(text)


# ------------------------------------------------------------ NDS: architecture strings and json files

@pytest.fixture(scope="module")
def nds_space(tmp_path_factory):
    """A real NDS DARTS space over a small file in the release's layout."""
    from nds_fixtures import CELL_NETS, write_nds

    path = write_nds(tmp_path_factory.mktemp("nds") / "DARTS.json", CELL_NETS["DARTS"])
    return get_space("nds-darts", str(path))


def test_nds_round_trip(nds_space):
    for i in range(nds_space.size):
        arch = nds_space.arch(i)
        assert nds_space.index(arch) == i
        assert json.loads(arch) == nds_space.parse(arch)


@FAST
@given(text=st.one_of(arch_like, st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                                             lambda inner: st.lists(inner, max_size=3)
                                             | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                                             max_leaves=12).map(json.dumps),
                      st.integers(1, 50_000).map(lambda d: "[" * d + "]" * d)))
def test_nds_garbage_architecture_is_a_usage_error(nds_space, text):
    with contextlib.suppress(UsageError):
        nds_space.index(text)


@FAST
@given(data=st.one_of(st.binary(max_size=300),
                      st.text(max_size=300).map(str.encode),
                      st.sampled_from([b"[", b"{", b'{"top": [', b"[{", b'[{"net": ']).flatmap(
                          lambda head: st.binary(max_size=100).map(lambda tail: head + tail))))
def test_nds_json_garbage_is_a_benchmark_error_or_skipped_rows(tmp_path, data):
    from naswot_tui.core.benchmarks.nds_json import parse_nds_file

    path = tmp_path / "DARTS.json"
    path.write_bytes(data)
    try:
        table = parse_nds_file(path)
    except BenchmarkError as exc:
        assert "\n" not in str(exc)
        return
    assert len(table.nets) + len(table.skipped) == table.n_entries


# ------------------------------------------------------------ tfrecord framing

@FAST
@given(payloads=st.lists(st.binary(max_size=64), max_size=4), cut=st.integers(0, 400), flip=st.integers(0, 400),
       junk=st.binary(max_size=40))
def test_tfrecord_damage_is_a_benchmark_error(payloads, cut, flip, junk):
    from naswot_tui.core.benchmarks.tfrecord import encode_record, iter_records

    whole = b"".join(encode_record(p) for p in payloads)
    assert [p for _, p in iter_records(io.BytesIO(whole))] == payloads   # round trip
    damaged = bytearray(whole[:cut] if cut < len(whole) else whole + junk)
    if damaged and flip < len(damaged):
        damaged[flip] ^= 0x01
    try:
        got = [p for _, p in iter_records(io.BytesIO(bytes(damaged)), batch=2)]
    except BenchmarkError as exc:
        assert "byte offset" in str(exc) and "\n" not in str(exc)
        return
    assert all(p in payloads for p in got)  # whatever passes the CRCs is a real record


# ------------------------------------------------------------ theme TOML and saved TUI state

toml_like = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(['name = "x"', "dark = true", "dark = 3", "[colors]", "[variables]",
                              'primary = "#112233"', "primary = 5", 'accent = "nope"', "primary = [1, [2]]",
                              'name = "UPPER"', "[colors.primary]", 'bogus = "#000000"', "x = {a = 1}",
                              'score-best = "red"', "= =", '"\\ud800" = 1']), max_size=8).map("\n".join),
)


@FAST
@given(text=toml_like)
def test_theme_files_parse_or_give_a_theme_file_error(tmp_path, text):
    from textual.theme import Theme

    from naswot_tui.tui.themes import ThemeFileError, parse_theme

    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        assert isinstance(parse_theme(path), Theme)
    except ThemeFileError as exc:
        assert str(exc).startswith("t.toml: ")


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=3), max_leaves=10)
config_keys = st.sampled_from(["space", "dataset", "n", "repeats", "seed", "unique", "data", "data_root",
                               "batch_size", "budget_s", "amp", "cache", "bogus"])


@FAST
@given(state=st.one_of(json_values, st.dictionaries(st.sampled_from(["theme", "last_config", "other"]),
                                                    st.one_of(json_values, st.dictionaries(config_keys, json_values)))))
def test_saved_tui_state_of_any_shape_loads(tmp_path, state):
    from naswot_tui.core.config import RunConfig
    from naswot_tui.tui.settings import Settings

    settings_ = Settings(runs_dir=tmp_path / "runs", config_dir=tmp_path / "config")
    settings_.config_dir.mkdir(exist_ok=True)
    settings_.state_file.write_text(json.dumps(state))
    loaded = settings_.load_state()
    assert isinstance(loaded, dict) and isinstance(loaded.get("theme", ""), str)
    config = settings_.last_config()
    assert isinstance(config, RunConfig) and isinstance(config.n, int) and isinstance(config.space, str)


# ------------------------------------------------------------ CIFAR / ImageNet16 loaders

def _valid_cifar100(n: int = 12) -> bytes:
    rng = np.random.default_rng(0)
    return pickle.dumps({"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         "fine_labels": list(rng.integers(0, 100, n))}, protocol=2)


@FAST
@given(data=st.one_of(st.binary(max_size=400),
                      st.tuples(st.integers(0, 2000), st.integers(0, 255)).map(
                          lambda t: _flip(_valid_cifar100(), *t)),
                      st.integers(0, 3000).map(lambda k: _valid_cifar100()[:k])))
def test_cifar_batches_random_bytes_give_data_error(tmp_path, data):
    from naswot_tui.core.data import _train_set, make_batch

    folder = tmp_path / "cifar-100-python"
    folder.mkdir(exist_ok=True)
    (folder / "train").write_bytes(data)
    _train_set.cache_clear()
    try:
        batch = make_batch("cifar100", "root", batch_size=4, data_root=str(tmp_path))
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    assert batch.images.shape == (4, 3, 32, 32)


def _flip(raw: bytes, at: int, value: int) -> bytes:
    at %= len(raw)
    return raw[:at] + bytes([value]) + raw[at + 1:]


@FAST
@given(data=st.one_of(st.binary(max_size=400), st.integers(0, 600).map(lambda k: _archive()[:k]),
                      st.tuples(st.integers(0, 600), st.integers(0, 255)).map(lambda t: _flip(_archive(), *t))))
def test_cifar_archives_random_bytes_give_data_error(tmp_path, data):
    from naswot_tui.core.data import _train_set, make_batch

    (tmp_path / "cifar-100-python.tar.gz").write_bytes(data)
    _train_set.cache_clear()
    try:
        make_batch("cifar100", "root", batch_size=4, data_root=str(tmp_path))
    except DataError as exc:
        assert "\n" not in str(exc)


_ARCHIVE: list[bytes] = []


def _archive() -> bytes:
    if not _ARCHIVE:
        buf = io.BytesIO()
        raw = _valid_cifar100()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            info = tarfile.TarInfo("cifar-100-python/train")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
        _ARCHIVE.append(buf.getvalue())
    return _ARCHIVE[0]


@FAST
@given(data=st.one_of(st.binary(max_size=400),
                      st.builds(lambda proto, n: pickle.dumps({"data": np.zeros((n, 768), np.uint8),
                                                               "labels": [1] * n}, protocol=proto),
                                st.integers(2, 5), st.integers(1, 5)).flatmap(
                          lambda raw: st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)).map(
                              lambda t: _flip(raw, *t)))))
def test_imagenet16_random_bytes_give_data_error(tmp_path, data):
    from naswot_tui.core.data import _train_set, make_batch

    folder = tmp_path / "ImageNet16"
    folder.mkdir(exist_ok=True)
    (folder / "train_data_batch_1").write_bytes(data)
    _train_set.cache_clear()
    try:
        make_batch("ImageNet16-120", "root", batch_size=2, data_root=str(tmp_path))
    except DataError as exc:
        assert "\n" not in str(exc)
