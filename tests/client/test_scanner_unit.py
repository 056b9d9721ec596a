"""Scanner against a fake connection: lazy open, read-ahead, ordering, limit,
release in every path, resumption after lost connections / expired ids, GC."""
from __future__ import annotations

import gc
from collections import OrderedDict

import pytest
from twisted.internet import defer

from txhbase import errors
from txhbase.protocol.idl import hbase

from tests.client.fakes import FakeConnection, result_of, rowres, rows


@pytest.fixture
def conn():
    return FakeConnection()


@pytest.fixture
def table(conn):
    return conn.table(b"t")


def test_scan_is_lazy_and_opens_with_tscan(conn, table):
    s = table.scan(row_start="a", row_stop=b"z", columns=["cf:a"], filter="KeyOnlyFilter()",
                   timestamp=5, batch_size=7, scan_batching=3, sorted_columns=True,
                   timeout=100)
    assert conn.calls == []
    s.get_next()
    c = conn.answer("scannerOpenWithScan", 1)
    scan = c.args[1]
    assert c.args[0] == b"t" and c.timeout == 100
    assert (scan.startRow, scan.stopRow, scan.columns, scan.filterString, scan.timestamp,
            scan.caching, scan.batchSize, scan.sortColumns, scan.reversed) == (
        b"a", b"z", [b"cf:a"], b"KeyOnlyFilter()", 5, 7, 3, True, False)
    assert conn.pending()[0].name == "scannerGetList"
    assert conn.pending()[0].args == (1, 7)


def test_read_ahead_and_end(conn, table):
    s = table.scan(batch_size=2)
    d1 = s.get_next()
    conn.answer("scannerOpenWithScan", 4)
    conn.answer("scannerGetList", rows(b"a", b"b"))
    assert result_of(d1) == (b"a", {b"cf:a": b"va"})
    # The next batch is already requested while the caller consumes this one.
    assert [c.name for c in conn.pending()] == ["scannerGetList"]
    assert result_of(s.get_next()) == (b"b", {b"cf:a": b"vb"})
    d3 = s.get_next()
    assert not d3.called
    conn.answer("scannerGetList", rows(b"c"))
    assert result_of(d3)[0] == b"c"
    d4 = s.get_next()
    conn.answer("scannerGetList", [])
    assert result_of(d4) is None
    c = conn.answer("scannerClose")
    assert c.args == (4,)
    assert result_of(s.get_next()) is None
    assert result_of(s.get_next()) is None
    assert conn.pending() == []
    assert s.exhausted and s.delivered == 3


def test_read_ahead_stops_when_a_batch_is_buffered(conn, table):
    s = table.scan(batch_size=2)
    s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"a", b"b"))
    conn.answer("scannerGetList", rows(b"c", b"d"))  # read-ahead
    # Buffer holds b, c, d (>= batch_size): no third request until consumed.
    assert conn.pending() == []
    result_of(s.get_next())
    result_of(s.get_next())
    assert [c.name for c in conn.pending()] == ["scannerGetList"]


def test_concurrent_get_next_served_in_order(conn, table):
    s = table.scan(batch_size=10)
    ds = [s.get_next() for _ in range(4)]
    assert len(conn.calls) == 1  # one open, not four
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"a", b"b", b"c"))
    assert [result_of(d)[0] for d in ds[:3]] == [b"a", b"b", b"c"]
    assert not ds[3].called
    conn.answer("scannerGetList", [])
    assert result_of(ds[3]) is None


def test_limit_asks_for_no_more_and_releases(conn, table):
    s = table.scan(batch_size=2, limit=3)
    got = [s.get_next() for _ in range(4)]
    conn.answer("scannerOpenWithScan", 1)
    c = conn.answer("scannerGetList", rows(b"a", b"b"))
    assert c.args == (1, 2)
    c = conn.answer("scannerGetList", rows(b"c"))
    assert c.args == (1, 1)
    conn.answer("scannerClose")
    assert [result_of(d) and result_of(d)[0] for d in got] == [b"a", b"b", b"c", None]
    assert conn.pending() == []


def test_close_mid_scan_releases_and_ends(conn, table):
    s = table.scan(batch_size=2)
    d1 = s.get_next()
    conn.answer("scannerOpenWithScan", 8)
    conn.answer("scannerGetList", rows(b"a", b"b"))
    result_of(d1)
    # A read-ahead request is in flight: close waits for it, then releases.
    closed = s.close()
    assert not closed.called
    assert result_of(s.get_next()) is None
    conn.answer("scannerGetList", rows(b"c"))
    c = conn.answer("scannerClose")
    assert c.args == (8,)
    assert result_of(closed) is None
    assert result_of(s.close()) is None  # twice is fine
    assert conn.pending() == []


