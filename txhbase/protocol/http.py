"""HTTPChannel: Thrift calls to a gateway in HTTP mode (HTTP or HTTPS).

HBase's Thrift gateway in HTTP mode (``hbase.regionserver.thrift.http=true``)
takes one binary-protocol message per POST and answers with one message
(``application/x-thrift``); it is also the only mode with TLS. HTTP/1.1
cannot pipeline, so this channel keeps up to ``connections`` persistent
connections (Twisted's ``Agent`` over an ``HTTPConnectionPool``) and queues
calls beyond them. It offers the same surface as ``HBaseClientProtocol``
(``call``, ``close``, ``connected``, ``pending``, ``clock``,
``on_connection_lost``), so ``Connection`` and the pool use either alike.

Failures are txhbase errors: a gateway that cannot be reached (or a TLS
handshake that fails, ``TLSError``) fails the call with ``ConnectionLost``
(``sent=False``) and marks the channel lost, so the ``Connection`` above
reconnects or moves to its next gateway; a connection dropped mid-call fails
that call with ``ConnectionLost`` (``sent=True``); 401/403 answers are
``AuthenticationError``; other non-200 answers are ``ServerError`` with
``status``. Timeouts and ``cancel()`` abort the call's HTTP connection, as
Twisted's client does for a request it cannot withdraw. With ``auth_headers``
(a ``HeaderProvider``: SPNEGO, see ``txhbase.protocol.spnego``) every request
carries headers made for it alone, and a 401 answer is retried once with
fresh ones.
"""
from __future__ import annotations

import logging
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Set, Tuple

from thriftpy2.thrift import TApplicationException
from twisted.internet import defer
from twisted.internet import error as ierror
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import IHandshakeListener, IReactorTime, IStreamClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgentEndpointFactory, IBodyProducer
from zope.interface import implementer

from txhbase.errors import (
    AuthenticationError,
    ConnectionLost,
    MessageTooLarge,
    ProtocolError,
    ServerError,
    TimeoutError,
    TLSError,
    TxHBaseError,
)
from txhbase import _options
from txhbase._options import timeout_ms as _check_timeout
from txhbase.protocol.client import convert_exception
from txhbase.protocol.codec import CALL, EXCEPTION, REPLY, BinaryCodec, MethodSpec, call_spec
from txhbase.protocol.framing import DEFAULT_MAX_MESSAGE_SIZE
from txhbase.protocol.http_options import HTTPOptions, tls_creator

__all__ = ["HTTPChannel", "HeaderProvider", "connect_http", "transport_error", "unpack_result"]

log = logging.getLogger(__name__)

#: Seconds an idle persistent connection is kept: below Jetty's 30 s idle
#: timeout (HBase sets none of its own), so we close first and never send a
#: call on a connection the gateway is closing.
IDLE_SECONDS = 20.0
#: Seconds ``close()`` lets calls made before it reach the gateway.
LINGER_SECONDS = 5.0
#: Bytes of a non-200 answer's body kept in the error message.
EXCERPT = 500
CONTENT_TYPE = b"application/x-thrift"

#: ``provider()`` -> Deferred of ``{name: value}`` (bytes) sent with one request
#: only; called afresh for each request and again for its retry after a 401
#: (SPNEGO tokens are single-use). It may fail with ``AuthenticationError``.
HeaderProvider = Callable[[], "defer.Deferred[Mapping[bytes, bytes]]"]

@implementer(IAgentEndpointFactory)
class _GatewayEndpoints:
    """Every request goes to the one gateway, over TLS for https."""

    def __init__(self, reactor: Any, host: str, port: int, opts: HTTPOptions,
                 connect_timeout: Optional[float],
                 endpoint: Optional[IStreamClientEndpoint] = None) -> None:
        if endpoint is not None:  # given (txhbase.testing): used as it is
            self.endpoint: Any = endpoint
            return
        kwargs: Dict[str, Any] = {}
        if connect_timeout is not None:
            kwargs["timeout"] = max(connect_timeout / 1000.0, 0.001)
        tcp: Any = HostnameEndpoint(reactor, host, port, **kwargs)
        if opts.scheme == "https":
            tcp = wrapClientTLS(tls_creator(host, opts), tcp)
        self.endpoint = tcp

    def endpointForURI(self, uri: Any) -> Any:
        return self.endpoint


