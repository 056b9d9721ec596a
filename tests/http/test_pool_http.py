"""A ConnectionPool over two HTTPS gateways in front of one store (as real
gateways are in front of one cluster): when one dies, calls go on through the
other; when it comes back, it is used again."""
from __future__ import annotations

import pytest_twisted
from twisted.internet import defer, reactor

from txhbase import errors
from txhbase.pool import ConnectionPool
from txhbase.server import HBaseHandler
from txhbase.server.http import listen_http


class Gateways:
    def __init__(self, pki):
        self.handler = HBaseHandler(clock=reactor)
        self.pki = pki
        self.ports = [0, 0]
        self.live = [None, None]

    def start(self, i):
        lp, site = listen_http(reactor, self.handler, self.ports[i], "127.0.0.1",
                               tls_cert=self.pki.server_cert, tls_key=self.pki.server_key)
        self.ports[i] = lp.getHost().port
        self.live[i] = (lp, site)

    async def kill(self, i):
        lp, site = self.live[i]
        self.live[i] = None
        await lp.stopListening()
        for p in list(site.connections):
            p.transport.abortConnection()


@pytest_twisted.ensureDeferred
async def test_pool_fails_over_between_two_https_gateways(pki):
    gws = Gateways(pki)
    gws.start(0)
    gws.start(1)
    pool = ConnectionPool(2, servers=[f"localhost:{p}" for p in gws.ports],
                          transport="https", tls_ca=pki.ca, http_connections=2,
                          timeout=3000, max_retries=3, retry_backoff=0.01,
                          down_interval=0.2, max_down_interval=0.5)
    try:
        await pool.run(lambda c: c.create_table(b"pool_http", {"cf": {}}))
        t = pool.table(b"pool_http")
        await defer.gatherResults([t.put(b"r%02d" % i, {b"cf:a": b"%d" % i})
                                   for i in range(20)], consumeErrors=True)
        await gws.kill(0)
        rows = await defer.gatherResults([t.row(b"r%02d" % i) for i in range(20)],
                                         consumeErrors=True)
        assert rows == [{b"cf:a": b"%d" % i} for i in range(20)]
        got = [k async for k, _ in t.scan()]
        assert got == [b"r%02d" % i for i in range(20)]
        gws.start(0)  # back on the same port
        await gws.kill(1)
        for i in range(20):
            assert await t.row(b"r%02d" % i) == {b"cf:a": b"%d" % i}
        await gws.kill(0)
        try:
            await t.row(b"r00")
        except errors.TxHBaseError as e:
            assert isinstance(e, (errors.AllServersUnavailable, errors.ConnectionLost,
                                  errors.NoConnectionsAvailable))
        else:
            raise AssertionError("a pool with every gateway down answered")
    finally:
        await pool.close()
        for i in (0, 1):
            if gws.live[i] is not None:
                await gws.kill(i)
