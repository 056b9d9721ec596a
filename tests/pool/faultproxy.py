"""A fault-injecting TCP proxy (Twisted) to put between a client and a gateway.

Faults, set at any time from the test:

* ``delay``: seconds each server->client chunk is held back (ordered);
* ``stall()`` / ``unstall()``: hold every reply byte until unstalled (or forever);
* ``drop_mid_reply(n)``: forward the next ``n`` reply bytes, then abort
  both sides (a connection dropped in the middle of a reply);
* ``truncate_next(n)``: like ``drop_mid_reply`` but closes cleanly (FIN);
* ``corrupt_next(offset, xor)``: flip bits of one byte of the next reply;
* ``refuse = True``: accept and immediately abort new connections;
* ``drop_all()``: abort every proxied connection now.

Counters (``connections``, ``bytes_up``, ``bytes_down``) let tests assert
what went through.
"""
from __future__ import annotations

from typing import Any, Optional

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IReactorTime


class _Backend(protocol.Protocol):
    """Proxy -> gateway side."""

    front: "_Front"

    def connectionMade(self) -> None:
        self.front.backend_ready(self)

    def dataReceived(self, data: bytes) -> None:
        self.front.proxy._reply(self.front, data)

    def connectionLost(self, reason: Any = None) -> None:
        self.front.backend_lost()


class _BackendFactory(protocol.ClientFactory):
    def __init__(self, front: "_Front") -> None:
        self.front = front

    def buildProtocol(self, addr: Any) -> _Backend:
        b = _Backend()
        b.front = self.front
        b.factory = self
        return b

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
        self.front.abort()


class _Front(protocol.Protocol):
    """Client -> proxy side."""

    proxy: "FaultProxy"

    def __init__(self) -> None:
        self.backend: Optional[_Backend] = None
        self.pending: list[bytes] = []
        self.held: list[bytes] = []  # stalled reply bytes
        self.closed = False
        self.last_write: Any = None  # tail of delayed writes, keeps order

    def connectionMade(self) -> None:
        proxy = self.proxy
        if proxy.refuse:
            self.transport.abortConnection()
            return
        proxy.live.add(self)
        proxy.connections += 1
        self.transport.pauseProducing()
        proxy.reactor.connectTCP(proxy.target_host, proxy.target_port, _BackendFactory(self),
                                 timeout=5)

    def backend_ready(self, backend: _Backend) -> None:
        if self.backend is not None:
            return
        self.backend = backend
        if self.closed:
            backend.transport.abortConnection()
            return
        for chunk in self.pending:
            backend.transport.write(chunk)
        self.pending = []
        self.transport.resumeProducing()

    def dataReceived(self, data: bytes) -> None:
        self.proxy.bytes_up += len(data)
        if self.backend is None:
            self.pending.append(data)
        else:
            self.backend.transport.write(data)

    def backend_lost(self) -> None:
        if not self.closed and not self.held and self.proxy.delay <= 0:
            self.transport.loseConnection()
        elif not self.closed:
            # Let delayed/held bytes drain first, then close.
            self.proxy.reactor.callLater(self.proxy.delay, self._close_if_drained)

    def _close_if_drained(self) -> None:
        if not self.closed and not self.held:
            self.transport.loseConnection()

    def write_down(self, data: bytes) -> None:
        if not self.closed:
            self._write(data)

    def _write(self, data: bytes) -> None:
        self.proxy.bytes_down += len(data)
        self.transport.write(data)

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.abortConnection()
        if self.backend is not None:
            self.backend.transport.abortConnection()

    def connectionLost(self, reason: Any = None) -> None:
        self.closed = True
        self.proxy.live.discard(self)
        if self.backend is not None:
            self.backend.transport.loseConnection()


class FaultProxy:
    """Listen on ``listen(port)``; forward to ``target_host:target_port`` with faults."""

    def __init__(self, target_host: str, target_port: int, reactor: Any = None) -> None:
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        self.reactor: Any = reactor  # IReactorTCP + IReactorTime
        self.target_host = target_host
        self.target_port = target_port
        self.delay = 0.0
        self.refuse = False
        self.stalled = False
        self._drop_after: Optional[int] = None
        self._clean_close = False
        self._corrupt: Optional[tuple[int, int]] = None
        self.live: set[_Front] = set()
        self.connections = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self._port: Any = None
        self.last_port = 0  # kept after stop(), to listen() again on the same port

    # ---------------------------------------------------------------- control

    def listen(self, port: int = 0, host: str = "127.0.0.1") -> int:
        factory = protocol.Factory()

        def build(addr: Any) -> _Front:
            p = _Front()
            p.proxy = self
            p.factory = factory
            return p

        factory.buildProtocol = build  # type: ignore[method-assign]
        self._port = self.reactor.listenTCP(port, factory, interface=host)
        self.last_port = self.port
        return self.port

    @property
    def port(self) -> int:
        return self._port.getHost().port

    def stop(self) -> defer.Deferred:
        """Stop listening and abort every proxied connection."""
        self.drop_all()
        port, self._port = self._port, None
        return defer.maybeDeferred(port.stopListening) if port is not None else defer.succeed(None)

    def drop_all(self) -> None:
        for front in list(self.live):
            front.abort()

    def stall(self) -> None:
        self.stalled = True

    def unstall(self) -> None:
        self.stalled = False
        for front in list(self.live):
            held, front.held = front.held, []
            for chunk in held:
                self._forward(front, chunk)

    def drop_mid_reply(self, after_bytes: int) -> None:
        """Abort the connection carrying the next reply after ``after_bytes`` of it."""
        self._drop_after, self._clean_close = after_bytes, False

    def truncate_next(self, after_bytes: int) -> None:
        """Close (FIN) the connection carrying the next reply after ``after_bytes`` of it."""
        self._drop_after, self._clean_close = after_bytes, True

    def corrupt_next(self, offset: int = 0, xor: int = 0xFF) -> None:
        """XOR one byte (at ``offset`` of the next reply chunk) with ``xor``."""
        self._corrupt = (offset, xor)

    # ---------------------------------------------------------------- data path

    def _reply(self, front: _Front, data: bytes) -> None:
        if self._corrupt is not None:
            offset, xor = self._corrupt
            if offset < len(data):
                self._corrupt = None
                data = data[:offset] + bytes([data[offset] ^ xor]) + data[offset + 1:]
            else:
                self._corrupt = (offset - len(data), xor)
        if self._drop_after is not None:
            n, clean = self._drop_after, self._clean_close
            self._drop_after = None
            if not front.closed:
                front._write(data[:n])
            if clean:
                front.closed = True
                front.transport.loseConnection()
                if front.backend is not None:
                    front.backend.transport.abortConnection()
            else:
                # Let the partial reply reach the client, then reset.
                front.closed = True
                self.reactor.callLater(0.02, front.transport.abortConnection)
                if front.backend is not None:
                    front.backend.transport.abortConnection()
            return
        if self.stalled:
            front.held.append(data)
            return
        self._forward(front, data)

    def _forward(self, front: _Front, data: bytes) -> None:
        if self.delay > 0:
            clock: IReactorTime = self.reactor
            clock.callLater(self.delay, front.write_down, data)
        else:
            front.write_down(data)
