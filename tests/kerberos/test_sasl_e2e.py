"""Connection(auth='kerberos') end to end over real TCP and the reactor's thread pool,
against a fake SASL gateway in front of the embedded server (no KDC needed)."""
from __future__ import annotations

import dataclasses
import threading

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

from tests.kerberos.fakegateway import FakeSaslGatewayFactory
from tests.kerberos.fakegss import FakeContext
from txhbase import Connection, ConnectionPool
from txhbase import server as embedded
from txhbase.errors import AuthenticationError, ConnectionLost


class Contexts:
    """A context factory recording the contexts made and the threads their steps ran in."""

    def __init__(self):
        self.made = []
        self.threads = set()

    def __call__(self, service, host, principal):
        ctx = FakeContext()
        step = ctx.step

        def recording_step(token):
            self.threads.add(threading.get_ident())
            return step(token)

        ctx.step = recording_step
        self.made.append((service, host, principal))
        return ctx


@pytest.fixture
def backend():
    srv = embedded.listen(0)
    yield srv
    pytest_twisted.blockon(srv.stop())


def gateway(backend, **kw):
    factory = FakeSaslGatewayFactory(backend, **kw)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    return factory, port


def kerberos_connection(port, contexts, qop="auth-conf", **kw):
    c = Connection("127.0.0.1", port.getHost().port, auth="kerberos", qop=qop,
                   kerberos_host="gw.example", timeout=10000, reactor=reactor, **kw)
    c.sasl = dataclasses.replace(c.sasl, context_factory=contexts)
    return c


@pytest.mark.parametrize("qop,offer", [("auth", 1), ("auth-int", 2), ("auth-conf", 4)])
@pytest_twisted.ensureDeferred
async def test_pipelined_calls_scan_and_reconnect(backend, qop, offer):
    factory, port = gateway(backend, offer=offer)
    contexts = Contexts()
    c = kerberos_connection(port, contexts, qop=qop)
    try:
        table = await c.create_table("t", {"cf": {}})
        rows = [b"r%03d" % i for i in range(50)]
        await defer.gatherResults([table.put(r, {b"cf:v": r * 1000}) for r in rows])
        got = await defer.gatherResults([table.row(r) for r in rows])
        assert [g[b"cf:v"] for g in got] == [r * 1000 for r in rows]
        assert [k async for k, _ in table.scan()] == rows
        assert contexts.made == [("hbase", "gw.example", None)]
        assert threading.get_ident() not in contexts.threads  # GSS steps ran off the reactor
        await c._proto.close()  # the gateway dropped us: the next call reconnects
        assert await c.tables() == [b"t"]
        assert len(contexts.made) == 2 and factory.connections == 2  # authenticated again
    finally:
        await c.close()
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_gateway_refusal_is_authentication_error(backend):
    factory, port = gateway(backend, refuse="GSS initiate failed: Clock skew too great")
    c = kerberos_connection(port, Contexts())
    try:
        with pytest.raises(AuthenticationError, match="Clock skew too great"):
            await c.tables()
    finally:
        await c.close()
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_qop_mismatch(backend):
    factory, port = gateway(backend, offer=4)
    c = kerberos_connection(port, Contexts(), qop="auth-int")
    try:
        with pytest.raises(AuthenticationError, match="offers qop auth-conf.*requires auth-int"):
            await c.tables()
    finally:
        await c.close()
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_kerberos_client_at_plain_embedded_gateway(backend):
    """The embedded server drops bytes that are not Thrift: a clear ConnectionLost."""
    c = Connection("127.0.0.1", backend.port, auth="kerberos", timeout=10000, reactor=reactor)
    c.sasl = dataclasses.replace(c.sasl, context_factory=Contexts())
    try:
        with pytest.raises(ConnectionLost, match="during SASL authentication"):
            await c.tables()
    finally:
        await c.close()


@pytest_twisted.ensureDeferred
async def test_pool_fails_over_and_reauthenticates(backend):
    f1, p1 = gateway(backend)
    f2, p2 = gateway(backend)
    contexts = Contexts()

    def make(host, port):
        c = Connection(host, port, auth="kerberos", qop="auth-conf", kerberos_host="gw.example",
                       timeout=5000, reactor=reactor)
        c.sasl = dataclasses.replace(c.sasl, context_factory=contexts)
        return c

    pool = ConnectionPool(1, servers=[f"127.0.0.1:{p1.getHost().port}",
                                      f"127.0.0.1:{p2.getHost().port}"],
                          connection_factory=make, max_retries=3, reactor=reactor)
    try:
        c = Connection("127.0.0.1", backend.port, reactor=reactor)
        await c.create_table("p", {"cf": {}})
        await c.close()
        table = pool.table("p")
        await defer.gatherResults([table.put(b"r%d" % i, {b"cf:v": b"x"}) for i in range(20)])
        before = len(contexts.made)
        # the gateway the pool's one connection uses goes away: calls move to
        # the other one, authenticating there
        (used_f, used_p), (other_f, other_p) = sorted(
            [(f1, p1), (f2, p2)], key=lambda fp: -len(fp[0].protocols))
        await used_p.stopListening()
        used_f.drop_all()
        got = await defer.gatherResults([table.row(b"r%d" % i) for i in range(20)])
        assert all(g == {b"cf:v": b"x"} for g in got)
        assert len(contexts.made) > before and other_f.connections >= 1
    finally:
        await pool.close()
        for p in (p1, p2):
            if p.connected:
                await p.stopListening()