@implementer(IHandshakeListener)
class _Probe(Protocol):
    """Opens one connection (and TLS handshake) to see the gateway answer."""

    def __init__(self, tls: bool) -> None:
        self.tls = tls
        self.ready: "defer.Deferred[Any]" = defer.Deferred()

    def connectionMade(self) -> None:
        if not self.tls:
            self._done()

    def handshakeCompleted(self) -> None:
        self._done()

    def _done(self) -> None:
        if not self.ready.called:
            self.ready.callback(None)
        transport: Any = self.transport
        transport.loseConnection()

    def connectionLost(self, reason: Optional[Failure] = None) -> None:
        if not self.ready.called:
            self.ready.errback(reason)


@implementer(IBodyProducer)
class _Body:
    """One request body, written at once."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.length = len(data)

    def startProducing(self, consumer: Any) -> "defer.Deferred[Any]":
        consumer.write(self._data)
        return defer.succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:  # pragma: no cover - never paused
        pass

    def stopProducing(self) -> None:
        pass


class _BodyReader(Protocol):
    """Collects a response body of at most ``limit`` bytes.

    Fires ``done`` with the bytes; a longer body aborts the connection and
    fails with ``MessageTooLarge`` (or, with ``excerpt``, fires with the
    first ``limit`` bytes).
    """

    def __init__(self, limit: int, excerpt: bool = False) -> None:
        self.limit = limit
        self.excerpt = excerpt
        self.parts: List[bytes] = []
        self.size = 0
        self.done: "defer.Deferred[Any]" = defer.Deferred(lambda d: self._abort())

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.stopProducing()

    def dataReceived(self, data: bytes) -> None:
        if self.done.called:
            return
        self.size += len(data)
        self.parts.append(data)
        if self.size > self.limit:
            if self.excerpt:
                self.done.callback(b"".join(self.parts)[:self.limit])
            else:
                self.done.errback(MessageTooLarge(
                    f"reply larger than max_message_size ({self.limit} bytes)"))
            self._abort()

    def connectionLost(self, reason: Optional[Failure] = None) -> None:
        if self.done.called:
            return
        from twisted.web.client import PotentialDataLoss, ResponseDone  # type: ignore[attr-defined]

        if reason is None or reason.check(ResponseDone, PotentialDataLoss):  # type: ignore[no-untyped-call]
            self.done.callback(b"".join(self.parts))
        else:
            self.done.errback(reason)


# -- the channel --------------------------------------------------------------------


class _Call:
    __slots__ = ("spec", "seqid", "body", "d", "request", "cancelled", "closed_with")

    def __init__(self, spec: MethodSpec, seqid: int, body: bytes) -> None:
        self.spec = spec
        self.seqid = seqid
        self.body = body
        self.d: "defer.Deferred[Any]" = defer.Deferred()
        self.request: Optional["defer.Deferred[Any]"] = None
        self.cancelled = False
        self.closed_with: Optional[BaseException] = None


def _reasons(exc: BaseException) -> List[Any]:
    """The low-level causes Twisted's HTTP client wraps in its exceptions."""
    out: List[Any] = []
    for r in getattr(exc, "reasons", None) or []:
        out.append(r.value if isinstance(r, Failure) else r)
    return out


def _tls_error_types() -> Tuple[type, ...]:
    """OpenSSL's errors (untrusted chain) and service_identity's (wrong name)."""
    types: List[type] = []
    try:
        from OpenSSL import SSL

        types.append(SSL.Error)
    except ImportError:  # pragma: no cover - https needs pyOpenSSL
        pass
    try:
        from service_identity import CertificateError, VerificationError

        types += [VerificationError, CertificateError]
    except ImportError:  # pragma: no cover - Twisted's TLS extra brings it
        pass
    return tuple(types)


def _is_tls_failure(exc: BaseException) -> bool:
    types = _tls_error_types()
    return isinstance(exc, types) or any(isinstance(r, types) for r in _reasons(exc))


