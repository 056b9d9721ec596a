"""What the server needs from a clock: ``seconds()`` and ``callLater()`` (a reactor, task.Clock).

A structural ``Protocol`` so that any IReactorTime provider fits (the
global reactor, ``twisted.internet.task.Clock`` in tests).
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

__all__ = ["Clock", "Timer"]


class Timer(Protocol):
    """A scheduled call (IDelayedCall): still pending, pushed back, or cancelled."""

    def active(self) -> bool: ...

    def reset(self, secondsFromNow: float) -> None: ...  # noqa: N803 (Twisted's name)

    def cancel(self) -> None: ...


class Clock(Protocol):
    """IReactorTime's two methods the server uses."""

    def seconds(self) -> float: ...

    def callLater(self, delay: float, callable: Callable[..., Any], *args: Any,
                  **kw: Any) -> Timer: ...
