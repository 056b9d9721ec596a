"""The client end to end against every selected gateway (embedded server, real
HBase) and both wire combinations.  Tests share SHARED_TABLE, each under its
own ``row_prefix``; embedded-only checks (open scanner count, forced server
closes) are skipped on real HBase."""
from __future__ import annotations

import gc
import struct
from collections import OrderedDict

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

import txhbase
from txhbase import errors

from tests.conftest import SHARED_FAMILIES, SHARED_TABLE

pytestmark = pytest.mark.backend

_ready: set = set()


def connection(gateway, **kwargs) -> txhbase.Connection:
    return txhbase.Connection(gateway.host, gateway.port, **gateway.wire,
                              timeout=kwargs.pop("timeout", 30000), **kwargs)


async def shared_table(conn: txhbase.Connection, gateway) -> txhbase.Table:
    """SHARED_TABLE, created once per gateway (tolerating AlreadyExists)."""
    key = (gateway.host, gateway.port)
    if key not in _ready:
        try:
            await conn.create_table(SHARED_TABLE, SHARED_FAMILIES)
        except errors.AlreadyExists:
            pass
        _ready.add(key)
    return conn.table(SHARED_TABLE, use_prefix=False)


def tick():
    return task.deferLater(reactor, 0, lambda: None)


_baseline = {"scanners": 0}


@pytest.fixture(autouse=True)
def _scanner_baseline(request):
    """Scanners other suites abandoned on the shared server (e.g. the pool's,
    cut off with their gateway, left for the server to expire) are not ours:
    count only the ones opened during this test."""
    if "gateway" in request.fixturenames:
        server = request.getfixturevalue("gateway").server
        _baseline["scanners"] = server.open_scanner_count() if server is not None else 0
    yield


async def no_open_scanners(gateway):
    if gateway.server is None:
        return
    for _ in range(20):  # scannerClose calls may still be in flight
        if gateway.server.open_scanner_count() <= _baseline["scanners"]:
            return
        await tick()
    assert gateway.server.open_scanner_count() <= _baseline["scanners"]


def drop_server_connections(gateway) -> None:
    """Make the embedded server close every client connection (like HBase's idle close)."""
    for p in list(gateway.server._factory.connections):
        p.close()


async def fill(table, prefix: bytes, n: int, cols: int = 1) -> list:
    keys = [prefix + b"%03d" % i for i in range(n)]
    async with table.batch() as b:
        for k in keys:
            b.put(k, {b"cf1:c%02d" % j: k + b"/%d" % j for j in range(cols)})
    return keys


async def collect(scanner) -> list:
    out = []
    async for key, data in scanner:
        out.append((key, data))
    return out


# ---------------------------------------------------------------- reads / writes

@pytest_twisted.ensureDeferred
async def test_put_row_rows_cells(gateway, row_prefix):
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        r1, r2 = row_prefix + b"1", (row_prefix + b"2").decode()
        await t.put(r1, {b"cf1:a": b"1", "cf1:b": b"2", b"cf2:x": b""})
        await t.put(r2, {b"cf1:a": b"v1"}, timestamp=10)
        await t.put(r2, {b"cf1:a": b"v2"}, timestamp=20)
        await t.put(r2, {b"cf1:a": b"v3"}, timestamp=30)
        assert await t.row(r1) == {b"cf1:a": b"1", b"cf1:b": b"2", b"cf2:x": b""}
        assert await t.row(r1, columns=[b"cf1:a", "cf2"]) == {b"cf1:a": b"1", b"cf2:x": b""}
        assert await t.row(r2, include_timestamp=True) == {b"cf1:a": (b"v3", 30)}
        assert await t.row(r2, timestamp=30) == {b"cf1:a": b"v2"}
        assert await t.row(row_prefix + b"missing") == {}
        got = await t.rows([r2, row_prefix + b"missing", r1], columns=[b"cf1:a"])
        assert got == [(r2.encode(), {b"cf1:a": b"v3"}), (r1, {b"cf1:a": b"1"})]
        assert await t.rows([r2], timestamp=20) == [(r2.encode(), {b"cf1:a": b"v1"})]
        assert await t.cells(r2, b"cf1:a") == [b"v3", b"v2", b"v1"]
        assert await t.cells(r2, b"cf1:a", versions=2, include_timestamp=True) == [
            (b"v3", 30), (b"v2", 20)]
        assert await t.cells(r2, b"cf1:a", timestamp=30) == [b"v2", b"v1"]
        assert await t.cells(r1, b"cf1:nope") == []
        assert await t.exists(r1) is True
        assert await t.exists(row_prefix + b"missing") is False