def transport_error(exc: BaseException, where: str) -> TxHBaseError:
    """Map what Twisted's HTTP client failed with to a txhbase error.

    ``sent`` is False only when the request surely never reached the gateway
    (no connection, TLS refused, or the client knew the connection closed).
    """
    from twisted.web._newclient import RequestNotSent

    if isinstance(exc, TxHBaseError):
        return exc
    if _is_tls_failure(exc):
        detail = "; ".join(str(r) for r in _reasons(exc)) or str(exc)
        return TLSError(f"TLS handshake with {where} failed: its certificate did not verify "
                        f"(untrusted issuer or wrong host name? see tls_ca / tls_verify): "
                        f"{detail}", reason=exc, sent=False)
    if isinstance(exc, (ierror.ConnectError, RequestNotSent)):
        return ConnectionLost(f"cannot connect to {where}: {exc}", reason=exc, sent=False)
    detail = "; ".join(str(r) for r in _reasons(exc)) or str(exc)
    return ConnectionLost(f"HTTP connection to {where} lost: {detail}", reason=exc, sent=True)


def _timeout_error(name: str, ms: float) -> Callable[[Any, float], Failure]:
    """``onTimeoutCancel`` for ``addTimeout``: the txhbase TimeoutError."""
    def convert(_: Any, seconds: float) -> Failure:
        return Failure(TimeoutError(f"{name} timed out after {ms} ms"))  # type: ignore[no-untyped-call]
    return convert


def unpack_result(spec: MethodSpec, mtype: int, obj: Any) -> Any:
    """A decoded reply struct -> the call's value; raises the mapped error."""
    if mtype == EXCEPTION:
        raise convert_exception(obj)
    for field, _cls in spec.exceptions:
        exc = getattr(obj, field)
        if exc is not None:
            raise convert_exception(exc)
    if not spec.has_success:
        return None
    if obj.success is None:
        raise ServerError(f"{spec.name} failed: missing result", ServerError.MISSING_RESULT)
    return obj.success


