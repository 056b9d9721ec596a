"""Batch against a fake connection: buffering, auto-send, errors keep mutations."""
from __future__ import annotations

import pytest
from twisted.internet import defer

from txhbase import errors
from txhbase.batch import BatchError, WholeRowDelete
from txhbase.protocol.idl import hbase

from tests.client.fakes import FakeConnection, result_of


@pytest.fixture
def conn():
    return FakeConnection()


@pytest.fixture
def table(conn):
    return conn.table(b"t")


def test_buffer_then_one_mutate_rows(conn, table):
    b = table.batch()
    assert result_of(b.put(b"r1", {b"cf:a": b"1"})) is None
    assert result_of(b.put("r1", {"cf:b": b"2"}, wal=False)) is None
    assert result_of(b.delete(b"r2", [b"cf:a"])) is None
    assert b.pending == 3 and conn.calls == []
    d = b.send()
    c = conn.answer("mutateRows")
    name, bms, attrs = c.args
    assert name == b"t" and attrs == {}
    assert [(bm.row, [(m.isDelete, m.column, m.value, m.writeToWAL) for m in bm.mutations])
            for bm in bms] == [
        (b"r1", [(False, b"cf:a", b"1", True), (False, b"cf:b", b"2", False)]),
        (b"r2", [(True, b"cf:a", None, True)])]
    assert result_of(d) is None
    assert b.pending == 0
    assert result_of(b.send()) is None and len(conn.calls) == 1  # empty: no call


def test_timestamp_uses_mutate_rows_ts(conn, table):
    b = table.batch(timestamp=9, wal=False)
    b.put(b"r", {b"cf:a": b"1"})
    b.send()
    c = conn.answer("mutateRowsTs")
    assert c.args[2] == 9 and c.args[1][0].mutations[0].writeToWAL is False


def test_batch_size_triggers_send_and_put_waits_for_it(conn, table):
    b = table.batch(batch_size=3)
    assert result_of(b.put(b"a", {b"cf:a": b"1", b"cf:b": b"2"})) is None
    d = b.put(b"b", {b"cf:a": b"3"})
    assert not d.called
    assert b.pending == 0  # buffer handed to the send
    conn.answer("mutateRows")
    assert result_of(d) is None


def test_counters_in_batch(conn, table):
    b = table.batch()
    b.put(b"r", {b"cf:a": b"1"})
    b.counter_inc(b"r", b"cf:n", 5)
    b.counter_dec("r", "cf:n")
    d = b.send()
    conn.answer("mutateRows")
    c = conn.answer("incrementRows")
    assert [(i.table, i.row, i.column, i.ammount) for i in c.args[0]] == [
        (b"t", b"r", b"cf:n", 5), (b"t", b"r", b"cf:n", -1)]
    assert result_of(d) is None


def test_whole_row_delete_fetches_families_once(conn, table):
    b = table.batch()
    b.delete(b"r")
    d = b.send()
    conn.answer("getColumnDescriptors", {b"a:": hbase.ColumnDescriptor(name=b"a:"),
                                         b"b:": hbase.ColumnDescriptor(name=b"b:")})
    c = conn.answer("mutateRows")
    assert sorted(m.column for m in c.args[1][0].mutations) == [b"a", b"b"]
    assert result_of(d) is None
    b.delete(b"s")
    b.send()
    conn.answer("mutateRows")  # families cached


def test_failed_send_keeps_everything(conn, table):
    b = table.batch()
    b.put(b"r", {b"cf:a": b"1"})
    b.counter_inc(b"r", b"cf:n")
    d = b.send()
    conn.fail("mutateRows", errors.ConnectionLost("gone", sent=True))
    with pytest.raises(BatchError) as info:
        result_of(d)
    err = info.value
    assert [bm.row for bm in err.mutations] == [b"r"]
    assert len(err.increments) == 1
    assert err.maybe_applied is True
    assert isinstance(err.reason, errors.ConnectionLost)
    # Requeue and send again: the same mutations go out.
    b.requeue(err)
    assert b.pending == 2
    d = b.send()
    c = conn.answer("mutateRows")
    assert c.args[1][0].mutations[0].value == b"1"
    conn.answer("incrementRows")
    assert result_of(d) is None


