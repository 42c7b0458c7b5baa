"""``naswot-tui plot``: every figure kind drawn from real engine traces, opened as an image.

Traces come from the real engine (NB201, embedded CIFAR-10 images, small
batches). Each test writes a real PNG/SVG/PDF through the CLI, opens it with
Pillow (size, not blank) and checks the numbers the figure carries in its
metadata against an independent computation (``naswot-tui evaluate``,
``core.stats.kendall``, the trace's own scores and picks).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.events import encode_score
from naswot_tui.core.kernels import (
    kernels_path,
    read_kernels,
    stored_kernel,
    write_kernels,
)
from naswot_tui.core.stats import kendall as kendall_tau
from naswot_tui.core.trace import read_trace

pytest.importorskip("matplotlib", reason="the plots extra (matplotlib) is not installed")
pytest.importorskip("scipy", reason="the plots extra (scipy) is not installed")

REPO = Path(__file__).resolve().parent.parent


def _run(out: Path, **kw) -> Path:
    config = {"n": 12, "unique": True, "seed": 2, "batch_size": 8, "cache": False, "out_dir": str(out)}
    config.update(kw)
    run = Run(RunConfig(**config))
    list(run.events())
    return run.trace_path


@pytest.fixture(scope="module")
def traces(tmp_path_factory) -> dict[str, Path]:
    """Real engine traces: one 12-cell run, and N = 3 and N = 6 runs of 3 repeats each."""
    out = tmp_path_factory.mktemp("plot-runs")
    return {"n12": _run(out / "n12"),
            "n3": _run(out / "n3", n=3, repeats=3, unique=False, seed=5),
            "n6": _run(out / "n6", n=6, repeats=3, unique=False, seed=5)}


def plot(*args: str):
    from naswot_tui.cli import _register_subcommands, app

    _register_subcommands()
    return CliRunner().invoke(app, ["plot", *args])


def png_facts(path: Path) -> tuple[Image.Image, dict]:
    """The image and the JSON document the figure carries in its Description text chunk."""
    image = Image.open(path)
    image.load()
    return image, json.loads(image.text["Description"])


def assert_real_picture(image: Image.Image, min_w: int = 400, min_h: int = 300) -> None:
    assert image.width >= min_w and image.height >= min_h
    pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert pixels.std() > 5.0  # not a blank canvas
    assert (pixels < 128).mean() > 0.005  # something dark was drawn (axes, dots, text)


def test_scatter_tau_is_evaluates_tau(traces, tmp_path):
    out = tmp_path / "scatter.png"
    result = plot(str(traces["n12"]), "--kind", "scatter", "--out", str(out))
    assert result.exit_code == 0, result.output
    image, doc = png_facts(out)
    assert_real_picture(image)
    # 1 trace x 6 targets of the embedded NB201 table, 4 inches x 150 dpi per panel
    assert image.size == (6 * 4 * 150, int(3.4 * 150))
    assert doc["kind"] == "scatter" and doc["traces"] == [str(traces["n12"])]
    assert doc["configs"][0]["batch_size"] == 8 and doc["app_version"]

    from naswot_tui.cli import _register_subcommands, app

    _register_subcommands()
    ev = CliRunner().invoke(app, ["evaluate", str(traces["n12"]), "--json", "--no-baselines", "--resamples", "10"])
    assert ev.exit_code == 0, ev.output
    evaluated = {r["target"]: r for r in json.loads(ev.stdout)["traces"][0]["results"]}
    panels = doc["plotted"]["panels"]
    assert {p["target"] for p in panels} == set(evaluated)
    for p in panels:
        assert p["n"] == evaluated[p["target"]]["n"] == 12
        assert p["kendall_tau"] == pytest.approx(evaluated[p["target"]]["kendall_tau"]["value"], abs=1e-12)


def test_curves_end_at_the_mean_pick(traces, tmp_path):
    out = tmp_path / "curves.png"
    result = plot(str(traces["n3"]), str(traces["n6"]), "--kind", "curves", "--out", str(out))
    assert result.exit_code == 0, result.output
    image, doc = png_facts(out)
    assert_real_picture(image)
    assert image.size == (2 * int(5.5 * 150), 4 * 150)
    by_trace = {c["trace"]: c for c in doc["plotted"]["curves"]}
    for key, n in (("n3", 3), ("n6", 6)):
        trace = read_trace(traces[key])
        picks = [e.pick_acc for e in trace.repeat_ends.values()]
        c = by_trace[str(traces[key])]
        assert c["repeats"] == 3 and c["n_max"] == n
        # the best-so-far curve ends at the search's own picks
        assert c["final_mean_acc"] == pytest.approx(np.mean(picks))
        assert c["final_std_acc"] == pytest.approx(np.std(picks))


def test_sweep_groups_by_n_beside_the_paper(traces, tmp_path):
    out = tmp_path / "sweep.png"
    result = plot(str(traces["n3"]), str(traces["n6"]), "--kind", "sweep", "--out", str(out))
    assert result.exit_code == 0, result.output
    image, doc = png_facts(out)
    assert_real_picture(image)
    groups = {g["n"]: g for g in doc["plotted"]["groups"]}
    assert set(groups) == {3, 6}
    for n, key in ((3, "n3"), (6, "n6")):
        picks = [e.pick_acc for e in read_trace(traces[key]).repeat_ends.values()]
        assert groups[n]["repeats"] == 3
        assert groups[n]["mean"] == pytest.approx(np.mean(picks))
        assert groups[n]["std"] == pytest.approx(np.std(picks))


def test_kernel_recomputes_the_runs_own_kernels(traces, tmp_path):
    out = tmp_path / "kernel.png"
    result = plot(str(traces["n12"]), "--kind", "kernel", "--bands", "3", "--per-band", "2", "--out", str(out))
    assert result.exit_code == 0, result.output
    image, doc = png_facts(out)
    assert_real_picture(image)
    cells = doc["plotted"]["cells"]
    assert len(cells) == 6 and doc["plotted"]["recomputed"] == 6 and doc["plotted"]["from_side_file"] == 0
    # bands are ordered by accuracy: every cell of a higher band is at least as accurate
    by_band = {}
    for c in cells:
        by_band.setdefault(c["band"], []).append(c["acc"])
    assert min(by_band[2]) >= max(by_band[1]) and min(by_band[1]) >= max(by_band[0])
    for c in cells:
        # same batch, initialisation and hook rule as the run: the same score
        if math.isfinite(c["trace_score"]):
            assert c["kernel_score"] == pytest.approx(c["trace_score"], rel=1e-6)


def test_kernel_reads_the_side_file_when_present(traces, tmp_path):
    import shutil

    trace_copy = tmp_path / traces["n12"].name
    shutil.copy(traces["n12"], trace_copy)
    trace = read_trace(trace_copy)
    from naswot_tui.plots.kernel import KernelSource, pick_cells

    cells = [c for band in pick_cells(trace, 2, 1) for c in band]
    source = KernelSource(trace)
    computed = [source.kernel(c) for c in cells]
    assert source.recomputed == 2
    write_kernels(trace_copy, computed)
    out = tmp_path / "kernel.svg"
    result = plot(str(trace_copy), "--kind", "kernel", "--bands", "2", "--per-band", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "<svg" in text and trace_copy.name in text
    doc = json.loads(text.split("<dc:description>")[1].split("</dc:description>")[0]
                     .replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    assert doc["plotted"]["from_side_file"] == 2 and doc["plotted"]["recomputed"] == 0


def test_kernel_side_file_round_trip(tmp_path):
    """The side-file format: no pickles, K/N in float32, later entries replace earlier ones."""
    trace_path = tmp_path / "run.jsonl"
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2, size=(5, 300))
    kernel = (codes @ codes.T + (1 - codes) @ (1 - codes).T).astype(np.float64)  # NASWOT's K: diagonal = N
    first = stored_kernel(7, 0, "abc", kernel)
    assert first.n_units == 300 and first.normalised.dtype == np.float32
    write_kernels(trace_path, [first, stored_kernel(9, 1, "def", kernel * 0 + 300)])
    assert kernels_path(trace_path).name == "run.kernels.npz"
    with np.load(kernels_path(trace_path), allow_pickle=False) as z:  # loads without pickle support
        assert z["kernels"].dtype == np.float32 and z["indices"].tolist() == [7, 9]
    back = read_kernels(trace_path)
    np.testing.assert_allclose(back[7].kernel(), kernel, rtol=1e-6)
    assert back[9].repeat == 1 and back[9].fingerprint == "def"
    write_kernels(trace_path, [stored_kernel(7, 2, "ghi", kernel)])
    back = read_kernels(trace_path)
    assert sorted(back) == [7, 9] and back[7].repeat == 2
    assert read_kernels(tmp_path / "other.jsonl") == {}


def _with_proxies(src: Path, dst: Path) -> None:
    """The trace with a ``proxies`` dict on each score record: its own score, params, and
    a third proxy that is -inf for one cell (stored with the lossless encoding)."""
    lines = []
    for k, line in enumerate(src.read_text(encoding="utf-8").splitlines()):
        rec = json.loads(line)
        if rec["type"] == "score":
            third = -math.inf if rec["i"] == 0 else -float(rec["params"]) * (1 + (k % 3))
            own = {k: rec[k] for k in ("score", "score_inf", "score_nan") if k in rec}  # -inf stays -inf
            rec["proxies"] = {"naswot": rec["score"] if rec["score"] is not None else own, "params": rec["params"],
                              "odd": third if math.isfinite(third) else encode_score(third)}
        lines.append(json.dumps(rec, allow_nan=False))
    dst.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_proxies_matrix(traces, tmp_path):
    path = tmp_path / "with-proxies.jsonl"
    _with_proxies(traces["n12"], path)
    out = tmp_path / "proxies.pdf"
    result = plot(str(path), "--kind", "proxies", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF") and b"naswot-tui" in out.read_bytes()
    png = tmp_path / "proxies.png"
    assert plot(str(path), "--kind", "proxies", "--out", str(png)).exit_code == 0
    image, doc = png_facts(png)
    assert_real_picture(image)
    m = doc["plotted"]["matrices"][0]
    assert m["proxies"] == ["naswot", "odd", "params"] and m["n"] == 12
    records = [s for s in read_trace(path).scores]
    vals = {"naswot": [s.score for s in records], "params": [s.params for s in records],
            "odd": [-1e9 if s.i == 0 else s.proxies["odd"] for s in records]}  # -inf ranks last
    for a, name_a in enumerate(m["proxies"]):
        assert m["kendall_tau"][a][a] == 1.0
        for b, name_b in enumerate(m["proxies"]):
            assert m["kendall_tau"][a][b] == pytest.approx(kendall_tau(vals[name_a], vals[name_b]), abs=1e-12)


def test_proxies_with_one_proxy_is_a_usage_error(traces, tmp_path):
    result = plot(str(traces["n12"]), "--kind", "proxies", "--out", str(tmp_path / "p.png"))
    assert result.exit_code == 2
    assert "2 or more" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "p.png").exists()


def test_bad_kind_and_format_are_usage_errors(traces, tmp_path):
    bad_kind = plot(str(traces["n12"]), "--kind", "pie", "--out", str(tmp_path / "x.png"))
    assert bad_kind.exit_code == 2 and "scatter, curves, kernel, proxies, sweep" in bad_kind.output
    bad_format = plot(str(traces["n12"]), "--kind", "scatter", "--out", str(tmp_path / "x.gif"))
    assert bad_format.exit_code == 2 and ".png" in bad_format.output
    missing = plot(str(tmp_path / "nope.jsonl"), "--kind", "scatter", "--out", str(tmp_path / "x.png"))
    assert missing.exit_code != 0 and "does not exist" in missing.output


def test_without_matplotlib_the_error_names_the_extra(traces, tmp_path):
    """A real process where ``import matplotlib`` fails, as on an install without the extra."""
    code = ("import sys; sys.modules['matplotlib'] = None; sys.argv = ['naswot-tui'] + sys.argv[1:]; "
            "from naswot_tui.cli import main; main()")
    proc = subprocess.run([sys.executable, "-c", code, "plot", str(traces["n12"]), "--kind", "scatter",
                           "--out", str(tmp_path / "s.png")], capture_output=True, text=True, cwd=REPO,
                          timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == 'error: plots need matplotlib, an optional extra: pip install "naswot-tui[plots]"'
    assert not (tmp_path / "s.png").exists()


def test_real_benchmark_trace_scatter(tmp_path):
    """The 200-cell trace kept under benchmarks/results draws too (two -inf cells counted, not drawn)."""
    path = next((REPO / "benchmarks/results/nb201_correlation/reference").glob("*.jsonl"), None)
    if path is None:
        pytest.skip("benchmarks/results trace not in this checkout")
    out = tmp_path / "s.png"
    assert plot(str(path), "--kind", "scatter", "--out", str(out)).exit_code == 0
    image, doc = png_facts(out)
    assert_real_picture(image)
    first = doc["plotted"]["panels"][0]
    assert first["target"] == "cifar10 test" and first["n"] == 200 and first["n_neg_inf"] == 2
