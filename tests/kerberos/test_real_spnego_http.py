"""txhbase's HTTPS transport with SPNEGO against a real Kerberized HTTP-mode gateway
(``hbase.thrift.spnego.principal`` HTTP/localhost, TLS from the harness's CA) and
Kerby's KDC: the ``kerberos`` fixture (tests/conftest.py, tests/realhbase/kerberos.py)."""
from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task, threads

from txhbase import Connection, ConnectionPool
from txhbase.errors import AuthenticationError, TxHBaseError

TABLE = b"txhbase_spnego"
pytestmark = pytest.mark.hbase_only


async def https_gateway(kerberos):
    return await threads.deferToThread(kerberos.gateway, "https")


def conn(gw, **kw):
    kw.setdefault("auth", "kerberos")
    kw.setdefault("timeout", 30000)
    return Connection(gw.host, gw.port, transport="https", tls_ca=gw.tls.ca_pem,
                      reactor=reactor, **kw)


async def ensure_table(c):
    if TABLE not in await c.tables():
        try:
            await c.create_table(TABLE, {"cf": {"max_versions": 1}})
        except Exception:
            if TABLE not in await c.tables():
                raise


@pytest_twisted.ensureDeferred
async def test_spnego_over_https_round_trip(kerberos, row_prefix):
    gw = await https_gateway(kerberos)
    c = conn(gw, http_connections=3)
    try:
        await ensure_table(c)
        table = c.table(TABLE)
        rows = [row_prefix + b"%02d" % i for i in range(12)]
        # concurrent calls: each POST needs its own token (HBase refuses a replay)
        await defer.gatherResults([table.put(r, {b"cf:v": r}) for r in rows])
        got = await defer.gatherResults([table.row(r) for r in rows])
        assert [g[b"cf:v"] for g in got] == rows
        scanned = [key async for key, _ in table.scan(row_prefix=row_prefix, batch_size=5)]
        assert scanned == rows
    finally:
        await c.close()


@pytest_twisted.ensureDeferred
async def test_client_without_kerberos_gets_401_negotiate(kerberos):
    gw = await https_gateway(kerberos)
    c = conn(gw, auth=None)
    try:
        with pytest.raises(AuthenticationError, match="401") as e:
            await c.tables()
        assert e.value.status == 401 and e.value.challenge == "Negotiate"
    finally:
        await c.close()


@pytest_twisted.ensureDeferred
async def test_no_credentials_is_the_gss_message(kerberos, monkeypatch, tmp_path):
    gw = await https_gateway(kerberos)
    monkeypatch.setenv("KRB5_CLIENT_KTNAME", str(tmp_path / "missing.keytab"))
    monkeypatch.setenv("KRB5CCNAME", "FILE:" + str(tmp_path / "empty-ccache"))
    c = conn(gw)
    try:
        with pytest.raises(AuthenticationError, match="SPNEGO authentication to HTTP@localhost"):
            await c.tables()
    finally:
        await c.close()


@pytest_twisted.ensureDeferred
async def test_wrong_service_principal(kerberos):
    gw = await https_gateway(kerberos)
    c = conn(gw, kerberos_service="nosuch")
    try:
        with pytest.raises(AuthenticationError, match="not found in Kerberos database"):
            await c.tables()
    finally:
        await c.close()


@pytest_twisted.ensureDeferred
async def test_pool_across_spnego_gateway_restart(kerberos, row_prefix):
    gw = await https_gateway(kerberos)
    c = conn(gw)
    await ensure_table(c)
    await c.close()
    pool = ConnectionPool(2, gw.host, gw.port, transport="https", tls_ca=gw.tls.ca_pem,
                          auth="kerberos", timeout=5000, max_retries=2, reactor=reactor)
    try:
        table = pool.table(TABLE)
        await table.put(row_prefix + b"before", {b"cf:v": b"1"})
        await threads.deferToThread(gw.stop)
        with pytest.raises(TxHBaseError):
            await table.row(row_prefix + b"before")
        await threads.deferToThread(gw.start)  # same port, a new JVM and replay cache
        got = None
        for _ in range(20):
            try:
                got = await table.row(row_prefix + b"before")
                break
            except Exception:
                await task.deferLater(reactor, 1.0)
        assert got == {b"cf:v": b"1"}
        await table.put(row_prefix + b"after", {b"cf:v": b"2"})
        assert await table.row(row_prefix + b"after") == {b"cf:v": b"2"}
    finally:
        await pool.close()
