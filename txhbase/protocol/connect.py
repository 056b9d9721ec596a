"""Open a client connection to an HBase Thrift gateway.

``connect(reactor, host, port, ...)`` or ``connect(reactor, endpoint='tcp:...')``
returns a Deferred that fires with a connected ``HBaseClientProtocol``.
"""
from __future__ import annotations

from typing import Any, Optional

from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint, clientFromString
from twisted.internet.protocol import Factory
from twisted.python.failure import Failure

from txhbase.errors import ConnectionLost, TimeoutError, TxHBaseError
from txhbase.protocol.client import HBaseClientProtocol, _check_timeout
from txhbase.protocol.framing import DEFAULT_MAX_MESSAGE_SIZE, TRANSPORTS
from txhbase.protocol.sasl import SASLClientFactory, SaslOptions
from txhbase.protocol.http import HTTP_TRANSPORTS, connect_http, http_options

__all__ = ["HBaseClientFactory", "connect"]


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
            sasl: Optional[SaslOptions] = None, http: Any = None) -> defer.Deferred:
    """Connect to a gateway; fires with a connected ``HBaseClientProtocol``.

    With ``sasl`` (checked by ``txhbase.protocol.sasl.sasl_options``) the
    connection first authenticates with SASL GSSAPI (Kerberos) and fires
    only then; ``connect_timeout`` covers the authentication too; it fails
    with ``AuthenticationError`` when the gateway refuses.

    With ``transport='http'`` or ``'https'`` (and ``http``, the checked
    ``txhbase.protocol.http.HTTPOptions``), fires with an ``HTTPChannel``.

    Give ``host`` and ``port``, or ``endpoint``: a Twisted client endpoint
    string (``tcp:host=h:port=p``, ``tls:h:p``, ``unix:path=/p``).
    ``timeout`` (ms) becomes the protocol's ``default_timeout``;
    ``connect_timeout`` (ms) bounds the connection attempt (TimeoutError
    with ``sent=False``).
    A refused or failed attempt fails with ``ConnectionLost`` (``sent=False``,
    ``reason`` the Twisted failure).
    """
    if transport not in TRANSPORTS and transport not in HTTP_TRANSPORTS:
        raise ValueError(f"transport must be 'buffered', 'framed', 'http' or 'https', "
                         f"not {transport!r}")
    if protocol not in ("binary", "compact"):
        raise ValueError(f"protocol must be 'binary' or 'compact', not {protocol!r}")
    _check_timeout(timeout, "timeout")
    connect_timeout = _check_timeout(connect_timeout, "connect_timeout")
    if (not isinstance(max_message_size, int) or isinstance(max_message_size, bool)
            or max_message_size <= 0):
        raise ValueError("max_message_size must be a positive int")
    if transport in HTTP_TRANSPORTS:
        if endpoint is not None:
            raise ValueError(f"endpoint strings do not apply to transport={transport!r}")
        if http is None:
            http = http_options(transport, protocol)
        return connect_http(reactor, host, port, http, timeout=timeout,  # type: ignore[arg-type]
                            connect_timeout=connect_timeout,
                            max_message_size=max_message_size)
    if endpoint is not None:
        if not isinstance(endpoint, str):
            raise TypeError(f"endpoint must be a str, not {type(endpoint).__name__}")
        if host is not None or port is not None:
            raise ValueError("give either host and port or endpoint, not both")
        ep = clientFromString(reactor, endpoint)
        where = endpoint
    else:
        if not isinstance(host, str) or not host:
            raise TypeError(f"host must be a non-empty str, not {host!r}")
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError(f"port must be an int, not {port!r}")
        if not 0 < port < 65536:
            raise ValueError(f"port must be in 1..65535, not {port}")
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
    d = ep.connect(factory)
    if sasl is not None:
        d.addCallback(lambda layer: layer.authenticated)
        where += " (SASL/Kerberos authentication included)"
    if connect_timeout is not None:
        def _timed_out(_: Any, t: float) -> Failure:
            err = TimeoutError(f"connecting to {where} timed out after {connect_timeout} ms")
            err.sent = False  # nothing was written: callers may retry safely
            return Failure(err)

        d.addTimeout(connect_timeout / 1000.0, reactor, onTimeoutCancel=_timed_out)

    def _wrap(f: Failure) -> Failure:
        if isinstance(f.value, (TxHBaseError, defer.CancelledError)):
            return f
        return Failure(ConnectionLost(f"cannot connect to {where}: {f.getErrorMessage()}",
                                      reason=f, sent=False))

    d.addErrback(_wrap)
    return d
