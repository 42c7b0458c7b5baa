"""Benchmark files are read without running their code (issue 11, item 6).

Real NATS-Bench fixtures and a tiny real NB201 ``.pth`` (written with the
installed nas_201_api classes) load through the restricted unpickler; files
that carry a ``__reduce__`` payload are refused with BenchmarkError and the
payload never runs (its marker file is never created).
"""

from __future__ import annotations

import bz2
import pickle
import pickletools
import shutil
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest

from naswot_tui.core.benchmarks import ground_truth_for
from naswot_tui.core.benchmarks.adapters import load_nats_dir, load_nb201_pth
from naswot_tui.core.benchmarks.safe_pickle import allowed_globals, load_pbz2
from naswot_tui.core.errors import BenchmarkError, ExitCode
from naswot_tui.core.spaces import get_space

TSS = "NATS-tss-v1_0-3ffb9-simple"
SSS = "NATS-sss-v1_0-50262-simple"


class _WritesMarker:
    """Unpickling this calls ``open(marker, 'w')``: a stand-in for any payload."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _globals_in(data: bytes) -> set[tuple[str, str]]:
    """(module, name) of every GLOBAL / STACK_GLOBAL in a pickle stream."""
    found, strings = set(), []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif op.name == "GLOBAL":
            module, name = arg.split(" ", 1)
            found.add((module, name))
        elif op.name == "STACK_GLOBAL":
            found.add((strings[-2], strings[-1]))
    return found


@pytest.fixture
def nats_dirs(shared_data, tmp_path):
    out = {}
    for name in (TSS, SSS):
        shutil.copytree(shared_data / "nats_fake_torch_dir" / name, tmp_path / name)
        out[name] = tmp_path / name
    return out


def test_real_nats_files_hold_only_the_admitted_globals(shared_data):
    admitted = set(allowed_globals())
    seen = set()
    for path in sorted((shared_data / "nats_fake_torch_dir").glob("*/*.pickle.pbz2")):
        seen |= _globals_in(bz2.decompress(path.read_bytes()))
        assert isinstance(load_pbz2(path), dict)
    assert seen == {("collections", "OrderedDict"), ("numpy.core.multiarray", "scalar"), ("numpy", "dtype")}
    assert seen <= admitted
    assert ("numpy._core.multiarray", "scalar") in admitted  # numpy 2's spelling


@pytest.mark.parametrize("name,kind", [(TSS, "tss"), (SSS, "sss")])
def test_safe_and_trusted_nats_loaders_agree(nats_dirs, name, kind):
    safe, trusted = load_nats_dir(nats_dirs[name], kind), load_nats_dir(nats_dirs[name], kind, trust=True)
    for index in (0, 11, 284):
        for dataset, split in (("cifar10", "test"), ("cifar100", "valid"), ("ImageNet16-120", "test")):
            value = safe.accuracy(index, dataset, split)
            assert value is not None and value == trusted.accuracy(index, dataset, split)
        assert safe.params(index) == trusted.params(index)
    assert safe.accuracy(0, "cifar10", "test") == pytest.approx(85.8633, abs=1e-3) if kind == "tss" else True
    with pytest.raises(AssertionError):  # an architecture the cut-down archive lacks
        safe.accuracy(5, "cifar10", "test")


@pytest.mark.parametrize("victim", ["meta.pickle.pbz2", "000011.pickle.pbz2"])
def test_malicious_nats_pickle_is_refused_and_runs_nothing(nats_dirs, tmp_path, victim):
    folder = nats_dirs[TSS]
    marker = tmp_path / "pwned"
    payload = {"meta_archs": ["|x~0|"], "evil": _WritesMarker(marker)} if victim.startswith("meta") \
        else OrderedDict({"200": _WritesMarker(marker)})
    with bz2.BZ2File(folder / victim, "wb") as fh:
        pickle.dump(payload, fh, protocol=4)
    api = None
    with pytest.raises(BenchmarkError, match=r"refusing global .*open.*--trust-benchmark-file") as info:
        api = load_nats_dir(folder, "tss")
        api.accuracy(11, "cifar10", "test")  # the per-arch file is read on first use
    assert "\n" not in str(info.value) and info.value.exit_code == ExitCode.MISSING
    assert api is None or victim != "meta.pickle.pbz2"
    assert not marker.exists()


def test_damaged_nats_meta_is_a_benchmark_error(nats_dirs):
    (nats_dirs[TSS] / "meta.pickle.pbz2").write_bytes(b"not bz2 at all")
    with pytest.raises(BenchmarkError, match="cannot read .*meta.pickle.pbz2"):
        load_nats_dir(nats_dirs[TSS], "tss")


@pytest.mark.parametrize("space,folder,says", [("nats-sss", TSS, "--space nb201"), ("nb201", SSS, "--space nats-sss")])
def test_nats_folder_of_the_other_space_is_refused(nats_dirs, space, folder, says):
    with pytest.raises(BenchmarkError, match=says) as info:
        ground_truth_for(space, str(nats_dirs[folder]))
    assert "\n" not in str(info.value)
    with pytest.raises(BenchmarkError, match=says):  # the official loader is checked the same way
        ground_truth_for(space, str(nats_dirs[folder]), trust_benchmark_file=True)


def _tiny_nb201(tmp_path: Path, extra: dict | None = None) -> Path:
    """A real NB201 .pth: torch.save of the dict nas_201_api writes, two architectures."""
    import torch
    from test_fast_table import _arch_results

    space = get_space("nb201")
    metas = [space.arch(i) for i in range(space.size)]
    infos = OrderedDict((i, {"less": _arch_results(i, metas[i], 12, 70.0).state_dict(),
                             "full": _arch_results(i, metas[i], 200, 90.0).state_dict()}) for i in (3, 77))
    path = tmp_path / "NAS-Bench-201-v1_1-tiny.pth"
    torch.save({"meta_archs": metas, "arch2infos": infos, "evaluated_indexes": set(infos), **(extra or {})}, path)
    return path


def test_real_nb201_pth_holds_only_set_and_ordereddict_and_loads_safely(tmp_path):
    path = _tiny_nb201(tmp_path)
    with zipfile.ZipFile(path) as zf:
        data = zf.read(next(n for n in zf.namelist() if n.endswith("data.pkl")))
    assert _globals_in(data) == {("__builtin__", "set"), ("collections", "OrderedDict")}
    safe, trusted = load_nb201_pth(path), load_nb201_pth(path, trust=True)
    for index in (3, 77):
        assert safe.accuracy(index, "cifar100", "test") == trusted.accuracy(index, "cifar100", "test") is not None
    assert ground_truth_for("nb201", str(path)).providers[0].accuracy(77, "cifar10", "valid", 12) is not None


def test_pre_zip_torch_format_loads_safely_too(tmp_path):
    """The released NB201 files predate torch 1.6's zip format: the legacy layout must load."""
    import torch

    zipped = _tiny_nb201(tmp_path)
    legacy = tmp_path / "legacy.pth"
    torch.save(torch.load(zipped, weights_only=False), legacy, _use_new_zipfile_serialization=False)
    assert not zipfile.is_zipfile(legacy)
    legacy_acc = load_nb201_pth(legacy).accuracy(3, "cifar10", "test")
    assert legacy_acc == load_nb201_pth(zipped).accuracy(3, "cifar10", "test")


