"""SPNEGO on the HTTP(S) transport without a KDC: a fake token factory and a
small gateway that, like HBase's servlet, answers 401 to a request without a
``Negotiate`` token or with one it has seen before, and ``getTableNames`` to
the others (the real round trips are in test_real_spnego_http.py)."""
from __future__ import annotations

import base64
import threading
from typing import Any, List, Optional

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task
from twisted.web.resource import Resource

import txhbase
from txhbase import _gss, errors
from txhbase.protocol.client import METHODS
from txhbase.protocol.codec import REPLY, BinaryCodec
from txhbase.protocol.http import connect_http
from txhbase.protocol.http_options import http_options
from txhbase.protocol.spnego import SpnegoAuth

from tests.http import fakes

TABLE = b"spnego_t"



class NegotiateGate(Resource):
    """Answers ``getTableNames`` to a POST with a fresh ``Negotiate`` token, else 401.

    ``refuse``: how many more good tokens to refuse anyway (a ticket the
    gateway cannot read, a clock skew); ``seen``: the tokens received;
    ``requests``: the headers of every request.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.requests: List[dict] = []
        self.seen: List[bytes] = []
        self.refuse = 0

    def render_POST(self, request: Any) -> bytes:
        self.requests.append({k.lower(): b", ".join(v)
                              for k, v in request.requestHeaders.getAllRawHeaders()})
        auth = request.getHeader(b"authorization") or b""
        token = base64.b64decode(auth[10:]) if auth.startswith(b"Negotiate ") else b""
        fresh = bool(token) and token not in self.seen
        if token:
            self.seen.append(token)
        if fresh and self.refuse == 0:
            request.setHeader(b"WWW-Authenticate", b"Negotiate c2VydmVy")  # mutual auth
            request.setHeader(b"Content-Type", b"application/x-thrift")
            return _table_names(request.content.read())
        if fresh:
            self.refuse -= 1
        request.setResponseCode(401)
        request.setHeader(b"WWW-Authenticate", b"Negotiate")
        return b"Authentication Error: GSSException: Defective token detected"


def _table_names(call: bytes) -> bytes:
    codec = BinaryCodec()
    spec = METHODS["getTableNames"]
    name, _, seqid, _ = codec.decode(call, lambda *_: spec.args_cls())
    assert name == "getTableNames"
    return codec.encode(name, REPLY, seqid, spec.result_cls(success=[TABLE]))


class FakeTokens:
    """A blocking token factory: ``tok-1``, ``tok-2``, ... and where it ran."""

    def __init__(self, fail: Optional[str] = None) -> None:
        self.calls: List[tuple] = []
        self.threads: List[int] = []
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, service: str, host: str, principal: Optional[str]) -> bytes:
        with self.lock:
            self.threads.append(threading.get_ident())
            self.calls.append((service, host, principal))
            if self.fail:
                raise errors.AuthenticationError(self.fail)
            return b"tok-%d" % len(self.calls)


@pytest.fixture(autouse=True)
def no_gss_library(monkeypatch):
    """The token factory is fake: these tests need no GSSAPI library installed."""
    from txhbase.protocol import sasl

    monkeypatch.setattr(sasl, "require_gssapi", lambda: None)


@pytest.fixture
def gate():
    resource = NegotiateGate()
    port, site = fakes.serve(resource)
    yield port.getHost().port, resource
    site.drop_all()
    pytest_twisted.blockon(defer.maybeDeferred(port.stopListening))


@pytest.fixture
def tokens(monkeypatch):
    fake = FakeTokens()
    monkeypatch.setattr(_gss, "spnego_token", fake)
    return fake


def kerberized(port, **kw) -> txhbase.Connection:
    kw.setdefault("timeout", 5000)
    return txhbase.Connection("127.0.0.1", port, transport="http", auth="kerberos",
                              reactor=reactor, **kw)


@pytest_twisted.ensureDeferred
async def test_every_request_carries_its_own_token(gate, tokens):
    port, g = gate
    conn = kerberized(port, kerberos_host="gw.example", http_connections=2)
    try:
        got = await defer.gatherResults([conn.tables() for _ in range(6)])
        assert got == [[TABLE]] * 6
    finally:
        await conn.close()
    auths = [r[b"authorization"] for r in g.requests]
    assert len(auths) == len(tokens.calls) == 6
    # fresh per request (the gateway refuses repeats), tokens made in parallel threads
    assert sorted(auths) == sorted(b"Negotiate " + base64.b64encode(b"tok-%d" % i)
                                   for i in range(1, 7))
    # the SPNEGO principal HTTP/<host>, HBase's usual hbase.thrift.spnego.principal
    assert set(tokens.calls) == {("HTTP", "gw.example", None)}


@pytest_twisted.ensureDeferred
async def test_tokens_are_made_off_the_reactor_thread(gate, tokens):
    port, _ = gate
    conn = kerberized(port)
    try:
        await conn.tables()
    finally:
        await conn.close()
    assert tokens.threads and threading.get_ident() not in tokens.threads
    # kerberos_host defaults to the gateway's host
    assert tokens.calls[0] == ("HTTP", "127.0.0.1", None)


@pytest_twisted.ensureDeferred
async def test_a_401_is_retried_once_with_a_fresh_token(gate, tokens):
    port, g = gate
    g.refuse = 1
    conn = kerberized(port, kerberos_service="hbase", kerberos_principal="me@R")
    try:
        assert await conn.tables() == [TABLE]
    finally:
        await conn.close()
    assert g.seen == [b"tok-1", b"tok-2"]
    assert tokens.calls[0] == ("hbase", "127.0.0.1", "me@R")


@pytest_twisted.ensureDeferred
async def test_two_401s_fail_with_authentication_error(gate, tokens):
    port, g = gate
    g.refuse = 2
    conn = kerberized(port)
    try:
        with pytest.raises(errors.AuthenticationError) as e:
            await conn.tables()
        assert e.value.status == 401 and e.value.challenge == "Negotiate"
        assert "Defective token" in str(e.value)
        assert len(tokens.calls) == 2  # one retry, no loop
        assert conn.connected
        assert await conn.tables() == [TABLE]  # the next call authenticates afresh
    finally:
        await conn.close()


@pytest_twisted.ensureDeferred
async def test_no_credentials_fails_before_anything_is_sent(gate, monkeypatch):
    port, g = gate
    monkeypatch.setattr(_gss, "spnego_token", FakeTokens(
        fail="SPNEGO authentication to HTTP@127.0.0.1 failed: No Kerberos credentials"))
    conn = kerberized(port)
    try:
        with pytest.raises(errors.AuthenticationError, match="No Kerberos credentials"):
            await conn.tables()
    finally:
        await conn.close()
    assert g.requests == []


@pytest_twisted.ensureDeferred
async def test_a_client_without_kerberos_gets_401_negotiate(gate):
    port, _ = gate
    conn = txhbase.Connection("127.0.0.1", port, transport="http", timeout=5000)
    try:
        with pytest.raises(errors.AuthenticationError, match="401") as e:
            await conn.tables()
        assert e.value.challenge == "Negotiate"
    finally:
        await conn.close()


@pytest_twisted.ensureDeferred
async def test_timeout_and_cancel_while_the_token_is_made(gate):
    """A token that takes long (a KDC that does not answer) is bounded by the
    call's timeout on the clock given, and cancelling frees the slot; the late
    token is never sent."""
    port, g = gate
    pending: List[defer.Deferred] = []

    def slow(f, *args):
        d = defer.Deferred()
        pending.append(d)
        return d

    clock = task.Clock()
    auth = SpnegoAuth(reactor, "HTTP", "localhost", run_blocking=slow)
    ch = await connect_http(reactor, "127.0.0.1", port,
                            http_options("http", http_connections=1), clock=clock,
                            auth_headers=auth)
    try:
        d1 = ch.call("getTableNames", timeout=100)
        d2 = ch.call("getTableNames")
        assert ch.pending == 2 and len(pending) == 1  # d2 waits for the one slot
        clock.advance(0.2)
        with pytest.raises(errors.TimeoutError):
            await d1
        assert len(pending) == 2  # the slot went to d2
        d2.cancel()
        with pytest.raises(defer.CancelledError):
            await d2
        assert ch.pending == 0
        for d in pending:
            if not d.called:
                d.callback(b"late")
        assert g.requests == []
    finally:
        await ch.close()


def test_options():
    c = txhbase.Connection("gw", 9090, transport="https", auth="kerberos")
    assert (c.sasl.service, c.sasl.host, c.sasl.qop) == ("HTTP", None, "auth")
    assert txhbase.Connection("gw", 9090, auth="kerberos").sasl.service == "hbase"
    with pytest.raises(ValueError, match="qop"):
        txhbase.Connection("gw", 9090, transport="http", auth="kerberos", qop="auth-conf")
    with pytest.raises(ValueError, match="buffered"):
        txhbase.Connection("gw", 9090, transport="framed", auth="kerberos")
