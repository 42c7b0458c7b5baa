"""``--executor ray`` on a real 2-CPU local Ray cluster (one per test session, always shut down).

Skipped when the ray extra is not installed (``pip install -e ".[ray]"``);
.ci/run installs it.
"""

from __future__ import annotations

import pytest

from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.events import ArchScored, RepeatFinished

ray = pytest.importorskip("ray")


@pytest.fixture(scope="session")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
    try:
        yield ray
    finally:
        ray.shutdown()


def _run(tmp_path, **kw):
    config = RunConfig(n=6, batch_size=8, seed=5, unique=True, cache=False, out_dir=str(tmp_path), **kw)
    run = Run(config)
    return run, list(run.events())


def test_ray_gives_the_scores_and_picks_of_local(tmp_path, ray_cluster):
    _, local = _run(tmp_path / "local")
    run, remote = _run(tmp_path / "ray", executor="ray", workers=2)
    assert remote[-1].status == "completed"

    def scores(events):
        return {e.i: (e.index, e.score) for e in events if isinstance(e, ArchScored)}

    def picks(events):
        return [(e.pick_index, e.pick_score) for e in events if isinstance(e, RepeatFinished)]

    assert scores(remote) == scores(local) and picks(remote) == picks(local)
    states = run.evaluator.worker_states()
    assert ray_cluster.is_initialized()          # the session's cluster is not ours to stop
    assert len(states) == 2 and sum(s.scored for s in states) == 6
    assert all(s.state == "dead" for s in states)   # our actors are killed by close()


def test_missing_ray_names_the_extra(monkeypatch):
    import builtins

    from naswot_tui.core.errors import UsageError
    from naswot_tui.core.executors.ray import import_ray

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(UsageError, match=r'pip install "naswot-tui\[ray\]"') as info:
        import_ray()
    assert info.value.exit_code == 2
