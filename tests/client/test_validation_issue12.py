"""Issue 12 items 4 and 5: malformed columns, counter columns, flags, ttl and
empty puts are settled before anything is sent (unit tests on a fake
connection), and the counter rule holds end to end on every backend."""
from __future__ import annotations

import pytest
import pytest_twisted


from tests.client.fakes import FakeConnection
from tests.client.test_e2e import connection, shared_table

BAD_COLUMNS = [b"", b":q", ":q", ""]


def _refused(exc_type, match, f, *args, **kwargs):
    conn = FakeConnection()
    t = conn.table()
    with pytest.raises(exc_type, match=match):
        f(t, *args, **kwargs)
    assert conn.calls == []


@pytest.mark.parametrize("bad", BAD_COLUMNS)
def test_malformed_columns_are_refused_naming_the_argument(bad):
    """Before: each was sent and failed on the server."""
    msg = r"'columns\[1\]'"
    _refused(ValueError, msg, lambda t: t.row(b"r", [b"cf", bad]))
    _refused(ValueError, msg, lambda t: t.rows([b"r"], [b"cf:q", bad]))
    _refused(ValueError, msg, lambda t: t.scan(columns=[b"cf", bad]))
    _refused(ValueError, msg, lambda t: t.delete(b"r", [b"cf:q", bad]))
    _refused(ValueError, msg, lambda t: t.batch().delete(b"r", [b"cf:q", bad]))
    _refused(ValueError, "'column'", lambda t: t.cells(b"r", bad))
    _refused(ValueError, "'column'", lambda t: t.counter_inc(b"r", bad))
    _refused(ValueError, "'column'", lambda t: t.counter_get(b"r", bad))
    _refused(ValueError, "'column'", lambda t: t.counter_set(b"r", bad, 1))
    _refused(ValueError, "'column'", lambda t: t.batch().counter_inc(b"r", bad))


def test_well_formed_columns_still_go_through():
    conn = FakeConnection()
    t = conn.table()
    t.row(b"r", [b"cf", b"cf:", b"cf:q", "cf:\u00e9"])
    assert conn.calls[-1].args[2] == [b"cf", b"cf:", b"cf:q", "cf:\u00e9".encode()]
    t.cells(b"r", b"cf")  # HBase's getVer reads a bare family as the whole family
    assert conn.calls[-1].args[2] == b"cf"


def test_a_bare_family_counter_is_the_empty_qualifier_on_every_path():
    """atomicIncrement reads b'cf' as b'cf:' while incrementRows failed with a
    NullPointerException on it: both now send b'cf:'."""
    conn = FakeConnection()
    t = conn.table()
    t.counter_inc(b"r", b"cf", 2)
    t.counter_get(b"r", "cf")
    t.counter_set(b"r", b"cf", 7)
    t.counter_inc(b"r", b"cf:q")
    assert [(c.name, c.args[2] if c.name == "atomicIncrement" else c.args[2][0].column)
            for c in conn.calls] == [("atomicIncrement", b"cf:"), ("atomicIncrement", b"cf:"),
                                     ("mutateRow", b"cf:"), ("atomicIncrement", b"cf:q")]
    b = t.batch()
    b.counter_inc(b"r", b"cf")
    b.counter_dec(b"r", b"cf:q")
    assert [i.column for i in b._increments] == [b"cf:", b"cf:q"]


@pytest.mark.parametrize("ttl", [float("inf"), float("-inf"), float("nan")])
def test_put_ttl_must_be_finite(ttl):
    """Before: ttl=inf raised OverflowError."""
    _refused(ValueError, "'ttl'", lambda t: t.put(b"r", {b"cf:q": b"v"}, ttl=ttl))


@pytest.mark.parametrize("bad", ["no", 1, 0, None, "False"])
def test_non_bool_flags_are_type_errors(bad):
    """Before: include_timestamp='no' was taken as True."""
    _refused(TypeError, "'include_timestamp'", lambda t: t.row(b"r", include_timestamp=bad))
    _refused(TypeError, "'include_timestamp'", lambda t: t.rows([b"r"], include_timestamp=bad))
    _refused(TypeError, "'include_timestamp'",
             lambda t: t.cells(b"r", b"cf:q", include_timestamp=bad))
    _refused(TypeError, "'include_timestamp'",
             lambda t: t.append(b"r", {b"cf:q": b"v"}, include_timestamp=bad))
    _refused(TypeError, "'include_timestamp'", lambda t: t.scan(include_timestamp=bad))
    _refused(TypeError, "'sorted_columns'", lambda t: t.scan(sorted_columns=bad))
    _refused(TypeError, "'reverse'", lambda t: t.scan(reverse=bad))
    _refused(TypeError, "'wal'", lambda t: t.put(b"r", {b"cf:q": b"v"}, wal=bad))
    _refused(TypeError, "'wal'", lambda t: t.delete(b"r", wal=bad))
    _refused(TypeError, "'wal'", lambda t: t.batch(wal=bad))
    _refused(TypeError, "'transaction'", lambda t: t.batch(transaction=bad))


def test_an_empty_put_sends_nothing_and_fires_none():
    conn = FakeConnection()
    t = conn.table()
    results = []
    t.put(b"r", {}).addCallback(results.append)
    t.put(b"r", {}, timestamp=5, ttl=10).addCallback(results.append)
    assert results == [None, None] and conn.calls == []
    # its other arguments are still checked
    with pytest.raises(ValueError, match="'ttl'"):
        t.put(b"r", {}, ttl=-1)
    b = t.batch()
    b.put(b"r", {}).addCallback(results.append)
    b.send().addCallback(results.append)
    assert results == [None] * 4 and conn.calls == []


# ---- on every backend: what HBase does with the counter columns we send ----


@pytest.mark.backend
@pytest_twisted.ensureDeferred
async def test_bare_family_counters_agree_across_calls_and_batches(gateway, row_prefix):
    conn = connection(gateway)
    try:
        t = await shared_table(conn, gateway)
        row = row_prefix + b"c"
        assert await t.counter_inc(row, b"cf1", 5) == 5
        async with t.batch() as b:  # before: NullPointerException on real HBase
            await b.counter_inc(row, b"cf1", 2)
            await b.counter_inc(row, b"cf1:", 1)
        assert await t.counter_get(row, b"cf1:") == 8
        assert await t.counter_get(row, b"cf1") == 8
        await t.counter_set(row, b"cf1", 40)
        assert await t.counter_inc(row, b"cf1") == 41
        assert await t.row(row) == {b"cf1:": (41).to_bytes(8, "big")}
        await t.put(row, {})  # nothing sent, nothing changed
        assert await t.row(row) == {b"cf1:": (41).to_bytes(8, "big")}
        await t.delete(row)
    finally:
        await conn.close()


@pytest.mark.backend
@pytest_twisted.ensureDeferred
async def test_malformed_columns_never_reach_the_server(gateway, row_prefix):
    conn = connection(gateway)
    try:
        t = await shared_table(conn, gateway)
        for bad in (b"", b":q"):
            with pytest.raises(ValueError):
                await t.row(row_prefix, [bad])
            with pytest.raises(ValueError):
                await t.counter_inc(row_prefix, bad)
        # the connection is untouched and still serves
        assert await t.row(row_prefix) == {}
    finally:
        await conn.close()

