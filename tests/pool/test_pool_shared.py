"""Single calls of a pool's Table share pooled connections (pipelined, capped per
connection), unit tests on fake gateways and a task.Clock."""
from __future__ import annotations

import pytest

from txhbase import errors
from tests.pool import fakes
from tests.pool.test_pool_unit import A, B, failure, make, result


def answer(held):
    """Answer held calls as the gateway would: apply, then reply."""
    for d, _method, _args, apply in held:
        if not d.called:
            d.callback(apply())


def test_64_rows_on_pool_of_2_pipeline_on_2_connections():
    pool, cluster, clock, _ = make(A, size=2)
    table = pool.table("t")
    for i in range(64):
        cluster.store[b"r%02d" % i] = {b"cf:v": b"%d" % i}
    cluster.servers[A].script = [fakes.HOLD] * 64
    ds = [table.row(b"r%02d" % i) for i in range(64)]
    assert len(cluster.connections) == 2 and cluster.servers[A].opened == 2
    assert sorted(c.in_flight() for c in cluster.connections) == [32, 32]
    assert pool.stats.in_use == 2 and pool.stats.waiting == 0
    answer(cluster.servers[A].held)
    assert [result(d) for d in ds] == [{b"cf:v": b"%d" % i} for i in range(64)]
    assert pool.stats.in_use == 0 and pool.stats.idle == 2 and pool.stats.calls == 64


def test_one_connection_until_a_few_calls_are_in_flight():
    pool, cluster, clock, _ = make(A, size=4)
    cluster.store[b"k"] = {b"cf:v": b"1"}
    table = pool.table("t")
    for _ in range(3):
        assert result(table.row(b"k")) == {b"cf:v": b"1"}  # sequential: reuses one
    assert len(cluster.connections) == 1
    cluster.servers[A].script = [fakes.HOLD] * 8
    ds = [table.row(b"k") for _ in range(8)]
    assert len(cluster.connections) == 2  # the 5th call in flight opened another
    answer(cluster.servers[A].held)
    assert all(result(d) == {b"cf:v": b"1"} for d in ds)


def test_calls_wait_at_max_in_flight_and_time_out():
    pool, cluster, clock, _ = make(A, size=1, max_in_flight=3, pool_timeout=5)
    cluster.store[b"k"] = {b"cf:v": b"1"}
    table = pool.table("t")
    cluster.servers[A].script = [fakes.HOLD] * 5
    ds = [table.row(b"k") for _ in range(5)]
    conn, = cluster.connections
    assert conn.in_flight() == 3 and pool.stats.waiting == 2
    answer(conn.held[:1])
    assert conn.in_flight() == 3 and pool.stats.waiting == 1  # the 4th took the free slot
    clock.advance(5)
    exc = failure(ds[4], errors.NoConnectionsAvailable)
    assert "within 5" in str(exc)
    answer(conn.held)
    assert [result(d) for d in ds[:4]] == [{b"cf:v": b"1"}] * 4
    assert pool.stats.waiting == 0 and pool.stats.in_use == 0


def test_leases_and_shared_calls_never_share_a_connection():
    pool, cluster, clock, _ = make(A, size=1, pool_timeout=5)
    cluster.store[b"k"] = {b"cf:v": b"1"}
    table = pool.table("t")
    leased = result(pool.connection())
    d = table.row(b"k")
    assert not d.called and pool.stats.waiting == 1  # the only connection is lent
    pool.release(leased)
    assert result(d) == {b"cf:v": b"1"}
    cluster.servers[A].script = [fakes.HOLD]
    d = table.row(b"k")
    lease = pool.connection()
    assert not lease.called  # busy with a shared call: not lent meanwhile
    answer(cluster.servers[A].held)
    assert result(d) == {b"cf:v": b"1"} and result(lease) is leased


def test_drop_with_many_shared_calls_in_flight_retries_each_per_policy():
    pool, cluster, clock, rec = make(A, B, size=1, max_retries=3)
    table = pool.table("t")
    cluster.servers[A].script = [fakes.HOLD] * 15
    puts = [table.put(b"p%d" % i, {b"cf:v": b"%d" % i}) for i in range(10)]
    incs = [table.counter_inc(b"c", b"cf:n") for _ in range(5)]
    conn, = cluster.connections
    assert conn.address == A and conn.in_flight() == 15
    # The connection drops: every call on it was written, some were applied.
    for n, (d, method, _args, apply) in enumerate(list(conn.held)):
        if n % 2 == 0:
            apply()
        d.errback(errors.ConnectionLost("reset by peer", sent=True))
    assert pool.stats.failures == {A: 1}  # one drop, one failure: not 15
    assert rec.names().count("server_marked_down") == 1
    assert pool.server_status()[A]["down"] and conn.closed
    for d in incs:  # never repeated once they may have reached the server
        exc = failure(d, errors.ConnectionLost)
        assert exc.maybe_applied is True and len(exc.attempts) == 1
    clock.advance(10)  # back-off
    for d in puts:  # idempotent: retried once, on the other gateway
        assert result(d) is None
    assert pool.stats.retries == 10 and pool.stats.failed_calls == 5
    assert [m for m, _ in cluster.servers[B].calls] == ["mutateRow"] * 10
    assert all(cluster.store[b"p%d" % i] == {b"cf:v": b"%d" % i} for i in range(10))
    assert cluster.counters.get((b"c", b"cf:n"), 0) in (2, 3)  # applied ones only
    assert pool.stats.in_use == 0


def test_unsent_shared_calls_are_all_retried():
    pool, cluster, clock, _ = make(A, B, size=2)
    table = pool.table("t")
    cluster.servers[A].script = [fakes.HOLD] * 6
    cluster.servers[B].script = [fakes.HOLD] * 6
    incs = [table.counter_inc(b"c", b"cf:n") for _ in range(12)]
    a = next(c for c in cluster.connections if c.address == A)
    for d, *_ in list(a.held):
        d.errback(errors.ConnectionLost("dropped before send", sent=False))
    assert pool.stats.failures == {A: 1}
    clock.advance(10)
    b_conns = [c for c in cluster.connections if c.address == B]
    for c in b_conns:
        answer(c.held)
    assert sorted(result(d) for d in incs) == list(range(1, 13))
    assert pool.stats.retries == 6 and pool.stats.failed_calls == 0


def test_max_in_flight_is_checked():
    with pytest.raises(ValueError, match="max_in_flight"):
        make(A, size=1, max_in_flight=0)


def test_argument_errors_raise_at_once_on_a_warm_pool_and_free_the_slot():
    pool, cluster, clock, _ = make(A, size=1)
    table = pool.table("t")
    assert result(table.row(b"k")) == {}  # warm: the next call takes the direct path
    with pytest.raises(TypeError):
        table.row(123)
    assert [m for m, _ in cluster.servers[A].calls] == ["getRowWithColumns"]
    assert pool.stats.in_use == 0 and pool.stats.idle == 1 and pool.stats.calls == 1
    assert result(table.row(b"k")) == {}


def test_single_call_uses_an_overflow_connection_when_all_are_lent():
    pool, cluster, clock, _ = make(A, size=1, max_overflow=1)
    leased = result(pool.connection())
    assert result(pool.table("t").row(b"k")) == {}
    assert len(cluster.connections) == 2 and cluster.connections[1].closed  # not kept
    assert pool.stats.in_use == 1
    pool.release(leased)
