"""SPNEGO (``Authorization: Negotiate``, RFC 4559) for the HTTP(S) transport.

HBase's Thrift gateway in HTTP mode with Kerberos (``hbase.thrift.spnego.*``)
authenticates every POST on its own and keeps a replay cache, so each request
needs a fresh token (a new GSS context each time; about a millisecond once
the service ticket is cached). ``SpnegoAuth`` is the ``HeaderProvider`` the
``HTTPChannel`` calls for every request: it makes the token in a thread of
the reactor's pool (the first one may wait on the KDC) and fires with the
``Authorization`` header. ``HTTPChannel`` retries a request answered 401 once
with a fresh token, then fails it with ``AuthenticationError``.

The gateway's mutual-authentication token in its 200 answer is not checked:
use ``transport='https'`` (with ``tls_ca``) to authenticate the gateway.
"""
from __future__ import annotations

import base64
from typing import Any, Callable, Mapping, Optional

from twisted.internet import defer, threads

from txhbase import _gss

__all__ = ["DEFAULT_HTTP_SERVICE", "SpnegoAuth"]

#: The service part of HBase's SPNEGO principal, ``hbase.thrift.spnego.principal``
#: (conventionally ``HTTP/<host>@REALM``; a gateway without it falls back to
#: ``hbase.thrift.kerberos.principal``: then pass ``kerberos_service='hbase'``).
DEFAULT_HTTP_SERVICE = "HTTP"

TokenFactory = Callable[[str, str, Optional[str]], bytes]
RunBlocking = Callable[..., "defer.Deferred[Any]"]


class SpnegoAuth:
    """Fresh ``Authorization: Negotiate <token>`` headers for ``service@host``.

    :param reactor: whose thread pool makes the tokens (blocking GSS calls).
    :param service: / ``host``: the gateway's principal ``service/host``.
    :param principal: the client principal (None: the default credentials).
    :param token_factory: ``f(service, host, principal) -> bytes``, blocking
        (default ``txhbase._gss.spnego_token``); tests pass a fake.
    :param run_blocking: ``run(f, *args)`` -> Deferred of ``f(*args)``
        (default: the reactor's thread pool).
    """

    def __init__(self, reactor: Any, service: str, host: str, principal: Optional[str] = None,
                 *, token_factory: Optional[TokenFactory] = None,
                 run_blocking: Optional[RunBlocking] = None) -> None:
        self.reactor = reactor
        self.service = service
        self.host = host
        self.principal = principal
        self.token_factory = token_factory
        self.run_blocking = run_blocking or self._in_thread

    def __repr__(self) -> str:
        return f"<SpnegoAuth {self.service}@{self.host}>"

    def _in_thread(self, f: Callable[..., Any], *args: Any) -> "defer.Deferred[Any]":
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), f, *args)

    def __call__(self) -> "defer.Deferred[Mapping[bytes, bytes]]":
        """Fire with ``{b'Authorization': b'Negotiate ...'}`` holding a new token;
        fail with ``AuthenticationError`` (the GSS message: no credentials,
        unknown principal, KDC unreachable)."""
        make = self.token_factory or _gss.spnego_token  # looked up late: tests patch it
        d = self.run_blocking(make, self.service, self.host, self.principal)
        return d.addCallback(_header)


def _header(token: bytes) -> Mapping[bytes, bytes]:
    return {b"Authorization": b"Negotiate " + base64.b64encode(token)}