@pytest_twisted.ensureDeferred
async def test_bad_input_never_reaches_server(gateway, row_prefix):
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        with pytest.raises(TypeError, match="data"):
            t.put(row_prefix, {b"cf1:a": "text"})
        with pytest.raises(ValueError, match="data"):
            t.put(row_prefix, {b"nofamily": b"v"})
        assert await t.row(row_prefix) == {}


@pytest_twisted.ensureDeferred
async def test_delete(gateway, row_prefix):
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        r = row_prefix + b"r"
        await t.put(r, {b"cf1:a": b"1", b"cf1:b": b"2", b"cf2:c": b"3"})
        await t.delete(r, columns=[b"cf1:a"])
        assert await t.row(r) == {b"cf1:b": b"2", b"cf2:c": b"3"}
        await t.delete(r, columns=[b"cf2"])
        assert await t.row(r) == {b"cf1:b": b"2"}
        await t.delete(r)
        assert await t.row(r) == {}
        # (The row delete above masks older versions: use fresh rows.)
        r2 = row_prefix + b"r2"
        await t.put(r2, {b"cf1:a": b"old"}, timestamp=5)
        await t.put(r2, {b"cf1:a": b"new"}, timestamp=50)
        await t.delete(r2, timestamp=10)
        assert await t.cells(r2, b"cf1:a") == [b"new"]
        r3 = row_prefix + b"r3"
        await t.put(r3, {b"cf1:a": b"x", b"cf2:b": b"y"})
        await t.delete(r3, wal=False)
        assert await t.row(r3) == {}


@pytest_twisted.ensureDeferred
async def test_put_ttl(gateway, row_prefix):
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        await t.put(row_prefix + b"long", {b"cf1:a": b"1"}, ttl=3600)
        assert await t.row(row_prefix + b"long") == {b"cf1:a": b"1"}
        # A TTL in the past relative to the cell's timestamp: already expired.
        await t.put(row_prefix + b"gone", {b"cf1:a": b"1"}, timestamp=1000, ttl=1)
        assert await t.row(row_prefix + b"gone") == {}


@pytest_twisted.ensureDeferred
async def test_counters_append_check_and_put(gateway, row_prefix):
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        r = row_prefix + b"c"
        assert await t.counter_get(r, b"cf1:n") == 0
        assert await t.counter_inc(r, b"cf1:n") == 1
        assert await t.counter_inc(r, "cf1:n", 10) == 11
        assert await t.counter_dec(r, b"cf1:n", 3) == 8
        await t.counter_set(r, b"cf1:n", 100)
        assert await t.counter_get(r, b"cf1:n") == 100
        assert await t.row(r) == {b"cf1:n": struct.pack(">q", 100)}
        await t.put(r, {b"cf1:text": b"abc"})
        with pytest.raises(errors.HBaseIOError):
            await t.counter_inc(r, b"cf1:text")
        assert await t.append(r, {b"cf1:text": b"def", b"cf1:new": b"x"}) == {
            b"cf1:text": b"abcdef", b"cf1:new": b"x"}
        assert await t.check_and_put(r, b"cf1:flag", None, {b"cf1:flag": b"1"}) is True
        assert await t.check_and_put(r, b"cf1:flag", None, {b"cf1:flag": b"2"}) is False
        assert await t.check_and_put(r, b"cf1:flag", b"1", {b"cf1:other": b"3"}) is True
        assert await t.check_and_put(r, b"cf1:flag", b"9", {b"cf1:other": b"4"}) is False
        assert (await t.row(r, columns=[b"cf1:flag", b"cf1:other"])) == {
            b"cf1:flag": b"1", b"cf1:other": b"3"}


