"""Table against a fake connection: argument checks, Thrift calls made, result shapes."""
from __future__ import annotations

import struct
from collections import OrderedDict

import pytest
from twisted.internet import defer

from txhbase import errors
from txhbase.protocol.idl import hbase
from txhbase.table import split_ranges

from tests.client.fakes import FakeConnection, cell, result_of, rowres


@pytest.fixture
def conn():
    return FakeConnection()


@pytest.fixture
def table(conn):
    return conn.table(b"t")


# ---------------------------------------------------------------- bad input

BAD_CALLS = [
    ("row", (123,), {}, TypeError, "row"),
    ("row", (b"r",), {"columns": b"cf:a"}, TypeError, "columns"),
    ("row", (b"r",), {"columns": [1]}, TypeError, "columns[0]"),
    ("row", (b"r",), {"timestamp": "1"}, TypeError, "timestamp"),
    ("row", (b"r",), {"timestamp": -1}, ValueError, "timestamp"),
    ("row", (b"r",), {"timeout": 0}, ValueError, "timeout"),
    ("row", (b"r",), {"timeout": "5"}, TypeError, "timeout"),
    ("rows", (b"r",), {}, TypeError, "rows"),
    ("rows", ([b"a", None],), {}, TypeError, "rows[1]"),
    ("cells", (b"r", b"cf:a"), {"versions": 0}, ValueError, "versions"),
    ("cells", (b"r", b"cf:a"), {"versions": "2"}, TypeError, "versions"),
    ("cells", (b"r", 5), {}, TypeError, "column"),
    ("put", (b"r", {b"cf:a": "str"}), {}, TypeError, "data"),
    ("put", (b"r", {b"nofamily": b"v"}), {}, ValueError, "data"),
    ("put", (b"r", [(b"cf:a", b"v")]), {}, TypeError, "data"),
    ("put", (b"r", {b"cf:a": b"v"}), {"ttl": 0}, ValueError, "ttl"),
    ("put", (b"r", {b"cf:a": b"v"}), {"ttl": "1"}, TypeError, "ttl"),
    ("put", (b"r", {b"cf:a": b"v"}), {"wal": 1}, TypeError, "wal"),
    ("put", (None, {b"cf:a": b"v"}), {}, TypeError, "row"),
    ("delete", (b"r",), {"columns": "cf"}, TypeError, "columns"),
    ("counter_inc", (b"r", b"cf:c"), {"value": 1.5}, TypeError, "value"),
    ("counter_inc", (b"r", b"cf:c"), {"value": 2 ** 63}, ValueError, "value"),
    ("counter_set", (b"r", b"cf:c"), {"value": "1"}, TypeError, "value"),
    ("check_and_put", (b"r", b"cf:a", "x", {b"cf:a": b"v"}), {}, TypeError, "value"),
    ("check_and_put", (b"r", b"cfa", b"x", {b"cf:a": b"v"}), {}, ValueError, "column"),
    ("check_and_put", (b"r", b"cf:a", None, {b"cf:a": b"v", b"cf:b": b"w"}), {},
     ValueError, "data"),
    ("append", (b"r", {b"cf:a": "x"}), {}, TypeError, "data"),
    ("scan", (), {"batch_size": 0}, ValueError, "batch_size"),
    ("scan", (), {"limit": 0}, ValueError, "limit"),
    ("scan", (), {"scan_batching": 0}, ValueError, "scan_batching"),
    ("scan", (), {"row_prefix": b"a", "row_start": b"b"}, TypeError, "row_prefix"),
    ("scan", (), {"row_start": 5}, TypeError, "row_start"),
    ("scan", (), {"columns": "cf"}, TypeError, "columns"),
    ("scan", (), {"filter": 5}, TypeError, "filter"),
    ("unordered_scanners", (0,), {}, ValueError, "max_split_count"),
    ("unordered_scanners", (2,), {"limit": 5}, ValueError, "limit"),
    ("unordered_scanners", (2,), {"reverse": True}, ValueError, "reverse"),
    ("unordered_scanners", (2,), {"bogus": 1}, TypeError, "bogus"),
    ("count", (), {"filter": 3}, TypeError, "filter"),
    ("batch", (), {"batch_size": 0}, ValueError, "batch_size"),
    ("batch", (), {"batch_size": 2, "transaction": True}, TypeError, "transaction"),
    ("batch", (), {"timestamp": "x"}, TypeError, "timestamp"),
]