def test_close_before_open_sends_nothing(conn, table):
    s = table.scan()
    assert result_of(s.close()) is None
    assert conn.calls == []
    assert result_of(s.get_next()) is None


def test_close_while_opening_closes_the_new_scanner(conn, table):
    s = table.scan()
    d = s.get_next()
    closed = s.close()
    assert result_of(d) is None
    conn.answer("scannerOpenWithScan", 5)
    assert conn.answer("scannerClose").args == (5,)
    assert result_of(closed) is None


def test_close_pending_waiters_get_none(conn, table):
    s = table.scan()
    d = s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    s.close()
    assert result_of(d) is None


def test_open_error_fails_every_call(conn, table):
    s = table.scan(filter="Bogus(")
    d = s.get_next()
    conn.fail("scannerOpenWithScan", errors.ServerError("bad filter", 6))
    with pytest.raises(errors.ServerError):
        result_of(d)
    with pytest.raises(errors.ServerError):
        result_of(s.get_next())
    assert conn.pending() == []  # nothing to release


def test_fetch_error_releases_scanner(conn, table):
    s = table.scan()
    d = s.get_next()
    conn.answer("scannerOpenWithScan", 3)
    conn.fail("scannerGetList", errors.HBaseIOError("region moved", True))
    assert conn.answer("scannerClose").args == (3,)
    with pytest.raises(errors.HBaseIOError):
        result_of(d)


def test_timeout_is_not_resumed_and_releases(conn, table):
    s = table.scan(timeout=50)
    d = s.get_next()
    conn.answer("scannerOpenWithScan", 3)
    conn.fail("scannerGetList", errors.TimeoutError("scannerGetList timed out"))
    assert conn.answer("scannerClose").args == (3,)
    with pytest.raises(errors.TimeoutError):
        result_of(d)


def test_resume_after_connection_lost_forward(conn, table):
    s = table.scan(row_start=b"a", row_stop=b"z", batch_size=2)
    first = s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"b", b"c"))
    assert result_of(first)[0] == b"b"
    conn.fail("scannerGetList", errors.ConnectionLost("gone", sent=True))
    # Reopened just after the last row received; the old id is not closed.
    c = conn.answer("scannerOpenWithScan", 2)
    assert (c.args[1].startRow, c.args[1].stopRow) == (b"c\x00", b"z")
    conn.answer("scannerGetList", rows(b"d"))
    keys = [s.get_next() for _ in range(4)]
    conn.answer("scannerGetList", [])
    conn.answer("scannerClose")
    assert [result_of(k) and result_of(k)[0] for k in keys] == [b"c", b"d", None, None]
    assert s.resumed == 1
    assert [c.args for c in conn.calls if c.name == "scannerClose"] == [(2,)]


def test_resume_after_expired_scanner_id(conn, table):
    s = table.scan(batch_size=1)
    d = s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"a"))
    result_of(d)
    conn.fail("scannerGetList", errors.IllegalArgument("scanner ID is invalid"))
    c = conn.answer("scannerOpenWithScan", 2)
    assert c.args[1].startRow == b"a\x00"
    conn.answer("scannerGetList", rows(b"b"))
    assert result_of(s.get_next())[0] == b"b"


def test_resume_with_scan_batching_skips_delivered_columns(conn, table):
    s = table.scan(scan_batching=2, batch_size=2)
    d = s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", [rowres(b"r", {b"cf:a": b"1", b"cf:b": b"2"}),
                                   rowres(b"r", {b"cf:c": b"3", b"cf:d": b"4"})])
    result_of(d)
    conn.fail("scannerGetList", errors.ConnectionLost("gone", sent=True))
    c = conn.answer("scannerOpenWithScan", 2)
    assert c.args[1].startRow == b"r"  # reopened AT the partial row
    conn.answer("scannerGetList", [rowres(b"r", {b"cf:a": b"1", b"cf:b": b"2"}),
                                   rowres(b"r", {b"cf:c": b"3", b"cf:d": b"4"})])
    conn.answer("scannerGetList", [rowres(b"r", {b"cf:e": b"5"}), rowres(b"s", {b"cf:a": b"6"})])
    got = [result_of(s.get_next()) for _ in range(3)]
    assert got == [(b"r", {b"cf:c": b"3", b"cf:d": b"4"}), (b"r", {b"cf:e": b"5"}),
                   (b"s", {b"cf:a": b"6"})]