# ---------------------------------------------------------------- batches

@pytest_twisted.ensureDeferred
async def test_batch_semantics(gateway, row_prefix):
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        p = row_prefix
        async with t.batch() as b:
            b.put(p + b"a", {b"cf1:x": b"1"})
            b.put(p + b"b", {b"cf1:x": b"2", b"cf2:y": b"3"})
            b.counter_inc(p + b"n", b"cf1:n", 5)
            b.counter_dec(p + b"n", b"cf1:n", 2)
        assert await t.row(p + b"b") == {b"cf1:x": b"2", b"cf2:y": b"3"}
        assert await t.counter_get(p + b"n", b"cf1:n") == 3

        # Whole-row delete inside a batch (families fetched once).
        async with t.batch() as b:
            b.delete(p + b"b")
            b.delete(p + b"a", [b"cf1:x"])
        assert await t.rows([p + b"a", p + b"b"]) == []

        # transaction: nothing sent when the block raises.
        with pytest.raises(RuntimeError):
            async with t.batch(transaction=True) as b:
                b.put(p + b"t", {b"cf1:x": b"1"})
                raise RuntimeError("abort")
        assert await t.row(p + b"t") == {}

        # batch_size: sends automatically; the triggering put's Deferred waits for it.
        b = t.batch(batch_size=2)
        await b.put(p + b"s1", {b"cf1:x": b"1"})
        assert await t.row(p + b"s1") == {}
        await b.put(p + b"s2", {b"cf1:x": b"2"})
        assert await t.row(p + b"s1") == {b"cf1:x": b"1"}

        # Timestamped batch.
        async with t.batch(timestamp=77) as b:
            b.put(p + b"ts", {b"cf1:x": b"1"})
        assert await t.row(p + b"ts", include_timestamp=True) == {b"cf1:x": (b"1", 77)}

        # run_batch: the @inlineCallbacks form.
        def work(batch):
            batch.put(p + b"rb", {b"cf1:x": b"9"})
            return "ok"

        assert await t.run_batch(work) == "ok"
        assert await t.row(p + b"rb") == {b"cf1:x": b"9"}


@pytest_twisted.ensureDeferred
async def test_failed_batch_keeps_mutations(gateway, row_prefix):
    async with connection(gateway) as conn:
        t = conn.table(b"txhbase_no_such_table")
        b = t.batch()
        b.put(row_prefix, {b"cf1:x": b"1"})
        with pytest.raises(txhbase.BatchError) as info:
            await b.send()
        assert [bm.row for bm in info.value.mutations] == [row_prefix]
        assert isinstance(info.value.reason, errors.HBaseIOError)


# ---------------------------------------------------------------- scans

