"""Region-aware reads and writes on a table pre-split into several regions.

On real HBase the table is created through HBase's Java Admin with split keys
(tests/realhbase/ClusterAdmin.java) and its five regions are spread over the
harness's two region servers; on the embedded server it is split with
``split_table``. The same assertions hold on both: the region list, scanners
split along regions, scans, batches and counts crossing region boundaries.
Then, on real HBase only, a region is moved to the other server and another
split while a scan and a write load run.
"""
from __future__ import annotations

import hashlib
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task, threads

import txhbase
from tests.realhbase import harness

pytestmark = pytest.mark.backend

TABLE = b"txhbase_regions"
FAMILIES = {"cf1": 3, "cf2": 1}
#: five regions; b"m05" puts a boundary inside the b"m" prefix
SPLITS = [b"d", b"h", b"m05", b"r"]
KEYS = [bytes([c]) + b"%02d" % i for c in range(ord("a"), ord("z") + 1) for i in range(10)]

_ready: set = set()


def connection(gateway: Any) -> txhbase.Connection:
    return txhbase.Connection(gateway.host, gateway.port, **gateway.wire, timeout=60000)


def value(key: bytes) -> bytes:
    return b"v-" + key


async def presplit_table(request: Any, gateway: Any, conn: txhbase.Connection,
                         name: bytes = TABLE, splits: list = SPLITS,
                         keys: list = KEYS) -> txhbase.Table:
    """``name`` split at ``splits`` and filled with ``keys`` (once per server:
    each wire has its own embedded server; real HBase's gateways share one)."""
    mark = (gateway.port if gateway.server is not None else "hbase", name)
    table = conn.table(name, use_prefix=False)
    if mark in _ready:
        return table
    if name in await conn.tables():
        await conn.delete_table(name, disable=True)
    if gateway.server is not None:
        gateway.server.split_table(name, splits)
        await conn.create_table(name, {f: {"max_versions": v} for f, v in FAMILIES.items()})
    else:
        cluster = request.getfixturevalue("real_hbase")
        if isinstance(cluster, harness.ExternalGateway):
            pytest.skip("pre-splitting needs the harness's cluster (HBase's Java Admin)")
        await threads.deferToThread(cluster.create_table, name, FAMILIES, splits)
    async with table.batch(batch_size=100) as b:
        for k in keys:
            b.put(k, {b"cf1:v": value(k)})
    _ready.add(mark)
    return table


async def collect(scanner: Any) -> list:
    return [key async for key, _data in scanner]


def ranges_of(splits: list) -> list:
    bounds = [b""] + splits + [b""]
    return list(zip(bounds[:-1], bounds[1:]))


# ---------------------------------------------------------------- layout


def test_cluster_runs_the_configured_region_servers(request):
    """The harness's HBase has ``regionservers`` (two in CI) live region
    servers on distinct ports, all up once the gateways answer."""
    from tests.conftest import selected_backends

    if "hbase" not in selected_backends(request.config):
        pytest.skip("the hbase backend is not selected")
    cluster = request.getfixturevalue("real_hbase")
    if isinstance(cluster, harness.ExternalGateway):
        pytest.skip("--hbase-host: the cluster is not the harness's")
    servers = cluster.region_servers()
    assert len(servers) == len(set(servers)) == cluster.regionservers
    assert all(host and port > 0 for host, port in servers)


@pytest_twisted.ensureDeferred
async def test_regions_report_start_end_keys_and_servers(request, gateway):
    async with connection(gateway) as conn:
        t = await presplit_table(request, gateway, conn)
        regions = await t.regions()
        assert [(r["start_key"], r["end_key"]) for r in regions] == ranges_of(SPLITS)
        for r in regions:
            assert r["version"] == 1
            assert r["name"].startswith(TABLE + b"," + r["start_key"] + b"," + str(r["id"]).encode() + b".")
            encoded = hashlib.md5(TABLE + b"," + r["start_key"] + b"," + str(r["id"]).encode())
            assert r["name"] == (TABLE + b"," + r["start_key"] + b"," + str(r["id"]).encode()
                                 + b"." + encoded.hexdigest().encode() + b".")
            assert r["server_name"] and r["port"] > 0
        if gateway.server is not None:
            return
        # as HBase's own Java Admin sees them: same regions, ids and servers
        cluster = request.getfixturevalue("real_hbase")
        java = await threads.deferToThread(cluster.regions, TABLE)
        assert [(r["start_key"], r["end_key"], r["id"], r["server_name"], r["port"])
                for r in regions] == [
            (j.start, j.end, j.region_id, j.host.encode(), j.port) for j in java]
        assert [r["name"] for r in regions] == [
            TABLE + b"," + j.start + b"," + str(j.region_id).encode() + b"." + j.encoded_name.encode()
            + b"." for j in java]
        # every region server (two in CI) serves some of them
        assert len({(r["server_name"], r["port"]) for r in regions}) == cluster.regionservers


