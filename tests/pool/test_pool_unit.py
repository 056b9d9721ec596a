"""ConnectionPool unit tests against fake gateways on a task.Clock (no network)."""
from __future__ import annotations

import pytest
from twisted.internet import defer, task
from twisted.internet import error as twisted_error
from twisted.python.failure import Failure

from txhbase import errors
from txhbase.pool import ConnectionPool, PoolListener
from tests.pool import fakes

A, B, C = "10.0.0.1:9090", "10.0.0.2:9090", "10.0.0.3:9090"


def result(d):
    out = []
    d.addBoth(out.append)
    assert out, "Deferred has not fired"
    if isinstance(out[0], Failure):
        out[0].raiseException()
    return out[0]


def failure(d, *types):
    out = []
    d.addBoth(out.append)
    assert out, "Deferred has not fired"
    assert isinstance(out[0], Failure), f"expected a failure, got {out[0]!r}"
    if types:
        assert out[0].check(*types), out[0]
    return out[0].value


class Recorder(PoolListener):
    def __init__(self):
        self.events = []

    def __getattribute__(self, name):
        from txhbase.pool import EVENTS

        if name in EVENTS:
            return lambda ev: self.events.append((name, ev.get("server")))
        return object.__getattribute__(self, name)

    def names(self):
        return [n for n, _ in self.events]


def make(*addresses, size=2, **kw):
    cluster = fakes.FakeCluster(*addresses)
    clock = task.Clock()
    rec = Recorder()
    kw.setdefault("random", lambda: 1.0)
    pool = ConnectionPool(size, servers=list(addresses), reactor=clock, clock=clock,
                          connection_factory=cluster.factory, listeners=[rec], **kw)
    return pool, cluster, clock, rec


def test_put_then_row_through_pooled_table():
    pool, cluster, clock, rec = make(A)
    t = pool.table("t")
    assert result(t.put(b"r1", {b"cf:a": b"1"})) is None
    assert result(t.row(b"r1")) == {b"cf:a": b"1"}
    assert pool.stats.opened == 1 and pool.stats.calls == 2 and pool.stats.in_use == 0
    assert pool.stats.idle == 1
    assert rec.names()[:2] == ["connection_created", "connection_checked_out"]


def test_connections_spread_over_servers():
    pool, cluster, clock, _ = make(A, B, size=4)
    conns = [result(pool.connection()) for _ in range(4)]
    assert sorted(c.address for c in conns) == [A, A, B, B]
    assert len({id(c) for c in conns}) == 4


def test_lease_is_exclusive_and_waiters_are_served_in_order():
    pool, cluster, clock, rec = make(A, size=1)
    c1 = result(pool.connection())
    w1, w2 = pool.connection(), pool.connection()
    assert not w1.called and not w2.called
    assert pool.stats.waiting == 2 and "pool_at_max" in rec.names()
    pool.release(c1)
    assert result(w1) is c1 and not w2.called
    pool.release(c1)
    assert result(w2) is c1
    with pytest.raises(ValueError):
        pool.release(fakes.FakeConnection(cluster, A))


def test_pool_timeout_fails_with_no_connections_available():
    pool, cluster, clock, _ = make(A, size=1, pool_timeout=2.0)
    result(pool.connection())
    w = pool.connection()
    clock.advance(1.9)
    assert not w.called
    clock.advance(0.2)
    failure(w, errors.NoConnectionsAvailable)
    assert pool.stats.waiting == 0


def test_cancelled_waiter_leaves_queue():
    pool, cluster, clock, _ = make(A, size=1)
    c = result(pool.connection())
    w = pool.connection()
    w.cancel()
    failure(w, defer.CancelledError)
    assert pool.stats.waiting == 0
    pool.release(c)
    assert pool.stats.idle == 1


def test_close_fails_waiters_and_closes_everything():
    pool, cluster, clock, rec = make(A, B, size=2)
    c1 = result(pool.connection())
    c2 = result(pool.connection())
    pool.release(c2)
    w = pool.connection()  # gets c2... so lease once more to make a real waiter
    result(w)
    w2 = pool.connection()
    result(pool.close())
    failure(w2, errors.NoConnectionsAvailable)
    assert all(c.closed for c in cluster.connections)
    failure(pool.table("t").row(b"x"), errors.NoConnectionsAvailable)
    pool.release(c1)  # releasing after close is harmless
    assert pool.stats.in_use == 0


