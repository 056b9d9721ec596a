"""Caller: the seam under ``Table``, ``Scanner`` and ``Batch``.

The table layer needs one operation - make Thrift call X with these
arguments and this timeout, giving a Deferred - plus a few facts (the HBase
``compat`` mode, the clock) and, for scanners, a way to keep every call of
one server scanner on the gateway that opened it (``pin``).

``Connection`` implements ``Caller`` for one gateway (its pin is itself);
``ConnectionPool`` implements it with failover and safe retries (its pin is
a lease of one pooled connection).  Future transports plug in below
``Connection`` (see ``protocol.channel.Channel``), not here.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from txhbase._clock import Clock, DelayedCall

__all__ = ["Caller", "Clock", "DelayedCall", "Pinned", "ScannerHandle", "as_reactor_time"]


def as_reactor_time(clock: Clock) -> IReactorTime:
    """``clock`` for Twisted APIs typed with ``IReactorTime`` (addTimeout, deferLater)."""
    return cast(IReactorTime, clock)


class ScannerHandle(Protocol):
    """What a ``Pinned`` may ask of a scanner it carries."""

    def connection_closing(self) -> None:
        """The connection is being closed: end the scan now."""


class Pinned(Protocol):
    """Calls fixed to one connection, for one server scanner's life.

    ``call`` is ``Caller.call`` on that one connection (never retried
    elsewhere).  After a failed call, ``resume`` decides whether the scan may
    be reopened and where; ``release`` gives the connection back.
    """

    @property
    def address(self) -> str:
        """``'host:port'`` (or endpoint) of the gateway the calls go to."""

    def call(self, method: str, *args: Any, timeout: Optional[float] = None) -> "Deferred[Any]":
        """As ``Caller.call``, on the pinned connection."""

    def resume(self, exc: BaseException, opening: bool) -> "Optional[Deferred[Pinned]]":
        """After scan call failed with ``exc`` (``opening``: the open call):
        None to give up (``exc`` is then final and this pin released), or a
        Deferred firing with the pin to reopen the scan on (this one or a
        fresh one, after any back-off); it may fail with the final error."""

    def release(self, bad: bool = False) -> None:
        """Give the connection back (``bad``: do not reuse it). Idempotent."""

    def track(self, scanner: ScannerHandle) -> None:
        """``scanner`` holds a server scanner here (ended by a connection close)."""

    def abandon(self, scanner_id: Optional[int]) -> None:
        """An unclosed scanner was garbage collected: close ``scanner_id``
        (if any) soon, outside the collector, and give the connection back."""


class Caller(Protocol):
    """Something that makes Thrift calls for the table layer."""

    @property
    def compat(self) -> str:
        """HBase compatibility mode (``'0.90'`` .. ``'0.98'``)."""

    @property
    def clock(self) -> Clock:
        """The clock timeouts and back-off run on."""

    def call(self, method: str, *args: Any, timeout: Optional[float] = None) -> "Deferred[Any]":
        """Call Thrift method ``method`` with ``args`` in IDL field order.

        ``timeout`` in milliseconds (None: the caller's default).  Fires with
        the method's result (None for void methods); fails with the errors
        of ``txhbase.errors`` (``ConnectionLost``, ``TimeoutError``,
        ``HBaseIOError``, ``IllegalArgument``, ``AlreadyExists``,
        ``ServerError``, ``ProtocolError``; a pool adds
        ``NoConnectionsAvailable`` / ``AllServersUnavailable``).
        """

    def pin(self) -> "Deferred[Pinned]":
        """Fire with calls fixed to one connection (for a server scanner).

        Fails as ``call`` does when no connection can be had.
        """