# ---------------------------------------------------------------- unordered scanners


@pytest.mark.parametrize("n", [1, 2, 4, 8])
@pytest_twisted.ensureDeferred
async def test_unordered_scanners_cover_the_range_once_concurrently(request, gateway, n):
    async with connection(gateway) as conn:
        t = await presplit_table(request, gateway, conn)
        scanners = await t.unordered_scanners(n, batch_size=7)
        assert len(scanners) == min(n, len(SPLITS) + 1)
        # all at once: each scanner's next_batch interleaves with the others'
        parts = await defer.gatherResults([defer.ensureDeferred(collect(s)) for s in scanners])
        for s, part in zip(scanners, parts):
            assert part == sorted(part)
            assert all(k >= s.spec.row_start and (s.spec.row_stop is None or k < s.spec.row_stop)
                       for k in part)
            assert part, "every split holds rows"
        assert sorted(k for p in parts for k in p) == KEYS
        # a bounded range crossing three boundaries
        scanners = await t.unordered_scanners(n, row_start=b"c05", row_stop=b"n03", batch_size=4)
        parts = await defer.gatherResults([defer.ensureDeferred(collect(s)) for s in scanners])
        got = [k for p in parts for k in p]
        assert sorted(got) == [k for k in KEYS if b"c05" <= k < b"n03"]
        assert len(got) == len(set(got))


# ---------------------------------------------------------------- scans


@pytest_twisted.ensureDeferred
async def test_scans_cross_region_boundaries(request, gateway):
    async with connection(gateway) as conn:
        t = await presplit_table(request, gateway, conn)
        for batch_size in (3, 1000):
            assert await collect(t.scan(batch_size=batch_size)) == KEYS
            got = await collect(t.scan(row_start=b"c05", row_stop=b"n03", batch_size=batch_size))
            assert got == [k for k in KEYS if b"c05" <= k < b"n03"]
            # the b"m" prefix spans the m05 boundary
            got = await collect(t.scan(row_prefix=b"m", batch_size=batch_size))
            assert got == [k for k in KEYS if k.startswith(b"m")]
            # reverse: from row_start down to (excluding) row_stop
            got = await collect(t.scan(row_start=b"s02", row_stop=b"g07", reverse=True,
                                       batch_size=batch_size))
            assert got == [k for k in reversed(KEYS) if b"g07" < k <= b"s02"]
            got = await collect(t.scan(row_prefix=b"m", reverse=True, batch_size=batch_size))
            assert got == [k for k in reversed(KEYS) if k.startswith(b"m")]
            got = await collect(t.scan(row_start=b"c05", limit=25, batch_size=batch_size))
            assert got == [k for k in KEYS if k >= b"c05"][:25]
            got = await collect(t.scan(row_start=b"t00", limit=60, reverse=True,
                                       batch_size=batch_size))
            assert got == [k for k in reversed(KEYS) if k <= b"t00"][:60]
        rows = [r async for r in t.scan(row_start=b"l08", row_stop=b"m07", columns=[b"cf1:v"])]
        assert rows == [(k, {b"cf1:v": value(k)}) for k in KEYS if b"l08" <= k < b"m07"]


@pytest_twisted.ensureDeferred
async def test_count_across_regions(request, gateway):
    async with connection(gateway) as conn:
        t = await presplit_table(request, gateway, conn)
        assert await t.count() == len(KEYS)
        assert await t.count(batch_size=7) == len(KEYS)
        assert await t.count(row_start=b"c05", row_stop=b"s00") == len(
            [k for k in KEYS if b"c05" <= k < b"s00"])
        assert await t.count(row_prefix=b"m") == 10


# ---------------------------------------------------------------- batches and rows()


