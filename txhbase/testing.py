"""Test your txhbase code without a network or a running reactor.

``MemoryGateway`` runs the real client (``Connection``, ``ConnectionPool``,
``Table``, ``Scanner``, ``Batch``, the Thrift codec and framing) against the
embedded server's real handler and server protocol, joined by in-memory
transports (``twisted.test.iosim``), in the spirit of ``treq.testing``::

    gateway = MemoryGateway()                 # its clock: a task.Clock
    conn = gateway.connection()               # open, no socket
    d = conn.create_table("t", {"cf": {}})
    gateway.flush()                           # deliver every byte both ways
    assert d.called

Bytes move only on ``flush()`` (or ``clock.advance()`` for timed work), so a
test decides exactly when the gateway answers: a Deferred that is pending
before ``flush()`` shows what waits on the gateway.  Timeouts, back-off and
server scanner expiry run on the gateway's clock (pass a ``task.Clock`` as
``reactor`` to share one with the code under test).

``MemoryGateway(transport='http')`` does the same in HTTP mode: the real
``HTTPChannel`` (Twisted's ``Agent`` and ``HTTPConnectionPool``) against the
embedded server's real ``twisted.web`` site (``txhbase.server.http``), each
HTTP connection an in-memory pair (``HTTPChannel``'s ``endpoint``).
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, cast

from twisted.internet import defer, task
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory
from twisted.test import iosim
from zope.interface import implementer

from txhbase import _options
from txhbase.caller import Clock, as_reactor_time
from txhbase.connection import Connection
from txhbase.pool import ConnectionPool
from txhbase.protocol.channel import Channel
from txhbase.protocol.client import HBaseClientProtocol
from txhbase.protocol.connect import Address
from txhbase.protocol.http import HTTPChannel
from txhbase.protocol.http_options import HTTPOptions, http_options
from txhbase.protocol.server import HBaseServerFactory

__all__ = ["MemoryGateway"]

#: The address in-memory connections report.
MEMORY_HOST = "memory"
MEMORY_PORT = 9090
#: The peer address both ends of an in-memory connection are built for.
_PEER: Any = IPv4Address("TCP", "127.0.0.1", MEMORY_PORT)


class MemoryGateway:
    """An in-memory HBase Thrift1 gateway for tests.

    :param reactor: the clock for the gateway and every connection it makes
        (timeouts, back-off, scanner expiry).  Default: a new
        ``task.Clock``, so nothing needs a running reactor; it is
        ``gateway.clock``.
    :param transport: ``'buffered'``, ``'framed'`` or ``'http'`` (both
        ends; ``'https'`` is not supported: TLS needs no testing in memory,
        ValueError).
    :param protocol: ``'binary'`` or ``'compact'`` (both ends; HTTP is
        binary only).
    :param handler: the service object (default: the embedded server's
        ``HBaseHandler`` over an empty in-memory store, as ``gateway.handler``).
    """

    def __init__(self, reactor: Optional[Clock] = None, *, transport: str = "buffered",
                 protocol: str = "binary", handler: Any = None) -> None:
        self.transport = _options.transport(transport)
        if self.transport == "https":
            raise ValueError("transport: MemoryGateway does not support 'https' "
                             "(use 'http': the same channel without TLS)")
        self.protocol = _options.protocol(protocol)
        self._http: Optional[HTTPOptions] = http_options(self.transport, self.protocol)
        self.clock: Clock = reactor if reactor is not None else task.Clock()
        if handler is None:
            from txhbase.server import HBaseHandler

            handler = HBaseHandler(clock=self.clock)
        self.handler = handler
        self._factory: Any
        if self._http is not None:
            from txhbase.server.http import HTTPGateway, ThriftResource

            resource = ThriftResource(handler, reactor=as_reactor_time(self.clock))
            self._factory = HTTPGateway(resource, tls=False, idle_timeout=None,
                                        reactor=self.clock)
        else:
            self._factory = HBaseServerFactory(handler, self.transport, self.protocol,
                                               reactor=as_reactor_time(self.clock))
        self._pumps: List[iosim.IOPump] = []

    # ------------------------------------------------------------------ clients

    def connection(self, **kwargs: Any) -> Connection:
        """An open ``Connection`` to this gateway (no socket, no round trip).

        ``kwargs`` are ``Connection``'s options (``timeout``,
        ``table_prefix``, ``compat``, ...); ``reactor``, ``transport`` and
        ``protocol`` are the gateway's.  It reconnects in memory after
        ``close()`` + ``open()`` or a dropped connection.
        """
        conn = self._unopened(MEMORY_HOST, MEMORY_PORT, **kwargs)
        conn.open()  # the in-memory channel is connected at once
        return conn

    def pool(self, size: int, **kwargs: Any) -> ConnectionPool:
        """A ``ConnectionPool`` of ``size`` in-memory connections to this gateway.

        ``kwargs`` are the pool's options and ``Connection``'s options, as
        for ``ConnectionPool``; the pool's clock is the gateway's.
        """
        return ConnectionPool(size, MEMORY_HOST, MEMORY_PORT, reactor=self.clock,
                              transport=self.transport, protocol=self.protocol,
                              channel_factory=self._open_channel, **kwargs)

    def _unopened(self, host: str, port: int, **kwargs: Any) -> Connection:
        return Connection(host, port, reactor=as_reactor_time(self.clock), transport=self.transport,
                          protocol=self.protocol, channel_factory=self._open_channel, **kwargs)

    def _open_channel(self, reactor: Any, address: Address, *, transport: str,
                      protocol: str, timeout: Optional[float] = None,
                      connect_timeout: Optional[float] = None,
                      max_message_size: Optional[int] = None,
                      http: Optional[HTTPOptions] = None) -> "defer.Deferred[Channel]":
        """``Connection``'s channel factory: a client protocol joined in
        memory to a new server protocol of this gateway (over HTTP: an
        ``HTTPChannel`` whose every HTTP connection is such a pair)."""
        size = _options.max_message_size(max_message_size)
        if self._http is not None:
            channel = HTTPChannel(self.clock, MEMORY_HOST, MEMORY_PORT, http or self._http,
                                  default_timeout=timeout, max_message_size=size,
                                  clock=as_reactor_time(self.clock),
                                  endpoint=cast(IStreamClientEndpoint, _MemoryEndpoint(self)))
            return defer.succeed(cast(Channel, channel))
        client = HBaseClientProtocol(transport, protocol, default_timeout=timeout,
                                     max_message_size=size, clock=as_reactor_time(self.clock))
        self._join(client)
        # HBaseClientProtocol is a Channel (structurally; its attribute types
        # are looser than the seam's, see protocol/channel.py).
        return defer.succeed(cast(Channel, client))

    def _join(self, client: Any) -> None:
        """Join ``client`` in memory to a new server protocol of this gateway."""
        server = self._factory.buildProtocol(_PEER)
        # No ``clock=`` (Twisted < 23 lacks it): ``flush()`` runs the calls
        # due on the gateway's clock between pumps itself.
        pump = iosim.connect(  # type: ignore[no-untyped-call]
            server, iosim.FakeTransport(server, isServer=True),  # type: ignore[no-untyped-call]
            client, iosim.FakeTransport(client, isServer=False),  # type: ignore[no-untyped-call]
            greet=False)
        self._pumps.append(pump)

    # ------------------------------------------------------------------ driving

    def flush(self) -> None:
        """Deliver every pending byte both ways (and the calls due now on a
        ``task.Clock``) until nothing moves: every call sent so far is
        answered, and code reacting to those answers has run (including the
        calls it made in turn)."""
        moved = True
        while moved:
            moved = False
            for pump in list(self._pumps):
                while pump.pump():  # type: ignore[no-untyped-call]
                    moved = True
                if pump.clientIO.disconnected and pump.serverIO.disconnected:
                    self._pumps.remove(pump)
            clock: Any = self.clock
            if isinstance(clock, task.Clock):
                now = clock.seconds()
                calls: Sequence[Any] = clock.getDelayedCalls()
                if any(c.getTime() <= now for c in calls):
                    clock.advance(0)
                    moved = True

    def drop_connections(self) -> None:
        """Close every connection from the gateway's side (as a gateway
        restart or an idle timeout would); ``flush()`` delivers the loss."""
        for pump in self._pumps:
            pump.serverIO.loseConnection()

    @property
    def requests(self) -> Any:
        """Over HTTP: the headers of each request the gateway saw (lower-case
        names), oldest first; see ``txhbase.server.http.HTTPGateway``."""
        if self._http is None:
            raise AttributeError("requests: only a transport='http' gateway records them")
        return self._factory.requests

    @property
    def connections(self) -> int:
        """In-memory connections currently open."""
        return sum(1 for p in self._pumps
                   if not (p.clientIO.disconnected or p.serverIO.disconnected))


@implementer(IStreamClientEndpoint)
class _MemoryEndpoint:
    """Each ``connect()`` is a new in-memory connection to the gateway."""

    def __init__(self, gateway: MemoryGateway) -> None:
        self.gateway = gateway

    def connect(self, factory: Factory) -> "defer.Deferred[Any]":
        """Fires with ``factory``'s new protocol, joined to a new server protocol."""
        client: Any = factory.buildProtocol(_PEER)
        if client is None:  # pragma: no cover - Twisted's factories always build one
            return defer.fail(ConnectionRefusedError("the factory built no protocol"))
        self.gateway._join(client)
        return defer.succeed(client)
