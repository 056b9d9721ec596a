"""Scans over a pool whose gateways flap (found by ``bench/soak.py --pattern flap``).

Two faults the flapping soak showed, on fakes and a ``task.Clock``:

* every gateway killed at once: a scan's lease (at open, or when resuming
  elsewhere) failed at once with ``AllServersUnavailable`` while single calls
  waited for the gateways under their retry budget;
* a scan that moved to another connection stayed registered with the one it
  left, so closing that connection later (idle disposal, recycling,
  rebalancing) cut the scan, now running elsewhere, with "connection closed
  with close() during the scan".
"""
from __future__ import annotations

import weakref
from typing import Any

from twisted.internet import defer, task

from txhbase import errors
from txhbase.pool import ConnectionPool
from tests.pool import fakes
from tests.pool.test_pool_unit import A, B, drain, failure, fill, make, result


def test_scan_opened_while_every_gateway_is_down_waits_for_one() -> None:
    pool, cluster, clock, _ = make(A, B, size=1, max_retries=100, retry_timeout=10.0)
    fill(cluster)
    cluster.servers[A].up = cluster.servers[B].up = False
    s = pool.table("t").scan()
    first = s.get_next()
    clock.advance(1.0)
    assert not first.called, "the scan gave up while its retry budget lasted"
    cluster.servers[B].up = True
    clock.advance(3.0)
    rows = [result(first)] + drain(s, clock)
    assert [k for k, _ in rows] == sorted(cluster.store)
    assert pool.stats.in_use == 0


def test_scan_resumed_while_every_gateway_is_down_waits_for_one() -> None:
    pool, cluster, clock, _ = make(A, B, size=1, max_retries=100, retry_timeout=10.0)
    fill(cluster, n=8)
    expected = drain(pool.table("t").scan(batch_size=1), clock)
    s = pool.table("t").scan(batch_size=1)
    got = [result(s.get_next()), result(s.get_next())]
    cluster.servers[A].up = cluster.servers[B].up = False
    nxt = s.get_next()
    while nxt.called:  # rows fetched ahead before the gateways went down
        got.append(result(nxt))
        nxt = s.get_next()
    clock.advance(1.0)
    assert not nxt.called, "the scan gave up while its retry budget lasted"
    assert len(got) < len(expected)
    cluster.servers[A].up = True
    clock.advance(3.0)
    got += [result(nxt)] + drain(s, clock)
    assert got == expected


def test_scan_still_fails_once_its_budget_is_spent() -> None:
    pool, cluster, clock, _ = make(A, B, size=1, max_retries=100, retry_timeout=2.0)
    fill(cluster)
    cluster.servers[A].up = cluster.servers[B].up = False
    s = pool.table("t").scan()
    first = s.get_next()
    clock.advance(5.0)
    failure(first, errors.AllServersUnavailable)
    assert pool.stats.in_use == 0


class TrackingConnection(fakes.FakeConnection):
    """A fake that, like ``txhbase.Connection``, ends the scanners it tracks when closed."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.live_scanners: "weakref.WeakSet[Any]" = weakref.WeakSet()

    def track(self, scanner: Any) -> None:
        self.live_scanners.add(scanner)

    def close(self) -> defer.Deferred:
        if self.is_open:
            for scanner in list(self.live_scanners):
                scanner.connection_closing()
        return super().close()


def test_closing_the_connection_a_scan_left_does_not_cut_the_scan() -> None:
    cluster = fakes.FakeCluster(A, B)
    clock = task.Clock()
    conns: list = []

    def factory(host: str, port: int) -> TrackingConnection:
        conn = TrackingConnection(cluster, f"{host}:{port}")
        conns.append(conn)
        return conn

    pool = ConnectionPool(2, servers=[A, B], reactor=clock, clock=clock,
                          connection_factory=factory, random=lambda: 1.0)
    fill(cluster, n=8)
    expected = drain(pool.table("t").scan(batch_size=1), clock)
    s = pool.table("t").scan(batch_size=1)
    got = [result(s.get_next()), result(s.get_next())]
    left = s.address
    cluster.servers[left].script.append(errors.TimeoutError("timed out"))
    for _ in range(3):  # the next fetch times out: the scan resumes on the other gateway
        d = s.get_next()
        clock.advance(1.0)
        got.append(result(d))
        if s.address != left:
            break
    assert s.address not in (left, None)
    for conn in conns:
        if conn.address == left:
            conn.close()  # e.g. the pool disposes of it later
    got += drain(s, clock)
    assert got == expected