@pytest_twisted.ensureDeferred
async def test_batches_and_rows_span_regions(request, gateway):
    async with connection(gateway) as conn:
        t = await presplit_table(request, gateway, conn)
        column = b"cf2:" + gateway.id.encode()  # each wire writes its own column
        picked = KEYS[::13]  # rows in every region
        assert {next(i for i, (s, e) in enumerate(ranges_of(SPLITS))
                     if k >= s and (not e or k < e)) for k in picked} == set(range(5))
        # each put/delete fires when the automatic send it caused has finished;
        # exit sends only the rest (over HTTP, sends may finish in any order)
        async with t.batch(batch_size=4) as b:
            for k in picked:
                await b.put(k, {column: k[::-1]})
        order = picked[::-1] + [b"zz-missing", picked[3]]
        got = await t.rows(order, columns=[column])
        assert got == [(k, {column: k[::-1]}) for k in picked[::-1]] + [
            (picked[3], {column: picked[3][::-1]})]
        async with t.batch(batch_size=3) as b:
            for k in picked[::2]:
                await b.delete(k, columns=[column])
        got = await t.rows(picked, columns=[column])
        assert [k for k, _ in got] == picked[1::2]
        # the untouched family is intact in every region
        assert [k for k, d in await t.rows(picked) if d[b"cf1:v"] == value(k)] == picked


# ---------------------------------------------------------------- moving and splitting


MOVING = b"txhbase_regions_moving"
MOVING_SPLITS = [b"g", b"p"]


@pytest_twisted.ensureDeferred
async def test_move_and_split_during_scan_and_write_load(request, gateway):
    """A region moves to the other server, then another splits, while a scan
    reads through them and four writers put rows into every region: every
    acknowledged put is there afterwards and the scan saw each row once, in order."""
    if gateway.server is not None or (gateway.transport, gateway.protocol) != ("buffered",
                                                                                "binary"):
        pytest.skip("moves and splits happen on real HBase (once, on one gateway)")
    cluster = request.getfixturevalue("real_hbase")
    if getattr(cluster, "regionservers", 0) < 2:
        pytest.skip("moving a region needs the harness's cluster with two region servers")
    async with connection(gateway) as conn:
        t = await presplit_table(request, gateway, conn, MOVING, MOVING_SPLITS)
        before = await threads.deferToThread(cluster.regions, MOVING)
        assert len(before) == 3

        acked: list = []
        errors: list = []
        stop = defer.Deferred()

        async def writer(w: int) -> None:
            i = 0
            while not stop.called:
                # every region gets writes: keys spread over the whole alphabet
                key = bytes([ord("a") + (i * 7 + w) % 26]) + b"w%d-%05d" % (w, i)
                try:
                    await t.put(key, {b"cf1:v": value(key)})
                except Exception as e:  # noqa: BLE001 - recorded, asserted below
                    errors.append(e)
                else:
                    acked.append(key)
                i += 1

        writers = [defer.ensureDeferred(writer(w)) for w in range(4)]
        scanner = t.scan(batch_size=5)
        seen: list = []

        async def read_until(bound: bytes) -> None:
            while not seen or seen[-1] < bound:
                batch = await scanner.next_batch()
                if not batch:
                    return
                seen.extend(k for k, _ in batch)

        await read_until(b"h")  # inside the middle region [g, p)
        moved = await threads.deferToThread(cluster.move_region, MOVING, b"m")
        await read_until(b"q")  # through the moved region, into [p, end)
        split = await threads.deferToThread(cluster.split_region, MOVING, b"t")
        await read_until(b"\xff")
        stop.callback(None)
        await defer.gatherResults(writers)

        assert not errors, errors[:3]
        assert len(acked) > 20
        mid_before = next(r for r in before if r.start == b"g")
        mid_after = next(r for r in moved if r.start == b"g")
        assert mid_after.port != mid_before.port  # it is on the other server now
        assert [(r.start, r.end) for r in split] == [
            (b"", b"g"), (b"g", b"p"), (b"p", b"t"), (b"t", b"")]
        regions = await t.regions()
        assert [(r["start_key"], r["end_key"], r["port"]) for r in regions] == [
            (r.start, r.end, r.port) for r in split]

        assert seen == sorted(set(seen)), "the scan saw each row once, in order"
        assert set(KEYS) <= set(seen)
        assert set(seen) <= set(KEYS) | set(acked)
        final = await collect(t.scan(batch_size=500))
        assert set(final) == set(KEYS) | set(acked)
        got = await t.rows(acked[-50:])
        assert got == [(k, {b"cf1:v": value(k)}) for k in acked[-50:]]
