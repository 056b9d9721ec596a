"""The pool's connections: opening them, lending them, sharing them.

A connection is in one mode at a time:

* **leased**: lent to one borrower (``pool.connection()``, a scanner's pin,
  ``pool.run``) and given back with ``checkin``;
* **shared**: single calls pipeline on it (replies are matched by seqid,
  so they never mix), at most ``max_in_flight`` at once; new connections
  are opened up to ``size`` once every shared one has a few calls in flight;
* **idle**: in the idle queue, ready for either.

Waiters for a lease or for a shared slot queue in order and time out after
``pool_timeout`` (``NoConnectionsAvailable``).
"""
from __future__ import annotations

import logging
from collections import deque
from typing import (AbstractSet, Any, Callable, Deque, Dict, FrozenSet, Generator, List,
                    Optional, Protocol, Union)

from twisted.internet import defer

from txhbase.caller import Clock, DelayedCall
from txhbase.errors import NoConnectionsAvailable
from txhbase.pool.events import Events, PoolStats
from txhbase.pool.servers import Server, Servers

__all__ = ["PoolConnection", "Pooled", "Leases"]

log = logging.getLogger("txhbase.pool")

# A single call goes to a new connection (while there is room) rather than
# pipelining behind this many calls on the least busy shared one.
SHARE_THRESHOLD = 4


class PoolConnection(Protocol):
    """What the pool needs of a connection (``txhbase.Connection`` has it)."""

    def open(self) -> "defer.Deferred[Any]":
        """Connect; fails when the gateway cannot be reached."""

    def close(self) -> "defer.Deferred[None]":
        """Close; fires once closed."""

    def call(self, method: str, *args: Any, timeout: Optional[float] = None) -> "defer.Deferred[Any]":
        """One Thrift call (see ``txhbase.caller.Caller.call``)."""


#: ``(host, port) -> connection``; the default builds ``txhbase.Connection``.
ConnectionFactory = Callable[[str, int], PoolConnection]


class Pooled:
    """A pooled connection and its bookkeeping."""

    __slots__ = ("conn", "server", "leases", "leased", "disposed", "warming",
                 "shared", "in_flight", "retiring", "faulted")

    def __init__(self, conn: PoolConnection, server: Server) -> None:
        self.conn = conn
        self.server = server
        self.leases = 0
        self.leased = False
        self.disposed = False
        self.warming = False
        # Shared mode: ``leased`` is True too (out of the idle queue, counted in
        # in_use) but ``in_flight`` single calls pipeline on it at once.
        self.shared = False
        self.in_flight = 0
        self.retiring = False   # no new shared calls; closed when the last ends
        self.faulted = False    # a server fault was already counted for it


class _Waiter:
    __slots__ = ("deferred", "avoid", "timer", "shared")

    def __init__(self, deferred: "defer.Deferred[Pooled]", avoid: AbstractSet[str],
                 shared: bool = False) -> None:
        self.deferred = deferred
        self.avoid = avoid
        self.timer: Optional[DelayedCall] = None
        self.shared = shared


class _Open:
    """``Leases.try_shared``: open a new connection for this call."""


OPEN = _Open()


