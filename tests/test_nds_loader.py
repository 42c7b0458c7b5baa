"""NDS json loader, cache and spaces (issue 7)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from naswot_tui.core.benchmarks import ground_truth_for
from naswot_tui.core.benchmarks.nds_json import NDSWarning, load_nds_table, parse_nds_file
from naswot_tui.core.errors import BenchmarkError, ExitCode, UsageError
from naswot_tui.core.spaces import SPACES, get_space
from nds_fixtures import ANYNET_NETS, CELL_NETS, nds_entry, transcribed_records, write_nds

ALL_NETS = {**CELL_NETS, **ANYNET_NETS}


def test_registered_names():
    for name in ("nds-darts", "nds-enas", "nds-pnas", "nds-nasnet", "nds-amoeba", "nds-resnet", "nds-resnext-a",
                 "nds-resnext-b", "nds-vanilla", "nds-darts-fix-w-d", "nds-enas-fix-w-d", "nds-pnas-fix-w-d",
                 "nds-darts-in", "nds-enas-in", "nds-pnas-in", "nds-nasnet-in", "nds-amoeba-in",
                 "nds-resnext-a-in", "nds-resnext-b-in"):
        assert SPACES[name].needs_file, name


def test_missing_file_is_exit_3_with_where_to_get_it():
    with pytest.raises(BenchmarkError) as err:
        get_space("nds-darts")
    msg = str(err.value)
    assert err.value.exit_code == ExitCode.MISSING
    assert "data.zip" in msg and "--benchmark-file" in msg and "DARTS.json" in msg and "\n" not in msg
    with pytest.raises(BenchmarkError):
        get_space("nds-darts", "/nonexistent/DARTS.json")
    with pytest.raises(BenchmarkError):
        ground_truth_for("nds-darts", None)


@pytest.mark.parametrize("sweep", list(ALL_NETS))
def test_every_family_loads(tmp_path, sweep):
    nets = ALL_NETS[sweep]
    path = write_nds(tmp_path / f"{sweep}.json", nets)
    space = get_space("nds-" + sweep.lower(), str(path))
    assert space.size == len(nets)
    for i, net in enumerate(nets):
        assert json.loads(space.arch(i)) == net
        assert space.index(space.arch(i)) == i
        assert space.accuracy(i, "cifar10") == pytest.approx(100 - (10.0 + i))
    assert space.index(f"#{len(nets) - 1}") == len(nets) - 1
    assert space.accuracy(0, "cifar10", split="valid") is None


def test_reruns_layout_is_top_then_mid(tmp_path):
    nets = ANYNET_NETS["ResNet"] + ANYNET_NETS["ResNet"][:1]
    path = write_nds(tmp_path / "ResNet_reruns.json", nets, layout="reruns", errors=[5.0, 6.0, 7.0])
    assert list(json.loads(path.read_text())) == ["mid", "top"]
    space = get_space("nds-resnet-reruns", str(path))
    assert [space.accuracy(i, "cifar10") for i in range(3)] == [95.0, 94.0, 93.0]
    assert space.index(space.arch(2)) == 0  # same net as entry 0: index() gives the first


def test_real_amoeba_record(tmp_path, shared_data):
    rec = transcribed_records()["Amoeba"]
    entry = nds_entry(rec["net"], rec["test_ep_top1[-1]"], job_id=1, params=rec["params"], flops=rec["flops"])
    path = tmp_path / "Amoeba.json"
    path.write_text(json.dumps([entry]))
    space = get_space("nds-amoeba", str(path))
    gt = ground_truth_for("nds-amoeba", str(path))
    assert space.size == 1
    assert gt.accuracy(0, "cifar10") == pytest.approx(93.27)
    assert gt.params(0) == pytest.approx(4.190314)
    assert space.params_raw(0) == 4190314 and space.flops_raw(0) == 664400586
    assert gt.accuracy(0, "imagenet") is None


def test_malformed_entries_are_skipped_by_index(tmp_path):
    good = nds_entry(ANYNET_NETS["Vanilla"][0], 12.5)
    bad_net = nds_entry({"block_type": "double_plain_block", "ds": [1, 2], "ws": [8], "ss": [1, 1]}, 11.0)
    no_acc = {"net": ANYNET_NETS["Vanilla"][1]}
    parts = [json.dumps(good), json.dumps(bad_net), json.dumps(no_acc), '{"net": {oops}, "x": 1}',
             json.dumps(good), "42", json.dumps(nds_entry(CELL_NETS["ENAS"][0], 3.0))]
    path = tmp_path / "Vanilla.json"
    path.write_text("[\n" + ",\n".join(parts) + "\n]\n")
    with pytest.warns(NDSWarning) as rec:
        space = get_space("nds-vanilla", str(path))
    text = "\n".join(str(w.message) for w in rec)
    for i in (1, 2, 3, 5):
        assert f"entry {i} skipped" in text
    assert space.size == 2  # entries 0 and 4; the ENAS entry 6 is not a Vanilla network
    assert [space.file_index(i) for i in range(2)] == [0, 4]
    assert {i for i, _ in space.skipped} == {1, 2, 3, 5, 6}
    assert space.accuracy(1, "cifar10") == pytest.approx(87.5)


def test_truncated_file_keeps_complete_entries(tmp_path):
    text = json.dumps([nds_entry(n, 10.0) for n in ANYNET_NETS["ResNet"]])
    path = tmp_path / "ResNet.json"
    path.write_text(text[: len(text) - 200])
    with pytest.warns(NDSWarning, match="entry 1 skipped.*truncated"):
        space = get_space("nds-resnet", str(path))
    assert space.size == 1


def test_small_chunks_stream_the_same_table(tmp_path, monkeypatch):
    from naswot_tui.core.benchmarks import nds_json

    path = write_nds(tmp_path / "DARTS.json", CELL_NETS["DARTS"] * 3)
    whole = parse_nds_file(path)
    monkeypatch.setattr(nds_json, "CHUNK_CHARS", 97)  # entries span many chunks
    streamed = parse_nds_file(path)
    assert streamed.nets == whole.nets and len(streamed) == 6
    assert np.array_equal(streamed.acc, whole.acc)


def test_cache_table_written_once_and_reused(tmp_path):
    path = write_nds(tmp_path / "ENAS.json", CELL_NETS["ENAS"] * 2)
    cache_root = os.environ["NASWOT_TUI_CACHE_DIR"]
    table = load_nds_table(path)
    files = list(Path(cache_root).glob("nds/ENAS-*.json"))
    assert len(files) == 1
    cached = json.loads(files[0].read_text())
    assert cached["version"] == 1 and cached["table"]["nets"] == table.nets
    # A fresh process reads the cache, not the source: drop the in-memory memo.
    from naswot_tui.core.benchmarks import nds_json

    nds_json._MEMO.clear()
    again = load_nds_table(path)
    assert again.nets == table.nets and np.array_equal(again.acc, table.acc)
    # A changed source (size/mtime) gets a new table.
    write_nds(path, CELL_NETS["ENAS"])
    assert len(load_nds_table(path)) == 1


def test_wrong_file_for_space(tmp_path):
    path = write_nds(tmp_path / "DARTS.json", CELL_NETS["DARTS"])
    with pytest.raises(BenchmarkError, match="not an NDS ResNet file"):
        get_space("nds-resnet", str(path))
    path.write_text('{"something": 1}')
    with pytest.raises(BenchmarkError, match="top"):
        get_space("nds-darts", str(path))


def test_mutate_picks_nearest_other_entry(tmp_path):
    base = ANYNET_NETS["ResNet"][0]
    near = dict(base, ds=[1, 2, 1, 3])                 # one list element differs
    far = dict(base, ds=[1, 3, 3, 3], ws=[8, 16, 16, 24])
    path = write_nds(tmp_path / "ResNet.json", [base, far, near, base])
    space = get_space("nds-resnet", str(path))
    rng = np.random.default_rng(0)
    assert {space.mutate(0, rng) for _ in range(20)} == {2}
    assert space.mutate(2, rng) in (0, 3)


def test_arch_strings_are_validated(tmp_path):
    path = write_nds(tmp_path / "ResNet.json", ANYNET_NETS["ResNet"])
    space = get_space("nds-resnet", str(path))
    with pytest.raises(UsageError):
        space.index("not json")
    with pytest.raises(UsageError):
        space.build(json.dumps(CELL_NETS["DARTS"][0]))
    with pytest.raises(UsageError):
        space.index("#99")
    other = dict(ANYNET_NETS["ResNet"][0], ds=[1, 5, 5, 5])
    with pytest.raises(UsageError, match="not in"):
        space.index(json.dumps(other))


def test_a_cell_file_of_another_space_is_refused(tmp_path):
    """Amoeba genotypes use ops DARTS lacks: passing Amoeba.json as nds-darts is an exit-3 error."""
    import pytest as _pytest

    from naswot_tui.core.errors import BenchmarkError
    from naswot_tui.core.spaces import get_space
    from nds_fixtures import CELL_NETS, write_nds

    path = write_nds(tmp_path / "Amoeba.json", CELL_NETS["Amoeba"])
    assert get_space("nds-amoeba", str(path)).size == len(CELL_NETS["Amoeba"])
    with _pytest.raises(BenchmarkError, match="not in the DARTS space") as info:
        get_space("nds-darts", str(path))
    assert info.value.exit_code == 3
