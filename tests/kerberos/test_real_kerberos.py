"""txhbase against real Kerberized HBase Thrift1 gateways and a real KDC.

The ``kerberos`` fixture (tests/conftest.py) starts Kerby's KDC and, per qop,
a socket gateway with SASL GSSAPI in front of the session's real HBase. HBase
configures one qop per gateway and accepts only that one (a client asking for
another is refused in the negotiation).
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, threads

from txhbase import Connection, ConnectionPool
from txhbase.errors import AuthenticationError, TimeoutError, TxHBaseError

TABLE = b"txhbase_kerberos"
pytestmark = pytest.mark.hbase_only


def require_kinit() -> str:
    """kinit's path; skips the test without it (a fresh machine has only the
    GSSAPI library), but fails under TXHBASE_REQUIRE_HBASE=1 (CI installs krb5-user)."""
    kinit = shutil.which("kinit")
    if not kinit:
        if os.environ.get("TXHBASE_REQUIRE_HBASE", "") not in ("", "0"):
            pytest.fail("kinit is not installed (apt-get install krb5-user)", pytrace=False)
        pytest.skip("kinit is not installed (apt-get install krb5-user; krb5-workstation on RPM)")
    return kinit


def conn(gw, **kw):
    kw.setdefault("auth", "kerberos")
    kw.setdefault("qop", gw.qop)
    kw.setdefault("timeout", 30000)
    return Connection(gw.host, gw.port, reactor=reactor, **kw)


async def ensure_table(c):
    if TABLE not in await c.tables():
        try:
            await c.create_table(TABLE, {"cf": {"max_versions": 1}})
        except Exception:
            if TABLE not in await c.tables():
                raise


@pytest.mark.parametrize("qop", ["auth", "auth-int", "auth-conf"])
@pytest_twisted.ensureDeferred
async def test_each_qop_round_trips_pipelined_calls(kerberos, qop, row_prefix):
    gw = await threads.deferToThread(kerberos.gateway, qop)
    c = conn(gw)
    try:
        await ensure_table(c)
        table = c.table(TABLE)
        big = os.urandom(200_000)  # several GSS-wrapped frames in flight at once
        rows = [row_prefix + b"%d" % i for i in range(20)]
        await defer.gatherResults([table.put(r, {b"cf:v": big + r}) for r in rows])
        got = await defer.gatherResults([table.row(r) for r in rows])
        assert [g[b"cf:v"] for g in got] == [big + r for r in rows]
        scanned = [key async for key, _ in table.scan(row_prefix=row_prefix)]
        assert scanned == sorted(rows)
    finally:
        await c.close()


@pytest_twisted.ensureDeferred
async def test_reconnect_authenticates_again(kerberos):
    gw = await threads.deferToThread(kerberos.gateway, "auth-conf")
    c = conn(gw)
    try:
        await c.tables()
        await c._proto.close()  # as when the gateway closes an idle connection
        await c.tables()  # a new connection: unauthenticated, the gateway would not answer
        assert c.connects == 2
    finally:
        await c.close()


@pytest.mark.parametrize("client_qop", ["auth", "auth-int"])
@pytest_twisted.ensureDeferred
async def test_wrong_qop_is_refused(kerberos, client_qop):
    gw = await threads.deferToThread(kerberos.gateway, "auth-conf")
    c = conn(gw, qop=client_qop)
    with pytest.raises(AuthenticationError, match="offers qop auth-conf"):
        await c.tables()
    await c.close()


@pytest_twisted.ensureDeferred
async def test_unknown_client_principal(kerberos):
    gw = await threads.deferToThread(kerberos.gateway, "auth-conf")
    c = conn(gw, kerberos_principal=f"nobody@{kerberos.kdc.realm}")
    with pytest.raises(AuthenticationError, match="nobody@"):
        await c.tables()
    await c.close()


@pytest_twisted.ensureDeferred
async def test_wrong_service_principal(kerberos):
    gw = await threads.deferToThread(kerberos.gateway, "auth-conf")
    c = conn(gw, kerberos_service="nosuch")
    with pytest.raises(AuthenticationError, match="not found in Kerberos database"):
        await c.tables()
    await c.close()


@pytest_twisted.ensureDeferred
async def test_no_credentials(kerberos, monkeypatch, tmp_path):
    gw = await threads.deferToThread(kerberos.gateway, "auth-conf")
    monkeypatch.setenv("KRB5_CLIENT_KTNAME", str(tmp_path / "missing.keytab"))
    monkeypatch.setenv("KRB5CCNAME", "FILE:" + str(tmp_path / "empty-ccache"))
    c = conn(gw)
    with pytest.raises(AuthenticationError, match="No Kerberos credentials|credentials"):
        await c.tables()
    await c.close()


@pytest_twisted.ensureDeferred
async def test_expired_ticket_then_keytab_refresh(kerberos, monkeypatch, tmp_path):
    """A ticket that expired between connections: AuthenticationError from the ticket
    cache alone; with a client keytab the reconnect fetches a fresh ticket."""
    kinit = require_kinit()
    gw = await threads.deferToThread(kerberos.gateway, "auth-conf")
    kdc = kerberos.kdc
    ccache = "FILE:" + str(tmp_path / "short-ccache")
    subprocess.run([kinit, "-l", "20s", "-k", "-t", kdc.keytab("client"), kdc.principal("client")],
                   env=dict(os.environ, KRB5CCNAME=ccache), check=True, timeout=30)
    monkeypatch.setenv("KRB5CCNAME", ccache)
    monkeypatch.setenv("KRB5_CLIENT_KTNAME", str(tmp_path / "no-keytab"))
    c = conn(gw)
    try:
        await c.tables()  # the 20 s ticket works
        await c._proto.close()
        await deferLater(21.0)  # MIT refuses lifetimes much shorter than this
        with pytest.raises(AuthenticationError, match="[Ee]xpired"):
            await c.tables()
        monkeypatch.setenv("KRB5_CLIENT_KTNAME", kdc.keytab("client"))
        await c.tables()
    finally:
        await c.close()


@pytest_twisted.ensureDeferred
async def test_plain_client_at_kerberized_gateway_times_out(kerberos):
    """HBase's SASL server answers a plain Thrift call with nothing: only a timeout tells."""
    gw = await threads.deferToThread(kerberos.gateway, "auth-conf")
    c = Connection(gw.host, gw.port, reactor=reactor, timeout=2000)
    with pytest.raises(TimeoutError):
        await c.tables()
    await c.close()