@pytest.mark.parametrize("method,args,kwargs,exc,word", BAD_CALLS,
                         ids=[f"{c[0]}-{c[4]}-{i}" for i, c in enumerate(BAD_CALLS)])
def test_bad_input_raises_before_sending(conn, table, method, args, kwargs, exc, word):
    with pytest.raises(exc) as info:
        getattr(table, method)(*args, **kwargs)
    assert word in str(info.value)
    assert conn.calls == []


def test_compat_checks_like_happybase():
    old = FakeConnection(compat="0.90").table()
    with pytest.raises(NotImplementedError):
        old.scan(filter="KeyOnlyFilter()")
    with pytest.raises(NotImplementedError):
        old.count(filter="KeyOnlyFilter()")
    with pytest.raises(NotImplementedError):
        FakeConnection(compat="0.94").table().scan(sorted_columns=True)
    with pytest.raises(NotImplementedError):
        FakeConnection(compat="0.96").table().scan(reverse=True)


# ---------------------------------------------------------------- reads

def test_row_str_names_become_bytes_and_result_shape(conn, table):
    d = table.row("r1", columns=["cf:a", b"cf"])
    c = conn.answer("getRowWithColumns", [rowres(b"r1", {b"cf:a": b"1", b"cf:b": b"2"}, ts=7)])
    assert c.args == (b"t", b"r1", [b"cf:a", b"cf"], {})
    assert result_of(d) == {b"cf:a": b"1", b"cf:b": b"2"}


def test_row_missing_and_timestamp(conn, table):
    d = table.row(b"r", timestamp=10, include_timestamp=True, timeout=250)
    c = conn.answer("getRowWithColumnsTs", [rowres(b"r", {b"cf:a": b"1"}, ts=5)])
    assert c.args == (b"t", b"r", None, 10, {}) and c.timeout == 250
    assert result_of(d) == {b"cf:a": (b"1", 5)}
    d = table.row(b"nope")
    conn.answer("getRowWithColumns", [])
    assert result_of(d) == {}


def test_rows_order_and_empty(conn, table):
    assert result_of(table.rows([])) == []
    assert conn.calls == []
    d = table.rows([b"b", "a", b"zz"], columns=[b"cf"], include_timestamp=True)
    c = conn.answer("getRowsWithColumns", [rowres(b"b", {b"cf:x": b"1"}, 3),
                                           rowres(b"a", {b"cf:x": b"2"}, 4)])
    assert c.args == (b"t", [b"b", b"a", b"zz"], [b"cf"], {})
    assert result_of(d) == [(b"b", {b"cf:x": (b"1", 3)}), (b"a", {b"cf:x": (b"2", 4)})]
    d = table.rows([b"a"], timestamp=9)
    c = conn.answer("getRowsWithColumnsTs", [])
    assert c.args == (b"t", [b"a"], None, 9, {})


def test_cells(conn, table):
    d = table.cells(b"r", "cf:a")
    c = conn.answer("getVer", [cell(b"new", 2), cell(b"old", 1)])
    assert c.args == (b"t", b"r", b"cf:a", 2 ** 31 - 1, {})
    assert result_of(d) == [b"new", b"old"]
    d = table.cells(b"r", b"cf:a", versions=1, timestamp=5, include_timestamp=True)
    c = conn.answer("getVerTs", [cell(b"old", 1)])
    assert c.args == (b"t", b"r", b"cf:a", 5, 1, {})
    assert result_of(d) == [(b"old", 1)]


