"""The headless front end: consumes a Run's events, prints data on stdout.

``text``: one line per repeat and a summary; ``json``: one document at the
end; ``jsonl``: every trace record as it is written. Records come from the
events' own encoder (``events.to_record``), the one the trace uses. Progress is a rich bar
on stderr, shown only when stderr is a terminal.
"""

from __future__ import annotations

import json
import math
import sys

from naswot_tui.core.engine import Run
from naswot_tui.core.errors import ExitCode, RunCancelled
from naswot_tui.core.events import ArchScored, LogMessage, RepeatFinished, RepeatStarted, RunFinished, to_record


def _fmt(value, spec: str = ".2f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return format(value, spec)


def _pick(r: RepeatFinished) -> dict:
    """A pick for the ``--json`` document: the repeat_end trace record (the one
    encoder, so ``-inf`` keeps its ``score_inf``), its ``pick_`` prefix dropped."""
    rec = to_record(r)
    del rec["type"]
    return {(key[5:] if key in _PICK_FIELDS else key): value for key, value in rec.items()}


# the pick's own fields; search extras such as REA's "pick_fitness" keep their names
_PICK_FIELDS = {"pick_index", "pick_arch", "pick_score", "pick_score_inf", "pick_score_nan", "pick_acc",
                "pick_accs"}


class _Progress:
    """A rich progress bar on stderr, or nothing when stderr is not a TTY."""

    def __init__(self, run: Run) -> None:
        self.bar = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                                TextColumn("best {task.fields[best]}"),
                                console=Console(stderr=True), transient=True)
            self.bar.start()
        self.task = None
        self.best = None

    def repeat(self, event: RepeatStarted, repeats: int) -> None:
        if self.bar is None:
            return
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.best = None
        self.task = self.bar.add_task(f"repeat {event.repeat + 1}/{repeats}", total=event.total,
                                      rate="", best="-")

    def scored(self, event: ArchScored) -> None:
        if self.bar is None or self.task is None:
            return
        if event.score is not None and (self.best is None or event.score > self.best):
            self.best = event.score
        task = self.bar.tasks[-1]
        rate = f"{task.speed:.1f} arch/s" if task.speed else ""
        self.bar.update(self.task, advance=1, rate=rate, best=_fmt(self.best))

    def log(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_headless(run: Run, mode: str = "text") -> int:
    out = sys.stdout
    progress = _Progress(run)
    picks: list[RepeatFinished] = []
    end: RunFinished | None = None
    code = ExitCode.OK
    try:
        for event in run.events():
            if mode == "jsonl":
                rec = to_record(event)
                if rec is not None:
                    out.write(json.dumps(rec, allow_nan=False) + "\n")
                    out.flush()
            if isinstance(event, RepeatStarted):
                progress.repeat(event, run.config.repeats)
            elif isinstance(event, ArchScored):
                progress.scored(event)
            elif isinstance(event, RepeatFinished):
                picks.append(event)
                if mode == "text":
                    out.write(f"repeat {event.repeat + 1}/{run.config.repeats}: pick #{event.pick_index} "
                              f"score={_fmt(event.pick_score)} acc={_fmt(event.pick_acc)} "
                              f"time={event.elapsed_s:.1f}s  {event.pick_arch}\n")
                    out.flush()
            elif isinstance(event, LogMessage):
                progress.log(event.text)
            elif isinstance(event, RunFinished):
                end = event
    except RunCancelled as exc:
        code = ExitCode.INTERRUPTED
        end = RunFinished("cancelled", {})
        progress.stop()
        print(f"error: {exc}", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - the trace footer says failed; report one line
        progress.stop()
        print(f"error: run failed: {type(exc).__name__}: {exc} (trace: {run.trace_path})", file=sys.stderr)
        return int(ExitCode.RUNTIME)
    progress.stop()
    summary = end.summary if end else {}
    if mode == "json":
        doc = {"status": end.status if end else "failed", "trace": str(run.trace_path),
               "config": run.config.to_dict(), "picks": [_pick(p) for p in picks], "summary": summary}
        out.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    elif mode == "text" and picks:
        accs = summary.get("accs", {})
        parts = [f"{ds} {split} {v['mean']:.2f} +- {v['std']:.2f}"
                 for ds, splits in accs.items() for split, v in splits.items()]
        if summary.get("acc_mean") is None:
            out.write(f"{run.config.dataset}: {len(picks)} repeat(s); the picks' accuracies are unknown "
                      f"(ground truth: {run.truth.source})\n")
        else:
            out.write(f"{run.config.dataset}: {len(picks)} repeat(s), pick accuracy "
                      f"{_fmt(summary.get('acc_mean'))} +- {_fmt(summary.get('acc_std'))}"
                      + (f"  ({'; '.join(parts)})" if parts else "") + "\n")
        out.write(f"trace: {run.trace_path}\n")
    out.flush()
    if end is not None and end.status == "cancelled":
        code = ExitCode.INTERRUPTED
    return int(code)