def test_refused_server_marked_down_and_skipped_then_back_up():
    pool, cluster, clock, rec = make(A, B, size=4, down_interval=5.0)
    cluster.servers[A].up = False
    conns = [result(pool.connection()) for _ in range(3)]
    assert {c.address for c in conns} == {B}
    assert ("server_marked_down", A) in rec.events
    assert ("connection_failed", A) in rec.events
    assert pool.stats.failures == {A: 1}
    assert pool.server_status()[A]["down"]
    cluster.servers[A].up = True
    clock.advance(5.0)
    c = result(pool.connection())
    assert c.address == A
    assert ("server_marked_up", A) in rec.events


def test_down_interval_doubles_and_is_capped():
    pool, cluster, clock, rec = make(A, B, size=8, down_interval=1.0, max_down_interval=3.0)
    cluster.servers[A].up = False
    for expected in (1.0, 2.0, 3.0, 3.0):
        start = clock.seconds()
        c = result(pool.connection())  # tries A (when up) then falls to B
        assert c.address == B
        assert pool.server_status()[A]["down_until"] - start == pytest.approx(expected)
        clock.advance(expected)


def test_all_down_names_every_server():
    pool, cluster, clock, _ = make(A, B)
    cluster.servers[A].up = cluster.servers[B].up = False
    exc = failure(pool.connection(), errors.AllServersUnavailable)
    assert set(exc.errors) == {A, B}
    assert all(isinstance(e, twisted_error.ConnectionRefusedError) for e in exc.errors.values())
    assert A in str(exc) and B in str(exc)
    # A call probes the gateways again after each back-off (down is a hint)
    # and fails only once its retry budget is spent.
    d = pool.table("t").row(b"r")
    assert not d.called
    clock.pump([1] * 10)
    exc = failure(d, errors.AllServersUnavailable)
    assert exc.attempts == () and set(exc.errors) == {A, B}
    assert pool.stats.retries == 3 and pool.stats.failures == {A: 5, B: 5}


def test_a_call_waits_out_every_gateway_down_and_succeeds_when_one_is_back():
    pool, cluster, clock, _ = make(A, B)
    cluster.servers[A].up = cluster.servers[B].up = False
    d = pool.table("t").row(b"r")
    assert not d.called
    cluster.servers[B].up = True  # revived while A and B are still marked down
    clock.advance(0.05)
    assert result(d) == {}
    assert not pool.server_status()[B]["down"]  # a successful connect: up at once
    assert pool.stats.failed_calls == 0


def test_retry_timeout_bounds_a_call_in_time():
    pool, cluster, clock, _ = make(A, max_retries=100, retry_backoff=1.0,
                                   max_retry_backoff=1.0, retry_timeout=2.5)
    cluster.servers[A].up = False
    d = pool.table("t").row(b"r")
    clock.pump([1, 0.9])  # attempts at 0 s, 1 s and 2 s: a third retry would end after 2.5 s
    assert not d.called
    clock.advance(0.1)
    failure(d, errors.AllServersUnavailable)
    assert pool.stats.retries == 2


def test_put_retried_after_lost_reply_on_another_gateway():
    pool, cluster, clock, _ = make(A, B, size=1)
    t = pool.table("t")
    result(t.row(b"warm"))  # the single connection lives on A
    first = cluster.connections[0].address
    cluster.servers[first].script.append(fakes.LOST_REPLY)
    d = t.put(b"r", {b"cf:a": b"1"})
    assert not d.called  # waiting for the back-off on the clock
    clock.advance(0.05)
    assert result(d) is None
    puts = [(s.address, m) for s in cluster.servers.values() for m, _ in s.calls if m == "mutateRow"]
    assert len(puts) == 2 and {a for a, _ in puts} == {A, B}  # repeated, on the other gateway
    assert pool.stats.retries == 1 and cluster.store[b"r"] == {b"cf:a": b"1"}


