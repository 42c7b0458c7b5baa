"""NAS-Bench-101 space: specs, pruning, hash, network, parameters, sampling, scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from naswot_tui.core.errors import UsageError
from naswot_tui.core.scoring import count_params, hooked_modules, score_network
from naswot_tui.core.spaces import get_space
from naswot_tui.core.spaces.nb101 import BENCHMARK_STEM, build_network
from naswot_tui.core.spaces.nb101_ops import vertex_channels
from naswot_tui.core.spaces.nb101_spec import (
    NUM_RAW_CODES,
    OPS,
    canonical_code,
    graph_hash,
    make_spec,
    parse_spec,
    spec_of_raw,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "nasbench101"
NASLIB_OPS = ["input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu"]  # NASLib's codes


def _shared(name: str) -> Path:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"shared NAS-Bench-101 data not found at {path}")
    return path


@pytest.fixture(scope="module")
def space():
    return get_space("nb101")


@pytest.fixture(scope="module")
def reference():
    return json.loads(_shared("reference_specs_transcribed.json").read_text())["examples"]


def _naslib():
    data = json.loads(_shared("naslib_zc_nasbench101.json").read_text())["nasbench101"]["cifar10"]
    out = []
    for key, value in data.items():
        ints = [int(x) for x in key.strip("()").split(",")]
        matrix = np.array(ints[:49]).reshape(7, 7)
        out.append((matrix, [NASLIB_OPS[c] for c in ints[49:]], value))
    return out


def _benchmark_params(matrix, ops) -> int:
    # the meta device allocates nothing: counting 128-channel networks is instant
    with torch.device("meta"):
        net = build_network(make_spec(matrix, ops), BENCHMARK_STEM, num_classes=10)
    return count_params(net)


def _permuted(matrix, ops, rng):
    """The same module with its interior vertices in another topological order."""
    m = np.asarray(matrix)
    v = len(ops)
    while True:
        order = [0, *(rng.permutation(v - 2) + 1), v - 1]
        pm = m[np.ix_(order, order)]
        if not np.tril(pm).any():
            return pm, [ops[k] for k in order]


# ---------------------------------------------------------------- hash, pruning


def test_reference_hashes_and_params(reference):
    nni, inception = reference
    spec = make_spec(nni["matrix_derived"], nni["ops_derived"])
    assert spec.hash() == nni["module_hash"]
    assert _benchmark_params(nni["matrix_derived"], nni["ops_derived"]) == 8555530
    query = make_spec(inception["query_matrix"], inception["query_ops"])
    stored = make_spec(inception["stored_module_adjacency"], inception["stored_module_operations"])
    assert query.hash() == stored.hash() == inception["module_hash_recomputed"]
    assert _benchmark_params(inception["query_matrix"], inception["query_ops"]) == inception["trainable_parameters"]
    assert _benchmark_params(inception["stored_module_adjacency"], inception["stored_module_operations"]) == 2694282
    bits = "".join(str(x) for row in stored.matrix for x in row)
    assert bits == inception["stored_adjacency_string_derived"]


def test_hash_stable_under_vertex_permutation(reference):
    rng = np.random.default_rng(0)
    cells = [(r["matrix_derived"], r["ops_derived"]) for r in reference[:1]]
    cells.append((reference[1]["query_matrix"], reference[1]["query_ops"]))
    if SHARED.joinpath("naslib_zc_nasbench101.json").is_file():
        cells += [(m, o) for m, o, _ in _naslib()]
    for matrix, ops in cells:
        spec = make_spec(matrix, ops)
        for _ in range(3):
            pm, pops = _permuted(spec.matrix, list(spec.ops), rng)
            other = make_spec(pm, pops)
            assert other.hash() == spec.hash()
            assert canonical_code(other) == canonical_code(spec)


def test_hash_uses_python_ints():
    m = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]], dtype=np.int64)
    assert graph_hash(m, [-1, 0, -2]) == graph_hash(m.tolist(), [-1, 0, -2])
    assert graph_hash(m, [-1, 0, -2]) != graph_hash(m, [-1, 1, -2])


def test_pruning_removes_extraneous_vertices():
    # vertex 2 is a dead end (no path to the output), vertex 3 is unreachable from the input
    m = np.zeros((5, 5), dtype=int)
    m[0, 1] = m[1, 4] = m[1, 2] = m[3, 4] = 1
    spec = make_spec(m, ["input", OPS[0], OPS[1], OPS[2], "output"])
    assert spec.ops == ("input", OPS[0], "output")
    assert spec.matrix == ((0, 1, 0), (0, 0, 1), (0, 0, 0))


@pytest.mark.parametrize("matrix, ops, fragment", [
    ([[0, 0], [0, 0]], ["input", "output"], "no path"),
    ([[0, 1], [1, 0]], ["input", "output"], "upper triangular"),
    ([[0, 1], [0, 0]], ["input", "conv3x3-bn-relu"], "end with 'output'"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"], "unknown NAS-Bench-101 op"),
    ([[0, 1], [0, 0]], ["input", "x", "output"], "3 op labels"),
])
def test_invalid_specs(matrix, ops, fragment):
    with pytest.raises(UsageError, match=fragment):
        make_spec(matrix, ops)


def test_edge_limit_applies_after_pruning():
    full = np.triu(np.ones((7, 7), dtype=int), 1)  # 21 edges
    with pytest.raises(UsageError, match="21 edges after pruning"):
        make_spec(full, ["input"] + [OPS[0]] * 5 + ["output"])
    m = np.zeros((7, 7), dtype=int)
    m[0, 1] = m[1, 6] = 1
    m[2:6, 2:6] = np.triu(np.ones((4, 4), dtype=int), 1)  # 6 edges among unreachable vertices
    m[0, 6] = 1
    assert make_spec(m, ["input"] + [OPS[1]] * 5 + ["output"]).num_edges == 3


# ---------------------------------------------------------------- strings, codes


def test_string_round_trip(reference):
    spec = make_spec(reference[0]["matrix_derived"], reference[0]["ops_derived"])
    text = spec.to_string()
    assert text == "0100110001000000010010000010000001000000010000000|c3,mp,c3,c3,c1"
    assert parse_spec(text) == spec
    long_form = text.split("|")[0] + "|" + ",".join(reference[0]["ops_derived"][1:-1])
    assert parse_spec(long_form) == spec
    assert parse_spec("0100|") == make_spec([[0, 1], [0, 0]], ["input", "output"])


@pytest.mark.parametrize("bad, fragment", [
    ("", "empty"),
    ("010011000", "exactly one '|'"),
    ("0100|c3|c3", "exactly one '|'"),
    ("01002|", "0/1 characters"),
    ("01001|", "not V\\*V"),
    ("011001000|c3,c3", "need 1 interior op"),
    ("011001000|c5", "unknown op 'c5'"),
    ("000000000|c3", "no path"),
    ("010001100|c3", "upper triangular"),
])
def test_malformed_strings(space, bad, fragment):
    with pytest.raises(UsageError, match=fragment):
        space.index(bad)


def test_no_file_index_semantics(space, reference):
    assert space.size == NUM_RAW_CODES
    spec = make_spec(reference[1]["query_matrix"], reference[1]["query_ops"])
    i = space.index(spec.to_string())
    assert i == canonical_code(spec)
    assert space.spec(i).hash() == spec.hash()
    assert space.index(space.arch(i)) == i
    # the all-zero code: input and output unconnected
    with pytest.raises(UsageError, match="not a valid cell"):
        space.arch(0)


def test_sampling_without_file(space):
    rng = np.random.default_rng(5)
    indices = [space.sample(rng) for _ in range(120)]
    for i in indices[:50]:
        spec = space.spec(i)
        assert spec.num_vertices <= 7 and spec.num_edges <= 9
        assert canonical_code(spec) == i  # sampled indices are canonical
    assert len({space.spec(i).hash() for i in indices}) == 120  # 423,624 modules: no repeats expected
    again = [space.sample(np.random.default_rng(5)) for _ in range(1)]
    assert again[0] == indices[0]


def test_sampling_is_uniform_over_modules_by_size(space):
    # 85% of the benchmark's modules have 7 vertices, 14.6% have 6
    rng = np.random.default_rng(11)
    sizes = [space.spec(space.sample(rng)).num_vertices for _ in range(300)]
    share7 = sizes.count(7) / len(sizes)
    assert 0.78 < share7 < 0.92
    assert set(sizes) <= {4, 5, 6, 7}


def test_sampling_is_uniform_within_a_size():
    from naswot_tui.core.spaces.nb101_spec import random_spec

    rng = np.random.default_rng(2)
    counts: dict[str, int] = {}
    for _ in range(84 * 40):
        h = random_spec(rng, 4).hash()
        counts[h] = counts.get(h, 0) + 1
    assert len(counts) == 84  # every 4-vertex module, each about 40 times
    assert min(counts.values()) > 15 and max(counts.values()) < 70


def _count_modules(v_count: int) -> int:
    """Unique hashes of every valid unpruned v-vertex spec, by brute force."""
    import itertools

    from naswot_tui.core.spaces.nb101_spec import prune

    pairs = [(i, j) for i in range(v_count) for j in range(i + 1, v_count)]
    seen = set()
    for bits in range(1 << len(pairs)):
        if bin(bits).count("1") > 9:
            continue
        m = np.zeros((v_count, v_count), dtype=np.int64)
        for k, (i, j) in enumerate(pairs):
            m[i, j] = bits >> k & 1
        pruned = prune(m, ["input"] + ["x"] * (v_count - 2) + ["output"])
        if pruned is None or len(pruned[1]) != v_count:
            continue
        rows = m.tolist()
        for ops in itertools.product(range(3), repeat=v_count - 2):
            seen.add(graph_hash(rows, [-1, *ops, -2]))
    return len(seen)


def test_module_counts_small():
    from naswot_tui.core.spaces.nb101_spec import MODULES_BY_VERTICES, NUM_MODULES

    assert NUM_MODULES == 423624
    for v in (2, 3, 4, 5):
        assert _count_modules(v) == MODULES_BY_VERTICES[v]


@pytest.mark.slow
def test_module_count_six_vertices():
    from naswot_tui.core.spaces.nb101_spec import MODULES_BY_VERTICES

    assert _count_modules(6) == MODULES_BY_VERTICES[6]


def test_mutation_is_one_change(space):
    rng = np.random.default_rng(7)
    for _ in range(40):
        i = space.sample(rng)
        j = space.mutate(i, rng)
        assert j != i and space.spec(j).hash() != space.spec(i).hash()
        assert canonical_code(space.spec(j)) == j


# ---------------------------------------------------------------- network


def test_vertex_channels_split():
    # three interior vertices all feed the output: 128 = 43 + 43 + 42
    m = [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0] * 5]
    assert vertex_channels(m, 64, 128) == [64, 43, 43, 42, 128]
    # vertex 1 feeds only vertex 2: it takes its successor's count
    m = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0] * 4]
    assert vertex_channels(m, 16, 32) == [16, 32, 32, 32]


def _check_params(rows):
    bad = []
    for matrix, ops, value in rows:
        got = _benchmark_params(matrix, ops)
        if got != round(value["params"] * 1e6):
            bad.append((make_spec(matrix, ops).to_string(), got, value["params"]))
    assert not bad, bad[:5]


def test_params_equal_naslib_all_500():
    # about 11 s on a loaded 2-core machine (meta-device networks), so not marked slow
    rows = _naslib()
    assert len(rows) == 500
    _check_params(rows)


def test_scored_network_shape_and_hooks(space, reference):
    arch = make_spec(reference[0]["matrix_derived"], reference[0]["ops_derived"]).to_string()
    net = space.build(arch)
    assert net.layers[0].op[0].out_channels == 16  # the authors' 16-channel stem
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 1)
    hooked = hooked_modules(net, "reference")
    assert {type(m).__name__ for m in hooked} == {"ReLU"}  # ConvBnRelu must not match
    # stem + per cell (4 conv vertices + 3 input projections) x 9 cells
    assert len(hooked) == 1 + 9 * (4 + 3)
    with torch.device("meta"):
        assert count_params(space.build_benchmark(arch)) == 8555530


@pytest.mark.parametrize("which", ["nni", "inception", "projection_only", "single_feeder_plus_input"])
def test_score_equals_authors_procedure(space, reference, which):
    from authors_reference import authors_score

    cells = {
        "nni": (reference[0]["matrix_derived"], reference[0]["ops_derived"]),
        "inception": (reference[1]["query_matrix"], reference[1]["query_ops"]),
        "projection_only": ([[0, 1], [0, 0]], ["input", "output"]),
        # one interior vertex feeds the output and the input does too: the
        # authors' in-place add would fail here; ours adds out of place
        "single_feeder_plus_input": ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", OPS[0], "output"]),
    }
    spec = make_spec(*cells[which])
    torch.manual_seed(0)
    batch = torch.randn(8, 3, 16, 16)  # small: this is a shared 2-core machine
    torch.manual_seed(1)
    net = space.build(spec.to_string())
    ours = score_network(net, batch, "reference")
    assert ours == authors_score(net, batch, "reference")
    assert np.isfinite(ours)


def test_spec_of_raw_matches_padding():
    spec = spec_of_raw(canonical_code(make_spec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", OPS[2], "output"])))
    assert spec.ops == ("input", OPS[2], "output")