class Leases:
    """Every connection of one pool, and the queues waiting for one."""

    def __init__(self, factory: ConnectionFactory, servers: Servers, events: Events,
                 stats: PoolStats, clock: Clock, *, size: int, max_overflow: int,
                 pool_timeout: Optional[float], recycle: Optional[int],
                 max_in_flight: int) -> None:
        self.factory = factory
        self.servers = servers
        self.events = events
        self.stats = stats
        self.clock = clock
        self.size = size
        self.max_overflow = max_overflow
        self.pool_timeout = pool_timeout
        self.recycle = recycle
        self.max_in_flight = max_in_flight
        self.closed = False
        self.idle: Deque[Pooled] = deque()
        self.all: Dict[int, Pooled] = {}
        self.opening = 0
        self.waiters: Deque[_Waiter] = deque()
        self.shared: List[Pooled] = []
        self.shared_waiters: Deque[_Waiter] = deque()
        self._empty_waiters: "List[defer.Deferred[None]]" = []

    def when_empty(self) -> "defer.Deferred[None]":
        """Fire once no connection is open (or opening)."""
        if not self.all and not self.opening:
            return defer.succeed(None)
        d: "defer.Deferred[None]" = defer.Deferred()
        self._empty_waiters.append(d)
        return d

    def refresh_stats(self) -> None:
        self.stats.idle = len(self.idle)
        self.stats.waiting = len(self.waiters) + len(self.shared_waiters)

    def total(self) -> int:
        """Connections open or opening."""
        return len(self.all) + self.opening

    def busy(self) -> int:
        """Connections lent or carrying shared calls."""
        return sum(1 for r in self.all.values() if r.leased)

    # ------------------------------------------------------------------ exclusive leases

    def lease(self, avoid: AbstractSet[str], timeout: Optional[float]) -> "defer.Deferred[Pooled]":
        """Fire with a checked-out ``Pooled``; prefer servers not in ``avoid``."""
        if self.closed:
            return defer.fail(NoConnectionsAvailable("the pool was closed"))
        rec = self.take_idle(avoid)
        if rec is not None:
            self.checkout(rec)
            return defer.succeed(rec)
        if self.total() < self.size + self.max_overflow:
            return self.open_new(avoid)
        # Everything is lent: wait for a release.
        waiter = _Waiter(defer.Deferred(lambda d: self.drop_waiter(waiter)), avoid)
        self.waiters.append(waiter)
        self.refresh_stats()
        self.events.emit("pool_at_max", waiting=len(self.waiters))
        if timeout is None:
            timeout = self.pool_timeout
        if timeout is not None:
            waiter.timer = self.clock.callLater(timeout, self.waiter_timed_out, waiter, timeout)
        return waiter.deferred

    # ------------------------------------------------------------------ shared calls

    def lease_shared(self, avoid: AbstractSet[str]) -> "defer.Deferred[Pooled]":
        """Fire with a shared ``Pooled`` that has one more call in flight.

        Give the slot back with ``shared_done``.  Waits (``pool_timeout``)
        when every connection is lent exclusively or at ``max_in_flight``.
        """
        if self.closed:
            return defer.fail(NoConnectionsAvailable("the pool was closed"))
        got = self.try_shared(avoid)
        if got is OPEN:
            return self.open_shared(avoid)
        if isinstance(got, Pooled):
            self.start_shared(got)
            return defer.succeed(got)
        waiter = _Waiter(defer.Deferred(lambda d: self.drop_waiter(waiter)), avoid, shared=True)
        self.shared_waiters.append(waiter)
        self.refresh_stats()
        self.events.emit("pool_at_max", waiting=len(self.waiters) + len(self.shared_waiters))
        if self.pool_timeout is not None:
            waiter.timer = self.clock.callLater(self.pool_timeout, self.waiter_timed_out,
                                                waiter, self.pool_timeout)
        return waiter.deferred

    def _shareable(self, rec: Pooled, now: float) -> bool:
        return (not rec.disposed and not rec.retiring and not rec.server.is_down(now)
                and (self.recycle is None or rec.leases < self.recycle))

    def _least_busy(self, avoid: AbstractSet[str], below: int,
                    skip_avoided: bool) -> Optional[Pooled]:
        """The shareable connection with the fewest calls in flight (< ``below``),
        on a gateway not in ``avoid`` if possible."""
        now = self.clock.seconds()
        best: Optional[Pooled] = None
        best_key = (True, 0)
        for rec in self.shared:
            if rec.in_flight >= below or not self._shareable(rec, now):
                continue
            avoided = rec.server.address in avoid
            if avoided and skip_avoided:
                continue
            key = (avoided, rec.in_flight)
            if best is None or key < best_key:
                best, best_key = rec, key
        return best

    def try_shared(self, avoid: AbstractSet[str]) -> Union[Pooled, _Open, None]:
        """A shared ``Pooled`` to use now, ``OPEN`` to open one, or None to wait."""
        rec = self._least_busy(avoid, min(SHARE_THRESHOLD, self.max_in_flight), True)
        if rec is not None:
            return rec
        rec = self.take_idle(avoid)
        if rec is not None:
            self.checkout(rec)
            self._make_shared(rec)
            return rec
        if self.total() < self.size:
            return OPEN
        rec = self._least_busy(avoid, self.max_in_flight, False)
        if rec is not None and rec.in_flight >= SHARE_THRESHOLD and self.opening:
            return None  # a connection is opening: spread the load over it too
        if rec is None and not self.opening and self.total() < self.size + self.max_overflow:
            return OPEN  # all lent or full: an overflow connection, closed once idle
        return rec

    def _make_shared(self, rec: Pooled) -> None:
        rec.shared = True
        rec.leases -= 1  # counted per call instead (``recycle``)
        self.shared.append(rec)

    def start_shared(self, rec: Pooled) -> None:
        rec.in_flight += 1
        rec.leases += 1

    def open_shared(self, avoid: AbstractSet[str]) -> "defer.Deferred[Pooled]":
        def opened(rec: Pooled) -> Pooled:
            self._make_shared(rec)
            self.start_shared(rec)
            return rec

        def then(result: Any) -> Any:
            self.serve_shared_waiters()
            return result

        return self.open_new(avoid).addCallback(opened).addBoth(then)

    def shared_done(self, rec: Pooled, bad: bool) -> None:
        """A shared call on ``rec`` ended; ``bad``: take no more calls, close it once idle."""
        rec.in_flight -= 1
        if bad:
            rec.retiring = True
        if rec.in_flight == 0:
            if rec in self.shared:
                self.shared.remove(rec)
            close = rec.retiring
            rec.shared = rec.retiring = rec.faulted = False
            if rec.leased and not rec.disposed:
                self.checkin(rec, close)
                return  # checkin served the waiters
        self.serve_shared_waiters()

    def serve_shared_waiters(self) -> None:
        """Hand free call slots (or new connections) to waiting single calls, in order."""
        while self.shared_waiters and not self.closed:
            waiter = self.shared_waiters[0]
            got = self.try_shared(waiter.avoid)
            if got is None:
                break
            self.shared_waiters.popleft()
            self._stop_timer(waiter)
            self.refresh_stats()
            if isinstance(got, Pooled):
                self.start_shared(got)
                waiter.deferred.callback(got)
            else:
                self.open_shared(waiter.avoid).chainDeferred(waiter.deferred)

    # ------------------------------------------------------------------ waiters

    @staticmethod
    def _stop_timer(waiter: _Waiter) -> None:
        if waiter.timer is not None and waiter.timer.active():
            waiter.timer.cancel()
        waiter.timer = None

    def drop_waiter(self, waiter: _Waiter) -> None:
        if waiter in self.waiters:
            self.waiters.remove(waiter)
        if waiter in self.shared_waiters:
            self.shared_waiters.remove(waiter)
        self._stop_timer(waiter)
        self.refresh_stats()

    def waiter_timed_out(self, waiter: _Waiter, timeout: float) -> None:
        waiter.timer = None
        queue = self.shared_waiters if waiter.shared else self.waiters
        if waiter in queue:
            queue.remove(waiter)
            self.refresh_stats()
            waiter.deferred.errback(NoConnectionsAvailable(
                f"no connection available within {timeout} s "
                f"({self.size + self.max_overflow} lent)"))

    def fail_waiters(self, exc: BaseException) -> None:
        """Fail every waiting lease and shared call with ``exc``."""
        for queue in (self.waiters, self.shared_waiters):
            while queue:
                waiter = queue.popleft()
                self._stop_timer(waiter)
                waiter.deferred.errback(exc)
        self.refresh_stats()

    def _give_to_waiter(self, rec: Pooled) -> bool:
        if not self.waiters:
            return False
        waiter = self.waiters.popleft()
        self._stop_timer(waiter)
        self.refresh_stats()
        self.checkout(rec)
        waiter.deferred.callback(rec)
        return True

    def serve_waiters(self) -> None:
        """Open connections for waiters while there is room (after a dispose)."""
        while self.waiters and self.total() < self.size + self.max_overflow and not self.closed:
            waiter = self.waiters.popleft()
            self._stop_timer(waiter)
            self.refresh_stats()
            self.open_new(waiter.avoid).chainDeferred(waiter.deferred)

    # ------------------------------------------------------------------ idle, in, out

    def take_idle(self, avoid: AbstractSet[str]) -> Optional[Pooled]:
        now = self.clock.seconds()
        fallback = None
        for rec in list(self.idle):
            if rec.server.is_down(now):
                # Its gateway failed since: do not lend it, close it.
                self.idle.remove(rec)
                self.dispose(rec)
                continue
            if rec.server.address in avoid:
                if fallback is None:
                    fallback = rec
                continue
            self.idle.remove(rec)
            return rec
        if fallback is not None and not (
                self.total() < self.size + self.max_overflow
                and self.servers.any_up_elsewhere(avoid)):
            self.idle.remove(fallback)
            return fallback
        return None

    def checkout(self, rec: Pooled) -> None:
        rec.leased = True
        rec.leases += 1
        self.stats.in_use += 1
        self.refresh_stats()
        self.events.emit("connection_checked_out", server=rec.server.address,
                         connection=rec.conn)

    def checkin(self, rec: Pooled, bad: bool) -> None:
        """A lent connection comes back (``bad``: close it instead of reusing it)."""
        rec.leased = False
        self.stats.in_use -= 1
        self.events.emit("connection_checked_in", server=rec.server.address, connection=rec.conn)
        if rec.disposed:
            pass
        elif self.closed or bad or rec.server.is_down(self.clock.seconds()):
            self.dispose(rec)
        elif self.recycle is not None and rec.leases >= self.recycle:
            self.stats.recycled += 1
            self.events.emit("connection_recycled", server=rec.server.address,
                             connection=rec.conn)
            self.dispose(rec)
        elif rec.server.connections - self.servers.fewest_up_connections(
                rec.server.connections) >= 2:
            # After a failover the survivors hold every connection; closing
            # one on its return lets the next lease open it on the recovered
            # gateway.
            self.dispose(rec)
        elif self._give_to_waiter(rec):
            return
        elif len(self.all) > self.size:
            self.dispose(rec)  # overflow connection: not kept
        else:
            self.idle.append(rec)
            self.refresh_stats()
            self.serve_shared_waiters()
            return
        self.refresh_stats()
        self.serve_waiters()
        self.serve_shared_waiters()

    def return_idle(self, rec: Pooled) -> None:
        """An idle connection that was busy a moment (keep-warm) is ready again."""
        if not self._give_to_waiter(rec):
            self.idle.append(rec)
            self.serve_shared_waiters()

    def drop_idle_of(self, server: Server) -> None:
        """Close the idle connections to ``server`` (it just failed)."""
        for rec in [r for r in self.idle if r.server is server]:
            self.idle.remove(rec)
            self.dispose(rec)
        self.refresh_stats()

    # ------------------------------------------------------------------ open, dispose

    @defer.inlineCallbacks
    def open_new(self, avoid: AbstractSet[str]) -> Generator["defer.Deferred[Any]", Any, Pooled]:
        """Open a connection on the best gateway, trying each at most once
        (down ones too, as probes, when no up one is left)."""
        tried: set[str] = set()
        while True:
            server = self.servers.pick(avoid, tried)  # raises AllServersUnavailable
            tried.add(server.address)
            self.opening += 1
            server.connections += 1
            try:
                conn = self.factory(server.host, server.port)
            except BaseException:
                self.opening -= 1
                server.connections -= 1
                raise
            try:
                yield defer.maybeDeferred(conn.open)
            except defer.CancelledError:
                self.opening -= 1
                server.connections -= 1
                defer.maybeDeferred(conn.close).addErrback(lambda f: None)
                raise
            except Exception as exc:
                self.opening -= 1
                server.connections -= 1
                self.events.emit("connection_failed", server=server.address, error=exc)
                self.server_failed(server, exc)
                log.info("cannot connect to %s: %s", server.address, exc)
                continue
            self.opening -= 1
            rec = Pooled(conn, server)
            self.all[id(conn)] = rec
            self.stats.opened += 1
            self.events.emit("connection_created", server=server.address, connection=conn)
            self.servers.ok(server)
            if self.closed:
                self.dispose(rec)
                raise NoConnectionsAvailable("the pool was closed")
            self.checkout(rec)
            return rec

    def server_failed(self, server: Server, exc: BaseException) -> None:
        """Mark ``server`` down and close its idle connections."""
        self.servers.failed(server, exc)
        self.drop_idle_of(server)

    def dispose(self, rec: Pooled) -> "defer.Deferred[None]":
        """Close ``rec`` and drop it from the pool; fires once closed, never fails."""
        if rec.disposed:
            return defer.succeed(None)
        rec.disposed = True
        if self.all.get(id(rec.conn)) is rec:
            del self.all[id(rec.conn)]
        rec.server.connections -= 1
        self.stats.disposed += 1
        self.events.emit("connection_disposed", server=rec.server.address, connection=rec.conn)
        d: "defer.Deferred[None]" = defer.maybeDeferred(rec.conn.close)
        d.addErrback(lambda f: log.debug("closing %s: %s", rec.server.address,
                                         f.getErrorMessage()))
        if not self.all and not self.opening and self._empty_waiters:
            waiters, self._empty_waiters = self._empty_waiters, []
            def fire(result: Any) -> Any:
                for w in waiters:
                    w.callback(None)
                return result

            d.addBoth(fire)
        return d

    def close_all(self) -> "defer.Deferred[None]":
        """Close every connection, lent ones too; fires once all are closed."""
        self.shared.clear()
        closes = []
        for rec in list(self.all.values()):
            if rec.leased:
                rec.leased = False
                self.stats.in_use -= 1
            closes.append(self.dispose(rec))
        self.idle.clear()
        self.refresh_stats()
        return defer.gatherResults(closes).addCallback(lambda _: None)

    def snapshot(self) -> List[Dict[str, Any]]:
        """One dict per connection: server, connection, leased, shared, in_flight."""
        return [{"server": r.server.address, "connection": r.conn, "leased": r.leased,
                 "shared": r.shared, "in_flight": r.in_flight} for r in self.all.values()]
