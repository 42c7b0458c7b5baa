"""Exception types and the exit codes they map to (the headless contract).

Every error a user can cause carries a one-line message that names the
problem and the fix; the CLI prints it on stderr and exits with `exit_code`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    RUNTIME = 1      # the run failed for a reason that is not the user's input
    USAGE = 2        # bad flags or values
    MISSING = 3      # benchmark file or dataset missing or invalid
    INTERRUPTED = 130  # Ctrl-C / cancel, after the trace footer was written


class NaswotError(Exception):
    """Base class: a failure with a one-line, user-facing message."""

    exit_code: ExitCode = ExitCode.RUNTIME


class UsageError(NaswotError, ValueError):
    """A bad value: unknown space, malformed architecture string, bad flag."""

    exit_code = ExitCode.USAGE


class DataError(NaswotError):
    """A dataset path that is missing or not in the expected layout."""

    exit_code = ExitCode.MISSING


class BenchmarkError(NaswotError):
    """A benchmark file that is missing, unreadable or of the wrong kind."""

    exit_code = ExitCode.MISSING


class TraceError(NaswotError):
    """A trace file that cannot be read (corrupt middle line, wrong schema)."""

    exit_code = ExitCode.USAGE


class RunCancelled(NaswotError):
    """Raised by the engine when a run was cancelled (trace footer written)."""

    exit_code = ExitCode.INTERRUPTED