@pytest.mark.parametrize("fault", [fakes.LOST_REPLY, fakes.TIMEOUT])
def test_counter_never_repeated_after_lost_reply(fault):
    pool, cluster, clock, _ = make(A, B, size=1)
    t = pool.table("t")
    result(t.row(b"warm"))
    server = cluster.connections[0].address
    cluster.servers[server].script.append(fault)
    exc = failure(t.counter_inc(b"r", b"cf:c"), errors.ConnectionLost, errors.TimeoutError)
    assert exc.maybe_applied is True
    assert exc.servers == (server,) and len(exc.attempts) == 1
    applied = [m for s in cluster.servers.values() for m, _ in s.calls if m == "atomicIncrement"]
    assert applied == ["atomicIncrement"] and cluster.counters[(b"r", b"cf:c")] == 1
    assert pool.stats.retries == 0 and pool.stats.failed_calls == 1


def test_counter_retried_when_it_never_reached_the_server():
    pool, cluster, clock, _ = make(A, B, size=1)
    t = pool.table("t")
    result(t.row(b"warm"))
    cluster.servers[cluster.connections[0].address].script.append(fakes.NOT_SENT)
    d = t.counter_inc(b"r", b"cf:c", 5)
    clock.advance(1)
    assert result(d) == 5
    assert cluster.counters[(b"r", b"cf:c")] == 5 and pool.stats.retries == 1


def test_retryable_hbase_error_retried_without_marking_server_down():
    pool, cluster, clock, rec = make(A, size=1)
    cluster.servers[A].script.append(errors.HBaseIOError("region moving", can_retry=True))
    d = pool.table("t").row(b"r")
    clock.advance(1)
    assert result(d) == {}
    assert "server_marked_down" not in rec.names() and pool.stats.retries == 1


@pytest.mark.parametrize("exc", [errors.HBaseIOError("no such table", can_retry=False),
                                 errors.IllegalArgument("bad"), errors.ServerError("filter", 6)])
def test_server_rejections_are_not_retried(exc):
    pool, cluster, clock, rec = make(A, B, size=1)
    cluster.servers[A].script.append(exc)
    cluster.servers[B].script.append(exc)
    got = failure(pool.table("t").row(b"r"), type(exc))
    assert got is exc and len(got.attempts) == 1 and pool.stats.retries == 0
    assert "server_marked_down" not in rec.names()
    assert pool.stats.idle == 1  # the connection stays usable


def test_bad_argument_is_not_retried_and_not_a_server_fault():
    pool, cluster, clock, rec = make(A, size=1)
    with pytest.raises(TypeError):
        pool.table("t").row(5)
    assert pool.stats.retries == 0 and "server_marked_down" not in rec.names()
    assert pool.stats.in_use == 0


def test_retries_exhausted_report_attempts_and_back_off_on_clock():
    pool, cluster, clock, _ = make(A, B, size=1, max_retries=3, retry_backoff=0.1,
                                   down_interval=0.0)
    for s in cluster.servers.values():
        s.script.extend([fakes.LOST_REPLY] * 4)
    d = pool.table("t").row(b"r")
    for delay in (0.1, 0.2, 0.4):
        clock.advance(delay - 0.001)
        assert not d.called
        clock.advance(0.001)
    exc = failure(d, errors.ConnectionLost)
    assert len(exc.attempts) == 4 and len(exc.servers) == 4
    assert set(exc.servers) == {A, B}
    assert exc.servers[0] != exc.servers[1]  # a retry goes to the other gateway
    assert pool.stats.retries == 3 and pool.stats.failed_calls == 1


def test_recycle_after_n_leases():
    pool, cluster, clock, rec = make(A, size=1, recycle=2)
    t = pool.table("t")
    for _ in range(5):
        result(t.row(b"r"))
    assert pool.stats.recycled == 2 and pool.stats.opened == 3
    assert rec.names().count("connection_recycled") == 2
    assert [c.closed for c in cluster.connections] == [True, True, False]


def test_overflow_connections_are_closed_when_returned():
    pool, cluster, clock, _ = make(A, size=1, max_overflow=1)
    c1 = result(pool.connection())
    c2 = result(pool.connection())
    w = pool.connection()
    assert not w.called
    pool.release(c2)
    assert result(w) is c2
    pool.release(c2)
    assert c2.closed and not c1.closed  # above size: disposed on return
    pool.release(c1)
    assert pool.stats.idle == 1 and pool.stats.opened == 2


def test_bad_release_disposes_and_serves_waiter_with_fresh_connection():
    pool, cluster, clock, _ = make(A, size=1)
    c1 = result(pool.connection())
    w = pool.connection()
    pool.release(c1, bad=True)
    c2 = result(w)
    assert c1.closed and c2 is not c1


