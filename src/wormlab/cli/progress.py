"""A progress bar that appears only when work lasts longer than a moment (Rich, on stderr)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(description: str, enabled: bool = True, delay_s: float = 1.0,
                 runs: bool = False) -> Iterator[Callable[..., None]]:
    """Yield ``update(done, total, failed=0)``; the bar is drawn once ``delay_s`` has passed.

    ``runs=True`` shows "done/total", the failures and an ETA (ensembles and sweeps); the bar
    starts at the work already done, so a resumed sweep's ETA is not skewed by it.
    """
    t0 = time.perf_counter()
    state: dict = {}

    def update(done: int, total: int, failed: int = 0) -> None:
        if not enabled:
            return
        if "bar" not in state:
            if time.perf_counter() - t0 < delay_s:
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            middle = ((MofNCompleteColumn(), TextColumn("{task.fields[failed]} failed"), TextColumn("ETA"))
                      if runs else (TaskProgressColumn(),))
            bar = Progress(TextColumn("{task.description}"), BarColumn(), *middle, TimeRemainingColumn(),
                           console=Console(stderr=True), transient=True)
            bar.start()
            state["bar"] = bar
            state["task"] = bar.add_task(description, total=total, completed=done, failed=failed)
        state["bar"].update(state["task"], completed=done, total=total, failed=failed)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()