def test_resume_reverse_skips_last_row(conn, table):
    s = table.scan(row_start=b"z", row_stop=b"a", reverse=True, batch_size=2)
    d = s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"y", b"x"))
    result_of(d)
    conn.fail("scannerGetList", errors.ConnectionLost("gone", sent=True))
    c = conn.answer("scannerOpenWithScan", 2)
    assert (c.args[1].startRow, c.args[1].stopRow, c.args[1].reversed) == (b"x", b"a", True)
    conn.answer("scannerGetList", rows(b"x", b"w"))
    assert [result_of(s.get_next())[0] for _ in range(2)] == [b"x", b"w"]


def test_resume_respects_limit(conn, table):
    s = table.scan(batch_size=2, limit=3)
    d = s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"a", b"b"))
    result_of(d)
    conn.fail("scannerGetList", errors.ConnectionLost("gone", sent=True))
    conn.answer("scannerOpenWithScan", 2)
    assert conn.pending()[0].args == (2, 1)


def test_gives_up_after_repeated_failures(conn, table):
    s = table.scan()
    d = s.get_next()
    for i in range(4):
        conn.fail("scannerOpenWithScan", errors.ConnectionLost("refused", sent=False))
    with pytest.raises(errors.ConnectionLost):
        result_of(d)
    assert conn.pending() == []


def test_cancelled_get_next_loses_no_row(conn, table):
    s = table.scan()
    d = s.get_next()
    d.cancel()
    with pytest.raises(defer.CancelledError):
        result_of(d)
    d2 = s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"a"))
    assert result_of(d2)[0] == b"a"


def test_unclosed_scanner_released_on_gc(conn, table):
    s = table.scan(batch_size=2)
    d = s.get_next()
    conn.answer("scannerOpenWithScan", 77)
    conn.answer("scannerGetList", rows(b"a", b"b"))
    result_of(d)
    # Let the read-ahead settle so nothing references the scanner.
    conn.answer("scannerGetList", rows(b"c"))
    del s, d
    gc.collect()
    assert conn.pending() == []
    conn.reactor.advance(0)
    assert conn.answer("scannerClose").args == (77,)


def test_sorted_columns_give_ordered_dicts(conn, table):
    s = table.scan(sorted_columns=True, include_timestamp=True)
    d = s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", [hbase.TRowResult(row=b"r", sortedColumns=[
        hbase.TColumn(columnName=b"cf:a", cell=hbase.TCell(value=b"1", timestamp=4)),
        hbase.TColumn(columnName=b"cf:b", cell=hbase.TCell(value=b"2", timestamp=5))])])
    key, data = result_of(d)
    assert isinstance(data, OrderedDict)
    assert list(data.items()) == [(b"cf:a", (b"1", 4)), (b"cf:b", (b"2", 5))]


def test_row_prefix_bounds(conn, table):
    s = table.scan(row_prefix=b"ab")
    s.get_next()
    scan = conn.answer("scannerOpenWithScan", 1).args[1]
    assert (scan.startRow, scan.stopRow) == (b"ab", b"ac")
    conn = FakeConnection()
    table = conn.table()
    s = table.scan(row_prefix=b"ab", reverse=True)
    d = s.get_next()
    scan = conn.answer("scannerOpenWithScan", 2).args[1]
    assert scan.startRow == b"ac" and scan.stopRow < b"ab" and scan.reversed
    # Keys outside the prefix at the bounds are dropped client-side.
    conn.answer("scannerGetList", rows(b"ac", b"ab\xff", b"ab", b"aa\xff"))
    assert result_of(d)[0] == b"ab\xff"
    assert result_of(s.get_next())[0] == b"ab"
    conn = FakeConnection()
    s = conn.table().scan(row_prefix=b"\xff\xff")
    s.get_next()
    scan = conn.answer("scannerOpenWithScan", 3).args[1]
    assert (scan.startRow, scan.stopRow) == (b"\xff\xff", None)


@pytest.mark.parametrize("kwargs,method,args", [
    ({}, "scannerOpen", (b"t", b"", None, {})),
    ({"timestamp": 5}, "scannerOpenTs", (b"t", b"", None, 5, {})),
    ({"row_stop": b"m"}, "scannerOpenWithStop", (b"t", b"", b"m", None, {})),
    ({"row_stop": b"m", "timestamp": 5, "columns": [b"cf"]}, "scannerOpenWithStopTs",
     (b"t", b"", b"m", [b"cf"], 5, {})),
])
def test_compat_090_open_calls(kwargs, method, args):
    conn = FakeConnection(compat="0.90")
    s = conn.table(b"t").scan(**kwargs)
    s.get_next()
    assert conn.answer(method, 1).args == args