def test_keep_warm_calls_idle_connections_and_drops_dead_ones():
    pool, cluster, clock, rec = make(A, B, size=2, keepalive=30.0)
    c1, c2 = result(pool.connection()), result(pool.connection())
    pool.release(c1)
    pool.release(c2)
    clock.advance(30)
    assert sum(m == "getTableNames" for s in cluster.servers.values() for m, _ in s.calls) == 2
    cluster.servers[B].up = False
    clock.advance(30)
    assert pool.stats.idle == 1 and [c.address for c in cluster.connections if not c.closed] == [A]
    assert ("server_marked_down", B) in rec.events
    result(pool.close())
    clock.advance(60)  # the loop is stopped: no more calls
    assert sum(m == "getTableNames" for s in cluster.servers.values() for m, _ in s.calls) == 3


def test_prefill_opens_size_connections():
    pool, cluster, clock, _ = make(A, B, size=3, prefill=True)
    assert pool.stats.opened == 3 and pool.stats.idle == 3


def test_run_leases_and_releases():
    pool, cluster, clock, _ = make(A, size=1)
    assert result(pool.run(lambda conn, x: conn.address + x, "!")) == A + "!"
    assert pool.stats.in_use == 0 and pool.stats.idle == 1
    failure(pool.run(lambda conn: 1 / 0), ZeroDivisionError)
    assert pool.stats.in_use == 0 and pool.stats.idle == 1


def test_async_with_connection():
    pool, cluster, clock, _ = make(A, size=1)

    async def use():
        async with pool.connection() as conn:
            assert pool.stats.in_use == 1
            return conn.address

    assert result(defer.ensureDeferred(use())) == A
    assert pool.stats.in_use == 0


def test_listener_errors_do_not_break_the_pool():
    class Broken(PoolListener):
        def connection_checked_out(self, event):
            raise RuntimeError("listener bug")

    pool, cluster, clock, _ = make(A, size=1)
    pool.add_listener(Broken())
    assert result(pool.table("t").row(b"r")) == {}


@pytest.mark.parametrize("kw", [{"size": 0}, {"size": 1, "max_overflow": -1},
                                {"size": 1, "pool_timeout": -1}, {"size": 1, "recycle": 0},
                                {"size": 1, "servers": ["nohostport"]}, {"size": 1, "servers": []},
                                {"size": 1, "keepalive": 0}])
def test_bad_arguments(kw):
    with pytest.raises(ValueError):
        ConnectionPool(reactor=task.Clock(), connection_factory=lambda h, p: None, **kw)
    with pytest.raises(TypeError):
        ConnectionPool(1, servers="a:1", reactor=task.Clock())
    with pytest.raises(TypeError):
        ConnectionPool(1, reactor=task.Clock()).table(5)


# ---------------------------------------------------------------- scanner


def fill(cluster, n=6, cols=3):
    for i in range(n):
        cluster.store[b"row%02d" % i] = {b"cf:c%d" % j: b"v%d" % j for j in range(cols)}


def drain(scanner, clock):
    out = []
    while True:
        d = scanner.get_next()
        clock.advance(10)
        item = result(d)
        if item is None:
            return out
        out.append(item)


def test_scan_rows_once_and_lease_released():
    pool, cluster, clock, _ = make(A, size=1)
    fill(cluster)
    s = pool.table("t").scan()
    rows = drain(s, clock)
    assert [k for k, _ in rows] == sorted(cluster.store)
    assert pool.stats.in_use == 0
    assert result(s.get_next()) is None


@pytest.mark.parametrize("kw", [{}, {"reverse": True}, {"scan_batching": 2},
                                {"row_prefix": b"row0"}, {"limit": 4}])
@pytest.mark.parametrize("fault", [fakes.LOST_REPLY, fakes.NOT_SENT])
def test_scan_survives_losing_its_gateway(kw, fault):
    pool, cluster, clock, rec = make(A, B, size=2)
    fill(cluster, n=12)
    kw = dict(kw, batch_size=1)  # one scannerGetList per row: the fault hits mid-scan
    expected = drain(pool.table("t").scan(**kw), clock)
    s = pool.table("t").scan(**kw)
    got = [result(s.get_next()), result(s.get_next())]
    server = s.address
    cluster.servers[server].script.append(fault)
    got += drain(s, clock)
    assert got == expected
    assert pool.stats.retries == 1 and ("server_marked_down", server) in rec.events
    assert pool.stats.in_use == 0


