"""The running Kendall tau of every ``--proxies`` proxy against the ground truth, on the Live screen.

As scores arrive, each proxy's values over the distinct architectures scored
so far are ranked against their benchmark accuracy (the run's dataset, test
split, as in the score records): Kendall tau-b, -inf (no value) ranking last,
the same statistic ``naswot-tui evaluate`` reports. Narrow terminals get a
compact line or two; from ``WIDE`` columns on, a table with a bar per proxy.
Hidden for runs without ``--proxies``.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from naswot_tui.core import stats
from naswot_tui.tui.state import LiveState
from naswot_tui.tui.widgets.live import LivePart, fmt

WIDE = 120          # terminal columns from which the table replaces the compact line
EXACT_UP_TO = 2000  # recompute tau for every batch up to this many architectures, then every STEP more
STEP = 200
BAR = 20            # cells of the |tau| bar in the table


def running_taus(state: LiveState) -> dict[str, float | None]:
    """Kendall tau-b of each proxy's values so far against the accuracies (None below 3 or constant)."""
    accs = state.proxy_accs
    return {name: stats.kendall(stats.rank_ready(state.proxy_values[name]), accs) for name in state.proxy_names}


class ProxyTau(LivePart, Static):
    """One line per proxy (wide) or a compact line of them (narrow): tau against the ground truth."""

    DEFAULT_CSS = """
    ProxyTau { height: auto; max-height: 50%; padding: 0 1; display: none; }
    """

    def key(self, s: LiveState) -> Any:
        n = len(s.proxy_accs)
        shown = n if n <= EXACT_UP_TO else n - n % STEP
        return bool(s.proxy_names), shown, s.status, self.app.size.width >= WIDE

    def on_resize(self) -> None:
        self._shown_key = object()  # compact <-> table follows the terminal
        self._run_changed(0)

    def paint(self, s: LiveState) -> None:
        wanted = bool(s.proxy_names) or bool(s.header.get("proxies"))
        self.display = wanted
        if not wanted:
            return
        n = len(s.proxy_accs)
        dataset = s.config.get("dataset", "")
        if not s.proxy_names:
            self.update(Text(f"running τ: waiting for scores with a known {dataset} accuracy", style="dim"))
            return
        taus = running_taus(s)
        if self.app.size.width >= WIDE:
            self.update(self._table(taus, n, dataset))
        else:
            cells = [f"{name} {fmt(tau, '.2f')}" for name, tau in taus.items()]
            text = Text()
            text.append(f"τ vs {dataset} test (n={n}): ", style="bold")
            text.append(" · ".join(cells))
            self.update(text)

    @staticmethod
    def _table(taus: dict[str, float | None], n: int, dataset: str) -> Table:
        table = Table(title=f"running Kendall τ vs {dataset} test, n={n}",
                      title_justify="left", expand=False, box=None, padding=(0, 1), show_edge=False)
        table.add_column("proxy")
        table.add_column("τ", justify="right")
        table.add_column("", no_wrap=True)
        best = max((t for t in taus.values() if t is not None), default=None)
        for name, tau in sorted(taus.items(), key=lambda kv: -2.0 if kv[1] is None else -kv[1]):
            width = 0 if tau is None else round(abs(tau) * BAR)
            bar = Text("█" * width, style="green" if (tau or 0) >= 0 else "red")
            style = "bold" if tau is not None and tau == best else ""
            table.add_row(Text(name, style=style), Text(fmt(tau, ".3f"), style=style), bar)
        return table


__all__ = ["ProxyTau", "running_taus"]