def test_failed_increments_only_report_increments(conn, table):
    b = table.batch()
    b.put(b"r", {b"cf:a": b"1"})
    b.counter_inc(b"r", b"cf:n")
    d = b.send()
    conn.answer("mutateRows")
    conn.fail("incrementRows", errors.HBaseIOError("not a counter", False))
    with pytest.raises(BatchError) as info:
        result_of(d)
    assert info.value.mutations == [] and len(info.value.increments) == 1
    assert info.value.maybe_applied is False


@pytest.mark.parametrize("rows,maybe", [(1, False), (2, True)])
def test_server_error_on_a_multi_row_send_may_have_applied_part(conn, table, rows, maybe):
    """HBase applies mutateRows row by row (issue 12 item 3): one good row
    and one on an unknown family -> the good row is stored although the call
    fails, so the error must not say 'not applied'."""
    b = table.batch()
    for i in range(rows):
        b.put(b"r%d" % i, {b"cf:a": b"1"})
    d = b.send()
    conn.fail("mutateRows", errors.HBaseIOError("no such family", False))
    with pytest.raises(BatchError) as info:
        result_of(d)
    assert info.value.maybe_applied is maybe and len(info.value.mutations) == rows


def test_server_error_on_several_increments_may_have_applied_part(conn, table):
    b = table.batch()
    b.counter_inc(b"r", b"cf:n")
    b.counter_inc(b"r", b"bad:n")
    d = b.send()
    conn.fail("incrementRows", errors.HBaseIOError("no such family", False))
    with pytest.raises(BatchError) as info:
        result_of(d)
    assert info.value.maybe_applied is True and len(info.value.increments) == 2


def test_failed_family_lookup_keeps_whole_row_delete(conn, table):
    b = table.batch()
    b.delete(b"r")
    d = b.send()
    conn.fail("getColumnDescriptors", errors.HBaseIOError("no table", False))
    with pytest.raises(BatchError) as info:
        result_of(d)
    muts = info.value.mutations[0].mutations
    assert len(muts) == 1 and isinstance(muts[0], WholeRowDelete)


def test_bad_input_in_batch(table, conn):
    b = table.batch()
    with pytest.raises(TypeError, match="data"):
        b.put(b"r", {b"cf:a": "text"})
    with pytest.raises(ValueError, match="data"):
        b.put(b"r", {b"nofamily": b"v"})
    with pytest.raises(TypeError, match="value"):
        b.counter_inc(b"r", b"cf:n", "1")
    with pytest.raises(TypeError, match="columns"):
        b.delete(b"r", "cf:a")
    assert b.pending == 0 and conn.calls == []


def test_run_batch_sends_after_func(conn, table):
    def fill(batch, n):
        for i in range(n):
            batch.put(f"r{i}", {b"cf:a": b"x"})
        return "done"

    d = table.run_batch(fill, 2)
    c = conn.answer("mutateRows")
    assert len(c.args[1]) == 2
    assert result_of(d) == "done"


def test_run_batch_transaction_sends_nothing_on_error(conn, table):
    def boom(batch):
        batch.put(b"r", {b"cf:a": b"x"})
        raise RuntimeError("boom")

    d = table.run_batch(boom, transaction=True)
    with pytest.raises(RuntimeError):
        result_of(d)
    assert conn.calls == []
    # Without transaction, what was buffered is still sent, and the error passed on.
    d = table.run_batch(boom)
    conn.answer("mutateRows")
    with pytest.raises(RuntimeError):
        result_of(d)


def test_async_with(conn, table):
    async def use(fail):
        async with table.batch(transaction=True) as b:
            b.put(b"r", {b"cf:a": b"x"})
            if fail:
                raise KeyError("x")

    d = defer.ensureDeferred(use(True))
    with pytest.raises(KeyError):
        result_of(d)
    assert conn.calls == []
    d = defer.ensureDeferred(use(False))
    conn.answer("mutateRows")
    assert result_of(d) is None