def test_scan_close_releases_lease():
    pool, cluster, clock, _ = make(A, size=1)
    fill(cluster)
    s = pool.table("t").scan(batch_size=2)
    result(s.get_next())
    assert pool.stats.in_use == 1
    result(s.close())
    assert pool.stats.in_use == 0 and result(s.get_next()) is None


def test_scan_async_for():
    pool, cluster, clock, _ = make(A, size=1)
    fill(cluster, n=3)

    async def collect():
        return [k async for k, _ in pool.table("t").scan()]

    assert result(defer.ensureDeferred(collect())) == [b"row00", b"row01", b"row02"]


def test_scan_bad_arguments():
    pool, cluster, clock, _ = make(A)
    with pytest.raises(ValueError):
        pool.table("t").scan(limit=0)
    with pytest.raises(TypeError):
        pool.table("t").scan(row_prefix=b"a", row_start=b"b")
    with pytest.raises(ValueError):
        pool.table("t").scan(batch_size=0)
    with pytest.raises(TypeError):
        pool.table("t").scan(row_start=5)
    assert cluster.connections == []  # nothing was opened, let alone sent


# ---------------------------------------------------------------- batch


def test_batch_of_puts_retried_after_lost_reply():
    pool, cluster, clock, _ = make(A, B, size=1)
    result(pool.table("t").row(b"warm"))
    cluster.servers[cluster.connections[0].address].script.append(fakes.LOST_REPLY)
    b = pool.table("t").batch()
    result(b.put(b"r1", {b"cf:a": b"1"}))
    result(b.put(b"r2", {b"cf:a": b"2"}))
    d = b.send()
    clock.advance(1)
    assert result(d) is None
    assert cluster.store[b"r1"] == {b"cf:a": b"1"} and cluster.store[b"r2"] == {b"cf:a": b"2"}
    assert pool.stats.retries == 1


def test_batch_with_increments_not_repeated_after_lost_reply():
    from txhbase.batch import BatchError

    pool, cluster, clock, _ = make(A, B, size=1)
    result(pool.table("t").row(b"warm"))
    server = cluster.connections[0].address
    cluster.servers[server].script.extend([None, fakes.LOST_REPLY])  # mutateRows ok, increments lost
    b = pool.table("t").batch()
    result(b.put(b"r1", {b"cf:a": b"1"}))
    result(b.counter_inc(b"r1", b"cf:n", 3))
    exc = failure(b.send(), BatchError)
    assert exc.maybe_applied is True and exc.servers == (server,)
    assert cluster.counters == {(b"r1", b"cf:n"): 3} and pool.stats.retries == 0
    incs = [args for s in cluster.servers.values() for m, args in s.calls if m == "incrementRows"]
    assert len(incs) == 1 and incs[0][0][0].table == b"t"


def test_batch_async_with_sends_on_exit():
    pool, cluster, clock, _ = make(A, size=1)

    async def go():
        async with pool.table("t").batch() as b:
            await b.put(b"x", {b"cf:a": b"1"})
            await b.delete(b"x", [b"cf:b"])

    result(defer.ensureDeferred(go()))
    assert cluster.store[b"x"] == {b"cf:a": b"1"}


def test_connections_move_back_to_a_recovered_gateway():
    pool, cluster, clock, rec = make(A, B, size=4, down_interval=1.0)
    cluster.servers[A].up = False
    conns = [result(pool.connection()) for _ in range(4)]
    assert {c.address for c in conns} == {B}
    cluster.servers[A].up = True
    clock.advance(1.0)
    for c in conns:
        pool.release(c)
    again = [result(pool.connection()) for _ in range(4)]
    assert sorted(c.address for c in again) == [A, A, B, B]
    assert ("server_marked_up", A) in rec.events


def test_argument_types_and_values_as_happybase():
    """Issue 12 item 5: wrong type -> TypeError, wrong value -> ValueError."""
    with pytest.raises(TypeError, match="size"):
        ConnectionPool("abc", reactor=task.Clock())
    with pytest.raises(ValueError, match="size"):
        ConnectionPool(0, reactor=task.Clock())
    pool = ConnectionPool(1, host=None, reactor=task.Clock())  # as Connection(host=None)
    assert pool.servers == ["localhost:9090"]


