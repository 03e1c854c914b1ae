"""Progress bars with rate and ETA on stderr, shared by every long-running command."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Advance", "ProgressCallback", "TaskFactory", "progress_bar", "progress_tasks"]

#: (items done, total items or None when unknown)
ProgressCallback = Callable[[int, int | None], None]
#: advance a task by n items (and optionally set its total)
Advance = Callable[..., None]
#: (description, total) -> advance
TaskFactory = Callable[[str, int | None], Advance]


@contextmanager
def progress_tasks(enabled: bool | None = True) -> Iterator[TaskFactory]:
    """Yield ``task(description, total) -> advance(n)``; one rich bar per task.

    ``enabled=None`` shows the bars only when stderr is a terminal. Disabled, the factory
    returns no-op callbacks, so callers never branch on it.
    """
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show:
        yield lambda description, total: (lambda n, total=None: None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text("?/s" if speed is None else f"{speed:,.1f}/s")

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:

        def task(description: str, total: int | None) -> Advance:
            tid = bar.add_task(description, total=total)

            def advance(n: int, total: int | None = None) -> None:
                if total is not None:
                    bar.update(tid, total=total)
                bar.advance(tid, n)

            return advance

        yield task


@contextmanager
def progress_bar(label: str, enabled: bool | None = True) -> Iterator[ProgressCallback]:
    """One bar driven by ``update(done, total)``, for callers that know absolute counts."""
    with progress_tasks(enabled) as task:
        advance = task(label, None)
        done_so_far = 0

        def update(done: int, total: int | None) -> None:
            nonlocal done_so_far
            advance(done - done_so_far, total=total)
            done_so_far = done

        yield update
