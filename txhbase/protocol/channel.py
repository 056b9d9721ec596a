"""Channel: one live wire to one gateway, as ``Connection`` uses it.

``HBaseClientProtocol`` (TCP, buffered or framed Thrift) satisfies this
protocol structurally; other transports (HTTP, SASL) add their own class
and one branch in ``protocol.connect.open_channel``.  ``Connection`` knows
channels only through this seam.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime


__all__ = ["Channel"]


class Channel(Protocol):
    """One connected wire to one gateway.

    ``call`` takes the Thrift method's arguments in IDL field order and a
    timeout in milliseconds (None: the channel's default); its Deferred
    fires with the method's result and fails with txhbase errors
    (``ConnectionLost``, ``TimeoutError``, ``ProtocolError``,
    ``HBaseIOError``, ``IllegalArgument``, ``AlreadyExists``,
    ``ServerError``).  ``close()`` fires once the wire is closed.
    ``on_connection_lost`` callables run once when the wire drops, with the
    ``ConnectionLost`` every pending call failed with.
    """

    connected: bool
    clock: IReactorTime
    #: run once when the wire drops, with the ``ConnectionLost`` (a
    #: ``Failure`` of it is accepted too: ``Connection`` only logs it)
    on_connection_lost: List[Callable[[Any], Any]]

    @property
    def pending(self) -> int:
        """Calls in flight."""

    def call(self, name: str, *args: Any, timeout: Optional[float] = None) -> "Deferred[Any]":
        """Send one Thrift call; see the class docstring."""

    def close(self) -> "Deferred[None]":
        """Close the wire; fires with None once closed."""