@pytest_twisted.ensureDeferred
async def test_scan_options(gateway, row_prefix):
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        keys = await fill(t, row_prefix, 12, cols=3)
        all_rows = await collect(t.scan(row_prefix=row_prefix, batch_size=5))
        assert [k for k, _ in all_rows] == keys
        assert all_rows[0][1] == {b"cf1:c%02d" % j: keys[0] + b"/%d" % j for j in range(3)}
        got = await collect(t.scan(row_start=keys[2], row_stop=keys[5]))
        assert [k for k, _ in got] == keys[2:5]
        got = await collect(t.scan(row_prefix=row_prefix, limit=4, batch_size=3))
        assert [k for k, _ in got] == keys[:4]
        got = await collect(t.scan(row_prefix=row_prefix, columns=[b"cf1:c01"]))
        assert got[0][1] == {b"cf1:c01": keys[0] + b"/1"}
        got = await collect(t.scan(row_prefix=row_prefix, reverse=True, batch_size=4))
        assert [k for k, _ in got] == keys[::-1]
        got = await collect(t.scan(row_start=keys[6], row_stop=keys[2], reverse=True))
        assert [k for k, _ in got] == keys[6:2:-1]
        got = await collect(t.scan(row_prefix=row_prefix, sorted_columns=True, limit=1))
        assert isinstance(got[0][1], OrderedDict)
        assert list(got[0][1]) == [b"cf1:c00", b"cf1:c01", b"cf1:c02"]
        got = await collect(t.scan(row_prefix=row_prefix, include_timestamp=True, limit=1))
        value, ts = got[0][1][b"cf1:c00"]
        assert value == keys[0] + b"/0" and isinstance(ts, int)
        got = await collect(t.scan(row_prefix=row_prefix,
                                   filter=b"RowFilter(=, 'binary:" + keys[3] + b"')"))
        assert [k for k, _ in got] == [keys[3]]
        # scan_batching splits rows into partial rows.
        got = await collect(t.scan(row_prefix=row_prefix, scan_batching=2, limit=4))
        assert [k for k, _ in got] == [keys[0], keys[0], keys[1], keys[1]]
        assert [len(d) for _, d in got] == [2, 1, 2, 1]
        await no_open_scanners(gateway)


@pytest_twisted.ensureDeferred
async def test_get_next_until_none_and_release(gateway, row_prefix):
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        keys = await fill(t, row_prefix, 5)
        s = t.scan(row_prefix=row_prefix, batch_size=2)
        seen = []
        while True:
            item = await s.get_next()
            if item is None:
                break
            seen.append(item[0])
        assert seen == keys
        assert await s.get_next() is None
        await no_open_scanners(gateway)
        # Concurrent get_next calls are served in order.
        s = t.scan(row_prefix=row_prefix, batch_size=2)
        items = await defer.gatherResults([s.get_next() for _ in range(7)])
        assert [i and i[0] for i in items] == keys + [None, None]
        await no_open_scanners(gateway)


@pytest_twisted.ensureDeferred
async def test_scanner_released_on_close_limit_error_and_gc(gateway, row_prefix):
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        await fill(t, row_prefix, 10)
        s = t.scan(row_prefix=row_prefix, batch_size=2)
        await s.get_next()
        await s.close()
        await no_open_scanners(gateway)
        await collect(t.scan(row_prefix=row_prefix, limit=3, batch_size=2))
        await no_open_scanners(gateway)
        s = t.scan(row_prefix=row_prefix, filter="NotAFilter(")
        with pytest.raises(errors.TxHBaseError):
            await s.get_next()
        await no_open_scanners(gateway)
        s = t.scan(row_prefix=row_prefix, batch_size=2)
        await s.get_next()
        await tick()
        await tick()
        del s
        gc.collect()
        await tick()
        await no_open_scanners(gateway)


@pytest_twisted.ensureDeferred
async def test_count_and_unordered_scanners(gateway, row_prefix):
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        keys = await fill(t, row_prefix, 9, cols=2)
        assert await t.count(row_prefix=row_prefix) == 9
        assert await t.count(row_start=keys[2], row_stop=keys[5]) == 3
        flt = b"SingleColumnValueFilter('cf1', 'c01', =, 'binary:" + keys[4] + b"/1', true, true)"
        assert await t.count(row_prefix=row_prefix, filter=flt) == 1
        scanners = await t.unordered_scanners(4, row_prefix=row_prefix)
        assert 1 <= len(scanners) <= 4
        parts = await defer.gatherResults([defer.ensureDeferred(collect(s)) for s in scanners])
        got = sorted(k for part in parts for k, _ in part)
        assert got == keys
        await no_open_scanners(gateway)


