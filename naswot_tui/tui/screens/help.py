"""Keys and where things are, on one page."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]naswot-tui[/b]  score untrained networks, pick the best (NASWOT)

[b]Everywhere[/b]
  F1 help   F2 setup   F3 live   F4 runs   ^p command palette   ^q quit
  Palette: new run, open run, compare, export, switch theme, copy best arch

[b]Setup[/b]   tab/shift+tab move   ^r start   ^y copy CLI line   ^o runs
[b]Live[/b]    p pause/resume   c cancel (trace footer written)
          y copy best arch   e export top-K   o runs   esc setup
          enter on a top-K row: its kernel (K, codes, why -inf)
[b]Runs[/b]    enter replay   space mark   m compare marked   u resume
          d delete   s sort (click a header too)   / filter   esc back
[b]Compare[/b] d differences only   a score/accuracy curves   e export   esc back

Traces live in $NASWOT_TUI_RUNS_DIR (default: the user data dir).
Themes: TOML files in <config dir>/themes; NO_COLOR turns colour off.

[dim]esc / q / F1 closes this page[/dim]"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(HELP, id="help-text")

    def action_dismiss(self) -> None:
        self.dismiss(None)
