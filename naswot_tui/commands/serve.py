"""``naswot-tui serve [--host 127.0.0.1] [--port 8000]``: the app in a browser.

textual-serve (the ``serve`` extra) answers HTTP and runs one copy of the
app per browser tab, talking to it over a websocket. Bound to localhost by
default: the app can start runs and read files, so exposing it to a network
is the user's explicit choice (``--host 0.0.0.0``), e.g. behind an SSH
port forward from a GPU box.
"""

from __future__ import annotations

import shlex
import sys

import typer

INSTALL_HINT = 'pip install "naswot-tui[serve]"'


def app_command() -> str:
    """The shell command textual-serve runs per browser session: this Python, this package."""
    return f"{shlex.quote(sys.executable)} -m naswot_tui"


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_command(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine only)."),
        port: int = typer.Option(8000, "--port", help="TCP port."),
    ) -> None:
        """Serve the app to a web browser through textual-serve (optional extra)."""
        from naswot_tui.commands.common import fail
        from naswot_tui.core.errors import UsageError

        try:
            if not 0 < port < 65536:
                raise UsageError(f"--port must be 1-65535 (got {port})")
            try:
                from textual_serve.server import Server
            except ImportError:
                raise UsageError(f"serving in a browser needs textual-serve, an optional extra: {INSTALL_HINT}") \
                    from None
        except UsageError as exc:
            raise fail(exc) from None
        typer.echo(f"naswot-tui on http://{host}:{port} (Ctrl+C stops)", err=True)
        Server(app_command(), host=host, port=port, title="naswot-tui").serve()