def test_thrift_error_inside_async_with_connection_replaces_it():
    pool, cluster, clock, _ = make(A, size=1)

    async def use():
        async with pool.connection() as conn:
            raise errors.HBaseIOError("boom", can_retry=False)

    failure(defer.ensureDeferred(use()), errors.HBaseIOError)
    (first,) = cluster.connections
    assert first.closed and pool.stats.disposed == 1
    assert result(pool.connection()) is not first


def test_bad_connection_options_fail_at_construction():
    with pytest.raises(ValueError):
        ConnectionPool(1, reactor=task.Clock(), transport="carrier-pigeon")
    with pytest.raises(TypeError):
        ConnectionPool(1, reactor=task.Clock(), connection_factory=lambda h, p: None, timeout=5)


def test_factory_error_is_not_a_server_failure():
    def factory(host, port):
        raise ValueError("bad option")

    pool = ConnectionPool(1, servers=[A], reactor=task.Clock(), connection_factory=factory)
    failure(pool.connection(), ValueError)
    assert pool.stats.failures == {} and not pool.server_status()[A]["down"]
    assert pool.connection_status() == [] and pool.stats.opened == 0


def test_abandoned_scanner_returns_its_lease():
    import gc

    pool, cluster, clock, _ = make(A, size=1)
    fill(cluster)
    s = pool.table("t").scan(batch_size=2)
    result(s.get_next())
    assert pool.stats.in_use == 1
    del s
    gc.collect()
    clock.advance(0)
    assert pool.stats.in_use == 0 and pool.stats.disposed == 1
    assert result(pool.table("t").row(b"row00")) == {b"cf:c0": b"v0", b"cf:c1": b"v1", b"cf:c2": b"v2"}


@pytest.mark.parametrize("call", [
    lambda t: t.put(b"r", {b"cf:a": "not bytes"}),
    lambda t: t.put(b"r", {b"nofamily": b"x"}),
    lambda t: t.row(5),
    lambda t: t.counter_inc(b"r", b"cf:n", "1"),
    lambda t: t.rows("not a list"),
])
def test_bad_input_raises_at_once_and_opens_nothing(call):
    pool, cluster, clock, _ = make(A, size=1)
    with pytest.raises((TypeError, ValueError)):
        call(pool.table("t"))
    assert cluster.connections == [] and pool.stats.calls == 0


def test_each_lease_tries_each_gateway_once_even_without_down_interval():
    pool, cluster, clock, _ = make(A, B, down_interval=0.0)
    cluster.servers[A].up = cluster.servers[B].up = False
    exc = failure(pool.connection(), errors.AllServersUnavailable)
    assert set(exc.errors) == {A, B}
    assert pool.stats.failures == {A: 1, B: 1}


# ---------------------------------------------------------------- graceful close


def test_close_with_grace_lets_calls_in_flight_finish():
    pool, cluster, clock, _ = make(A, size=2)
    t = pool.table("t")
    cluster.servers[A].script.append(fakes.HOLD)
    d = t.put(b"r", {b"cf:a": b"1"})
    closing = pool.close(grace=5)
    assert not closing.called
    exc = failure(t.row(b"r"), errors.NoConnectionsAvailable)
    assert "the pool was closed" in str(exc)
    failure(pool.connection(), errors.NoConnectionsAvailable)
    (held, *_), = cluster.servers[A].held[:1]
    held.callback(cluster.servers[A].held[0][3]())
    assert result(d) is None and cluster.store[b"r"] == {b"cf:a": b"1"}
    assert result(closing) is None
    assert all(c.closed for c in cluster.connections) and pool.stats.in_use == 0


def test_close_with_grace_closes_what_is_left_when_it_ends():
    pool, cluster, clock, _ = make(A, size=2)
    cluster.servers[A].script.append(fakes.HOLD)
    pool.table("t").row(b"r")
    leased = result(pool.connection())
    closing = pool.close(grace=5)
    clock.advance(4.9)
    assert not closing.called and not leased.closed
    clock.advance(0.1)
    assert result(closing) is None
    assert all(c.closed for c in cluster.connections)
    pool.release(leased)  # after close: harmless


def test_close_at_once_fails_waiters():
    pool, cluster, clock, _ = make(A, size=1)
    c = result(pool.connection())
    w = pool.connection()
    assert result(pool.close(grace=0)) is None
    failure(w, errors.NoConnectionsAvailable)
    assert c.closed