@pytest_twisted.ensureDeferred
async def test_kerberos_client_at_plain_gateway_times_out(kerberos, real_hbase):
    """HBase's plain gateway reads our SASL START as the start of a 16 MB call and waits."""
    host, port = real_hbase.address("buffered", "binary")
    c = Connection(host, port, reactor=reactor, auth="kerberos", kerberos_host="localhost",
                   timeout=2000)
    with pytest.raises(TimeoutError, match="SASL"):
        await c.tables()
    await c.close()


@pytest_twisted.ensureDeferred
async def test_pool_across_kerberized_gateway_restart(kerberos, row_prefix):
    gw = await threads.deferToThread(kerberos.gateway, "auth-conf")
    pool = ConnectionPool(2, gw.host, gw.port, auth="kerberos", qop="auth-conf",
                          timeout=5000, max_retries=2, reactor=reactor)
    try:
        table = pool.table(TABLE)
        c = conn(gw)
        await ensure_table(c)
        await c.close()
        await table.put(row_prefix + b"before", {b"cf:v": b"1"})
        await threads.deferToThread(gw.stop)
        with pytest.raises(TxHBaseError):
            await table.row(row_prefix + b"before")
        await threads.deferToThread(gw.start)  # same port, new JVM: every connection re-authenticates
        got = None
        for _ in range(20):
            try:
                got = await table.row(row_prefix + b"before")
                break
            except Exception:
                await deferLater(1.0)
        assert got == {b"cf:v": b"1"}
        await table.put(row_prefix + b"after", {b"cf:v": b"2"})
        assert await table.row(row_prefix + b"after") == {b"cf:v": b"2"}
    finally:
        await pool.close()


def deferLater(seconds):
    from twisted.internet import task

    return task.deferLater(reactor, seconds)