class HTTPChannel:
    """Thrift calls to one gateway in HTTP mode, over pooled HTTP/1.1 connections.

    :param reactor: connects (and, by default, times out) with it.
    :param host: the gateway's host; ``port`` its port.
    :param options: checked settings from ``http_options``.
    :param default_timeout: per-call timeout in ms when a call gives none.
    :param connect_timeout: bound on one TCP (and TLS) connection attempt, ms.
    :param max_message_size: the largest reply accepted, in bytes.
    :param clock: what timeouts are scheduled on (default ``reactor``).
    :param auth_headers: per-request headers (see ``HeaderProvider``); a 401
        answer is retried once with fresh ones.
    :param endpoint: connect every HTTP connection through this endpoint
        instead of TCP (and TLS) to ``host:port``; ``txhbase.testing`` joins
        it to an in-memory gateway. ``connect_timeout`` and the TLS options
        do not apply to it.
    """

    def __init__(self, reactor: Any, host: str, port: int, options: HTTPOptions, *,
                 default_timeout: Optional[float] = None,
                 connect_timeout: Optional[float] = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 clock: Optional[IReactorTime] = None,
                 auth_headers: Optional[HeaderProvider] = None,
                 endpoint: Optional[IStreamClientEndpoint] = None) -> None:
        self.reactor = reactor
        self.auth_headers = auth_headers
        self.clock: Any = reactor if clock is None else clock
        self.host = host
        self.port = port
        self.options = options
        self.default_timeout = _check_timeout(default_timeout, "default_timeout")
        self.max_message_size = max_message_size
        self.where = f"{options.scheme}://{host}:{port}"
        netloc = f"[{host}]" if ":" in host else host
        self.url = (options.scheme.encode("ascii") + b"://" + netloc.encode("idna")
                    + b":%d" % port + options.path)
        self.endpoints = _GatewayEndpoints(reactor, host, port, options, connect_timeout,
                                           endpoint)
        self._pool = HTTPConnectionPool(reactor, persistent=True)  # type: ignore[no-untyped-call]
        self._pool.maxPersistentPerHost = options.connections
        self._pool.cachedConnectionTimeout = IDLE_SECONDS  # type: ignore[assignment]
        self._pool.retryAutomatically = False
        self._agent = Agent.usingEndpointFactory(reactor, self.endpoints, pool=self._pool)  # type: ignore[no-untyped-call]
        self._headers = Headers({b"Content-Type": [CONTENT_TYPE], b"Accept": [CONTENT_TYPE],
                                 b"User-Agent": [b"txhbase"]})
        for name, value in options.headers.items():
            self._headers.setRawHeaders(name, [value])
        self._codec = BinaryCodec()
        self._seqid = 0
        self._queue: Deque[_Call] = deque()
        self._active: Set[_Call] = set()
        self._lost: Optional[ConnectionLost] = None
        self._pool_closed: Optional["defer.Deferred[Any]"] = None
        self._close_waiters: List["defer.Deferred[Any]"] = []
        self._linger: Any = None
        self._draining = False
        self.connected = True
        #: callables ``hook(error: ConnectionLost)`` run once when the channel
        #: is lost (gateway unreachable) or closed, before queued calls fail.
        self.on_connection_lost: List[Callable[[ConnectionLost], Any]] = []

    def __repr__(self) -> str:
        return f"<HTTPChannel {self.where} {'open' if self.connected else 'lost'}>"

    @property
    def pending(self) -> int:
        """Calls sent or queued whose reply has not arrived."""
        return len(self._active) + len(self._queue)

    def probe(self) -> "defer.Deferred[Any]":
        """Open one connection (with its TLS handshake) and close it.

        Fires with None once the gateway accepted it; fails with
        ``ConnectionLost`` or ``TLSError`` (``sent=False``).
        """
        probe = _Probe(self.options.scheme == "https")
        d = self.endpoints.endpoint.connect(Factory.forProtocol(lambda: probe))
        d.addCallback(lambda _: probe.ready)

        def fail(f: Failure) -> Failure:
            if f.check(defer.CancelledError):  # type: ignore[no-untyped-call]
                return f
            return Failure(transport_error(f.value or Exception(), self.where))  # type: ignore[no-untyped-call]

        out: "defer.Deferred[Any]" = d.addErrback(fail)
        return out

    def call(self, name: str, *args: Any, timeout: Optional[float] = None) -> "defer.Deferred[Any]":
        """POST one call of Hbase method ``name`` (args in IDL order).

        ``timeout`` in ms (None: ``default_timeout``), counted from now,
        time waiting for a free connection included. Fires with the result;
        fails with HBaseIOError, IllegalArgument, AlreadyExists, ServerError,
        AuthenticationError, ConnectionLost (TLSError), TimeoutError,
        ProtocolError or CancelledError.
        """
        spec = call_spec(name, len(args))
        timeout = self.default_timeout if timeout is None else _check_timeout(timeout, "timeout")
        if not self.connected:
            return defer.fail(self._lost_error())
        self._seqid = self._seqid + 1 if self._seqid < 0x7FFFFFFF else 1
        try:
            body = self._codec.encode(name, CALL, self._seqid, spec.args_cls(*args))
        except Exception as e:
            raise TypeError(f"{name}(): cannot encode arguments: {e}") from e
        call = _Call(spec, self._seqid, body)
        d = call.d = defer.Deferred(lambda _: self._cancel(call))
        if len(self._active) < self.options.connections:
            self._start(call)
        else:
            self._queue.append(call)
        if timeout is not None and not d.called:
            d.addTimeout(timeout / 1000.0, self.clock,
                         onTimeoutCancel=_timeout_error(name, timeout))
        return d

    def close(self) -> "defer.Deferred[Any]":
        """Close the channel; fires with None once every connection is closed.

        Calls made before ``close()`` fail at once with ``ConnectionLost``
        (``sent=True``: like bytes written to a socket before it closes, their
        requests still go out, e.g. a scanner's ``scannerClose``, their
        replies unread) for at most ``LINGER_SECONDS``; then what is left is
        aborted. Later calls fail at once (``sent=False``).
        """
        done: "defer.Deferred[Any]" = defer.Deferred()
        self._close_waiters.append(done)
        if self.connected:
            self._shutdown(ConnectionLost("connection closed with close()", sent=False),
                           drain=True)
        for call in list(self._active) + list(self._queue):
            if not call.d.called:
                call.d.errback(ConnectionLost(
                    "connection closed with close(); the call may still reach the gateway",
                    sent=True))
        if (self._active or self._queue) and self._linger is None:
            self._linger = self.clock.callLater(LINGER_SECONDS, self._abort_all)
        self._maybe_closed()
        return done

    # -- internals -------------------------------------------------------------

    def _start(self, call: _Call) -> None:
        self._active.add(call)
        req = self._send(call, retry=True)
        call.request = req
        req.addBoth(self._finish, call)

    def _send(self, call: _Call, retry: bool) -> "defer.Deferred[Any]":
        """POST ``call``: with ``auth_headers``, under headers made for it, and
        (``retry``) once more with fresh ones when the gateway answers 401."""
        if self.auth_headers is None:
            return self._post(None, call)
        d = self.auth_headers()
        d.addCallback(self._post, call)
        if retry:
            d.addErrback(self._renegotiate, call)
        return d

    def _post(self, extra: Optional[Mapping[bytes, bytes]], call: _Call) -> "defer.Deferred[Any]":
        headers = self._headers
        if extra:
            headers = headers.copy()
            for name, value in extra.items():
                headers.setRawHeaders(name, [value])
        req: "defer.Deferred[Any]" = self._agent.request(b"POST", self.url, headers,
                                                         _Body(call.body))
        return req.addCallback(self._on_response, call)

    def _renegotiate(self, f: Failure, call: _Call) -> Any:
        """A 401 answer: the gateway refused these credentials before running the
        call (safe to resend); try once more with fresh headers."""
        err = f.value
        if (not isinstance(err, AuthenticationError) or err.status != 401
                or call.cancelled or call.d.called):
            return f
        log.info("%s answered 401 to %s; authenticating again", self.where, call.spec.name)
        return self._send(call, retry=False)

    def _on_response(self, response: Any, call: _Call) -> "defer.Deferred[Any]":
        code = response.code
        ok = code == 200
        limit = self.max_message_size if ok else EXCERPT
        length = response.length
        if ok and isinstance(length, int) and length > limit:
            response.deliverBody(_BodyReader(0, excerpt=True))
            raise MessageTooLarge(f"reply of {length} bytes is larger than "
                                  f"max_message_size ({limit} bytes)")
        reader = _BodyReader(limit, excerpt=not ok)
        response.deliverBody(reader)
        if ok:
            return reader.done.addCallback(self._decode, call)
        return reader.done.addCallback(self._http_error, response)

    def _decode(self, data: bytes, call: _Call) -> Any:
        spec = call.spec
        if not data:
            raise ProtocolError(f"empty HTTP reply to {spec.name}")

        def struct_for(name: str, mtype: int, seqid: int) -> Any:
            if name != spec.name or seqid != call.seqid:
                raise ProtocolError(f"reply {name!r} (seqid {seqid}) does not answer "
                                    f"{spec.name!r} (seqid {call.seqid})")
            if mtype == REPLY:
                return spec.result_cls()
            if mtype == EXCEPTION:
                return TApplicationException()
            raise ProtocolError(f"unexpected message type {mtype} in a reply to {name!r}")

        _, mtype, _, obj = self._codec.decode(data, struct_for)
        return unpack_result(spec, mtype, obj)

    def _http_error(self, excerpt: bytes, response: Any) -> None:
        code = response.code
        phrase = response.phrase.decode("latin-1", "replace") if response.phrase else ""
        text = excerpt.decode("utf-8", "replace").strip()
        msg = f"HTTP {code} {phrase} from {self.where}" + (f": {text}" if text else "")
        if code in (401, 403):
            challenges = response.headers.getRawHeaders(b"WWW-Authenticate") or []
            challenge = ", ".join(c.decode("latin-1") for c in challenges) or None
            raise AuthenticationError(msg, status=code, challenge=challenge)
        err = ServerError(msg, ServerError.UNKNOWN)
        err.status = code
        raise err

    def _finish(self, result: Any, call: _Call) -> None:
        self._active.discard(call)
        if isinstance(result, Failure) and not call.cancelled:
            err = transport_error(result.value or Exception(), self.where)
            if isinstance(err, ConnectionLost) and err.sent is False and self.connected:
                log.info("%s unreachable: %s", self.where, err)
                self._shutdown(err, drain=False)
            result = Failure(err)  # type: ignore[no-untyped-call]
        while (self._queue and len(self._active) < self.options.connections
               and (self.connected or self._draining)):
            self._start(self._queue.popleft())
        self._maybe_closed()
        if call.cancelled or call.d.called:
            return None
        if isinstance(result, Failure):
            call.d.errback(result)
        else:
            call.d.callback(result)
        return None

    def _cancel(self, call: _Call) -> None:
        call.cancelled = True
        if call.request is None:
            try:
                self._queue.remove(call)
            except ValueError:
                pass
        else:
            call.request.cancel()  # aborts its connection: the call cannot be withdrawn

    def _shutdown(self, lost: ConnectionLost, drain: bool) -> None:
        """Mark the channel lost and tell the layers above; unless ``drain``,
        fail the queued calls (they will never be sent)."""
        self._lost = lost
        self.connected = False
        self._draining = drain
        for hook in list(self.on_connection_lost):
            try:
                hook(lost)
            except Exception:
                log.exception("on_connection_lost hook %r failed", hook)
        if not drain:
            queued, self._queue = self._queue, deque()
            for call in queued:
                if not call.d.called:
                    call.d.errback(self._lost_error())

    def _lost_error(self) -> ConnectionLost:
        lost = self._lost
        if lost is None:  # pragma: no cover - connected is False only after _shutdown
            return ConnectionLost("not connected", sent=False)
        cls = TLSError if isinstance(lost, TLSError) else ConnectionLost
        return cls(str(lost), reason=lost.reason, sent=False)

    def _abort_all(self) -> None:
        """The linger after ``close()`` is over: drop what was not sent, abort the rest."""
        self._linger = None
        self._queue.clear()
        for call in list(self._active):
            call.cancelled = True
            if call.request is not None:
                call.request.cancel()
        self._maybe_closed()

    def _maybe_closed(self) -> None:
        """Once lost or closed with nothing left in flight, close the idle
        connections and fire the ``close()`` Deferreds."""
        if self.connected or self._active or self._queue:
            return
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
            self._linger = None
        if self._pool_closed is None:
            self._pool_closed = self._pool.closeCachedConnections()  # type: ignore[no-untyped-call]
            self._pool_closed.addBoth(self._fire_closed)
        elif self._pool_closed.called:
            self._fire_closed(None)

    def _fire_closed(self, result: Any) -> None:
        if isinstance(result, Failure):
            log.debug("closing idle HTTP connections failed: %s", result.getErrorMessage())
        waiters, self._close_waiters = self._close_waiters, []
        for w in waiters:
            w.callback(None)


