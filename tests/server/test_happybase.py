"""Conformance: happybase (an independent client) against the gateway over TCP.

Runs against every selected backend (the embedded server as a subprocess, and
real HBase when selected) on buffered/binary and framed/compact.  Tables are
created once per session and shared; each test writes rows under its own
``row_prefix``.
"""
from __future__ import annotations

import struct

import happybase
import pytest
from thriftpy2.thrift import TApplicationException

pytestmark = pytest.mark.backend

TABLE = b"txhbase_hb"
FAMILIES = {"cf1": {"max_versions": 3}, "cf2": {"max_versions": 1}}
_connections: dict = {}


def connect(gw) -> happybase.Connection:
    kwargs = {}
    if gw.transport == "framed":
        kwargs = {"transport": "framed", "protocol": "compact"}
    return happybase.Connection(gw.host, gw.port, autoconnect=True, timeout=30000, **kwargs)


def ensure_table(conn: happybase.Connection, name: bytes, families: dict) -> None:
    try:
        conn.create_table(name, families)
    except Exception as e:  # AlreadyExists from an earlier test or run
        if type(e).__name__ != "AlreadyExists":
            raise


@pytest.fixture
def conn(sync_gateway):
    key = sync_gateway.id
    if key not in _connections:
        c = connect(sync_gateway)
        ensure_table(c, TABLE, FAMILIES)
        _connections[key] = c
    return _connections[key]


@pytest.fixture
def table(conn):
    return conn.table(TABLE)


def test_tables_and_families(conn, table):
    assert TABLE in conn.tables()
    fams = table.families()
    assert set(fams) == {b"cf1", b"cf2"}
    assert fams[b"cf1"]["max_versions"] == 3 and fams[b"cf2"]["max_versions"] == 1
    assert conn.is_table_enabled(TABLE)
    regions = table.regions()
    assert regions and regions[0]["start_key"] == b""


def test_table_lifecycle(conn, row_prefix):
    name = b"txhbase_hb_tmp_" + row_prefix.rstrip(b"-")
    ensure_table(conn, name, {"f": {}})
    with pytest.raises(Exception) as ei:
        conn.create_table(name, {"f": {}})
    assert type(ei.value).__name__ == "AlreadyExists"
    conn.disable_table(name)
    assert not conn.is_table_enabled(name)
    conn.enable_table(name)
    conn.delete_table(name, disable=True)
    assert name not in conn.tables()


def test_put_row_rows_cells(table, row_prefix):
    r1, r2 = row_prefix + b"1", row_prefix + b"2"
    table.put(r1, {b"cf1:a": b"1", b"cf1:b": b"2", b"cf2:c": b"3"}, timestamp=100)
    table.put(r1, {b"cf1:a": b"1b"}, timestamp=200)
    table.put(r2, {b"cf1:a": b"x"})
    assert table.row(r1) == {b"cf1:a": b"1b", b"cf1:b": b"2", b"cf2:c": b"3"}
    assert table.row(r1, columns=[b"cf1:a", b"cf2"]) == {b"cf1:a": b"1b", b"cf2:c": b"3"}
    assert table.row(r1, timestamp=200) == {b"cf1:a": b"1", b"cf1:b": b"2", b"cf2:c": b"3"}
    assert table.row(r1, include_timestamp=True)[b"cf1:a"] == (b"1b", 200)
    assert table.row(row_prefix + b"missing") == {}
    assert [k for k, _ in table.rows([r2, row_prefix + b"nope", r1, r2])] == [r2, r1, r2]
    assert table.cells(r1, b"cf1:a") == [b"1b", b"1"]
    assert table.cells(r1, b"cf1:a", versions=1) == [b"1b"]
    assert table.cells(r1, b"cf1:a", timestamp=200, include_timestamp=True) == [(b"1", 100)]


def test_versions_are_capped(table, row_prefix):
    r = row_prefix + b"v"
    for ts in range(1, 6):
        table.put(r, {b"cf1:a": b"%d" % ts, b"cf2:a": b"%d" % ts}, timestamp=ts)
    assert table.cells(r, b"cf1:a", versions=10) == [b"5", b"4", b"3"]
    assert table.cells(r, b"cf2:a", versions=10) == [b"5"]


