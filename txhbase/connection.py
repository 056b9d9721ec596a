"""Connection: one logical connection to an HBase Thrift1 gateway.

It owns at most one ``HBaseClientProtocol`` at a time, opens it on ``open()``
or on first use, and reopens it transparently when the server closed it
(HBase's gateway closes connections idle for 60 s): a call that was not yet
written to the socket never sees that error.  ``host`` may list several
gateways (``'host:port'`` strings): the first reachable one is used and the
others are tried on reconnect.  Table administration lives here; data
access goes through ``table(name)``.
"""
from __future__ import annotations

import logging
import weakref
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from txhbase import _convert, _options, _retry, _validate
from txhbase.caller import Clock, Pinned, ScannerHandle, as_reactor_time
from txhbase.errors import ConnectionLost, TimeoutError
from txhbase.protocol.channel import Channel
from txhbase._address import DEFAULT_HOST, DEFAULT_PORT, describe, parse_addresses
from txhbase.protocol.connect import Address, open_channel
from txhbase.protocol.http_options import DEFAULT_HTTP_CONNECTIONS, http_options
from txhbase.protocol.sasl import sasl_options
from txhbase.table import Table

__all__ = ["Connection", "COMPAT_MODES", "parse_addresses", "prefixed_name"]

log = logging.getLogger(__name__)

COMPAT_MODES = ("0.90", "0.92", "0.94", "0.96", "0.98")
TRANSPORTS = _options.TRANSPORTS
PROTOCOLS = _options.PROTOCOLS
def prefixed_name(name: Any, prefix: Optional[bytes], separator: bytes,
                  argname: str = "name") -> bytes:
    """A table name with HappyBase's ``table_prefix`` applied (one home for it)."""
    raw = _validate.to_bytes(name, argname)
    if prefix is None:
        return raw
    return prefix + separator + raw


def check_compat(compat: Any) -> str:
    """A compat mode from ``COMPAT_MODES``."""
    if not isinstance(compat, str):
        raise TypeError(f"'compat' must be a str, not {type(compat).__name__}")
    if compat not in COMPAT_MODES:
        raise ValueError(f"'compat' must be one of {', '.join(COMPAT_MODES)}, "
                         f"not {compat!r}")
    return compat


#: Opens one channel: ``factory(reactor, address, transport=, protocol=,
#: timeout=, connect_timeout=, max_message_size=)``, as
#: ``protocol.connect.open_channel`` (the default); ``txhbase.testing``
#: passes an in-memory one.
ChannelFactory = Callable[..., "defer.Deferred[Channel]"]


def _follow(d: "defer.Deferred[None]") -> "defer.Deferred[None]":
    """A new Deferred firing with ``d``'s result, leaving ``d`` untouched."""
    out: "defer.Deferred[None]" = defer.Deferred()

    def fire(result: Any) -> Any:
        out.callback(None)
        return result

    d.addBoth(fire)
    return out