@pytest_twisted.ensureDeferred
async def test_unordered_scanners_follow_regions(gateway):
    if gateway.server is None:
        pytest.skip("needs the embedded server's split_table")
    name = b"txhbase_split_test"
    async with connection(gateway) as conn:
        if name in await conn.tables():
            await conn.delete_table(name, disable=True)
        gateway.server.split_table(name, [b"d", b"h", b"m", b"r"])
        t = await conn.create_table(name, {"cf": {}})
        try:
            assert len(await t.regions()) == 5
            keys = [bytes([c]) * 2 for c in range(ord("a"), ord("z") + 1)]
            async with t.batch() as b:
                for k in keys:
                    b.put(k, {b"cf:x": k})
            scanners = await t.unordered_scanners(3)
            assert len(scanners) == 3
            parts = [[k for k, _ in await collect(s)] for s in scanners]
            assert all(parts)
            assert sorted(k for p in parts for k in p) == keys
            scanners = await t.unordered_scanners(10, row_start=b"f", row_stop=b"p")
            assert [(s.spec.row_start, s.spec.row_stop) for s in scanners] == [
                (b"f", b"h"), (b"h", b"m"), (b"m", b"p")]
        finally:
            await conn.delete_table(name, disable=True)


# ---------------------------------------------------------------- resilience

@pytest.mark.socket_only("HTTP reconnects per request: `connected` says nothing")
@pytest_twisted.ensureDeferred
async def test_reconnect_after_server_side_close(gateway, row_prefix):
    if gateway.server is None:
        pytest.skip("forcing a server-side close needs the embedded server")
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        await t.put(row_prefix, {b"cf1:a": b"1"})
        drop_server_connections(gateway)
        for _ in range(10):
            if not conn.connected:
                break
            await tick()
        assert not conn.connected
        assert await t.row(row_prefix) == {b"cf1:a": b"1"}  # no error surfaced
        assert conn.connects == 2


@pytest_twisted.ensureDeferred
async def test_scan_resumes_after_connection_drop_and_expiry(gateway, row_prefix):
    if gateway.server is None:
        pytest.skip("needs the embedded server to drop connections / expire scanners")
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        keys = await fill(t, row_prefix, 20, cols=3)
        for kwargs in ({}, {"reverse": True}, {"scan_batching": 2}):
            s = t.scan(row_prefix=row_prefix, batch_size=3, **kwargs)
            got = []
            for i in range(100):
                item = await s.get_next()
                if item is None:
                    break
                got.append(item)
                if i == 4:
                    drop_server_connections(gateway)
                if i == 10:
                    gateway.server.handler.close_all_scanners()  # "scanner ID is invalid"
            assert s.resumed >= 1
            if "scan_batching" in kwargs:
                # Partial rows: each row's columns delivered exactly once, in order.
                merged: dict = {}
                for k, d in got:
                    for c in d:
                        assert (k, c) not in merged
                        merged[(k, c)] = d[c]
                assert len(merged) == 20 * 3
            else:
                expect = keys[::-1] if kwargs.get("reverse") else keys
                assert [k for k, _ in got] == expect
        await no_open_scanners(gateway)


@pytest_twisted.ensureDeferred
async def test_timeout_end_to_end(gateway, row_prefix):
    """A per-call timeout fires as txhbase.TimeoutError when the server stalls."""
    if gateway.server is None:
        pytest.skip("stalling a call needs the embedded server")
    async with connection(gateway) as conn:
        t = await shared_table(conn, gateway)
        handler = gateway.server.handler
        original = handler.getRowWithColumns
        stalled = defer.Deferred()
        handler.getRowWithColumns = lambda *a: stalled
        try:
            with pytest.raises(errors.TimeoutError):
                await t.row(row_prefix, timeout=50)
        finally:
            handler.getRowWithColumns = original
            stalled.callback([])
        assert await t.row(row_prefix) == {}


