"""The embedded gateway in HTTP mode, as HBase's ``ThriftHttpServlet`` answers.

A ``twisted.web`` resource on every path: each POST body is one
binary-protocol call, served by the same ``HBaseServerProtocol`` (codec,
dispatch, error mapping) as the socket server, and answered with one
``application/x-thrift`` message. Other methods get what HBase 2.6's Jetty
gives them: GET 500, TRACE and OPTIONS 403, the rest 405. With a
certificate and key (PEM) it serves HTTPS.

It records the headers of the requests it saw (``HTTPGateway.requests``),
so tests can check what a client sent (``doAs``, custom headers).
"""
from __future__ import annotations

import logging
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Set

from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure
from twisted.web import http, server
from twisted.web.resource import Resource

from txhbase.protocol.framing import DEFAULT_MAX_MESSAGE_SIZE
from txhbase.protocol.server import HBaseServerProtocol

__all__ = ["ThriftResource", "HTTPGateway", "listen_http"]

log = logging.getLogger(__name__)

CONTENT_TYPE = b"application/x-thrift"
#: How many requests' headers are remembered.
REMEMBERED = 1000


class _OneCall:
    """The transport an ``HBaseServerProtocol`` writes one request's reply to."""

    def __init__(self, request: Any) -> None:
        self.request = request
        self.answered = False
        self.disconnecting = False

    def write(self, data: bytes) -> None:
        if self.answered or self.request.finished or self.disconnecting:
            return
        self.answered = True
        req = self.request
        req.setHeader(b"Content-Type", CONTENT_TYPE)
        req.setHeader(b"Content-Length", b"%d" % len(data))
        req.write(data)
        req.finish()

    def writeSequence(self, seq: List[bytes]) -> None:  # pragma: no cover - unused
        self.write(b"".join(seq))

    def loseConnection(self) -> None:
        """The protocol found the body malformed: answer 500, as Jetty does."""
        if self.answered or self.request.finished:
            return
        self.answered = True
        _error(self.request, http.INTERNAL_SERVER_ERROR, b"malformed Thrift message")

    abortConnection = loseConnection

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """One reply per request: there is no backlog to push back on."""

    def unregisterProducer(self) -> None:
        """Nothing was registered (see ``registerProducer``)."""

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def getPeer(self) -> Any:
        return self.request.getClientAddress()

    def getHost(self) -> Any:
        return self.request.getHost()


def _error(request: Any, code: int, text: bytes) -> None:
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    request.setHeader(b"Content-Length", b"%d" % len(text))
    request.write(text)
    request.finish()