def test_async_for(conn, table):
    async def collect():
        out = []
        async for key, data in table.scan(batch_size=5):
            out.append(key)
        return out

    d = defer.ensureDeferred(collect())
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"a", b"b"))
    conn.answer("scannerGetList", [])
    conn.answer("scannerClose")
    assert result_of(d) == [b"a", b"b"]


def test_async_with_closes(conn, table):
    async def first():
        async with table.scan() as s:
            return await s.get_next()

    d = defer.ensureDeferred(first())
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"a", b"b"))
    assert conn.answer("scannerClose").args == (1,)
    assert result_of(d)[0] == b"a"
    assert conn.pending() == []


def test_no_resume_once_the_connection_was_closed(conn, table):
    s = table.scan()
    d = s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.closed = True  # the application closed the Connection
    conn.fail("scannerGetList", errors.ConnectionLost("closed", sent=True))
    with pytest.raises(errors.ConnectionLost):
        result_of(d)
    assert conn.pending() == []


def test_next_batch_takes_everything_buffered(conn, table):
    s = table.scan(batch_size=3)
    d1 = s.next_batch()
    d2 = s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"a", b"b", b"c"))
    assert [k for k, _ in result_of(d1)] == [b"a", b"b", b"c"]
    assert not d2.called  # served in order: the batch took everything
    conn.answer("scannerGetList", rows(b"d", b"e"))
    assert result_of(d2)[0] == b"d"
    assert [k for k, _ in result_of(s.next_batch())] == [b"e"]
    d3 = s.next_batch()
    conn.answer("scannerGetList", [])
    conn.answer("scannerClose")
    assert result_of(d3) == []
    assert result_of(s.next_batch()) == []
    assert result_of(s.get_next()) is None
    assert s.delivered == 5


def test_next_batch_ends_with_empty_list_on_close(conn, table):
    s = table.scan()
    d = s.next_batch()
    s.close()
    assert result_of(d) == []


# ------------------------------------------------------------------ buffered rows (fast path)

def test_get_next_on_a_buffered_row_fires_synchronously(conn, table):
    s = table.scan(batch_size=3)
    s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"a", b"b", b"c"))
    conn.answer("scannerGetList", rows(b"d", b"e", b"f"))  # read-ahead
    asked = len(conn.calls)
    d = s.get_next()
    assert d.called and result_of(d) == (b"b", {b"cf:a": b"vb"})
    assert len(conn.calls) == asked  # still >= one batch buffered: no request
    assert result_of(s.get_next())[0] == b"c"
    assert len(conn.calls) == asked
    assert result_of(s.get_next())[0] == b"d"
    # Less than a batch left: the read-ahead request goes out.
    assert [c.name for c in conn.pending()] == ["scannerGetList"]
    assert s.delivered == 4


def test_consumer_reading_inside_the_callback_is_not_recursive(conn, table):
    s = table.scan(batch_size=5000)
    got = []

    @defer.inlineCallbacks
    def consume():
        while True:
            item = yield s.get_next()
            if item is None:
                return
            got.append(item[0])

    done = consume()
    conn.answer("scannerOpenWithScan", 1)
    keys = [b"%05d" % i for i in range(5000)]  # deeper than the recursion limit
    conn.answer("scannerGetList", rows(*keys))
    assert got == keys
    conn.answer("scannerGetList", [])
    conn.answer("scannerClose")
    assert result_of(done) is None and s.exhausted


def test_last_buffered_row_marks_the_scan_exhausted(conn, table):
    s = table.scan(batch_size=2, limit=2)
    s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"a", b"b"))
    conn.answer("scannerClose")
    assert not s.exhausted
    assert result_of(s.get_next())[0] == b"b"
    assert s.exhausted and conn.pending() == []
    assert result_of(s.get_next()) is None


def test_error_after_buffered_rows_still_propagates(conn, table):
    s = table.scan(batch_size=2)
    s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"a", b"b"))
    conn.fail("scannerGetList", errors.TimeoutError("slow", sent=True))  # read-ahead
    with pytest.raises(errors.TimeoutError):
        result_of(s.get_next())
    with pytest.raises(errors.TimeoutError):
        result_of(s.next_batch())


def test_next_batch_on_buffered_rows_fires_synchronously(conn, table):
    s = table.scan(batch_size=2, include_timestamp=True)
    s.get_next()
    conn.answer("scannerOpenWithScan", 1)
    conn.answer("scannerGetList", rows(b"a", b"b"))
    conn.answer("scannerGetList", rows(b"c", b"d"))
    d = s.next_batch()
    assert d.called
    assert result_of(d) == [(k, {b"cf:a": (b"v" + k, 1)}) for k in (b"b", b"c", b"d")]
    assert [c.name for c in conn.pending()] == ["scannerGetList"]
    assert s.delivered == 4
