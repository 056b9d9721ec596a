"""What txhbase uses of a clock: ``IReactorTime`` as a structural type.

One home for the client (``Connection``, the pool) and the embedded server:
a reactor or ``twisted.internet.task.Clock`` fits.  Structural, so mypy
checks the calls (``IReactorTime`` is a zope interface it cannot call
without a plugin).
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

__all__ = ["Clock", "DelayedCall"]


class DelayedCall(Protocol):
    """What txhbase uses of ``IDelayedCall``."""

    def getTime(self) -> float:
        """When the call runs (clock seconds)."""

    def active(self) -> bool:
        """True until it ran or was cancelled."""

    def cancel(self) -> None:
        """Do not run it."""

    def reset(self, secondsFromNow: float) -> None:  # noqa: N803 (Twisted's name)
        """Run it ``secondsFromNow`` from now instead."""


class Clock(Protocol):
    """What txhbase uses of ``IReactorTime`` (a reactor or ``task.Clock``).

    A structural type, so the logic calls ``seconds``/``callLater`` checked
    by mypy (``IReactorTime`` is a zope interface mypy cannot call without
    a plugin); ``as_reactor_time`` hands it to Twisted APIs.
    """

    def seconds(self) -> float:
        """Now, in seconds."""

    def callLater(self, delay: float, callable: Callable[..., Any], *args: Any,
                  **kw: Any) -> DelayedCall:
        """Run ``callable(*args, **kw)`` in ``delay`` seconds."""
