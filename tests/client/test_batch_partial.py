"""Issue 12 item 3: a batch the server rejects in part, on the embedded server
and real HBase (2.6.1 probed; the embedded server does the same).

What HBase applies when a multi-row send fails server-side:

* ``mutateRows``: every good row, before or after the bad one (the gateway
  sends all rows in one ``Table.batch``; each row is atomic, the call is
  not); the error is an ``IOError`` (``RetriesExhaustedWithDetailsException``
  naming the ``NoSuchColumnFamilyException``).
* ``incrementRows``: the increments BEFORE the first bad one, not the ones
  after it (the gateway runs them one by one and stops at the first error:
  ``NoSuchColumnFamilyException`` or "Field is not a long").

So the send fails with ``BatchError(maybe_applied=True)`` listing every
mutation and increment of the send (which ones were applied is not known to
the client), and ``requeue()`` + ``send()`` repeats what was applied: harmless
for puts, a second increment for counters.
"""
from __future__ import annotations

import struct
from typing import Any

import pytest
import pytest_twisted

import txhbase
from txhbase import errors

from tests.conftest import SHARED_FAMILIES, SHARED_TABLE

pytestmark = pytest.mark.backend

GOOD = b"cf1:a"
UNKNOWN = b"nofamily:a"  # a family the table does not have
COUNTER = b"cf1:n"


async def open_table(gateway: Any) -> tuple[txhbase.Connection, txhbase.Table]:
    conn = txhbase.Connection(gateway.host, gateway.port, timeout=30000, **gateway.wire)
    try:
        await conn.create_table(SHARED_TABLE, SHARED_FAMILIES)
    except errors.AlreadyExists:
        pass
    return conn, conn.table(SHARED_TABLE, use_prefix=False)


async def fresh(table: txhbase.Table, *rows: bytes) -> None:
    """Delete ``rows`` (a reused real cluster keeps them across runs)."""
    for row in rows:
        await table.delete(row)


async def failed_send(batch: txhbase.Batch) -> errors.BatchError:
    with pytest.raises(errors.BatchError) as info:
        await batch.send()
    return info.value


async def counter(table: txhbase.Table, row: bytes) -> int:
    cells = await table.row(row, columns=[COUNTER])
    return struct.unpack(">q", cells[COUNTER])[0] if COUNTER in cells else 0


@pytest_twisted.ensureDeferred
async def test_mutate_rows_applies_every_good_row_and_says_maybe_applied(gateway: Any, row_prefix: bytes) -> None:
    conn, table = await open_table(gateway)
    try:
        before, bad, after = (row_prefix + k for k in (b"good-before", b"bad", b"good-after"))
        await fresh(table, before, bad, after, row_prefix + b"c")
        b = table.batch()
        b.put(before, {GOOD: b"1"})
        b.put(bad, {UNKNOWN: b"1"})
        b.put(after, {GOOD: b"2"})
        b.counter_inc(row_prefix + b"c", COUNTER)  # goes out after mutateRows: never sent
        err = await failed_send(b)
        assert err.maybe_applied is True
        assert isinstance(err.reason, errors.HBaseIOError)
        assert "NoSuchColumnFamily" in str(err.reason)
        assert sorted(bm.row for bm in err.mutations) == sorted([before, bad, after])
        assert [i.row for i in err.increments] == [row_prefix + b"c"]
        # HBase applied both good rows, whatever their order; not the bad one.
        assert await table.row(before) == {GOOD: b"1"}
        assert await table.row(after) == {GOOD: b"2"}
        assert await table.row(bad) == {}
        assert await counter(table, row_prefix + b"c") == 0
    finally:
        await conn.close()


@pytest_twisted.ensureDeferred
async def test_one_row_error_applies_nothing_and_says_not_applied(gateway: Any, row_prefix: bytes) -> None:
    """One row's mutations are atomic: a one-row send the server refuses applied nothing."""
    conn, table = await open_table(gateway)
    try:
        row = row_prefix + b"one"
        await fresh(table, row)
        b = table.batch()
        b.put(row, {GOOD: b"1", UNKNOWN: b"1"})
        err = await failed_send(b)
        assert err.maybe_applied is False
        assert await table.row(row) == {}
    finally:
        await conn.close()


@pytest.mark.parametrize("bad_kind", ["unknown-family", "not-a-counter"])
@pytest_twisted.ensureDeferred
async def test_increment_rows_applies_up_to_the_first_bad_increment(
        gateway: Any, row_prefix: bytes, bad_kind: str) -> None:
    conn, table = await open_table(gateway)
    try:
        before, after = row_prefix + b"c-before", row_prefix + b"c-after"
        if bad_kind == "unknown-family":
            bad_row, bad_column = row_prefix + b"c-bad", UNKNOWN
        else:
            bad_row, bad_column = row_prefix + b"text", GOOD
        await fresh(table, before, after, bad_row)
        if bad_kind == "not-a-counter":
            await table.put(bad_row, {GOOD: b"hello"})  # 5 bytes: not a counter
        b = table.batch()
        b.counter_inc(before, COUNTER, 1)
        b.counter_inc(bad_row, bad_column, 1)
        b.counter_inc(after, COUNTER, 1)
        err = await failed_send(b)
        assert err.maybe_applied is True
        assert isinstance(err.reason, errors.HBaseIOError)
        assert [i.row for i in err.increments] == [before, bad_row, after]
        assert err.mutations == []
        # Applied one by one until the first failure.
        assert await counter(table, before) == 1
        assert await counter(table, after) == 0
        if bad_kind == "not-a-counter":
            assert await table.row(bad_row) == {GOOD: b"hello"}

        # requeue() + send() repeats what was applied: the first counter is
        # incremented a second time (and the bad increment fails again).
        b.requeue(err)
        again = await failed_send(b)
        assert again.maybe_applied is True
        assert await counter(table, before) == 2
        assert await counter(table, after) == 0
    finally:
        await conn.close()


@pytest_twisted.ensureDeferred
async def test_requeue_repeats_applied_puts_harmlessly(gateway: Any, row_prefix: bytes) -> None:
    """Puts are idempotent: re-sending an applied row leaves the same value."""
    conn, table = await open_table(gateway)
    try:
        good, bad = row_prefix + b"good", row_prefix + b"bad"
        await fresh(table, good, bad)
        b = table.batch()
        b.put(good, {GOOD: b"v"})
        b.put(bad, {UNKNOWN: b"v"})
        err = await failed_send(b)
        b.requeue(err)
        again = await failed_send(b)
        assert again.maybe_applied is True
        assert await table.row(good) == {GOOD: b"v"}
        assert await table.row(bad) == {}
    finally:
        await conn.close()
