"""Progress reporting as an argument: stages report, the CLI decides how it looks.

A stage takes ``progress: Progress = no_progress`` and wraps its long loops with
:func:`track` (or opens a bar and calls ``update``). ``pipeline.cli.bars`` gives tqdm
bars; tests and library callers pass nothing and see nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")


class Bar(Protocol):
    def update(self, n: int = 1) -> object: ...

    def close(self) -> object: ...


class Progress(Protocol):
    def __call__(self, desc: str, total: int | None = None, unit: str = "it") -> Bar: ...


class _NullBar:
    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


def no_progress(desc: str, total: int | None = None, unit: str = "it") -> Bar:
    """The silent :class:`Progress`: the default of every stage."""
    return _NullBar()


def track(items: Iterable[T], progress: Progress, desc: str, total: int | None = None,
          unit: str = "it") -> Iterator[T]:
    """Yield ``items``, advancing one bar of ``progress`` per item; closes the bar at the end."""
    bar = progress(desc, total, unit)
    try:
        for item in items:
            yield item
            bar.update(1)
    finally:
        bar.close()