def test_delete(table, row_prefix):
    r = row_prefix + b"d"
    table.put(r, {b"cf1:a": b"1", b"cf1:b": b"2", b"cf2:c": b"3"}, timestamp=10)
    table.put(r, {b"cf1:a": b"1new"}, timestamp=20)
    table.delete(r, columns=[b"cf1:a"], timestamp=10)
    assert table.cells(r, b"cf1:a") == [b"1new"]
    table.delete(r, columns=[b"cf2"])
    assert table.row(r) == {b"cf1:a": b"1new", b"cf1:b": b"2"}
    table.delete(r)
    assert table.row(r) == {}


def test_batch(table, row_prefix):
    with table.batch(batch_size=3) as b:
        for i in range(7):
            b.put(row_prefix + b"%d" % i, {b"cf1:x": b"%d" % i})
        b.delete(row_prefix + b"3")
    keys = [k for k, _ in table.scan(row_prefix=row_prefix)]
    assert keys == [row_prefix + b"%d" % i for i in range(7) if i != 3]
    b = table.batch(timestamp=50)
    b.put(row_prefix + b"t", {b"cf1:x": b"v"})
    b.send()
    assert table.row(row_prefix + b"t", include_timestamp=True) == {b"cf1:x": (b"v", 50)}


def test_counters(table, row_prefix):
    r = row_prefix + b"c"
    assert table.counter_get(r, b"cf1:n") == 0
    assert table.counter_inc(r, b"cf1:n") == 1
    assert table.counter_inc(r, b"cf1:n", value=10) == 11
    assert table.counter_dec(r, b"cf1:n", value=3) == 8
    table.counter_set(r, b"cf1:n", -5)
    assert table.counter_get(r, b"cf1:n") == -5
    assert table.row(r)[b"cf1:n"] == struct.pack(">q", -5)
    table.put(r, {b"cf1:s": b"abc"})
    with pytest.raises(Exception) as ei:
        table.counter_inc(r, b"cf1:s")
    assert type(ei.value).__name__ == "IOError"


@pytest.fixture
def scan_rows(table, row_prefix):
    for i in range(12):
        table.put(row_prefix + b"%02d" % i,
                  {b"cf1:a": b"a%d" % i, b"cf1:b": b"b%d" % i, b"cf2:c": b"c%d" % i},
                  timestamp=1000 + i)
    return [row_prefix + b"%02d" % i for i in range(12)]


def test_scan_options(table, row_prefix, scan_rows):
    keys = lambda it: [k for k, _ in it]  # noqa: E731
    assert keys(table.scan(row_prefix=row_prefix)) == scan_rows
    assert keys(table.scan(row_start=scan_rows[3], row_stop=scan_rows[6])) == scan_rows[3:6]
    assert keys(table.scan(row_prefix=row_prefix, limit=5, batch_size=2)) == scan_rows[:5]
    assert keys(table.scan(row_prefix=row_prefix, timestamp=1004)) == scan_rows[:4]
    got = dict(table.scan(row_prefix=row_prefix, columns=[b"cf2"]))
    assert got[scan_rows[0]] == {b"cf2:c": b"c0"}
    got = dict(table.scan(row_prefix=row_prefix, columns=[b"cf1:b"], include_timestamp=True))
    assert got[scan_rows[1]] == {b"cf1:b": (b"b1", 1001)}
    rev = keys(table.scan(row_start=scan_rows[5], row_stop=scan_rows[1], reverse=True))
    assert rev == scan_rows[5:1:-1]


def test_scan_sorted_columns_and_batching(table, row_prefix, scan_rows):
    items = list(table.scan(row_start=scan_rows[0], row_stop=scan_rows[2], sorted_columns=True))
    assert [list(d) for _, d in items] == [[b"cf1:a", b"cf1:b", b"cf2:c"]] * 2
    parts = list(table.scan(row_start=scan_rows[0], row_stop=scan_rows[2], scan_batching=2))
    assert [(k, len(d)) for k, d in parts] == [
        (scan_rows[0], 2), (scan_rows[0], 1), (scan_rows[1], 2), (scan_rows[1], 1)]