@pytest.mark.parametrize("legacy", [False, True])
def test_malicious_nb201_pth_is_refused_and_runs_nothing(tmp_path, legacy):
    import torch

    marker = tmp_path / "pwned"
    path = _tiny_nb201(tmp_path)
    data = torch.load(path, weights_only=False)
    torch.save({**data, "evil": _WritesMarker(marker)}, path, _use_new_zipfile_serialization=not legacy)
    with pytest.raises(BenchmarkError, match=r"refusing global .*open.*--trust-benchmark-file") as info:
        ground_truth_for("nb201", str(path))
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_pth_without_the_benchmark_keys_is_a_benchmark_error(tmp_path):
    import torch

    path = tmp_path / "meta-only.pth"
    torch.save({"meta_archs": ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]}, path)
    with pytest.raises(BenchmarkError, match="no 'arch2infos', 'evaluated_indexes'"):
        ground_truth_for("nb201", str(path))
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x80\x04garbage")
    with pytest.raises(BenchmarkError, match="cannot read NAS-Bench-201 file"):
        ground_truth_for("nb201", str(garbage))


def test_cli_refuses_the_wrong_nats_folder_with_exit_3(nats_dirs, tmp_path):
    from test_headless import run_cli

    proc = run_cli("--headless", "--space", "nats-sss", "--benchmark-file", str(nats_dirs[TSS]),
                   "--n", "1", "--data", "synthetic", "--batch-size", "4", "--out", str(tmp_path / "runs"))
    assert proc.returncode == ExitCode.MISSING, proc.stderr
    assert "holds the topology" in proc.stderr and "Traceback" not in proc.stderr