def test_exists(conn, table):
    d = table.exists(b"r")
    conn.answer("getRow", [rowres(b"r", {b"cf:a": b""})])
    assert result_of(d) is True
    d = table.exists("r")
    conn.answer("getRow", [])
    assert result_of(d) is False


def test_families_and_regions(conn, table):
    d = table.families()
    conn.answer("getColumnDescriptors", {
        b"cf:": hbase.ColumnDescriptor(name=b"cf:", maxVersions=5, timeToLive=2147483647)})
    fams = result_of(d)
    assert list(fams) == [b"cf"]
    assert fams[b"cf"]["max_versions"] == 5
    assert fams[b"cf"]["time_to_live"] == 2147483647
    assert set(fams[b"cf"]) == {"name", "max_versions", "compression", "in_memory",
                                "bloom_filter_type", "bloom_filter_vector_size",
                                "bloom_filter_nb_hashes", "block_cache_enabled", "time_to_live"}
    d = table.regions()
    conn.answer("getTableRegions", [hbase.TRegionInfo(startKey=b"", endKey=b"m", id=1,
                                                      name=b"t,,1", version=1,
                                                      serverName=b"h", port=1)])
    assert result_of(d) == [{"start_key": b"", "end_key": b"m", "id": 1, "name": b"t,,1",
                             "version": 1, "server_name": b"h", "port": 1}]


# ---------------------------------------------------------------- writes

def test_put_with_ttl_and_timestamp(conn, table):
    d = table.put("r", {"cf:a": b"1", b"cf:": b""}, timestamp=42, wal=False, ttl=1.5)
    c = conn.answer("mutateRowTs")
    name, row, muts, ts, attrs = c.args
    assert (name, row, ts) == (b"t", b"r", 42)
    assert attrs == {b"_ttl": struct.pack(">q", 1500)}
    assert [(m.isDelete, m.column, m.value, m.writeToWAL) for m in muts] == [
        (False, b"cf:a", b"1", False), (False, b"cf:", b"", False)]
    assert result_of(d) is None
    table.put(b"r", {b"cf:a": b"1"})
    c = conn.answer("mutateRow")
    assert c.args[3] == {}


def test_delete_variants(conn, table):
    d = table.delete(b"r")
    assert conn.answer("deleteAllRow").args == (b"t", b"r", {})
    assert result_of(d) is None
    table.delete(b"r", timestamp=3)
    assert conn.answer("deleteAllRowTs").args == (b"t", b"r", 3, {})
    table.delete(b"r", columns=["cf:a", b"cf2"], timestamp=4)
    c = conn.answer("mutateRowTs")
    assert [(m.isDelete, m.column) for m in c.args[2]] == [(True, b"cf:a"), (True, b"cf2")]
    assert c.args[3] == 4
    # wal=False for a whole row needs the families (deleteAllRow has no WAL flag).
    d = table.delete(b"r", wal=False)
    conn.answer("getColumnDescriptors", {b"a:": hbase.ColumnDescriptor(name=b"a:"),
                                         b"b:": hbase.ColumnDescriptor(name=b"b:")})
    c = conn.answer("mutateRow")
    assert sorted((m.column, m.writeToWAL) for m in c.args[2]) == [(b"a", False), (b"b", False)]
    assert result_of(d) is None


def test_counters(conn, table):
    d = table.counter_inc(b"r", "cf:c", 5)
    assert conn.answer("atomicIncrement", 5).args == (b"t", b"r", b"cf:c", 5)
    assert result_of(d) == 5
    d = table.counter_dec(b"r", b"cf:c", 2)
    assert conn.answer("atomicIncrement", 3).args[3] == -2
    d = table.counter_get(b"r", b"cf:c")
    assert conn.answer("atomicIncrement", 3).args[3] == 0
    assert result_of(d) == 3
    table.counter_set(b"r", b"cf:c", -7)
    c = conn.answer("mutateRow")
    assert c.args[2][0].value == struct.pack(">q", -7)


