"""Ground truth: the embedded table and the real NATS-Bench archive fixture."""

from __future__ import annotations

import time

import pytest

from naswot_tui.core.benchmarks import EmbeddedNB201, ground_truth_for
from naswot_tui.core.errors import BenchmarkError


def test_embedded_table_values_and_speed():
    started = time.perf_counter()
    truth = ground_truth_for("nb201")
    assert time.perf_counter() - started < 1.0
    # PROVENANCE.md checks: 6111 is the CIFAR-10 optimum, 9930 second and best on CIFAR-100.
    assert truth.accuracy(6111, "cifar10", "test") == pytest.approx(94.3733, abs=1e-4)
    assert truth.accuracy(6111, "cifar10", "valid") == pytest.approx(91.6067, abs=1e-4)
    assert truth.accuracy(9930, "cifar100", "test") == pytest.approx(73.5133, abs=1e-4)
    assert truth.accuracy(857, "ImageNet16-120", "test") == pytest.approx(47.3111, abs=1e-4)
    assert truth.accuracy(0, "cifar10", "test", epochs=12) == pytest.approx(69.55, abs=1e-6)
    assert truth.params(9930) == pytest.approx(1.288506)
    assert truth.accuracy(0, "cifar100", "valid", 200) is None  # not shipped: honest None


def test_nats_fixture_wins_over_embedded_table(shared_data):
    path = shared_data / "nats_fake_torch_dir" / "NATS-tss-v1_0-3ffb9-simple"
    truth = ground_truth_for("nb201", str(path))
    assert "NATS" in truth.source
    # Index 0 from the real archive file (PROVENANCE section 1).
    assert truth.accuracy(0, "cifar10", "test") == pytest.approx(85.8633, abs=1e-4)
    assert truth.accuracy(0, "cifar100", "test") == pytest.approx(52.9133, abs=1e-4)
    assert truth.accuracy(0, "ImageNet16-120", "test") == pytest.approx(26.6333, abs=1e-4)
    # The archive also knows validation accuracies the embedded table lacks.
    assert truth.accuracy(11, "cifar100", "valid") is not None
    assert EmbeddedNB201().accuracy(11, "cifar100", "valid") is None
    # An index the cut-down fixture lacks falls back to the embedded table.
    assert truth.accuracy(6111, "cifar10", "test") == pytest.approx(94.3733, abs=1e-4)


def test_missing_benchmark_file_is_exit_3(tmp_path):
    with pytest.raises(BenchmarkError, match="does not exist") as info:
        ground_truth_for("nb201", str(tmp_path / "NAS-Bench-201-v1_1-096897.pth"))
    assert info.value.exit_code == 3


def test_wrong_kind_of_file_is_exit_3(tmp_path):
    bogus = tmp_path / "bench.pth"
    bogus.write_bytes(b"\x00not a torch file")
    with pytest.raises(BenchmarkError):
        ground_truth_for("nb201", str(bogus))
    with pytest.raises(BenchmarkError, match="meta.pickle.pbz2"):
        ground_truth_for("nb201", str(tmp_path))
