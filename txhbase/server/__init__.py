"""The embedded HBase-compatible Thrift1 gateway (like ``treq.testing``, but a real server).

``listen()`` starts it on a reactor and returns a ``RunningServer``::

    srv = listen(0)                 # a free port on 127.0.0.1
    ... connect to srv.host, srv.port ...
    yield srv.stop()

It speaks the ``Hbase`` service with HBase's semantics and errors, over the
same framing and codec as the txhbase client; ``data_dir`` makes every
acknowledged mutation durable (see ``wal``).
"""
from __future__ import annotations

import logging
from typing import Any, Iterable, Optional, Union

from twisted.internet import defer

from txhbase.protocol.server import HBaseServerFactory, HBaseServerProtocol, _check_timeout
from txhbase.server.handler import HBaseHandler
from txhbase.server.store import Store

__all__ = ["RunningServer", "listen", "HBaseHandler", "Store"]

log = logging.getLogger(__name__)


def _as_bytes(value: Union[str, bytes], what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


class _GatewayProtocol(HBaseServerProtocol):
    """A server connection that the factory tracks, with TCP_NODELAY and an idle timeout."""

    def connectionMade(self) -> None:
        # replies are written whole; Nagle would only delay them
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            set_no_delay(True)
        self._idle = None
        self.factory.connections.add(self)
        self._arm()
        super().connectionMade()

    def _arm(self) -> None:
        timeout = self.factory.idle_timeout
        if timeout:
            if self._idle is not None and self._idle.active():
                self._idle.reset(timeout)
            else:
                self._idle = self.factory.clock.callLater(timeout, self._idle_close)

    def _idle_close(self) -> None:
        log.debug("closing a connection idle for %.1f s", self.factory.idle_timeout)
        self.close()

    def dataReceived(self, data: bytes) -> None:
        if self._idle is not None:
            self._arm()
        super().dataReceived(data)

    def connectionLost(self, reason: Any = None) -> None:
        self.factory.connections.discard(self)
        if self._idle is not None and self._idle.active():
            self._idle.cancel()
        super().connectionLost(reason)


class _TrackingFactory(HBaseServerFactory):
    """Builds tracked connections so ``stop()`` can close them."""

    def __init__(self, *args: Any, idle_timeout: Optional[float] = None, clock: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[_GatewayProtocol] = set()
        self.idle_timeout = idle_timeout
        self.clock = clock

    def buildProtocol(self, addr: Any) -> Any:
        p = _GatewayProtocol(self.handler, self.transport, self.protocol_name,
                             self.max_message_size, **self.protocol_kwargs())
        p.factory = self
        return p


class RunningServer:
    """A listening embedded gateway: where it is, its handler and store, and ``stop()``."""

    def __init__(self, listening_port: Any, factory: _TrackingFactory, handler: HBaseHandler,
                 wal: Any = None) -> None:
        self._port = listening_port
        self._factory = factory
        addr = listening_port.getHost()
        self.host: str = addr.host
        self.port: int = addr.port
        self.handler = handler
        self.store: Store = handler.store
        self.wal = wal
        self.transport = factory.transport
        self.protocol = factory.protocol_name
        #: HTTP mode: the headers of each request seen (lower-case names).
        self.http_requests: Any = getattr(factory, "requests", None)
        self._stopped: Optional[defer.Deferred[None]] = None

    def split_table(self, name: Union[str, bytes], keys: Iterable[Union[str, bytes]]) -> None:
        """Pre-split ``name`` at ``keys`` (now, or when it is created) so it has several regions."""
        self.store.split_table(_as_bytes(name, "name"),
                               [_as_bytes(k, "keys item") for k in keys])

    def open_scanner_count(self) -> int:
        """Scanners open on the server (neither closed nor expired)."""
        return self.handler.open_scanner_count()

    def stop(self) -> defer.Deferred[None]:
        """Stop listening, drop client connections and scanners, close the log."""
        if self._stopped is not None:
            return self._stopped
        d = defer.maybeDeferred(self._port.stopListening)
        for p in list(self._factory.connections):
            p.close()

        def done(_: Any) -> None:
            self.handler.close_all_scanners()
            if self.wal is not None:
                self.wal.close()

        d.addCallback(done)
        self._stopped = d
        return d


def listen(port: int = 0, host: str = "127.0.0.1", *, reactor: Any = None,
           transport: str = "buffered", protocol: str = "binary",
           data_dir: Optional[str] = None, scanner_timeout: float = 60.0,
           clock: Any = None, idle_timeout: Optional[float] = None,
           message_timeout: Optional[float] = None,
           wal_recovery: str = "strict",
           tls_cert: Optional[str] = None, tls_key: Optional[str] = None) -> RunningServer:
    """Start an embedded HBase Thrift1 gateway on ``host:port`` (0 = a free port).

    ``clock`` (an IReactorTime, default the reactor) gives server time and
    expires idle scanners after ``scanner_timeout`` seconds.  ``data_dir``
    replays and then appends to a write-ahead log there.  ``idle_timeout``
    (seconds, default off) closes connections that send nothing for that
    long, as HBase's threadpool gateway does after 60 s, so clients' pools
    can be tested against it.  ``message_timeout`` (seconds, default off)
    closes a connection whose call is not received whole that long after its
    first byte (a client dribbling bytes cannot hold a slot forever).
    ``wal_recovery``: ``"strict"`` (default) refuses to start, with
    ``wal.LogCorrupted`` naming the file and byte offset, if the log is
    corrupt anywhere but in a torn last record; ``"salvage"`` keeps a copy of
    the log and starts from every record that verifies.


    ``transport='http'`` serves HBase's HTTP mode (one POST per call, see
    ``txhbase.server.http``), over HTTPS when ``tls_cert`` and ``tls_key``
    (PEM files) are given (``transport='https'`` requires them); the
    ``RunningServer``'s ``http_requests`` lists the headers it saw.
    """
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int in 0..65535, not {port!r}")
    if not isinstance(host, str):
        raise TypeError(f"host must be str, not {type(host).__name__}")
    if transport not in ("buffered", "framed", "http", "https"):
        raise ValueError(f"transport must be 'buffered', 'framed', 'http' or 'https', "
                         f"not {transport!r}")
    http_mode = transport in ("http", "https")
    if http_mode:
        if protocol != "binary":
            raise ValueError(f"protocol must be 'binary' with transport={transport!r}")
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        if transport == "https" and tls_cert is None:
            raise ValueError("transport='https' needs tls_cert and tls_key")
    elif tls_cert is not None or tls_key is not None:
        raise ValueError("tls_cert/tls_key need transport='http' or 'https'")
    if protocol not in ("binary", "compact"):
        raise ValueError(f"protocol must be 'binary' or 'compact', not {protocol!r}")
    if scanner_timeout is not None and scanner_timeout < 0:
        raise ValueError("scanner_timeout must be >= 0")
    if idle_timeout is not None and idle_timeout <= 0:
        raise ValueError("idle_timeout must be > 0 (or None for no timeout)")
    _check_timeout(message_timeout, "message_timeout")
    if wal_recovery not in ("strict", "salvage"):
        raise ValueError(f"wal_recovery must be 'strict' or 'salvage', not {wal_recovery!r}")
    if reactor is None:
        from twisted.internet import reactor  # noqa: N813
    if clock is None:
        clock = reactor
    store = Store(clock=lambda: int(clock.seconds() * 1000))
    wal = None
    if data_dir is not None:
        from txhbase.server.wal import WriteAheadLog

        wal = WriteAheadLog(data_dir, clock=reactor)
        wal.recover(store, mode=wal_recovery)
        wal.attach(store)
    handler = HBaseHandler(store, clock=clock, scanner_timeout=scanner_timeout, wal=wal,
                           server_name=b"localhost")
    factory: Any = None
    if not http_mode:
        factory = _TrackingFactory(handler, transport, protocol, idle_timeout=idle_timeout,
                                   clock=clock, reactor=reactor, message_timeout=message_timeout)
    try:
        if http_mode:
            from txhbase.server.http import listen_http

            lp, factory = listen_http(reactor, handler, port, host, tls_cert=tls_cert,
                                      tls_key=tls_key, idle_timeout=idle_timeout)
        else:
            lp = reactor.listenTCP(port, factory, interface=host)
    except Exception:
        if wal is not None:
            wal.close()
        raise
    handler.server_port = lp.getHost().port
    log.info("txhbase.server listening on %s:%d (%s/%s)", host, lp.getHost().port,
             factory.transport, protocol)
    return RunningServer(lp, factory, handler, wal)