def connect_http(reactor: Any, host: str, port: int, options: HTTPOptions, *,
                 timeout: Optional[float] = None, connect_timeout: Optional[float] = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 clock: Optional[IReactorTime] = None,
                 auth_headers: Optional[HeaderProvider] = None,
                 endpoint: Optional[IStreamClientEndpoint] = None) -> "defer.Deferred[Any]":
    """Fire with an ``HTTPChannel`` once the gateway accepted a connection.

    The check opens (and closes) one connection, with its TLS handshake for
    https, so an unreachable gateway or an untrusted certificate fails here:
    ``ConnectionLost`` / ``TLSError`` (``sent=False``), or ``TimeoutError``
    after ``connect_timeout`` ms. ``auth_headers``: see ``HTTPChannel``; the
    check sends no request, so credentials are first used by the first call.
    ``endpoint``: see ``HTTPChannel`` (the check connects through it too).
    """
    host, port = _options.host_port(host, port)
    if not isinstance(options, HTTPOptions):
        raise TypeError(f"options must be HTTPOptions, not {type(options).__name__}")
    connect_timeout = _check_timeout(connect_timeout, "connect_timeout")
    channel = HTTPChannel(reactor, host, port, options, default_timeout=timeout,
                          connect_timeout=connect_timeout, max_message_size=max_message_size,
                          clock=clock, auth_headers=auth_headers, endpoint=endpoint)
    d = channel.probe()
    if connect_timeout is not None:
        def timed_out(_: Any, t: float) -> Failure:
            err = TimeoutError(f"connecting to {channel.where} timed out after "
                               f"{connect_timeout} ms", sent=False)
            return Failure(err)  # type: ignore[no-untyped-call]

        d.addTimeout(connect_timeout / 1000.0, channel.clock, onTimeoutCancel=timed_out)

    def failed(f: Failure) -> Failure:
        channel.close()
        return f

    d.addCallbacks(lambda _: channel, failed)
    return d

