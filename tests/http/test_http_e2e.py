"""The client end to end over HTTP and HTTPS: the embedded gateway in HTTP
mode always, real HBase's HTTP/HTTPS gateways (the harness's) with the hbase
backend (see conftest.py). Each test works under its own row prefix of one table."""
from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import defer

import txhbase
from txhbase import errors

TABLE = b"txhbase_http_test"
_ready: set = set()


def connection(gw, **kwargs) -> txhbase.Connection:
    return txhbase.Connection(gw.host, gw.port, **{"timeout": 30000, **gw.wire, **kwargs})


async def table(conn: txhbase.Connection, gw) -> txhbase.Table:
    if (gw.host, gw.port) not in _ready:
        try:
            await conn.create_table(TABLE, {"cf": {"max_versions": 3}, "n": {}})
        except errors.AlreadyExists:
            pass
        _ready.add((gw.host, gw.port))
    return conn.table(TABLE)


@pytest_twisted.ensureDeferred
async def test_put_row_rows_cells_delete(http_gateway, row_prefix):
    async with connection(http_gateway) as conn:
        t = await table(conn, http_gateway)
        r1, r2 = row_prefix + b"1", row_prefix + b"2"
        await t.put(r1, {b"cf:a": b"1", b"cf:b": b"2"})
        await t.put(r2, {b"cf:a": b"x"})
        await t.put(r1, {b"cf:a": b"3"})
        assert await t.row(r1) == {b"cf:a": b"3", b"cf:b": b"2"}
        assert [k for k, _ in await t.rows([r1, r2])] == [r1, r2]
        assert await t.cells(r1, b"cf:a") == [b"3", b"1"]
        assert await t.exists(r2)
        await t.delete(r1, columns=[b"cf:b"])
        assert await t.row(r1) == {b"cf:a": b"3"}
        await t.delete(r2)
        assert await t.row(r2) == {}


@pytest_twisted.ensureDeferred
async def test_scan_across_connections_and_batches(http_gateway, row_prefix):
    # HBase's scanner ids are global to the gateway: one scan's calls may go
    # out on any of the channel's connections, here interleaved with others.
    async with connection(http_gateway, http_connections=3) as conn:
        t = await table(conn, http_gateway)
        b = t.batch(batch_size=7)
        for i in range(25):
            await b.put(row_prefix + b"%02d" % i, {b"cf:a": b"%d" % i})
        await b.send()
        scans = [t.scan(row_prefix=row_prefix, batch_size=4) for _ in range(3)]
        got = await defer.gatherResults(
            [defer.ensureDeferred(_collect(s)) for s in scans], consumeErrors=True)
        for rows in got:
            assert [k for k, _ in rows] == [row_prefix + b"%02d" % i for i in range(25)]
        assert await t.count(row_prefix=row_prefix) == 25
        b = t.batch()
        for i in range(25):
            b.delete(row_prefix + b"%02d" % i)
        await b.send()
        assert await t.count(row_prefix=row_prefix) == 0


async def _collect(scanner):
    return [item async for item in scanner]


@pytest_twisted.ensureDeferred
async def test_counters_and_check_and_put(http_gateway, row_prefix):
    async with connection(http_gateway) as conn:
        t = await table(conn, http_gateway)
        assert await t.counter_inc(row_prefix, b"n:c", 5) == 5
        assert await t.counter_inc(row_prefix, b"n:c", -2) == 3
        assert await t.counter_get(row_prefix, b"n:c") == 3
        assert await t.check_and_put(row_prefix, b"cf:a", None, {b"cf:a": b"v"})
        assert not await t.check_and_put(row_prefix, b"cf:a", None, {b"cf:a": b"w"})


@pytest_twisted.ensureDeferred
async def test_many_concurrent_calls_on_few_connections(http_gateway, row_prefix):
    async with connection(http_gateway, http_connections=2) as conn:
        t = await table(conn, http_gateway)
        await defer.gatherResults([t.put(row_prefix + b"%03d" % i, {b"cf:a": b"%d" % i})
                                   for i in range(60)], consumeErrors=True)
        rows = await defer.gatherResults([t.row(row_prefix + b"%03d" % i) for i in range(60)],
                                         consumeErrors=True)
        assert rows == [{b"cf:a": b"%d" % i} for i in range(60)]
        if http_gateway.server is not None:
            # calls beyond http_connections queued: never more connections than that
            assert len(http_gateway.server._factory.connections) <= 2


@pytest_twisted.ensureDeferred
async def test_server_errors_keep_their_type(http_gateway):
    async with connection(http_gateway) as conn:
        with pytest.raises(errors.HBaseIOError):
            await conn.table(b"no_such_table_http").row(b"r")
        with pytest.raises(errors.AlreadyExists):
            await table(conn, http_gateway)
            await conn.create_table(TABLE, {"cf": {}})
        # the channel still works after errors
        assert TABLE in await conn.tables()


@pytest_twisted.ensureDeferred
async def test_headers_and_proxy_user_reach_the_gateway(http_gateway):
    if http_gateway.server is None:
        pytest.skip("headers are checked on the embedded server (real HBase: see test_real_hbase)")
    async with connection(http_gateway, headers={"X-Trace": "abc 1"}, proxy_user="alice",
                          http_path="/any/path") as conn:
        await conn.tables()
    seen = http_gateway.server.http_requests[-1]
    assert seen["x-trace"] == "abc 1"
    assert seen["doas"] == "alice"  # ThriftHttpServlet reads the header ``doAs``
    assert seen["content-type"] == "application/x-thrift"


@pytest_twisted.ensureDeferred
async def test_async_with_and_close_then_calls_fail_unsent(http_gateway):
    conn = connection(http_gateway)
    await conn.open()
    await conn.tables()
    await conn.close()
    with pytest.raises(errors.ConnectionLost) as e:
        await conn.tables()
    assert e.value.sent is False
