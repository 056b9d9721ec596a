"""Open a client channel to an HBase Thrift gateway.

``open_channel(reactor, address, ...)`` is the ONE dispatch ``Connection``
uses: it picks the implementation of ``protocol.channel.Channel`` for the
``transport`` option.  Today: ``'buffered'`` and ``'framed'`` Thrift over a
stream (``connect()`` -> ``HBaseClientProtocol``).  A new transport (HTTP,
SASL) adds its module and one branch here.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, cast

from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint, clientFromString
from twisted.internet.protocol import Factory
from twisted.python.failure import Failure

from txhbase import _options
from txhbase.errors import ConnectionLost, TimeoutError, TxHBaseError
from txhbase.protocol.channel import Channel
from txhbase.protocol.client import HBaseClientProtocol
from txhbase.protocol.http import connect_http
from txhbase.protocol.http_options import HTTPOptions, http_options
from txhbase.protocol.sasl import SASLClientFactory, SaslOptions
from txhbase.protocol.spnego import SpnegoAuth

__all__ = ["Address", "HBaseClientFactory", "connect", "open_channel"]

DEFAULT_MAX_MESSAGE_SIZE = _options.DEFAULT_MAX_MESSAGE_SIZE

#: One gateway address: ``("tcp", host, port)`` or ``("endpoint", description, None)``.
Address = Tuple[str, str, Optional[int]]


class HBaseClientFactory(Factory):
    """Builds ``HBaseClientProtocol`` instances with fixed settings."""

    def __init__(self, reactor: Any, *, transport: str = "buffered", protocol: str = "binary",
                 timeout: Optional[float] = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.reactor = reactor
        self.transport = transport
        self.protocol_name = protocol
        self.timeout = timeout
        self.max_message_size = max_message_size

    def buildProtocol(self, addr: Any) -> HBaseClientProtocol:
        p = HBaseClientProtocol(self.transport, self.protocol_name,
                                default_timeout=self.timeout,
                                max_message_size=self.max_message_size,
                                clock=self.reactor)
        p.factory = self
        return p


def connect(reactor: Any, host: Optional[str] = None, port: Optional[int] = None, *,
            transport: str = "buffered", protocol: str = "binary",
            timeout: Optional[float] = None, connect_timeout: Optional[float] = None,
            max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
            endpoint: Optional[str] = None,
            sasl: Optional[SaslOptions] = None) -> "defer.Deferred[HBaseClientProtocol]":
    """Connect to a gateway; fires with a connected ``HBaseClientProtocol``.

    With ``sasl`` (checked by ``txhbase.protocol.sasl.sasl_options``) the
    connection first authenticates with SASL GSSAPI (Kerberos) and fires
    only then; ``connect_timeout`` covers the authentication too; it fails
    with ``AuthenticationError`` when the gateway refuses.

    Give ``host`` and ``port``, or ``endpoint``: a Twisted client endpoint
    string (``tcp:host=h:port=p``, ``tls:h:p``, ``unix:path=/p``).
    ``timeout`` (ms) becomes the protocol's ``default_timeout``;
    ``connect_timeout`` (ms) bounds the connection attempt (TimeoutError
    with ``sent=False``).
    A refused or failed attempt fails with ``ConnectionLost`` (``sent=False``,
    ``reason`` the Twisted failure).
    """
    _options.transport(transport, allowed=_options.SOCKET_TRANSPORTS)
    _options.protocol(protocol)
    _options.timeout_ms(timeout, "timeout")
    connect_timeout = _options.timeout_ms(connect_timeout, "connect_timeout")
    max_message_size = _options.max_message_size(max_message_size)
    if endpoint is not None:
        if not isinstance(endpoint, str):
            raise TypeError(f"endpoint must be a str, not {type(endpoint).__name__}")
        if host is not None or port is not None:
            raise ValueError("give either host and port or endpoint, not both")
        ep = clientFromString(reactor, endpoint)  # type: ignore[no-untyped-call]
        where = endpoint
    else:
        host, port = _options.host_port(host, port)
        ep = HostnameEndpoint(reactor, host, port)
        where = f"{host}:{port}"
    factory: Factory = HBaseClientFactory(reactor, transport=transport, protocol=protocol,
                                 timeout=timeout, max_message_size=max_message_size)
    if sasl is not None:
        sasl_host = sasl.host or host
        if sasl_host is None:
            raise ValueError("kerberos_host is needed with an endpoint string")
        factory = SASLClientFactory(factory, sasl, sasl_host, reactor,
                                    max_message_size=max_message_size)
    d: "defer.Deferred[Any]" = ep.connect(factory)
    if sasl is not None:
        d.addCallback(lambda layer: layer.authenticated)
        where += " (SASL/Kerberos authentication included)"
    if connect_timeout is not None:
        def _timed_out(_: Any, t: float) -> None:
            # nothing was written: callers may retry safely
            raise TimeoutError(
                f"connecting to {where} timed out after {connect_timeout} ms", sent=False)

        d.addTimeout(connect_timeout / 1000.0, reactor, onTimeoutCancel=_timed_out)

    def _wrap(f: Failure) -> Failure:
        if isinstance(f.value, (TxHBaseError, defer.CancelledError)):
            return f
        raise ConnectionLost(f"cannot connect to {where}: {f.getErrorMessage()}",
                             reason=f, sent=False)

    d.addErrback(_wrap)
    return d


def open_channel(reactor: Any, address: Address, *, transport: str = "buffered",
                 protocol: str = "binary", timeout: Optional[float] = None,
                 connect_timeout: Optional[float] = None,
                 max_message_size: Optional[int] = None,
                 sasl: Optional[SaslOptions] = None,
                 http: Optional[HTTPOptions] = None) -> "defer.Deferred[Channel]":
    """Open one ``Channel`` to ``address`` over ``transport``.

    Fires with the connected channel; fails with ``ConnectionLost``
    (``sent=False``) when the gateway cannot be reached, ``TimeoutError``
    (``sent=False``) after ``connect_timeout`` ms.  Raises ``TypeError`` /
    ``ValueError`` for bad options, before any I/O. With ``sasl``, a socket
    authenticates with SASL GSSAPI once, an HTTP(S) channel with SPNEGO on
    every request (``txhbase.protocol.spnego``).
    """
    kind, where, port = address
    _options.transport(transport)
    size = _options.max_message_size(max_message_size)
    d: "defer.Deferred[Any]"
    if transport in _options.HTTP_TRANSPORTS:
        if kind == "endpoint" or port is None:
            raise ValueError(f"endpoint strings do not apply to transport={transport!r}")
        spnego = None
        if sasl is not None:  # Kerberos over HTTP: SPNEGO, a fresh token per request
            spnego = SpnegoAuth(reactor, sasl.service, sasl.host or where, sasl.principal)
        options = http or http_options(transport, protocol)
        assert options is not None  # an HTTP transport always has options
        d = connect_http(reactor, where, port, options,
                         timeout=_options.timeout_ms(timeout, "timeout"),
                         connect_timeout=_options.timeout_ms(connect_timeout, "connect_timeout"),
                         max_message_size=size, auth_headers=spnego)
    elif kind == "endpoint":
        d = connect(reactor, endpoint=where, transport=transport, protocol=protocol,
                    timeout=timeout, connect_timeout=connect_timeout, max_message_size=size,
                    sasl=sasl)
    else:
        d = connect(reactor, where, port, transport=transport, protocol=protocol,
                    timeout=timeout, connect_timeout=connect_timeout, max_message_size=size,
                    sasl=sasl)
    return cast("defer.Deferred[Channel]", d)