def test_scan_filter(table, row_prefix, scan_rows, sync_gateway):
    if sync_gateway.backend == "embedded":
        pytest.importorskip("txhbase.server.filters")
    got = list(table.scan(row_prefix=row_prefix, filter=b"KeyOnlyFilter()"))
    assert got[0][1] == {b"cf1:a": b"", b"cf1:b": b"", b"cf2:c": b""}
    got = list(table.scan(row_prefix=row_prefix,
                          filter=b"SingleColumnValueFilter('cf1','a',=,'binary:a7')"))
    assert [k for k, _ in got] == [scan_rows[7]]
    with pytest.raises(TApplicationException):
        list(table.scan(row_prefix=row_prefix, filter=b"NoSuchFilter(("))


def test_connection_pool(sync_gateway, row_prefix):
    kwargs = {}
    if sync_gateway.transport == "framed":
        kwargs = {"transport": "framed", "protocol": "compact"}
    pool = happybase.ConnectionPool(2, host=sync_gateway.host, port=sync_gateway.port, **kwargs)
    with pool.connection() as c:
        ensure_table(c, TABLE, FAMILIES)
        c.table(TABLE).put(row_prefix + b"p", {b"cf1:a": b"pooled"})
    with pool.connection() as c:
        assert c.table(TABLE).row(row_prefix + b"p") == {b"cf1:a": b"pooled"}


def test_errors_reach_the_client(conn, table, row_prefix):
    with pytest.raises(Exception) as ei:
        conn.table(b"txhbase_no_such_table").row(b"r")
    assert type(ei.value).__name__ == "IOError"
    with pytest.raises(Exception) as ei:
        table.put(row_prefix + b"e", {b"nofam:a": b"v"})
    assert type(ei.value).__name__ == "IOError"


def test_rows_and_cells_options(table, row_prefix):
    a, b = row_prefix + b"a", row_prefix + b"b"
    table.put(a, {b"cf1:x": b"1", b"cf1:y": b"2", b"cf2:z": b"3"}, timestamp=10)
    table.put(a, {b"cf1:x": b"1new"}, timestamp=20)
    table.put(b, {b"cf1:x": b"b1"}, timestamp=30)
    got = dict(table.rows([a, b], columns=[b"cf1:x"], include_timestamp=True))
    assert got == {a: {b"cf1:x": (b"1new", 20)}, b: {b"cf1:x": (b"b1", 30)}}
    assert dict(table.rows([a, b], timestamp=20)) == {
        a: {b"cf1:x": b"1", b"cf1:y": b"2", b"cf2:z": b"3"}}
    assert table.cells(a, b"cf1:x", include_timestamp=True) == [(b"1new", 20), (b"1", 10)]
    assert table.cells(a, b"cf1:nope") == []
    assert not table.rows([])  # happybase answers {} without a call


def test_batch_transaction_rolls_nothing_back_but_sends_nothing_on_error(table, row_prefix):
    r = row_prefix + b"tx"
    with pytest.raises(ValueError):
        with table.batch(transaction=True) as b:
            b.put(r, {b"cf1:a": b"1"})
            raise ValueError("abort")
    assert table.row(r) == {}
    with table.batch(transaction=True) as b:
        b.put(r, {b"cf1:a": b"1"})
        b.delete(r, columns=[b"cf2"])
    assert table.row(r) == {b"cf1:a": b"1"}


def test_put_then_delete_then_put_in_quick_succession(table, row_prefix, sync_gateway):
    """Back-to-back server-time writes of one row apply in order.

    The embedded server guarantees it; on real HBase a delete and the next put
    landing in the same millisecond leave the put masked, so it is not asserted there.
    """
    if sync_gateway.backend != "embedded":
        pytest.skip("timing-dependent on real HBase (same-ms delete masks the next put)")
    r = row_prefix + b"q"
    for i in range(5):
        table.put(r, {b"cf1:a": b"%d" % i})
        table.delete(r, columns=[b"cf1:a"])
        table.put(r, {b"cf1:a": b"final%d" % i})
        assert table.row(r) == {b"cf1:a": b"final%d" % i}
