"""Small twisted.web servers that misbehave on purpose, for the HTTP tests:
one that never answers (timeouts, cancellation, dropped connections, queueing)
and one that answers with a fixed status (401/403/500 mapping)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from twisted.internet import reactor
from twisted.web import http, server
from twisted.web.resource import Resource


class _Tracked(http.HTTPChannel):
    def connectionMade(self) -> None:
        super().connectionMade()
        self.factory.connections.add(self)
        self.factory.opened += 1

    def connectionLost(self, reason: Any) -> None:
        self.factory.connections.discard(self)
        super().connectionLost(reason)


class Site(server.Site):
    """A Site that counts and can drop its connections."""

    protocol = _Tracked

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource)
        self.noisy = False
        self.connections: set = set()
        self.opened = 0

    def log(self, request: Any) -> None:
        pass

    def drop_all(self) -> None:
        """Abort every connection, as a crashed gateway would."""
        for p in list(self.connections):
            p.transport.abortConnection()


class Stall(Resource):
    """Accepts POSTs and never answers; ``requests`` keeps them."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.requests: List[Any] = []
        self.gone: List[Any] = []

    def render_POST(self, request: Any) -> Any:
        self.requests.append(request)
        request.notifyFinish().addErrback(lambda f: self.gone.append(request))
        return server.NOT_DONE_YET


class Status(Resource):
    """Answers every POST with ``code``, ``body`` and ``headers``."""

    isLeaf = True

    def __init__(self, code: int, body: bytes = b"", headers: Optional[Dict[bytes, bytes]] = None):
        super().__init__()
        self.code = code
        self.body = body
        self.headers = headers or {}

    def render_POST(self, request: Any) -> bytes:
        request.setResponseCode(self.code)
        for k, v in self.headers.items():
            request.setHeader(k, v)
        return self.body


def serve(resource: Resource) -> Any:
    """Listen on a free port of 127.0.0.1; returns (listening port, site)."""
    site = Site(resource)
    return reactor.listenTCP(0, site, interface="127.0.0.1"), site
