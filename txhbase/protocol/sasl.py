"""Thrift's SASL transport (GSSAPI / Kerberos) as a layer below the call protocol.

A Kerberized HBase Thrift gateway (``hbase.thrift.security.qop`` set, socket
mode) speaks Thrift's ``TSaslTransport``. First a negotiation of messages, each
``status (1 byte) | length (4 bytes, big-endian) | payload``:

    client: START "GSSAPI", then OK <first GSS token>
    server: OK <token> ... client: OK <token> ...        (GSS context set up)
    server: OK wrap(<offered security layers, max size>)
    client: COMPLETE wrap(<chosen layer, max size>)      (RFC 4752)
    server: COMPLETE

BAD or ERROR carry the server's reason. After COMPLETE every chunk of the
Thrift byte stream travels as ``length (4 bytes) | payload``, the payload GSS
wrapped (signed for ``auth-int``, encrypted for ``auth-conf``) unless the qop
is ``auth``.

``SASLClientProtocol`` does this under an unchanged ``HBaseClientProtocol``:
the inner protocol is connected only once the server said COMPLETE (so no
application byte is sent before authentication), it writes plain
buffered-transport bytes that this layer frames and wraps, and it receives the
unwrapped stream, so calls still pipeline on one connection.
``authenticated`` fires with the inner protocol (the channel ``Connection``
uses), or fails with ``AuthenticationError`` (refused, no credentials, wrong
qop, bytes that are not SASL) or ``ConnectionLost`` (``sent=False``: the
gateway closed the connection during the negotiation). GSS steps that may wait
on the KDC run through ``run_blocking`` (a thread pool of the reactor).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from struct import Struct
from typing import Any, Callable, List, Optional, Tuple, cast

from twisted.internet import defer, threads
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure

from txhbase._gss import GSSContext, kerberos_context, require_gssapi
from txhbase.errors import AuthenticationError, ConnectionLost, ProtocolError, TxHBaseError
from txhbase.protocol.framing import DEFAULT_MAX_MESSAGE_SIZE
from txhbase.protocol.spnego import DEFAULT_HTTP_SERVICE

__all__ = [
    "AUTH_MECHANISMS", "QOPS", "SaslOptions", "sasl_options", "GSSAPIMechanism",
    "SASLClientProtocol", "SASLClientFactory", "sasl_message",
]

log = logging.getLogger(__name__)

START, OK, BAD, ERROR, COMPLETE = 1, 2, 3, 4, 5
_STATUS_NAMES = {START: "START", OK: "OK", BAD: "BAD", ERROR: "ERROR", COMPLETE: "COMPLETE"}

AUTH_MECHANISMS = ("kerberos",)
#: SASL quality of protection -> RFC 4752 security-layer bit.
QOPS = {"auth": 1, "auth-int": 2, "auth-conf": 4}
_QOP_NAMES = {bit: name for name, bit in QOPS.items()}

#: Largest negotiation message accepted: GSS tokens are a few KB; a bigger
#: "length" means the peer does not speak SASL.
MAX_NEGOTIATION_MESSAGE = 1 << 20
#: The largest wrapped frame we tell the server we accept (3 bytes in RFC 4752).
_MAX_RECV = 0xFFFFFF

_HEADER = Struct("!BI")
_LEN = Struct("!I")

#: ``Failure(exc)`` (Twisted's constructor is not annotated).
_failure = cast(Callable[[BaseException], Failure], Failure)

RunBlocking = Callable[..., "defer.Deferred[Any]"]
ContextFactory = Callable[[str, str, Optional[str]], GSSContext]


def sasl_message(status: int, payload: bytes) -> bytes:
    """One negotiation message: status byte, 4-byte length, payload."""
    return _HEADER.pack(status, len(payload)) + payload


def _layers(mask: int) -> str:
    return ", ".join(name for bit, name in sorted(_QOP_NAMES.items()) if mask & bit) or "none"


@dataclass(frozen=True)
class SaslOptions:
    """Checked Kerberos settings of a connection (see ``sasl_options``)."""

    service: str = "hbase"
    host: Optional[str] = None
    principal: Optional[str] = None
    qop: str = "auth"
    context_factory: ContextFactory = kerberos_context


def _opt_str(value: Any, argname: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"'{argname}' must be a str or None, not {type(value).__name__}")
    if not value:
        raise ValueError(f"'{argname}' must not be empty")
    return value


def sasl_options(auth: Any, *, kerberos_service: Any = None, kerberos_host: Any = None,
                 kerberos_principal: Any = None, qop: Any = "auth",
                 transport: str = "buffered") -> Optional[SaslOptions]:
    """Check ``Connection``'s authentication arguments; None when ``auth`` is None.

    ``transport='http'``/``'https'`` means SPNEGO (``txhbase.protocol.spnego``):
    ``kerberos_service`` defaults to ``'HTTP'`` there (``'hbase'`` on sockets)
    and ``qop`` does not apply. Raises TypeError / ValueError naming the
    argument, and ImportError when ``auth='kerberos'`` but the
    system GSSAPI library (libgssapi_krb5) is missing.
    """
    if auth is None:
        return None
    if not isinstance(auth, str):
        raise TypeError(f"'auth' must be a str or None, not {type(auth).__name__}")
    if auth not in AUTH_MECHANISMS:
        raise ValueError(f"'auth' must be None or 'kerberos', not {auth!r}")
    if not isinstance(qop, str):
        raise TypeError(f"'qop' must be a str, not {type(qop).__name__}")
    if qop not in QOPS:
        raise ValueError(f"'qop' must be one of {', '.join(QOPS)}, not {qop!r}")
    spnego = transport in ("http", "https")
    if spnego and qop != "auth":
        raise ValueError(f"'qop' applies to SASL on a socket gateway, not to SPNEGO over "
                         f"transport={transport!r}: use transport='https' for privacy")
    if not spnego and transport != "buffered":
        raise ValueError(f"auth='kerberos' needs transport='buffered' (HBase's SASL gateway "
                         f"is buffered only) or 'http'/'https' (SPNEGO), not {transport!r}")
    service = _opt_str(kerberos_service, "kerberos_service") or (
        DEFAULT_HTTP_SERVICE if spnego else "hbase")
    host = _opt_str(kerberos_host, "kerberos_host")
    principal = _opt_str(kerberos_principal, "kerberos_principal")
    require_gssapi()
    return SaslOptions(service, host, principal, qop)


class GSSAPIMechanism:
    """The client side of SASL's GSSAPI mechanism (RFC 4752), without I/O.

    ``initial()`` then ``respond(challenge)`` until ``complete``; ``layer``
    is then the security-layer bit agreed (the requested qop: a gateway
    that does not offer it is an ``AuthenticationError``).
    """

    name = b"GSSAPI"

    def __init__(self, context: GSSContext, qop: str = "auth") -> None:
        self.context = context
        self.qop = qop
        self.layer = 0
        self.complete = False

    @property
    def may_block(self) -> bool:
        """True while the next step is a GSS context step (a KDC round trip may happen)."""
        return not self.context.complete

    def initial(self) -> bytes:
        """The first token (sent with START)."""
        return self.context.step(b"")

    def respond(self, challenge: bytes) -> bytes:
        """The answer to one server challenge."""
        if not self.context.complete:
            return self.context.step(challenge)
        if self.complete:
            raise AuthenticationError("SASL: the gateway sent a challenge after the "
                                      "negotiation was complete")
        data, _ = self.context.unwrap(challenge)
        if len(data) != 4:
            raise AuthenticationError(f"SASL GSSAPI: the security-layer offer is {len(data)} "
                                      f"bytes, not 4")
        offered = data[0]
        want = QOPS[self.qop]
        if not offered & want:
            raise AuthenticationError(
                f"SASL: the gateway offers qop {_layers(offered)}, this client requires "
                f"{self.qop} (set qop= to what the gateway's hbase.thrift.security.qop says)")
        self.layer = want
        self.complete = True
        max_size = 0 if want == QOPS["auth"] else _MAX_RECV
        return self.context.wrap(bytes([want]) + max_size.to_bytes(3, "big"), False)

    def wrap(self, data: bytes) -> bytes:
        """Protect an outgoing frame as the agreed layer requires."""
        if self.layer == QOPS["auth"]:
            return data
        return self.context.wrap(data, self.layer == QOPS["auth-conf"])

    def unwrap(self, data: bytes) -> bytes:
        """Check (and decrypt) an incoming frame."""
        if self.layer == QOPS["auth"]:
            return data
        plain, encrypted = self.context.unwrap(data)
        if self.layer == QOPS["auth-conf"] and not encrypted:
            raise ProtocolError("SASL auth-conf: the gateway sent an unencrypted frame")
        return plain


class _SaslTransport:
    """What the inner protocol sees as its transport: writes become SASL frames."""

    def __init__(self, layer: "SASLClientProtocol") -> None:
        self._layer = layer

    def write(self, data: bytes) -> None:
        self._layer.send_frame(data)

    def writeSequence(self, seq: List[bytes]) -> None:
        self._layer.send_frame(b"".join(seq))

    def loseConnection(self) -> None:
        self._layer.wire.loseConnection()

    def abortConnection(self) -> None:
        self._layer.wire.abortConnection()

    def getPeer(self) -> Any:
        return self._layer.wire.getPeer()

    def getHost(self) -> Any:
        return self._layer.wire.getHost()


_NEGOTIATING, _OPEN, _FAILED = "negotiating", "open", "failed"


class SASLClientProtocol(Protocol):
    """Thrift's SASL client transport below ``wrapped`` (an ``HBaseClientProtocol``).

    :param wrapped: the call protocol; connected once authentication completes.
    :param mechanism: a fresh ``GSSAPIMechanism`` (one per connection).
    :param run_blocking: ``run_blocking(f, *args)`` -> Deferred of ``f(*args)``,
        for the GSS steps that may wait on the KDC (a thread pool).
    :param max_message_size: the largest frame accepted after authentication.
    """

    def __init__(self, wrapped: Any, mechanism: GSSAPIMechanism, run_blocking: RunBlocking,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.wrapped = wrapped
        self.mechanism = mechanism
        self.run_blocking = run_blocking
        self.max_message_size = max_message_size
        #: fires with ``wrapped`` once the gateway said COMPLETE.
        self.authenticated: defer.Deferred[Any] = defer.Deferred(self._cancel)
        self.state = _NEGOTIATING
        self._buf = bytearray()
        self._busy = True  # the initial token is being computed
        self._error: Optional[BaseException] = None
        self._inner_transport = _SaslTransport(self)

    @property
    def wire(self) -> Any:
        """The real (TCP) transport."""
        return self.transport

    # -- Twisted Protocol -------------------------------------------------------

    def connectionMade(self) -> None:
        d = self.run_blocking(self.mechanism.initial)
        d.addCallbacks(self._send_initial, self._fail)

    def dataReceived(self, data: bytes) -> None:
        if self.state == _FAILED:
            return
        self._buf += data
        if self.state == _OPEN:
            self._read_frames()
        else:
            self._negotiate()

    def connectionLost(self, reason: Optional[Failure] = None) -> None:
        state, self.state = self.state, _FAILED
        if state == _NEGOTIATING:
            why = reason.getErrorMessage() if reason is not None else "closed"
            self.authenticated.errback(ConnectionLost(
                f"the gateway closed the connection during SASL authentication ({why}): "
                f"is it a Kerberized gateway?", reason=reason, sent=False))
        elif state == _OPEN:
            if self._error is not None:
                reason = _failure(self._error)
            self.wrapped.connectionLost(reason)

    # -- negotiation -----------------------------------------------------------

    def _send_initial(self, token: bytes) -> None:
        if self.state != _NEGOTIATING:
            return
        status = COMPLETE if self.mechanism.complete else OK
        self.wire.write(sasl_message(START, self.mechanism.name) + sasl_message(status, token))
        self._busy = False
        self._negotiate()

    def _next_message(self) -> Optional[Tuple[int, bytes]]:
        buf = self._buf
        if len(buf) < 1:
            return None
        status = buf[0]
        if status not in _STATUS_NAMES:
            raise AuthenticationError(
                f"the gateway's answer is not SASL (status byte {status}): is it a "
                f"Kerberized gateway?")
        if len(buf) < 5:
            return None
        (length,) = _LEN.unpack_from(buf, 1)
        if length > MAX_NEGOTIATION_MESSAGE:
            raise AuthenticationError(
                f"the gateway's answer is not SASL (a {length}-byte negotiation message): "
                f"is it a Kerberized gateway?")
        if len(buf) < 5 + length:
            return None
        payload = bytes(buf[5:5 + length])
        del buf[:5 + length]
        return status, payload

    def _negotiate(self) -> None:
        while self.state == _NEGOTIATING and not self._busy:
            try:
                msg = self._next_message()
            except AuthenticationError as e:
                self._fail_with(e)
                return
            if msg is None:
                return
            status, payload = msg
            if status in (BAD, ERROR):
                text = payload.decode("utf-8", "replace")
                self._fail_with(AuthenticationError(
                    f"the gateway refused SASL authentication ({_STATUS_NAMES[status]}): "
                    f"{text}"))
                return
            if status not in (OK, COMPLETE):
                self._fail_with(AuthenticationError(
                    f"SASL: the gateway sent {_STATUS_NAMES[status]}, expected OK or COMPLETE"))
                return
            if self.mechanism.complete:
                if status == COMPLETE:
                    self._open()
                else:
                    self._fail_with(AuthenticationError(
                        "SASL: the gateway did not complete the negotiation"))
                return
            self._busy = True
            if self.mechanism.may_block:
                d = self.run_blocking(self.mechanism.respond, payload)
            else:
                d = defer.maybeDeferred(self.mechanism.respond, payload)
            d.addCallback(self._responded, status)
            d.addErrback(self._fail)

    def _responded(self, token: bytes, status: int) -> None:
        if self.state != _NEGOTIATING:
            return
        self._busy = False
        if status == COMPLETE:  # the server is done; so must we be
            if self.mechanism.complete:
                self._open()
            else:
                self._fail_with(AuthenticationError(
                    "SASL: the gateway completed before the client"))
            return
        self.wire.write(sasl_message(COMPLETE if self.mechanism.complete else OK, token))
        self._negotiate()

    def _open(self) -> None:
        self.state = _OPEN
        log.debug("SASL GSSAPI authentication complete (qop %s)", self.mechanism.qop)
        self.wrapped.makeConnection(self._inner_transport)
        self.authenticated.callback(self.wrapped)
        if self._buf and self.state == _OPEN:
            self._read_frames()

    def _fail(self, failure: Failure) -> None:
        self._fail_with(failure.value or AuthenticationError(failure.getErrorMessage()))

    def _fail_with(self, err: BaseException) -> None:
        """Fail ``authenticated`` (as an AuthenticationError unless a txhbase error) and drop."""
        if self.state != _NEGOTIATING:
            return
        self.state = _FAILED
        if not isinstance(err, (TxHBaseError, defer.CancelledError)):
            err = AuthenticationError(f"SASL authentication failed: {err}")
        log.info("SASL authentication failed: %s", err)
        self.authenticated.errback(err)
        if self.wire is not None:
            self.wire.abortConnection()

    def _cancel(self, _: Any) -> None:
        """Cancelling ``authenticated`` (e.g. a connect timeout) drops the connection."""
        if self.state == _NEGOTIATING:
            self.state = _FAILED
            if self.wire is not None:
                self.wire.abortConnection()

    # -- after authentication ----------------------------------------------------

    def send_frame(self, data: bytes) -> None:
        """Write one frame (wrapped as the qop requires) carrying ``data``."""
        if self.state != _OPEN:
            return
        payload = self.mechanism.wrap(data)
        self.wire.write(_LEN.pack(len(payload)) + payload)

    def _read_frames(self) -> None:
        buf = self._buf
        pos = 0
        chunks: List[bytes] = []
        try:
            while len(buf) - pos >= 4:
                (length,) = _LEN.unpack_from(buf, pos)
                if length > self.max_message_size:
                    raise ProtocolError(f"SASL frame of {length} bytes exceeds "
                                        f"max_message_size={self.max_message_size}")
                if len(buf) - pos - 4 < length:
                    break
                chunks.append(self.mechanism.unwrap(bytes(buf[pos + 4:pos + 4 + length])))
                pos += 4 + length
        except (ProtocolError, AuthenticationError) as e:
            self._error = e if isinstance(e, ProtocolError) else ProtocolError(str(e))
            log.warning("dropping SASL connection: %s", e)
            del buf[:]
            self.wire.abortConnection()
            return
        del buf[:pos]
        if chunks:
            self.wrapped.dataReceived(b"".join(chunks))


class SASLClientFactory(Factory):
    """Builds a ``SASLClientProtocol`` around each protocol of ``inner``."""

    def __init__(self, inner: Factory, options: SaslOptions, host: str, reactor: Any,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.inner = inner
        self.options = options
        self.host = options.host or host
        self.reactor = reactor
        self.max_message_size = max_message_size

    def _run_blocking(self, f: Callable[..., Any], *args: Any) -> "defer.Deferred[Any]":
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), f, *args)

    def buildProtocol(self, addr: Any) -> SASLClientProtocol:
        o = self.options
        context = o.context_factory(o.service, self.host, o.principal)
        wrapped = self.inner.buildProtocol(addr)
        return SASLClientProtocol(wrapped, GSSAPIMechanism(context, o.qop), self._run_blocking,
                                  self.max_message_size)
