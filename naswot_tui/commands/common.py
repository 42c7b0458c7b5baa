"""Helpers shared by the CLI's subcommands."""

from __future__ import annotations

import typer

from naswot_tui.core.errors import NaswotError


def fail(exc: NaswotError) -> typer.Exit:
    """One line on stderr, the documented exit code."""
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(int(exc.exit_code))