class Connection:
    """A Deferred-returning connection to an HBase Thrift1 gateway.

    :param host: a host name, ``'host:port'``, a list of ``'host:port'``
        gateways (first reachable used, others on reconnect) or a Twisted
        client endpoint string (``'tcp:host=h:port=p'``, ``'unix:path=/p'``).
    :param port: the port when ``host`` does not give one.
    :param timeout: default per-call timeout in milliseconds (None: none).
    :param table_prefix: prepended (with ``table_prefix_separator``) to every
        table name, and stripped from ``tables()``, as in HappyBase.
    :param compat: HBase version compatibility (``'0.90'`` .. ``'0.98'``).
    :param transport: ``'buffered'`` or ``'framed'``; ``'http'`` or ``'https'``
        for a gateway in HTTP mode (binary protocol only), with
        ``http_path`` (default ``'/'``), ``headers`` (sent with every
        request), ``proxy_user`` (HBase's ``doAs``), ``http_connections``
        (persistent connections per gateway, calls beyond them queue), and
        for https ``tls_ca`` (PEM; None: the system's roots),
        ``tls_client_cert``/``tls_client_key`` (PEM) and ``tls_verify``.
    :param protocol: ``'binary'`` or ``'compact'``.
    :param reactor: the reactor to connect and time out with (default: the
        global one).
    :param connect_timeout: bound on one connection attempt in ms
        (default: ``timeout``).
    :param slow_call_ms: calls slower than this are logged at WARNING.
    :param auth: None, or ``'kerberos'``: authenticate with SASL GSSAPI to
        a Kerberized gateway (``pip install 'txhbase[kerberos]'``); every
        (re)connection authenticates anew. Over ``'http'``/``'https'``:
        SPNEGO, a fresh ``Authorization: Negotiate`` token on every request.
        Credentials come from the
        environment (``KRB5CCNAME`` ticket cache or ``KRB5_CLIENT_KTNAME``
        client keytab, ``KRB5_CONFIG``).
    :param kerberos_service: the service part of the gateway's principal
        (default ``'hbase'``; ``'HTTP'`` over HTTP(S), as in HBase's usual
        ``hbase.thrift.spnego.principal`` ``HTTP/_HOST@REALM``).
    :param kerberos_host: the host part (default: the gateway's host name).
    :param kerberos_principal: the client principal (default: the one of the
        ticket cache or client keytab).
    :param qop: ``'auth'``, ``'auth-int'`` or ``'auth-conf'``: must be what
        the gateway's ``hbase.thrift.security.qop`` says (sockets only).
    :param channel_factory: opens the wire to a gateway (see
        ``ChannelFactory``; default ``protocol.connect.open_channel``), e.g.
        ``txhbase.testing.MemoryGateway``'s in-memory one.
    """

    def __init__(self, host: Union[str, Sequence[str], None] = DEFAULT_HOST,
                 port: Optional[int] = DEFAULT_PORT, *,
                 timeout: Optional[float] = None,
                 table_prefix: Union[bytes, str, None] = None,
                 table_prefix_separator: Union[bytes, str] = b"_",
                 compat: str = "0.98", transport: str = "buffered",
                 protocol: str = "binary", reactor: Optional[IReactorTime] = None,
                 connect_timeout: Optional[float] = None,
                 max_message_size: Optional[int] = None,
                 slow_call_ms: Optional[float] = 1000.0,
                 auth: Optional[str] = None, kerberos_service: Optional[str] = None,
                 kerberos_host: Optional[str] = None,
                 kerberos_principal: Optional[str] = None, qop: str = "auth",
                 http_path: str = "/", headers: Optional[Dict[str, str]] = None,
                 tls_ca: Optional[str] = None, tls_client_cert: Optional[str] = None,
                 tls_client_key: Optional[str] = None, tls_verify: bool = True,
                 proxy_user: Optional[str] = None,
                 http_connections: int = DEFAULT_HTTP_CONNECTIONS,
                 channel_factory: Optional[ChannelFactory] = None) -> None:
        _options.transport(transport)
        _options.protocol(protocol)
        check_compat(compat)
        self.http = http_options(transport, protocol, http_path=http_path, headers=headers,
                                 tls_ca=tls_ca, tls_client_cert=tls_client_cert,
                                 tls_client_key=tls_client_key, tls_verify=tls_verify,
                                 proxy_user=proxy_user, http_connections=http_connections)
        if table_prefix is not None:
            if not isinstance(table_prefix, (bytes, str)):
                raise TypeError("'table_prefix' must be a string")
            table_prefix = _validate.to_bytes(table_prefix, "table_prefix")
        if not isinstance(table_prefix_separator, (bytes, str)):
            raise TypeError("'table_prefix_separator' must be a string")
        self.addresses: List[Address] = parse_addresses(host, port)
        self.sasl = sasl_options(auth, kerberos_service=kerberos_service,
                                 kerberos_host=kerberos_host,
                                 kerberos_principal=kerberos_principal, qop=qop,
                                 transport=transport)
        if (self.sasl is not None and self.sasl.host is None
                and any(kind == "endpoint" for kind, _, _ in self.addresses)):
            raise ValueError("'kerberos_host' is needed when 'host' is an endpoint string")
        if self.http is not None and any(a[0] == "endpoint" for a in self.addresses):
            raise ValueError(f"'host': endpoint strings do not apply to "
                             f"transport={transport!r}; give 'host:port'")
        self.timeout = _validate.timeout(timeout, "timeout")
        self.connect_timeout = _validate.timeout(connect_timeout, "connect_timeout")
        self.slow_call_ms = _validate.timeout(slow_call_ms, "slow_call_ms")
        if max_message_size is not None:
            _options.max_message_size(max_message_size)
        self.max_message_size = max_message_size
        self.table_prefix: Optional[bytes] = table_prefix
        self.table_prefix_separator: bytes = _validate.to_bytes(
            table_prefix_separator, "table_prefix_separator")
        self._compat = compat
        self.transport = transport
        self.protocol = protocol
        if reactor is None:
            from twisted.internet import reactor as _reactor
            reactor = _reactor
        #: the reactor given (or the global one): connects, and is the clock.
        self.reactor: Any = reactor
        self._channel_factory: Optional[ChannelFactory] = channel_factory
        self._index = 0
        self._proto: Optional[Channel] = None
        self._connecting: "Optional[defer.Deferred[Channel]]" = None
        self._waiters: "List[defer.Deferred[Channel]]" = []
        self._closed = False
        self._draining: "Optional[defer.Deferred[None]]" = None
        #: number of times a connection was (re)opened, for observers and tests.
        self.connects = 0
        #: Scanners that opened a server scanner on this connection (weakly
        #: held): ``close()`` releases the ones still open.
        self.live_scanners: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self._in_flight = 0
        self._idle_waiters: "List[defer.Deferred[None]]" = []
        self._slow_logged_at = float("-inf")
        self._slow_suppressed = 0

    def __repr__(self) -> str:
        state = "connected" if self.connected else ("closed" if self._closed else "idle")
        return f"<txhbase.Connection {self.address} {state}>"

    # ------------------------------------------------------------ properties

    @property
    def host(self) -> str:
        """The host (or endpoint string) of the current gateway."""
        return self.addresses[self._index][1]

    @property
    def port(self) -> Optional[int]:
        """The port of the current gateway (None for an endpoint string)."""
        return self.addresses[self._index][2]

    @property
    def address(self) -> str:
        """``'host:port'`` (or the endpoint string) of the current gateway."""
        return describe(self.addresses[self._index])

    @property
    def connected(self) -> bool:
        """True while a live connection to a gateway is open."""
        return self._proto is not None and bool(self._proto.connected)

    @property
    def closed(self) -> bool:
        """True after ``close()`` (until ``open()`` is called again)."""
        return self._closed

    @property
    def compat(self) -> str:
        """HBase compatibility mode (``'0.90'`` .. ``'0.98'``)."""
        return self._compat

    @property
    def clock(self) -> Clock:
        """The clock timeouts run on (the ``reactor`` given, or the global one)."""
        clock: Clock = self.reactor
        return clock

    @property
    def pending(self) -> int:
        """Calls in flight on this connection."""
        return self._in_flight

    # ------------------------------------------------------------ life cycle

    def open(self) -> "defer.Deferred[Connection]":
        """Connect now (if not yet connected).

        Fires with this Connection; fails with ``ConnectionLost`` (``sent=False``)
        when no gateway could be reached, or ``TimeoutError``.
        """
        self._closed = False
        d = self._get_proto(self.connect_timeout or self.timeout)
        return d.addCallback(lambda _: self)

    def close(self, grace: Optional[float] = None) -> "defer.Deferred[None]":
        """Close the connection; fires with None once closed. Safe to call twice.

        With ``grace`` (seconds on the connection's clock, > 0): new calls fail
        at once with ``ConnectionLost`` (``sent=False``), calls in flight may
        finish until the grace period ends; then (or as soon as none is left)
        the connection closes as below.  Without: at once.

        Scanners still holding a server scanner are ended (their pending
        ``get_next()`` fail with ``ConnectionLost``) and their ``scannerClose``
        is written before the connection is closed. Calls in flight fail with
        ``ConnectionLost``; later calls fail with ``ConnectionLost``
        (``sent=False``) until ``open()`` is called again. Never fails.
        """
        grace = _options.seconds(grace, "grace")
        if grace and not self._closed and self._in_flight:
            if self._draining is None:
                self._closed = True
                self._draining = self._drain(grace)
            return _follow(self._draining)
        if self._draining is not None:
            # close(0) during a graceful close: stop waiting.
            draining = _follow(self._draining)
            waiters, self._idle_waiters = self._idle_waiters, []
            for w in waiters:
                w.callback(None)
            return draining
        return self._close_now()

    def _drain(self, grace: float) -> "defer.Deferred[None]":
        idle: "defer.Deferred[None]" = defer.Deferred()
        self._idle_waiters.append(idle)
        idle.addTimeout(grace, as_reactor_time(self.clock), onTimeoutCancel=lambda r, t: None)

        def done(_: Any) -> "defer.Deferred[None]":
            self._draining = None
            self._idle_waiters = []
            self._closed = False  # so _close_now runs its full course
            return self._close_now()

        return idle.addBoth(done)

    def _close_now(self) -> "defer.Deferred[None]":
        if not self._closed and self.connected:
            for scanner in list(self.live_scanners):
                scanner.connection_closing()
        self.live_scanners = weakref.WeakSet()
        self._closed = True
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            w.errback(ConnectionLost("connection closed with close()", sent=False))
        if self._connecting is not None:
            self._connecting.cancel()
        proto, self._proto = self._proto, None
        if proto is None:
            return defer.succeed(None)
        log.debug("closing connection to %s", self.address)
        return proto.close()

    def _now_idle(self) -> None:
        """No call in flight any more: a graceful close may proceed."""
        waiters, self._idle_waiters = self._idle_waiters, []
        for w in waiters:
            w.callback(None)

    async def __aenter__(self) -> "Connection":
        await self.open()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self.close()

    def _get_proto(self, timeout: Optional[float]) -> "defer.Deferred[Channel]":
        """A Deferred firing with a connected channel (connecting if needed)."""
        if self._closed:
            return defer.fail(ConnectionLost("connection closed with close()", sent=False))
        proto = self._proto
        if proto is not None and proto.connected:
            return defer.succeed(proto)
        waiter: "defer.Deferred[Channel]" = defer.Deferred(self._drop_waiter)
        self._waiters.append(waiter)
        if self._connecting is None:
            self._start_connect()
        if timeout is not None and not waiter.called:
            where = self.address

            def timed_out(result: Any, seconds: float) -> None:
                raise TimeoutError(f"connecting to {where} timed out after {timeout} ms",
                                   sent=False)

            waiter.addTimeout(timeout / 1000.0, as_reactor_time(self.clock),
                              onTimeoutCancel=timed_out)
        return waiter

    def _drop_waiter(self, d: "defer.Deferred[Channel]") -> None:
        if d in self._waiters:
            self._waiters.remove(d)

    def _start_connect(self) -> None:
        reconnect = self.connects > 0
        d = self._connect_any(reconnect)
        self._connecting = d

        def done(result: Any) -> None:
            self._connecting = None
            waiters, self._waiters = self._waiters, []
            if isinstance(result, Failure):
                if not self._closed:
                    log.warning("cannot connect to %s: %s",
                                ", ".join(describe(a) for a in self.addresses),
                                result.getErrorMessage())
                err = result.value
                if isinstance(err, defer.CancelledError):
                    err = ConnectionLost("connection closed with close()", sent=False)
                for w in waiters:
                    w.errback(err)
                return None
            if self._closed:
                result.close()
                for w in waiters:
                    w.errback(ConnectionLost("connection closed with close()", sent=False))
                return None
            self._proto = result
            result.on_connection_lost.append(lambda err, p=result: self._lost(p, err))
            for w in waiters:
                w.callback(result)
            return None

        d.addBoth(done)

    def _open_channel(self, addr: Address) -> "defer.Deferred[Channel]":
        """One channel to ``addr`` with this Connection's options, through
        the channel factory (default: ``protocol.connect.open_channel``)."""
        factory = self._channel_factory or open_channel
        extra: Dict[str, Any] = {}
        if self.sasl is not None:
            extra["sasl"] = self.sasl
        if self.http is not None:
            extra["http"] = self.http
        return factory(self.reactor, addr, transport=self.transport,
                       protocol=self.protocol, timeout=self.timeout,
                       connect_timeout=self.connect_timeout or self.timeout,
                       max_message_size=self.max_message_size, **extra)

    @defer.inlineCallbacks
    def _connect_any(self, reconnect: bool) -> Any:
        """Try each gateway once, starting with the current one."""
        errors: List[str] = []
        last: Optional[BaseException] = None
        n = len(self.addresses)
        for i in range(n):
            idx = (self._index + i) % n
            addr = self.addresses[idx]
            try:
                proto = yield self._open_channel(addr)
            except defer.CancelledError:
                raise
            except Exception as exc:
                last = exc
                errors.append(f"{describe(addr)}: {exc}")
                log.info("connecting to %s failed: %s", describe(addr), exc)
                continue
            self._index = idx
            self.connects += 1
            log.info("%s %s (%s/%s)", "reconnected to" if reconnect else "connected to",
                     describe(addr), self.transport, self.protocol)
            return proto
        if n == 1 and last is not None:
            raise last
        raise ConnectionLost("cannot connect to any gateway: " + "; ".join(errors),
                             reason=last, sent=False)

    def _lost(self, proto: Channel, err: BaseException) -> None:
        if self._proto is proto:
            self._proto = None
            if not self._closed:
                log.info("connection to %s lost: %s (will reconnect on next use)",
                         self.address, err)

    # ------------------------------------------------------------ calls (Caller)

    def call(self, name: str, *args: Any, timeout: Optional[float] = None) -> "defer.Deferred[Any]":
        """Call the Thrift method ``name`` (args in IDL order); low-level API.

        Connects (or reconnects) first when needed; a call that failed because
        the connection was found closed before it was written is re-sent once
        on a fresh connection. ``timeout`` in ms (None: the connection's
        default). Fires with the method's result; fails with the errors of
        ``txhbase.errors`` (``ConnectionLost``, ``TimeoutError``,
        ``HBaseIOError``, ``IllegalArgument``, ``ServerError``, ...) or
        ``CancelledError`` when cancelled.
        """
        if timeout is not None:
            timeout = _validate.timeout(timeout)
        started = self.reactor.seconds()
        self._in_flight += 1
        proto = self._proto
        if proto is not None and proto.connected and not self._closed:
            # The hot path: the channel is live, so the call is written now and
            # one callback (_answered) does the rest; no Deferred in between.
            try:
                d = proto.call(name, *args, timeout=timeout)
            except Exception:
                d = defer.fail()
            return d.addBoth(self._answered, name, args, timeout, started, True)
        # Connecting first: a failure to get a channel is final (not re-sent).
        sent = [False]

        def send(proto: Channel) -> "defer.Deferred[Any]":
            sent[0] = True
            return proto.call(name, *args, timeout=timeout)

        d = self._get_proto(timeout if timeout is not None else self.timeout)
        d.addCallback(send)
        return d.addBoth(lambda result: self._answered(result, name, args, timeout, started,
                                                       sent[0]))

    @staticmethod
    def _send(proto: Channel, name: str, args: Tuple[Any, ...],
              timeout: Optional[float]) -> "defer.Deferred[Any]":
        return proto.call(name, *args, timeout=timeout)

    def _answered(self, result: Any, name: str, args: Tuple[Any, ...],
                  timeout: Optional[float], started: float, first: bool) -> Any:
        """The one callback between a channel's reply and the caller: re-send
        a first attempt the channel never wrote (``ConnectionLost(sent=False)``:
        the connection was found closed) on a fresh connection, else count the
        call done and log it if it was slow."""
        if first and type(result) is Failure:
            exc = result.value
            if (isinstance(exc, ConnectionLost) and exc.sent is False
                    and not self._closed):
                log.debug("%s: connection found closed before sending; reconnecting", name)
                d = self._get_proto(timeout if timeout is not None else self.timeout)
                d.addCallback(self._send, name, args, timeout)
                return d.addBoth(self._answered, name, args, timeout, started, False)
        self._in_flight -= 1
        if not self._in_flight and self._idle_waiters:
            self._now_idle()
        slow = self.slow_call_ms
        if slow is not None:
            now = self.reactor.seconds()
            elapsed_ms = (now - started) * 1000.0
            if elapsed_ms >= slow:
                self._log_slow(name, elapsed_ms, now)
        return result

    def pin(self) -> "defer.Deferred[Pinned]":
        """Fire with this Connection: its calls all go to one gateway."""
        return defer.succeed(self)

    def resume(self, exc: BaseException, opening: bool) -> "Optional[defer.Deferred[Pinned]]":
        """A scan on this connection may be reopened here after ``exc`` when
        the connection dropped or the scanner expired (``_retry.resumes_scan``),
        unless the connection was closed with ``close()``."""
        if self._closed or not _retry.resumes_scan(exc, opening):
            return None
        return defer.succeed(self)

    def release(self, bad: bool = False) -> None:
        """Nothing to give back: a Connection is its own pin."""

    def track(self, scanner: ScannerHandle) -> None:
        """Remember ``scanner`` (weakly) so ``close()`` ends it and closes its server scanner."""
        self.live_scanners.add(scanner)

    def abandon(self, scanner_id: Optional[int]) -> None:
        """Schedule a ``scannerClose`` for the scanner of a garbage-collected Scanner."""
        if scanner_id is None:
            return
        sid = scanner_id

        def close() -> None:
            log.debug("closing scanner %d of a garbage-collected Scanner", sid)
            self.call("scannerClose", sid).addErrback(
                lambda f: log.debug("scannerClose(%d) after GC failed: %s",
                                    sid, f.getErrorMessage()))

        try:
            self.clock.callLater(0, close)
        except Exception:  # pragma: no cover - reactor gone at interpreter exit
            pass

    def _log_slow(self, name: str, elapsed_ms: float, now: float) -> None:
        """Log a slow call at WARNING, at most once per second (bursts of
        pipelined calls are summarised, not logged one by one)."""
        if now - self._slow_logged_at < 1.0:
            self._slow_suppressed += 1
            return
        more = self._slow_suppressed
        self._slow_suppressed = 0
        self._slow_logged_at = now
        log.warning("slow call: %s on %s took %.0f ms%s", name, self.address, elapsed_ms,
                    f" ({more} more slow calls not logged)" if more else "")

    # ------------------------------------------------------------ tables

    def _table_name(self, name: Any, argname: str = "name") -> bytes:
        return prefixed_name(name, self.table_prefix, self.table_prefix_separator, argname)

    def table(self, name: Union[bytes, str], use_prefix: bool = True) -> Table:
        """A ``Table`` for ``name`` at once (no round trip, existence not checked)."""
        name = _validate.to_bytes(name, "name")
        if use_prefix:
            name = self._table_name(name)
        return Table(name, self)

    def tables(self, *, timeout: Optional[float] = None) -> "defer.Deferred[List[bytes]]":
        """Fire with the list of table names (prefix stripped, only prefixed
        tables when ``table_prefix`` is set); fails as ``call`` does."""
        d = self.call("getTableNames", timeout=timeout)

        def strip(names: List[bytes]) -> List[bytes]:
            if self.table_prefix is None:
                return list(names)
            prefix = self._table_name(b"")
            return [n[len(prefix):] for n in names if n.startswith(prefix)]

        return d.addCallback(strip)

    def create_table(self, name: Union[bytes, str], families: Dict[Any, Any], *,
                     timeout: Optional[float] = None) -> "defer.Deferred[Table]":
        """Create a table; fires with its ``Table``.

        ``families`` maps family names to option dicts in HappyBase's names
        (``max_versions``, ``compression``, ``in_memory``, ``bloom_filter_type``,
        ``bloom_filter_vector_size``, ``bloom_filter_nb_hashes``,
        ``block_cache_enabled``, ``time_to_live``). Fails with
        ``AlreadyExists``, ``IllegalArgument`` or ``HBaseIOError``.
        """
        full = self._table_name(name)
        descriptors = _convert.column_descriptors(families)
        d = self.call("createTable", full, descriptors, timeout=timeout)
        return d.addCallback(lambda _: Table(full, self))

    def delete_table(self, name: Union[bytes, str], disable: bool = False, *,
                     timeout: Optional[float] = None) -> "defer.Deferred[None]":
        """Delete a table (disabling it first when ``disable`` is true and it
        is enabled); fires with None, fails with ``HBaseIOError``."""
        full = self._table_name(name)
        if not disable:
            return self.call("deleteTable", full, timeout=timeout).addCallback(lambda _: None)
        d = self.call("isTableEnabled", full, timeout=timeout)

        def maybe_disable(enabled: bool) -> Any:
            if enabled:
                return self.call("disableTable", full, timeout=timeout)
            return None

        d.addCallback(maybe_disable)
        d.addCallback(lambda _: self.call("deleteTable", full, timeout=timeout))
        return d.addCallback(lambda _: None)

    def enable_table(self, name: Union[bytes, str], *,
                     timeout: Optional[float] = None) -> "defer.Deferred[None]":
        """Enable a table; fires with None, fails with ``HBaseIOError``."""
        return self.call("enableTable", self._table_name(name),
                         timeout=timeout).addCallback(lambda _: None)

    def disable_table(self, name: Union[bytes, str], *,
                      timeout: Optional[float] = None) -> "defer.Deferred[None]":
        """Disable a table; fires with None, fails with ``HBaseIOError``."""
        return self.call("disableTable", self._table_name(name),
                         timeout=timeout).addCallback(lambda _: None)

    def is_table_enabled(self, name: Union[bytes, str], *,
                         timeout: Optional[float] = None) -> "defer.Deferred[bool]":
        """Fire with True when the table is enabled; ``HBaseIOError`` if missing."""
        return self.call("isTableEnabled", self._table_name(name), timeout=timeout)

    def compact_table(self, name: Union[bytes, str], major: bool = False, *,
                      timeout: Optional[float] = None) -> "defer.Deferred[None]":
        """Request a (major) compaction; fires with None once requested."""
        method = "majorCompact" if major else "compact"
        return self.call(method, self._table_name(name),
                         timeout=timeout).addCallback(lambda _: None)