class ThriftResource(Resource):
    """Serves ``handler`` to one-message POSTs on every path."""

    isLeaf = True

    def __init__(self, handler: Any, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 reactor: Optional[IReactorTime] = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.handler = handler
        self.max_message_size = max_message_size
        self.reactor = reactor
        #: ``{lower-case header name: value}`` of each request seen, oldest first.
        self.requests: Deque[Dict[str, str]] = deque(maxlen=REMEMBERED)

    def _record(self, request: Any) -> None:
        self.requests.append({
            name.decode("latin-1").lower(): b", ".join(values).decode("latin-1")
            for name, values in request.requestHeaders.getAllRawHeaders()})

    def render_POST(self, request: Any) -> Any:
        self._record(request)
        body = request.content.read()
        if len(body) > self.max_message_size:
            _error(request, http.REQUEST_ENTITY_TOO_LARGE, b"message too large")
            return server.NOT_DONE_YET
        proto = HBaseServerProtocol(self.handler, "buffered", "binary",
                                    self.max_message_size, reactor=self.reactor)
        out = _OneCall(request)
        proto.makeConnection(out)  # type: ignore[no-untyped-call]
        request.notifyFinish().addErrback(lambda f: proto.connectionLost(f))
        proto.dataReceived(body)
        if not out.answered and not proto._replies:
            # no whole call in the body (empty or truncated): TServlet fails it
            out.loseConnection()
        return server.NOT_DONE_YET

    def render(self, request: Any) -> Any:
        """POST serves a call; other methods are answered as HBase's Jetty does."""
        method = request.method
        if method == b"POST":
            return self.render_POST(request)
        if method in (b"GET", b"HEAD"):
            return self.render_GET(request)
        if method in (b"TRACE", b"OPTIONS"):
            return self.render_TRACE(request)
        self._record(request)
        request.setResponseCode(http.NOT_ALLOWED)
        request.setHeader(b"Allow", b"POST, GET, HEAD")
        return b"HTTP method " + method + b" is not supported by this URL"

    def render_GET(self, request: Any) -> bytes:
        # TServlet's doGet runs doPost on an empty body, which fails: HTTP 500
        self._record(request)
        request.setResponseCode(http.INTERNAL_SERVER_ERROR)
        return b"no Thrift message in a GET"

    def render_TRACE(self, request: Any) -> bytes:
        self._record(request)
        request.setResponseCode(http.FORBIDDEN)
        return b""


class _TrackedHTTP(http.HTTPChannel):
    def connectionMade(self) -> None:
        super().connectionMade()  # type: ignore[no-untyped-call]
        factory: Any = self.factory
        factory.connections.add(self)

    def connectionLost(self, reason: Optional[Failure] = None) -> None:
        factory: Any = self.factory
        factory.connections.discard(self)
        super().connectionLost(reason)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        """Drop this client connection (``RunningServer.stop()``)."""
        transport: Any = self.transport
        if transport is not None:
            # the channel is its transport's producer: while registered, TLS
            # sends no close_notify and the client's next request hangs
            transport.unregisterProducer()
            transport.loseConnection()


class HTTPGateway(server.Site):
    """The ``Site`` of an HTTP-mode gateway; tracks connections for ``stop()``."""

    protocol = _TrackedHTTP  # type: ignore[assignment]

    def __init__(self, resource: ThriftResource, *, tls: bool,
                 idle_timeout: Optional[float], reactor: Any) -> None:
        kwargs: Dict[str, Any] = {"timeout": idle_timeout}
        if reactor is not None:
            kwargs["reactor"] = reactor
        super().__init__(resource, **kwargs)  # type: ignore[no-untyped-call]
        self.noisy = False
        self.resource = resource
        self.connections: Set[Any] = set()
        self.transport = "https" if tls else "http"
        self.protocol_name = "binary"

    @property
    def requests(self) -> Deque[Dict[str, str]]:
        """The headers of each request seen (lower-case names), oldest first."""
        requests: Deque[Dict[str, str]] = self.resource.requests
        return requests

    def log(self, request: Any) -> None:
        """No access log (the gateway logs through ``logging`` only)."""


def listen_http(reactor: Any, handler: Any, port: int, host: str, *,
                tls_cert: Optional[str] = None, tls_key: Optional[str] = None,
                idle_timeout: Optional[float] = None,
                max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> Any:
    """Listen on ``host:port``; HTTPS when ``tls_cert`` and ``tls_key`` (PEM files)
    are given. Returns ``(listening_port, site)``."""
    if (tls_cert is None) != (tls_key is None):
        raise ValueError("tls_cert and tls_key go together")
    resource = ThriftResource(handler, max_message_size=max_message_size, reactor=reactor)
    site = HTTPGateway(resource, tls=tls_cert is not None, idle_timeout=idle_timeout,
                       reactor=reactor)
    if tls_cert is None:
        return reactor.listenTCP(port, site, interface=host), site
    from twisted.internet.ssl import PrivateCertificate

    pem = b""
    for path, name in ((tls_cert, "tls_cert"), (tls_key, "tls_key")):
        if not isinstance(path, str):
            raise TypeError(f"{name} must be a path (str), not {type(path).__name__}")
        with open(path, "rb") as f:
            pem += f.read() + b"\n"
    options = PrivateCertificate.loadPEM(pem).options()  # type: ignore[no-untyped-call]
    return reactor.listenSSL(port, site, options, interface=host), site

