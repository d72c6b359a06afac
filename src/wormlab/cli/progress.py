"""A progress bar that appears only when work lasts longer than a second (Rich, on stderr)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(description: str, enabled: bool = True, delay_s: float = 1.0) -> Iterator[Callable[[int, int], None]]:
    """Yield ``update(done, total)``; the bar is drawn once ``delay_s`` has passed, then removed."""
    t0 = time.perf_counter()
    state: dict = {}

    def update(done: int, total: int) -> None:
        if not enabled:
            return
        if "bar" not in state:
            if time.perf_counter() - t0 < delay_s:
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                           TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(description, total=total)
        state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()