# ------------------------------------------------------------ NDS json input errors


@pytest.mark.parametrize("content,says", [
    (b'[{"net": {"depth": "\xff"}}]', r"is not UTF-8 text \(byte 0xff\)"),
    (b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]", "nested too deeply"),
    (b'{"top": [' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b'], "mid": []}', "nested too deeply"),
])
def test_nds_json_bad_encoding_and_deep_nesting_are_one_line_errors(tmp_path, content, says):
    from naswot_tui.core.benchmarks.nds_json import load_nds_table

    path = tmp_path / "DARTS.json"
    path.write_bytes(content)
    with pytest.raises(BenchmarkError, match=says) as info:
        load_nds_table(path, warn=False)
    assert "\n" not in str(info.value) and info.value.exit_code == ExitCode.MISSING


# ------------------------------------------------------------ TUI start-up inputs


def _deep_theme(levels: int) -> str:
    return 'name = "deep"\n[colors]\nprimary = "#112233"\n[variables]\nx = ' + "[" * levels + "]" * levels + "\n"


def test_theme_nested_50k_deep_is_a_theme_file_error(tmp_path):
    from naswot_tui.tui.themes import ThemeFileError, load_themes, parse_theme

    path = tmp_path / "deep.toml"
    path.write_text(_deep_theme(50_000))
    with pytest.raises(ThemeFileError, match="deep.toml: nested too deeply"):
        parse_theme(path)
    themes, errors = load_themes(tmp_path)
    assert themes == [] and len(errors) == 1


@pytest.mark.parametrize("state", [
    {"theme": [1]}, {"theme": {"a": 1}}, {"theme": 7, "last_config": "nope"},
    {"last_config": {"n": "many", "seed": [1], "space": 5, "unique": 1}}, [1, 2], "text",
])
def test_wrong_shapes_in_tui_json_fall_back_to_defaults(tmp_path, state):
    import json

    from naswot_tui.core.config import RunConfig
    from naswot_tui.tui.settings import Settings

    settings = Settings(runs_dir=tmp_path / "runs", config_dir=tmp_path / "config")
    settings.config_dir.mkdir()
    settings.state_file.write_text(json.dumps(state))
    loaded = settings.load_state()
    assert not isinstance(loaded.get("theme", ""), (list, dict, int))
    config = settings.last_config()
    default = RunConfig(n=100)
    assert (config.n, config.seed, config.space, config.unique) == (default.n, default.seed, default.space,
                                                                    default.unique)


def test_app_starts_with_a_hostile_theme_and_tui_json(tmp_path):
    import json

    from naswot_tui.tui.app import make_app
    from tui_helpers import fake_settings, sync

    settings = fake_settings(tmp_path)
    settings.themes_dir.mkdir(parents=True)
    (settings.themes_dir / "deep.toml").write_text(_deep_theme(50_000))
    settings.state_file.write_text(json.dumps({"theme": [1], "last_config": {"n": "x"}}))

    @sync
    async def drive():
        app = make_app(settings)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.theme == "naswot-dark"
            notes = [n.message for n in app._notifications]
            assert len(notes) == 1 and "deep.toml: nested too deeply" in notes[0]

    drive()