def test_check_and_put(conn, table):
    d = table.check_and_put(b"r", b"cf:a", None, {b"cf:b": b"v"})
    c = conn.answer("checkAndPut", True)
    assert c.args[:4] == (b"t", b"r", b"cf:a", None)
    assert (c.args[4].column, c.args[4].value) == (b"cf:b", b"v")
    assert result_of(d) is True
    d = table.check_and_put("r", "cf:a", b"x", {"cf:a": b"y"})
    conn.answer("checkAndPut", False)
    assert result_of(d) is False


def test_append_maps_cells_in_hbase_order(conn, table):
    d = table.append(b"r", {b"cf:z": b"1", b"cf:a": b"2"}, include_timestamp=True)
    c = conn.answer("append", [cell(b"a-new", 3), cell(b"z-new", 3)])
    assert c.args[0].columns == [b"cf:z", b"cf:a"] and c.args[0].values == [b"1", b"2"]
    assert result_of(d) == {b"cf:a": (b"a-new", 3), b"cf:z": (b"z-new", 3)}


def test_errors_pass_through(conn, table):
    d = table.row(b"r")
    conn.fail("getRowWithColumns", errors.HBaseIOError("no table", False))
    with pytest.raises(errors.HBaseIOError):
        result_of(d)


def test_cancel_reaches_the_call(conn, table):
    d = table.row(b"r")
    d.cancel()
    assert conn.calls[0].cancelled
    with pytest.raises(defer.CancelledError):
        result_of(d)


# ---------------------------------------------------------------- count / split

def test_count_uses_key_only_filters_and_counts(conn, table):
    d = table.count(row_prefix=b"p")
    c = conn.answer("scannerOpenWithScan", 9)
    scan = c.args[1]
    assert scan.filterString == b"FirstKeyOnlyFilter() AND KeyOnlyFilter()"
    assert (scan.startRow, scan.stopRow) == (b"p", b"q")
    conn.answer("scannerGetList", [rowres(b"p1", {b"cf:a": b""}), rowres(b"p2", {b"cf:a": b""})])
    conn.answer("scannerGetList", [])
    conn.answer("scannerClose")
    assert result_of(d) == 2
    d = table.count(filter="ValueFilter(=, 'binary:x')")
    c = conn.answer("scannerOpenWithScan", 10)
    assert c.args[1].filterString == b"(ValueFilter(=, 'binary:x')) AND KeyOnlyFilter()"


def test_split_ranges():
    assert split_ranges(b"", None, [b"", b"g", b"p"], 10) == [(b"", b"g"), (b"g", b"p"), (b"p", None)]
    assert split_ranges(b"h", b"q", [b"", b"g", b"p"], 10) == [(b"h", b"p"), (b"p", b"q")]
    assert split_ranges(b"", None, [b"", b"b", b"c", b"d", b"e"], 2) == [(b"", b"d"), (b"d", None)]
    assert split_ranges(b"", None, [b""], 3) == [(b"", None)]
    # Boundaries equal to the range ends do not create empty ranges.
    assert split_ranges(b"g", b"p", [b"", b"g", b"p"], 5) == [(b"g", b"p")]


def test_unordered_scanners_cover_range(conn, table):
    d = table.unordered_scanners(2, row_start=b"b", columns=[b"cf"])
    conn.answer("getTableRegions", [hbase.TRegionInfo(startKey=k) for k in (b"", b"c", b"f", b"k")])
    scanners = result_of(d)
    assert [(s.spec.row_start, s.spec.row_stop) for s in scanners] == [(b"b", b"f"), (b"f", None)]
    assert all(s.spec.columns == [b"cf"] for s in scanners)
    assert conn.pending() == []  # scanners open lazily