# ---------------------------------------------------------------- admin

@pytest_twisted.ensureDeferred
async def test_table_admin_with_prefix(gateway):
    name = "admin"
    async with connection(gateway, table_prefix="txhbase_e2e") as conn:
        if b"admin" in await conn.tables():
            await conn.delete_table(name, disable=True)
        t = await conn.create_table(name, {"cf": {"max_versions": 2}, b"cf2": None})
        assert t.name == b"txhbase_e2e_admin"
        assert b"admin" in await conn.tables()
        fams = await t.families()
        assert sorted(fams) == [b"cf", b"cf2"] and fams[b"cf"]["max_versions"] == 2
        with pytest.raises(errors.AlreadyExists):
            await conn.create_table(name, {"cf": {}})
        assert await conn.is_table_enabled(name) is True
        await conn.compact_table(name)
        await conn.compact_table(name, major=True)
        await conn.disable_table(name)
        assert await conn.is_table_enabled(name) is False
        await conn.enable_table(name)
        with pytest.raises(errors.HBaseIOError):
            await conn.delete_table(name)  # still enabled
        await conn.delete_table(name, disable=True)
        assert b"admin" not in await conn.tables()
        with pytest.raises(errors.HBaseIOError):
            await conn.table(name).families()


@pytest_twisted.ensureDeferred
async def test_compat_090_scans(gateway, row_prefix):
    async with connection(gateway, compat="0.90") as conn:
        t = await shared_table(conn, gateway)
        keys = await fill(t, row_prefix, 4)
        got = await collect(t.scan(row_start=keys[1], row_stop=keys[3]))
        assert [k for k, _ in got] == keys[1:3]
        got = await collect(t.scan(row_prefix=row_prefix, timestamp=2 ** 62))
        assert [k for k, _ in got] == keys
        await no_open_scanners(gateway)


@pytest_twisted.ensureDeferred
async def test_connection_close_releases_open_scanners(gateway, row_prefix):
    conn = connection(gateway)
    await conn.open()
    t = await shared_table(conn, gateway)
    await fill(t, row_prefix, 6)
    scanners = [t.scan(row_prefix=row_prefix, batch_size=2) for _ in range(3)]
    for s in scanners:
        await s.get_next()
    for _ in range(3):
        await tick()  # let the read-ahead requests settle
    if gateway.server is not None:
        assert gateway.server.open_scanner_count() >= _baseline["scanners"] + 3
    await conn.close()
    for _ in range(10):
        await tick()
    await no_open_scanners(gateway)
    for s in scanners:
        # Cut short, not ended: a None here would claim every row was seen
        # (issue 12 item 2).
        with pytest.raises(errors.ConnectionLost):
            await s.get_next()
        assert not s.exhausted


def _closed_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.socket_only("endpoint strings (tcp:...) are socket transports")
@pytest_twisted.ensureDeferred
async def test_host_list_and_endpoint_string(gateway, row_prefix):
    dead = f"127.0.0.1:{_closed_port()}"
    live = f"{gateway.host}:{gateway.port}"
    conn = txhbase.Connection([dead, live], transport=gateway.transport,
                              protocol=gateway.protocol, timeout=30000)
    async with conn:
        assert conn.address == live
        t = await shared_table(conn, gateway)
        await t.put(row_prefix, {b"cf1:a": b"1"})
    ep = f"tcp:host={gateway.host}:port={gateway.port}"
    async with txhbase.Connection(ep, transport=gateway.transport,
                                  protocol=gateway.protocol) as conn:
        assert await conn.table(SHARED_TABLE).row(row_prefix) == {b"cf1:a": b"1"}
    with pytest.raises(errors.ConnectionLost) as info:
        await txhbase.Connection([dead], transport=gateway.transport).open()
    assert info.value.sent is False
