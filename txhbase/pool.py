"""ConnectionPool: leases over several Thrift gateways, failover, safe retries.

A pool keeps up to ``size`` (+ ``max_overflow``) ``Connection`` objects spread
over the healthy gateways of ``servers``.  Each lease is exclusive: a
connection is lent to one borrower at a time, so replies of two borrowers are
never mixed.  A gateway that refuses a connection or drops one is marked down
for a back-off interval (doubling on each consecutive failure, up to
``max_down_interval``) and skipped; when all are down a lease fails at once
with ``AllServersUnavailable`` naming each server's last error.

``pool.table(name)`` returns a ``PooledTable``. Its single calls (``row``,
``put``, ``counter_inc``, ...: one Thrift call each) do not lease: they run
on a *shared* pooled connection, the healthy one with the fewest calls in
flight, pipelined (replies are matched by seqid, so they never mix), at most
``max_in_flight`` per connection; new connections are opened up to ``size``
once every shared one has a few calls in flight.  Scans, batches, ``count``,
``pool.connection()`` and ``run()`` lease a connection exclusively; a
connection is in one mode at a time.  Calls are retried under
``txhbase._retry``'s policy (see there for what is retried and why).

Time (pool timeouts, back-off, server down intervals, keep-warm) runs on the
``clock`` passed in, so tests use ``task.Clock``.

Example::

    pool = ConnectionPool(8, servers=["gw1:9090", "gw2:9090", "gw3:9090"],
                          timeout=5000, keepalive=30, pool_timeout=10)
    table = pool.table("events")

    @inlineCallbacks
    def record(key, data):
        yield table.put(key, data)                 # retried on another gateway if needed
        try:
            n = yield table.counter_inc(key, b"cf:hits")
        except TxHBaseError as e:
            if e.maybe_applied:                     # reply lost: never repeated for you
                log.warning("hit may or may not be counted (%s)", e.servers)

    async def report():
        async for key, data in table.scan(row_prefix=b"2026-"):   # survives a gateway loss
            ...
        async with pool.connection() as conn:      # a plain leased Connection
            print(await conn.tables())

    pool.stats.as_dict()   # opened, in_use, waiting, retries, failures per gateway
"""
from __future__ import annotations

import itertools
import logging
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence

from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from txhbase import _retry
from txhbase.batch import Batch
from txhbase.protocol.idl import hbase
from txhbase.scanner import ScanSpec
from txhbase.table import Table, split_ranges
from txhbase.errors import AllServersUnavailable, NoConnectionsAvailable

log = logging.getLogger(__name__)

__all__ = ["ConnectionPool", "PoolListener", "PoolStats", "PooledBatch", "PooledTable", "PooledScanner"]


class PoolListener:
    """Receives pool events (pycassa style); override the ones you need.

    Every method gets one ``dict`` with at least ``pool`` and, where it makes
    sense, ``server`` (``'host:port'``), ``connection`` and ``error``.
    Exceptions raised by a listener are logged and otherwise ignored.
    """

    def connection_created(self, event: dict) -> None:
        """A new connection was opened."""

    def connection_checked_out(self, event: dict) -> None:
        """A connection was lent."""

    def connection_checked_in(self, event: dict) -> None:
        """A lent connection came back."""

    def connection_failed(self, event: dict) -> None:
        """Opening a connection, or a call on it, failed at the connection level."""

    def connection_disposed(self, event: dict) -> None:
        """A connection was closed and dropped from the pool."""

    def connection_recycled(self, event: dict) -> None:
        """A connection reached ``recycle`` leases and was replaced."""

    def pool_at_max(self, event: dict) -> None:
        """A lease had to wait: every connection is lent and none may be added."""

    def server_marked_down(self, event: dict) -> None:
        """A gateway is skipped until ``event['until']`` (clock seconds)."""

    def server_marked_up(self, event: dict) -> None:
        """A gateway that was marked down works again."""


_EVENTS = ("connection_created", "connection_checked_out", "connection_checked_in",
           "connection_failed", "connection_disposed", "connection_recycled",
           "pool_at_max", "server_marked_down", "server_marked_up")


@dataclass
class PoolStats:
    """Counters a service can export; ``as_dict()`` gives a plain snapshot."""

    opened: int = 0
    disposed: int = 0
    recycled: int = 0
    in_use: int = 0
    idle: int = 0
    waiting: int = 0
    calls: int = 0
    retries: int = 0
    failed_calls: int = 0
    failures: dict = field(default_factory=dict)  # server -> connection-level failures

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["failures"] = dict(self.failures)
        return d


class _Server:
    """Health of one gateway."""

    def __init__(self, address: str) -> None:
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"servers entries must be 'host:port', not {address!r}")
        self.address = address
        self.host = host
        self.port = int(port)
        self.down_until = 0.0
        self.marked_down = False
        self.consecutive_failures = 0
        self.last_error: Optional[BaseException] = None
        self.connections = 0  # open or opening

    def is_down(self, now: float) -> bool:
        return now < self.down_until


class _Pooled:
    """A pooled connection and its bookkeeping."""

    __slots__ = ("conn", "server", "leases", "leased", "disposed", "warming",
                 "shared", "in_flight", "retiring", "faulted")

    def __init__(self, conn: Any, server: _Server) -> None:
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

    def __init__(self, deferred: defer.Deferred, avoid: frozenset, shared: bool = False) -> None:
        self.deferred = deferred
        self.avoid = avoid
        self.timer: Any = None
        self.shared = shared


# A single call goes to a new connection (while there is room) rather than
# pipelining behind this many calls on the least busy shared one.
_SHARE_THRESHOLD = 4
# Methods of PooledTable that are not one Thrift call (count scans): exclusive.
_EXCLUSIVE_METHODS = frozenset({"count"})
_OPEN = object()  # _try_shared: open a new connection for this call


class _LeaseDeferred(defer.Deferred):
    """The Deferred ``pool.connection()`` returns; also an async context manager."""

    pool: "ConnectionPool"

    async def __aenter__(self) -> Any:
        d: defer.Deferred = defer.Deferred()

        def forward(result: Any) -> Any:
            if isinstance(result, Failure):
                d.errback(result)
                return None  # handed on to the awaiting coroutine
            d.callback(result)
            return result

        self.addBoth(forward)
        self._conn = await d
        return self._conn

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        bad = exc is not None and _retry.classify(exc, _retry.UNSAFE).connection_bad
        self.pool.release(self._conn, bad=bad)


def _default_factory(reactor: Any, kwargs: dict) -> Callable[[str, int], Any]:
    def make(host: str, port: int) -> Any:
        from txhbase.connection import Connection

        return Connection(host, port, reactor=reactor, **kwargs)

    return make


class ConnectionPool:
    """A pool of ``Connection`` objects over one or several gateways.

    :param size: connections kept open (at most; opened lazily unless ``prefill``).
    :param host, port: the gateway when ``servers`` is not given.
    :param servers: list of ``'host:port'`` gateways; connections are spread
        over the healthy ones, retries prefer a gateway not tried yet.
    :param max_overflow: extra connections opened under load, closed when returned.
    :param pool_timeout: seconds a lease waits for a free connection before
        failing with ``NoConnectionsAvailable`` (None: wait forever).
    :param recycle: replace a connection after this many leases.
    :param prefill: open ``size`` connections at once.
    :param max_in_flight: most single calls pipelined on one shared connection;
        beyond it (on every connection) a call waits, ``pool_timeout`` applies.
    :param max_retries: retries of a pooled call (so ``max_retries + 1`` attempts).
    :param retry_backoff: base of the exponential back-off between retries, seconds.
    :param max_retry_backoff: cap of one back-off wait, seconds.
    :param down_interval: seconds a failed gateway is skipped (doubles per
        consecutive failure up to ``max_down_interval``).
    :param keepalive: every this many seconds, idle connections make a cheap
        call (``getTableNames``) so gateways do not close them as idle
        (HBase's default idle timeout is 60 s); None disables it.
    :param reactor: used for connections; ``clock`` (default: the reactor) for time.
    :param connection_factory: ``(host, port) -> Connection``-like object with
        ``open()``, ``close()``, ``table(name, use_prefix=...)`` and ``tables()``;
        default builds ``txhbase.Connection(host, port, **connection_kwargs)``.
    :param random: source of jitter in [0, 1), for deterministic tests.
    :param connection_kwargs: passed to each ``Connection`` (``timeout`` in ms,
        ``transport``, ``protocol``, ``table_prefix``, ``compat``, ...).  Give a
        ``timeout``: without one a stalled gateway is never detected and a
        call can wait forever; with one, a pooled call fires within about
        ``(max_retries + 1) * timeout`` plus back-off waits.
    """

    def __init__(
        self,
        size: int,
        host: str = "localhost",
        port: int = 9090,
        *,
        servers: Optional[Sequence[str]] = None,
        max_overflow: int = 0,
        pool_timeout: Optional[float] = None,
        recycle: Optional[int] = None,
        prefill: bool = False,
        max_in_flight: int = 64,
        max_retries: int = 3,
        retry_backoff: float = 0.05,
        max_retry_backoff: float = 2.0,
        down_interval: float = 1.0,
        max_down_interval: float = 30.0,
        keepalive: Optional[float] = None,
        reactor: Any = None,
        clock: Optional[IReactorTime] = None,
        connection_factory: Optional[Callable[[str, int], Any]] = None,
        listeners: Iterable[PoolListener] = (),
        random: Optional[Callable[[], float]] = None,
        **connection_kwargs: Any,
    ) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"size must be an int >= 1, not {size!r}")
        if not isinstance(max_overflow, int) or isinstance(max_overflow, bool) or max_overflow < 0:
            raise ValueError(f"max_overflow must be an int >= 0, not {max_overflow!r}")
        if pool_timeout is not None and (not isinstance(pool_timeout, (int, float)) or pool_timeout < 0):
            raise ValueError(f"pool_timeout must be a number >= 0 or None, not {pool_timeout!r}")
        if recycle is not None and (not isinstance(recycle, int) or isinstance(recycle, bool) or recycle < 1):
            raise ValueError(f"recycle must be an int >= 1 or None, not {recycle!r}")
        if not isinstance(max_in_flight, int) or isinstance(max_in_flight, bool) or max_in_flight < 1:
            raise ValueError(f"max_in_flight must be an int >= 1, not {max_in_flight!r}")
        if keepalive is not None and (not isinstance(keepalive, (int, float)) or keepalive <= 0):
            raise ValueError(f"keepalive must be a number > 0 or None, not {keepalive!r}")
        if not isinstance(down_interval, (int, float)) or down_interval < 0:
            raise ValueError(f"down_interval must be a number >= 0, not {down_interval!r}")
        if servers is None:
            if not isinstance(host, str):
                raise TypeError(f"host must be a str, not {type(host).__name__}")
            if not isinstance(port, int) or isinstance(port, bool):
                raise TypeError(f"port must be an int, not {type(port).__name__}")
            servers = [f"{host}:{port}"]
        elif isinstance(servers, (str, bytes)) or not all(isinstance(s, str) for s in servers):
            raise TypeError("servers must be a list of 'host:port' strings")
        if not servers:
            raise ValueError("servers must not be empty")
        if reactor is None:
            from twisted.internet import reactor as _reactor  # noqa: PLC0415

            reactor = _reactor
        self._reactor = reactor
        self.clock: IReactorTime = clock if clock is not None else reactor
        self._servers = [_Server(s) for s in servers]
        self.size = size
        self.max_overflow = max_overflow
        self.pool_timeout = pool_timeout
        self.recycle = recycle
        self.max_in_flight = max_in_flight
        self.down_interval = float(down_interval)
        self.max_down_interval = float(max(max_down_interval, down_interval))
        policy_kw: dict = {}
        if random is not None:
            policy_kw["random"] = random
        self.policy = _retry.RetryPolicy(max_retries=max_retries, base=retry_backoff,
                                         cap=max(max_retry_backoff, retry_backoff), **policy_kw)
        if connection_factory is None:
            connection_factory = _default_factory(reactor, connection_kwargs)
            # Bad connection options are the caller's error, reported now - not
            # mistaken later for unreachable gateways. (No I/O: nothing connects.)
            connection_factory(self._servers[0].host, self._servers[0].port)
        elif connection_kwargs:
            raise TypeError("connection options ("
                            + ", ".join(sorted(connection_kwargs))
                            + ") cannot be combined with connection_factory")
        self._factory = connection_factory
        self.compat: str = connection_kwargs.get("compat", "0.98")
        self._listeners: list[PoolListener] = list(listeners)
        self.stats = PoolStats()
        self._idle: deque[_Pooled] = deque()
        self._all: dict[int, _Pooled] = {}
        self._opening = 0
        self._waiters: deque[_Waiter] = deque()
        self._shared: list[_Pooled] = []
        self._shared_waiters: deque[_Waiter] = deque()
        self._rr = itertools.count()
        self._closed = False
        self._keepalive: Optional[task.LoopingCall] = None
        if keepalive is not None:
            self._keepalive = task.LoopingCall(self._keep_warm)
            self._keepalive.clock = self.clock
            self._keepalive.start(keepalive, now=False).addErrback(
                lambda f: log.error("keep-warm loop stopped: %s", f.getErrorMessage()))
        if prefill:
            self.prefill().addErrback(
                lambda f: log.warning("pool prefill incomplete: %s", f.getErrorMessage()))

    # ------------------------------------------------------------------ info

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def servers(self) -> list[str]:
        """The gateways, in the order given."""
        return [s.address for s in self._servers]

    def server_status(self) -> dict:
        """``'host:port'`` -> {down, down_until, connections, last_error}."""
        now = self.clock.seconds()
        return {s.address: {"down": s.is_down(now), "down_until": s.down_until,
                            "connections": s.connections, "last_error": s.last_error}
                for s in self._servers}

    def add_listener(self, listener: PoolListener) -> None:
        """Register a ``PoolListener``."""
        self._listeners.append(listener)

    def _emit(self, name: str, **event: Any) -> None:
        event["pool"] = self
        for listener in list(self._listeners):
            try:
                getattr(listener, name)(event)
            except Exception:
                log.exception("pool listener %r failed in %s", listener, name)

    def _refresh_stats(self) -> None:
        self.stats.idle = len(self._idle)
        self.stats.waiting = len(self._waiters) + len(self._shared_waiters)

    # ------------------------------------------------------------------ leasing

    def connection(self, timeout: Optional[float] = None) -> _LeaseDeferred:
        """Lease a connection; give it back with ``release(conn)``.

        Fires with the Connection; fails with ``NoConnectionsAvailable`` after
        ``timeout`` seconds (default ``pool_timeout``) or when the pool is
        closed, with ``AllServersUnavailable`` when every gateway is down.
        ``async with pool.connection() as conn:`` releases on exit.
        """
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout < 0):
            raise ValueError(f"timeout must be a number >= 0 or None, not {timeout!r}")
        out = _LeaseDeferred()
        out.pool = self
        inner = self._lease(frozenset(), timeout)

        def leased(rec: _Pooled) -> None:
            if out.called:  # cancelled meanwhile: give it straight back
                self._checkin(rec, False)
            else:
                out.callback(rec.conn)

        def failed(f: Failure) -> None:
            if not out.called:
                out.errback(f)

        inner.addCallbacks(leased, failed)
        out._canceller = lambda _d: inner.cancel()  # type: ignore[attr-defined]
        return out

    def release(self, conn: Any, bad: bool = False) -> None:
        """Give back a leased connection; ``bad=True`` closes it instead of reusing it."""
        rec = self._all.get(id(conn))
        if rec is None or rec.conn is not conn or not rec.leased:
            if rec is None and self._closed:
                return  # closed under the borrower: nothing left to do
            raise ValueError("conn is not a connection leased from this pool")
        self._checkin(rec, bad)

    def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> defer.Deferred:
        """Lease a connection, fire with ``func(conn, *args, **kwargs)``'s result, release.

        Not retried (``func`` may do anything); the connection is closed
        rather than reused if ``func`` failed with a connection-level error.
        """
        d = self._lease(frozenset(), None)

        def call(rec: _Pooled) -> defer.Deferred:
            r = defer.maybeDeferred(func, rec.conn, *args, **kwargs)

            def done(result: Any) -> Any:
                bad = isinstance(result, Failure) and \
                    _retry.classify(result.value, _retry.UNSAFE).connection_bad
                if isinstance(result, Failure) and _retry.classify(result.value, _retry.UNSAFE).server_fault:
                    self._server_failed(rec.server, result.value)
                self._checkin(rec, bad)
                return result

            return r.addBoth(done)

        return d.addCallback(call)

    def _lease(self, avoid: frozenset, timeout: Optional[float]) -> defer.Deferred:
        """Fire with a checked-out ``_Pooled``; prefer servers not in ``avoid``."""
        if self._closed:
            return defer.fail(NoConnectionsAvailable("the pool is closed"))
        rec = self._take_idle(avoid)
        if rec is not None:
            self._checkout(rec)
            return defer.succeed(rec)
        if self._total() < self.size + self.max_overflow:
            return self._open_new(avoid)
        # Everything is lent: wait for a release.
        waiter = _Waiter(defer.Deferred(lambda d: self._drop_waiter(waiter)), avoid)
        self._waiters.append(waiter)
        self._refresh_stats()
        self._emit("pool_at_max", waiting=len(self._waiters))
        if timeout is None:
            timeout = self.pool_timeout
        if timeout is not None:
            waiter.timer = self.clock.callLater(timeout, self._waiter_timed_out, waiter, timeout)
        return waiter.deferred

    # ------------------------------------------------------------------ shared calls

    def _lease_shared(self, avoid: frozenset) -> defer.Deferred:
        """Fire with a shared ``_Pooled`` that has one more call in flight.

        Give the slot back with ``_shared_done``.  Waits (``pool_timeout``)
        when every connection is lent exclusively or at ``max_in_flight``.
        """
        if self._closed:
            return defer.fail(NoConnectionsAvailable("the pool is closed"))
        got = self._try_shared(avoid)
        if got is _OPEN:
            return self._open_shared(avoid)
        if got is not None:
            self._start_shared(got)
            return defer.succeed(got)
        waiter = _Waiter(defer.Deferred(lambda d: self._drop_waiter(waiter)), avoid, shared=True)
        self._shared_waiters.append(waiter)
        self._refresh_stats()
        self._emit("pool_at_max", waiting=len(self._waiters) + len(self._shared_waiters))
        if self.pool_timeout is not None:
            waiter.timer = self.clock.callLater(self.pool_timeout, self._waiter_timed_out,
                                                waiter, self.pool_timeout)
        return waiter.deferred

    def _shareable(self, rec: _Pooled, now: float) -> bool:
        return (not rec.disposed and not rec.retiring and not rec.server.is_down(now)
                and (self.recycle is None or rec.leases < self.recycle))

    def _least_busy(self, avoid: frozenset, below: int, skip_avoided: bool) -> Optional[_Pooled]:
        """The shareable connection with the fewest calls in flight (< ``below``),
        on a gateway not in ``avoid`` if possible."""
        now = self.clock.seconds()
        best: Optional[_Pooled] = None
        best_key: tuple = ()
        for rec in self._shared:
            if rec.in_flight >= below or not self._shareable(rec, now):
                continue
            avoided = rec.server.address in avoid
            if avoided and skip_avoided:
                continue
            key = (avoided, rec.in_flight)
            if best is None or key < best_key:
                best, best_key = rec, key
        return best

    def _try_shared(self, avoid: frozenset) -> Any:
        """A shared ``_Pooled`` to use now, ``_OPEN`` to open one, or None to wait."""
        rec = self._least_busy(avoid, min(_SHARE_THRESHOLD, self.max_in_flight), True)
        if rec is not None:
            return rec
        rec = self._take_idle(avoid)
        if rec is not None:
            self._checkout(rec)
            self._make_shared(rec)
            return rec
        if self._total() < self.size:
            return _OPEN
        rec = self._least_busy(avoid, self.max_in_flight, False)
        if rec is not None and rec.in_flight >= _SHARE_THRESHOLD and self._opening:
            return None  # a connection is opening: spread the load over it too
        if rec is None and not self._opening and self._total() < self.size + self.max_overflow:
            return _OPEN  # all lent or full: an overflow connection, closed once idle
        return rec

    def _make_shared(self, rec: _Pooled) -> None:
        rec.shared = True
        rec.leases -= 1  # counted per call instead (``recycle``)
        self._shared.append(rec)

    def _start_shared(self, rec: _Pooled) -> None:
        rec.in_flight += 1
        rec.leases += 1

    def _open_shared(self, avoid: frozenset) -> defer.Deferred:
        def opened(rec: _Pooled) -> _Pooled:
            self._make_shared(rec)
            self._start_shared(rec)
            return rec

        def then(result: Any) -> Any:
            self._serve_shared_waiters()
            return result

        return self._open_new(avoid).addCallback(opened).addBoth(then)

    def _shared_done(self, rec: _Pooled, bad: bool) -> None:
        """A shared call on ``rec`` ended; ``bad``: take no more calls, close it once idle."""
        rec.in_flight -= 1
        if bad:
            rec.retiring = True
        if rec.in_flight == 0:
            if rec in self._shared:
                self._shared.remove(rec)
            close = rec.retiring
            rec.shared = rec.retiring = rec.faulted = False
            if rec.leased and not rec.disposed:
                self._checkin(rec, close)
                return  # _checkin served the waiters
        self._serve_shared_waiters()

    def _serve_shared_waiters(self) -> None:
        """Hand free call slots (or new connections) to waiting single calls, in order."""
        while self._shared_waiters and not self._closed:
            waiter = self._shared_waiters[0]
            got = self._try_shared(waiter.avoid)
            if got is None:
                break
            self._shared_waiters.popleft()
            if waiter.timer is not None and waiter.timer.active():
                waiter.timer.cancel()
            self._refresh_stats()
            if got is _OPEN:
                self._open_shared(waiter.avoid).chainDeferred(waiter.deferred)
            else:
                self._start_shared(got)
                waiter.deferred.callback(got)

    def _drop_waiter(self, waiter: _Waiter) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)
        if waiter in self._shared_waiters:
            self._shared_waiters.remove(waiter)
        if waiter.timer is not None and waiter.timer.active():
            waiter.timer.cancel()
        self._refresh_stats()

    def _waiter_timed_out(self, waiter: _Waiter, timeout: float) -> None:
        waiter.timer = None
        queue = self._shared_waiters if waiter.shared else self._waiters
        if waiter in queue:
            queue.remove(waiter)
            self._refresh_stats()
            waiter.deferred.errback(NoConnectionsAvailable(
                f"no connection available within {timeout} s "
                f"({self.size + self.max_overflow} lent)"))

    def _give_to_waiter(self, rec: _Pooled) -> bool:
        if not self._waiters:
            return False
        waiter = self._waiters.popleft()
        if waiter.timer is not None and waiter.timer.active():
            waiter.timer.cancel()
        self._refresh_stats()
        self._checkout(rec)
        waiter.deferred.callback(rec)
        return True

    def _serve_waiters(self) -> None:
        """Open connections for waiters while there is room (after a dispose)."""
        while self._waiters and self._total() < self.size + self.max_overflow and not self._closed:
            waiter = self._waiters.popleft()
            if waiter.timer is not None and waiter.timer.active():
                waiter.timer.cancel()
            self._refresh_stats()
            self._open_new(waiter.avoid).chainDeferred(waiter.deferred)

    def _total(self) -> int:
        return len(self._all) + self._opening

    def _take_idle(self, avoid: frozenset) -> Optional[_Pooled]:
        now = self.clock.seconds()
        fallback = None
        for rec in list(self._idle):
            if rec.server.is_down(now):
                # Its gateway failed since: do not lend it, close it.
                self._idle.remove(rec)
                self._dispose(rec)
                continue
            if rec.server.address in avoid:
                if fallback is None:
                    fallback = rec
                continue
            self._idle.remove(rec)
            return rec
        if fallback is not None and not self._has_room_elsewhere(avoid, now):
            self._idle.remove(fallback)
            return fallback
        return None

    def _has_room_elsewhere(self, avoid: frozenset, now: float) -> bool:
        return self._total() < self.size + self.max_overflow and any(
            not s.is_down(now) and s.address not in avoid for s in self._servers)

    def _checkout(self, rec: _Pooled) -> None:
        rec.leased = True
        rec.leases += 1
        self.stats.in_use += 1
        self._refresh_stats()
        self._emit("connection_checked_out", server=rec.server.address, connection=rec.conn)

    def _checkin(self, rec: _Pooled, bad: bool) -> None:
        rec.leased = False
        self.stats.in_use -= 1
        self._emit("connection_checked_in", server=rec.server.address, connection=rec.conn)
        if rec.disposed:
            pass
        elif self._closed or bad or rec.server.is_down(self.clock.seconds()):
            self._dispose(rec)
        elif self.recycle is not None and rec.leases >= self.recycle:
            self.stats.recycled += 1
            self._emit("connection_recycled", server=rec.server.address, connection=rec.conn)
            self._dispose(rec)
        elif self._overloaded(rec.server):
            # A gateway came back (or was never used): move this connection there.
            self._dispose(rec)
        elif self._give_to_waiter(rec):
            return
        elif len(self._all) > self.size:
            self._dispose(rec)  # overflow connection: not kept
        else:
            self._idle.append(rec)
            self._refresh_stats()
            self._serve_shared_waiters()
            return
        self._refresh_stats()
        self._serve_waiters()
        self._serve_shared_waiters()

    def _overloaded(self, server: _Server) -> bool:
        """True when ``server`` holds 2+ connections more than some healthy gateway.

        After a failover the survivors hold every connection; closing one on
        its return lets the next lease open it on the recovered gateway.
        """
        now = self.clock.seconds()
        fewest = min((s.connections for s in self._servers if not s.is_down(now)),
                     default=server.connections)
        return server.connections - fewest >= 2

    @defer.inlineCallbacks
    def _open_new(self, avoid: frozenset) -> Any:
        """Open a connection on the best healthy gateway, failing over to the next."""
        tried: set = set()
        while True:
            server = self._pick_server(avoid, tried)  # raises AllServersUnavailable
            tried.add(server.address)
            self._opening += 1
            server.connections += 1
            try:
                conn = self._factory(server.host, server.port)
            except BaseException:
                self._opening -= 1
                server.connections -= 1
                raise
            try:
                yield defer.maybeDeferred(conn.open)
            except defer.CancelledError:
                self._opening -= 1
                server.connections -= 1
                defer.maybeDeferred(conn.close).addErrback(lambda f: None)
                raise
            except Exception as exc:
                self._opening -= 1
                server.connections -= 1
                self._emit("connection_failed", server=server.address, error=exc)
                self._server_failed(server, exc)
                log.info("cannot connect to %s: %s", server.address, exc)
                continue
            self._opening -= 1
            rec = _Pooled(conn, server)
            self._all[id(conn)] = rec
            self.stats.opened += 1
            self._emit("connection_created", server=server.address, connection=conn)
            self._server_ok(server)
            if self._closed:
                self._dispose(rec)
                raise NoConnectionsAvailable("the pool is closed")
            self._checkout(rec)
            return rec

    def _pick_server(self, avoid: frozenset, tried: frozenset | set = frozenset()) -> _Server:
        """The gateway for a new connection: up, not yet tried by this lease,
        not in ``avoid`` if possible, with the fewest connections."""
        now = self.clock.seconds()
        up = [s for s in self._servers if not s.is_down(now) and s.address not in tried]
        if not up:
            errors = {s.address: s.last_error for s in self._servers}
            detail = "; ".join(f"{a}: {type(e).__name__}: {e}" for a, e in errors.items())
            raise AllServersUnavailable(f"no gateway available, each is down or failed ({detail})", errors)
        preferred = [s for s in up if s.address not in avoid] or up
        turn = next(self._rr)
        n = len(preferred)
        # Fewest connections first; ties broken round-robin.
        return min((preferred[(turn + i) % n] for i in range(n)), key=lambda s: s.connections)

    def _dispose(self, rec: _Pooled) -> None:
        if rec.disposed:
            return
        rec.disposed = True
        if self._all.get(id(rec.conn)) is rec:
            del self._all[id(rec.conn)]
        rec.server.connections -= 1
        self.stats.disposed += 1
        self._emit("connection_disposed", server=rec.server.address, connection=rec.conn)
        try:
            d = defer.maybeDeferred(rec.conn.close)
        except Exception:  # pragma: no cover - maybeDeferred does not raise
            return
        d.addErrback(lambda f: log.debug("closing %s: %s", rec.server.address, f.getErrorMessage()))

    # ------------------------------------------------------------------ health

    def _server_failed(self, server: _Server, exc: BaseException) -> None:
        """Count a connection-level failure and mark the gateway down for a while."""
        server.last_error = exc
        server.consecutive_failures += 1
        self.stats.failures[server.address] = self.stats.failures.get(server.address, 0) + 1
        interval = min(self.max_down_interval,
                       self.down_interval * 2 ** (server.consecutive_failures - 1))
        now = self.clock.seconds()
        server.down_until = max(server.down_until, now + interval)
        server.marked_down = True
        log.warning("gateway %s marked down for %.1f s: %s", server.address, interval, exc)
        self._emit("server_marked_down", server=server.address, error=exc,
                   until=server.down_until)
        # Idle connections to it are closed now, not lent.
        for rec in [r for r in self._idle if r.server is server]:
            self._idle.remove(rec)
            self._dispose(rec)
        self._refresh_stats()

    def _server_ok(self, server: _Server) -> None:
        server.consecutive_failures = 0
        if server.marked_down:
            server.marked_down = False
            log.info("gateway %s is up again", server.address)
            self._emit("server_marked_up", server=server.address)

    # ------------------------------------------------------------------ lifecycle

    def prefill(self) -> defer.Deferred:
        """Open connections until ``size`` are open; fires when done."""
        wanted = self.size - self._total()
        ds = [self._open_new(frozenset()).addCallback(self._checkin, False) for _ in range(max(0, wanted))]
        return defer.gatherResults(ds, consumeErrors=True).addCallback(lambda _: self)

    def _keep_warm(self) -> defer.Deferred:
        """One cheap call on each idle connection; dispose those that fail."""
        ds = []
        for rec in list(self._idle):
            self._idle.remove(rec)
            rec.warming = True  # out of the idle queue: not lent meanwhile
            d = defer.maybeDeferred(rec.conn.tables)

            def done(result: Any, rec: _Pooled = rec) -> None:
                bad = isinstance(result, Failure)
                if bad and not self._closed:
                    verdict = _retry.classify(result.value, _retry.READ)
                    if verdict.server_fault:
                        self._server_failed(rec.server, result.value)
                    self._emit("connection_failed", server=rec.server.address,
                               connection=rec.conn, error=result.value)
                rec.warming = False
                if rec.disposed:
                    return
                if bad or self._closed:
                    self._dispose(rec)
                    self._serve_waiters()
                elif not self._give_to_waiter(rec):
                    self._idle.append(rec)
                    self._serve_shared_waiters()
                self._refresh_stats()

            ds.append(d.addBoth(done))
        self._refresh_stats()
        return defer.gatherResults(ds)

    def close(self) -> defer.Deferred:
        """Close every connection (lent ones too) and fail every waiter.

        Later leases fail with ``NoConnectionsAvailable``. Safe to call twice.
        """
        self._closed = True
        if self._keepalive is not None and self._keepalive.running:
            self._keepalive.stop()
        while self._waiters:
            waiter = self._waiters.popleft()
            if waiter.timer is not None and waiter.timer.active():
                waiter.timer.cancel()
            waiter.deferred.errback(NoConnectionsAvailable("the pool was closed"))
        while self._shared_waiters:
            waiter = self._shared_waiters.popleft()
            if waiter.timer is not None and waiter.timer.active():
                waiter.timer.cancel()
            waiter.deferred.errback(NoConnectionsAvailable("the pool was closed"))
        self._shared.clear()
        closes = []
        for rec in list(self._all.values()):
            if rec.leased:
                rec.leased = False
                self.stats.in_use -= 1
            if not rec.disposed:
                rec.disposed = True
                del self._all[id(rec.conn)]
                rec.server.connections -= 1
                self.stats.disposed += 1
                self._emit("connection_disposed", server=rec.server.address, connection=rec.conn)
                closes.append(defer.maybeDeferred(rec.conn.close).addErrback(lambda f: None))
        self._idle.clear()
        self._refresh_stats()
        return defer.gatherResults(closes).addCallback(lambda _: None)

    # ------------------------------------------------------------------ tables

    def table(self, name: Any, use_prefix: bool = True) -> "PooledTable":
        """A Table-like object whose calls lease a connection and retry safely."""
        if not isinstance(name, (bytes, str)):
            raise TypeError(f"name must be bytes or str, not {type(name).__name__}")
        return PooledTable(self, name, use_prefix)

    def _call(self, table: "PooledTable", method: str, args: tuple, kwargs: dict) -> defer.Deferred:
        """Run ``Table.<method>`` under the retry policy: on a shared connection
        if it is one Thrift call, else on a leased one."""
        return self._run_retried(table, _method_kind(method), method,
                                 lambda t: getattr(t, method)(*args, **kwargs),
                                 shared=method not in _EXCLUSIVE_METHODS)

    @defer.inlineCallbacks
    def _run_retried(self, table: "PooledTable", kind: str, method: str,
                     func: Callable[[Any], Any], shared: bool = False,
                     resume: Optional[tuple] = None) -> Any:
        """Run ``func(Table)`` on a leased (or, if ``shared``, a shared) connection,
        retrying as ``kind`` allows.  ``resume``: ``(attempts, avoid, retries)``
        of a call whose first attempt ``_call_now`` made; waits the back-off first."""
        if resume is None:
            attempts: list[_retry.Attempt] = []
            avoid: set = set()
            retries = 0
            self.stats.calls += 1
        else:
            attempts, avoid, retries = resume
            yield task.deferLater(self.clock, self.policy.delay(retries))
        while True:
            try:
                if shared:
                    rec = yield self._lease_shared(frozenset(avoid))
                else:
                    rec = yield self._lease(frozenset(avoid), None)
            except Exception as exc:
                self.stats.failed_calls += 1
                raise _retry.annotate(exc, attempts, _aggregate(attempts))
            try:
                t = rec.conn.table(table.name, use_prefix=table.use_prefix)
                result = yield defer.maybeDeferred(func, t)
            except Exception as exc:
                verdict = self._attempt_failed(rec, exc, kind, shared, attempts)
                if verdict.retry and retries < self.policy.max_retries and not self._closed:
                    retries += 1
                    self.stats.retries += 1
                    avoid.add(rec.server.address)
                    log.info("retrying %s (retry %d) after %s on %s", method, retries,
                             type(exc).__name__, rec.server.address)
                    yield task.deferLater(self.clock, self.policy.delay(retries))
                    continue
                self.stats.failed_calls += 1
                raise _retry.annotate(exc, attempts, _aggregate(attempts))
            if shared:
                self._server_ok(rec.server)
                self._shared_done(rec, False)
            elif rec.leased:
                self._server_ok(rec.server)
                self._checkin(rec, False)
            return result

    def _attempt_failed(self, rec: _Pooled, exc: BaseException, kind: str, shared: bool,
                        attempts: list) -> _retry.Verdict:
        """Record a failed attempt on ``rec``, mark its gateway down if at fault
        and give the connection back; returns the verdict."""
        verdict = _retry.classify(exc, kind)
        attempts.append(_retry.Attempt(rec.server.address, exc, verdict.maybe_applied,
                                       self.clock.seconds()))
        # A dropped shared connection fails all its calls: count it once.
        if verdict.server_fault and not self._closed and not rec.faulted:
            rec.faulted = shared
            self._emit("connection_failed", server=rec.server.address,
                       connection=rec.conn, error=exc)
            self._server_failed(rec.server, exc)
        if shared:
            self._shared_done(rec, verdict.connection_bad)
        elif rec.leased:
            self._checkin(rec, verdict.connection_bad)
        return verdict

    def _call_now(self, table: "PooledTable", method: str, args: tuple,
                  kwargs: dict) -> Optional[defer.Deferred]:
        """Send a single call at once on a shared connection if one is free now
        (the hot path: no dry run, no generator); None to take the general path.

        Argument errors raise from the real ``Table`` method before anything is
        sent; a failure of this first attempt continues in ``_run_retried``.
        """
        if self._closed or self._shared_waiters:
            return None  # waiting calls go first
        rec = self._try_shared(frozenset())
        if rec is None or rec is _OPEN:
            return None
        self._start_shared(rec)
        try:
            d = getattr(rec.conn.table(table.name, use_prefix=table.use_prefix), method)(
                *args, **kwargs)
        except BaseException:
            self._shared_done(rec, False)
            raise
        self.stats.calls += 1
        kind = _method_kind(method)

        def ok(result: Any) -> Any:
            self._server_ok(rec.server)
            self._shared_done(rec, False)
            return result

        def failed(f: Failure) -> Any:
            exc = f.value
            attempts: list = []
            verdict = self._attempt_failed(rec, exc, kind, True, attempts)
            if verdict.retry and self.policy.max_retries > 0 and not self._closed:
                self.stats.retries += 1
                log.info("retrying %s (retry 1) after %s on %s", method,
                         type(exc).__name__, rec.server.address)
                return self._run_retried(
                    table, kind, method, lambda t: getattr(t, method)(*args, **kwargs),
                    shared=True, resume=(attempts, {rec.server.address}, 1))
            self.stats.failed_calls += 1
            _retry.annotate(exc, attempts, _aggregate(attempts))
            return f

        # A separate Deferred, so the caller's is not "called" while a retry waits.
        out: defer.Deferred = defer.Deferred(lambda _: d.cancel())
        d.addCallbacks(ok, failed).chainDeferred(out)
        return out


_TABLE_KINDS = {"row": _retry.READ, "rows": _retry.READ, "cells": _retry.READ,
                "exists": _retry.READ, "count": _retry.READ, "families": _retry.READ,
                "regions": _retry.READ, "counter_get": _retry.READ,
                "put": _retry.IDEMPOTENT, "delete": _retry.IDEMPOTENT}


def _method_kind(method: str) -> str:
    return _TABLE_KINDS.get(method, _retry.UNSAFE)


def _aggregate(attempts: list) -> Optional[bool]:
    """True if any attempt may have been applied, False if none was, else None."""
    if any(a.maybe_applied for a in attempts):
        return True
    if all(a.maybe_applied is False for a in attempts):
        return False
    return None


def _increment(prefix: bytes) -> Optional[bytes]:
    """The smallest key greater than every key starting with ``prefix``."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def _as_bytes(value: Any) -> Any:
    return value.encode("utf-8") if isinstance(value, str) else value


class _DryConnection:
    """Stands in for a Connection to run a Table method's argument checks only."""

    def __init__(self, compat: str) -> None:
        self.compat = compat

    def call(self, name: str, *args: Any, timeout: Optional[float] = None) -> defer.Deferred:
        return defer.Deferred()  # never sent, never fired


class PooledTable:
    """A Table whose calls run on the pool's connections: single calls on a
    shared (pipelined) connection, ``count`` on a leased one.

    Same methods, arguments and results as ``txhbase.Table``. Reads, scans,
    ``put`` and ``delete`` are retried (puts/deletes repeated after a lost
    reply are idempotent except that a put without explicit timestamp may
    leave one extra version); ``counter_set``/``counter_inc``/``counter_dec``,
    ``append`` and ``check_and_put`` are retried only when they surely never
    reached the server, otherwise they fail with the original error whose
    ``maybe_applied`` says whether the server may have applied them. Every
    final error carries ``attempts`` and ``servers``.
    """

    def __init__(self, pool: ConnectionPool, name: Any, use_prefix: bool = True) -> None:
        self.pool = pool
        self.name = name
        self.use_prefix = use_prefix

    def __repr__(self) -> str:
        return f"<PooledTable {self.name!r}>"

    def _call(self, method: str, args: tuple, kwargs: dict) -> defer.Deferred:
        if method not in _EXCLUSIVE_METHODS:
            d = self.pool._call_now(self, method, args, kwargs)
            if d is not None:
                return d
        # Argument errors raise here, at once, as Table's do: a dry run of the
        # method against a connection that sends nothing.
        getattr(Table(b"dry-run", _DryConnection(self.pool.compat)), method)(*args, **kwargs)
        return self.pool._call(self, method, args, kwargs)

    # reads
    def row(self, row: Any, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.row``, retried."""
        return self._call("row", (row,) + args, kwargs)

    def rows(self, rows: Any, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.rows``, retried."""
        return self._call("rows", (rows,) + args, kwargs)

    def cells(self, row: Any, column: Any, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.cells``, retried."""
        return self._call("cells", (row, column) + args, kwargs)

    def exists(self, row: Any, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.exists``, retried."""
        return self._call("exists", (row,) + args, kwargs)

    def count(self, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.count``, retried."""
        return self._call("count", args, kwargs)

    def families(self, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.families``, retried."""
        return self._call("families", args, kwargs)

    def regions(self, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.regions``, retried."""
        return self._call("regions", args, kwargs)

    def counter_get(self, row: Any, column: Any, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.counter_get`` (an increment by 0, so safe to repeat), retried."""
        return self._call("counter_get", (row, column) + args, kwargs)

    # idempotent mutations
    def put(self, row: Any, data: Any, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.put``, retried even after a lost reply (may add an extra version)."""
        return self._call("put", (row, data) + args, kwargs)

    def delete(self, row: Any, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.delete``, retried even after a lost reply."""
        return self._call("delete", (row,) + args, kwargs)

    # never repeated once they may have reached the server
    def counter_set(self, row: Any, column: Any, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.counter_set``; not repeated after a lost reply (``maybe_applied``)."""
        return self._call("counter_set", (row, column) + args, kwargs)

    def counter_inc(self, row: Any, column: Any, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.counter_inc``; not repeated after a lost reply (``maybe_applied``)."""
        return self._call("counter_inc", (row, column) + args, kwargs)

    def counter_dec(self, row: Any, column: Any, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.counter_dec``; not repeated after a lost reply (``maybe_applied``)."""
        return self._call("counter_dec", (row, column) + args, kwargs)

    def append(self, row: Any, data: Any, *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.append``; not repeated after a lost reply (``maybe_applied``)."""
        return self._call("append", (row, data) + args, kwargs)

    def check_and_put(self, row: Any, column: Any, value: Any, data: Any,
                      *args: Any, **kwargs: Any) -> defer.Deferred:
        """``Table.check_and_put``; not repeated after a lost reply (``maybe_applied``)."""
        return self._call("check_and_put", (row, column, value, data) + args, kwargs)

    def batch(self, timestamp: Optional[int] = None, batch_size: Optional[int] = None,
              transaction: bool = False, wal: bool = True,
              timeout: Optional[float] = None) -> "PooledBatch":
        """A ``Batch`` whose sends lease a connection and are retried when safe.

        A send with only puts and deletes is retried like ``put``; one with
        counter increments is never repeated once it may have reached the
        server (its ``BatchError`` says ``maybe_applied``).
        """
        return PooledBatch(self, timestamp=timestamp, batch_size=batch_size,
                           transaction=transaction, wal=wal, timeout=timeout)

    def unordered_scanners(self, max_split_count: int, *, timeout: Optional[float] = None,
                           **scan_kwargs: Any) -> defer.Deferred:
        """Fire with at most ``max_split_count`` PooledScanners covering the scan
        range once, split along the table's regions (``Table.unordered_scanners``);
        each leases its own connection, so they can run in parallel and each
        survives losing its gateway."""
        if not isinstance(max_split_count, int) or isinstance(max_split_count, bool):
            raise TypeError("'max_split_count' must be an int")
        if max_split_count < 1:
            raise ValueError("'max_split_count' must be >= 1")
        for bad in ("reverse", "limit"):
            if scan_kwargs.get(bad):
                raise ValueError(f"'{bad}' cannot be used with unordered_scanners")
        base = ScanSpec.build(self.pool.compat, **scan_kwargs)
        rest = {k: v for k, v in scan_kwargs.items()
                if k not in ("row_start", "row_stop", "row_prefix", "reverse", "limit")}
        if timeout is not None:
            rest["timeout"] = timeout

        def split(regions: list) -> list:
            starts = sorted(r["start_key"] or b"" for r in regions)
            return [PooledScanner(self, dict(rest, row_start=lo, row_stop=hi))
                    for lo, hi in split_ranges(base.row_start, base.row_stop, starts,
                                               max_split_count)]

        kw = {} if timeout is None else {"timeout": timeout}
        return self.regions(**kw).addCallback(split)

    def scan(self, row_start: Any = None, row_stop: Any = None, row_prefix: Any = None,
             columns: Any = None, filter: Any = None, timestamp: Optional[int] = None,
             include_timestamp: bool = False, batch_size: int = 1000,
             scan_batching: Optional[int] = None, limit: Optional[int] = None,
             sorted_columns: bool = False, reverse: bool = False, *,
             timeout: Optional[float] = None) -> "PooledScanner":
        """``Table.scan``'s options; returns at once a scanner that resumes on
        another connection after a failure. Argument errors are raised here."""
        kwargs = dict(row_start=row_start, row_stop=row_stop, row_prefix=row_prefix,
                      columns=columns, filter=filter, timestamp=timestamp,
                      include_timestamp=include_timestamp, batch_size=batch_size,
                      scan_batching=scan_batching, limit=limit,
                      sorted_columns=sorted_columns, reverse=reverse)
        ScanSpec.build(self.pool.compat, **kwargs)  # TypeError/ValueError now
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        if timeout is not None:
            kwargs["timeout"] = timeout
        return PooledScanner(self, kwargs)


def _return_abandoned_lease(pool: ConnectionPool, hold: list) -> None:
    """GC finalizer of an unclosed PooledScanner: give its lease back (soon, not
    from inside the garbage collector).  The connection is closed rather than
    reused: the abandoned scanner may still have a call in flight on it."""
    rec = hold[0]
    if rec is None:
        return

    def give_back() -> None:
        if rec.leased and hold[0] is rec:
            hold[0] = None
            pool._checkin(rec, True)

    try:
        pool.clock.callLater(0, give_back)
    except Exception:  # pragma: no cover - interpreter shutdown
        pass


class PooledScanner:
    """A scan over a pooled connection that survives losing it.

    Holds one lease from the first ``get_next()`` until the scan ends or is
    closed.  If the connection or gateway fails mid-scan, the scan is reopened
    on another connection starting at the last row delivered (forward or
    reverse), skipping the columns of that row already delivered (so
    ``scan_batching`` partial rows are not repeated); ``limit`` is enforced
    here, across reopenings.  Each row is delivered exactly once, in order.
    """

    def __init__(self, table: PooledTable, kwargs: dict) -> None:
        limit = kwargs.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise ValueError(f"limit must be an int >= 1 or None, not {limit!r}")
        if kwargs.get("row_prefix") is not None and (
                kwargs.get("row_start") is not None or kwargs.get("row_stop") is not None):
            raise TypeError("row_prefix cannot be combined with row_start or row_stop")
        self._table = table
        self._pool = table.pool
        self._kwargs = dict(kwargs)
        self._limit = limit
        self._kwargs.pop("limit", None)
        self._prefix: Optional[bytes] = _as_bytes(kwargs.get("row_prefix")) or None
        self._delivered = 0
        self._last_key: Optional[bytes] = None
        self._last_cols: set = set()
        self._hold: list = [None]  # the leased _Pooled, shared with the GC finalizer
        self._scanner: Any = None
        self._done = False
        weakref.finalize(self, _return_abandoned_lease, self._pool, self._hold).atexit = False
        self._lock = defer.DeferredLock()
        self.attempts: list = []

    @property
    def _rec(self) -> Optional[_Pooled]:
        return self._hold[0]

    @_rec.setter
    def _rec(self, rec: Optional[_Pooled]) -> None:
        self._hold[0] = rec

    def _resume_kwargs(self) -> dict:
        kw = dict(self._kwargs)
        if self._last_key is None:
            return kw
        reverse = bool(kw.get("reverse"))
        prefix = _as_bytes(kw.pop("row_prefix", None))
        if prefix:
            if not reverse:
                kw["row_stop"] = _increment(prefix)
            elif prefix[-1] == 0:
                kw["row_stop"] = prefix[:-1] or None
            else:
                # Just below the prefix range; keys without the prefix are dropped in _next.
                kw["row_stop"] = prefix[:-1] + bytes([prefix[-1] - 1]) + b"\xff" * 16
        kw["row_start"] = self._last_key
        return kw

    def get_next(self) -> defer.Deferred:
        """Fire with the next ``(row_key, data)``, or ``None`` once the scan is over."""
        return self._lock.run(self._next)

    @defer.inlineCallbacks
    def _next(self) -> Any:
        retries = 0
        while not self._done:
            if self._scanner is None:
                try:
                    rec = yield self._pool._lease(frozenset(a.server for a in self.attempts[-1:]), None)
                except Exception as exc:
                    self._done = True
                    raise _retry.annotate(exc, self.attempts, None)
                self._rec = rec
                t = rec.conn.table(self._table.name, use_prefix=self._table.use_prefix)
                try:
                    self._scanner = t.scan(**self._resume_kwargs())
                except Exception:
                    self._release(False)
                    self._done = True
                    raise
            try:
                item = yield self._scanner.get_next()
            except Exception as exc:
                rec = self._rec
                verdict = _retry.classify(exc, _retry.READ)
                self.attempts.append(_retry.Attempt(rec.server.address if rec else None, exc,
                                                    None, self._pool.clock.seconds()))
                self._drop_scanner()
                if rec is not None and verdict.server_fault:
                    self._pool._emit("connection_failed", server=rec.server.address,
                                     connection=rec.conn, error=exc)
                    self._pool._server_failed(rec.server, exc)
                self._release(verdict.connection_bad)
                if verdict.retry and retries < self._pool.policy.max_retries and not self._pool.closed:
                    retries += 1
                    self._pool.stats.retries += 1
                    yield task.deferLater(self._pool.clock, self._pool.policy.delay(retries))
                    continue
                self._done = True
                raise _retry.annotate(exc, self.attempts, None)
            if item is None:
                self._finish()
                return None
            key, data = item
            if self._prefix and not key.startswith(self._prefix):
                continue  # outside the prefix range of a reopened reverse scan
            if key == self._last_key:
                data = type(data)((c, v) for c, v in data.items() if c not in self._last_cols)
                if not data:
                    continue  # already delivered before the reopening
            else:
                self._last_cols = set()
            self._last_key = key
            self._last_cols.update(data.keys())
            self._delivered += 1
            if self._limit is not None and self._delivered >= self._limit:
                self._finish()
            return key, data
        return None

    def _drop_scanner(self) -> None:
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            try:
                defer.maybeDeferred(scanner.close).addErrback(lambda f: None)
            except Exception:  # pragma: no cover
                pass

    def _release(self, bad: bool) -> None:
        rec, self._rec = self._rec, None
        if rec is not None and rec.leased:
            self._pool._checkin(rec, bad)

    def _finish(self) -> None:
        self._done = True
        scanner, self._scanner = self._scanner, None
        if scanner is None:
            self._release(False)
            return
        d = defer.maybeDeferred(scanner.close)
        rec, self._rec = self._rec, None

        def released(result: Any) -> None:
            if rec is not None and rec.leased:
                self._pool._checkin(rec, isinstance(result, Failure))

        d.addBoth(released)

    def close(self) -> defer.Deferred:
        """Stop the scan, release the server scanner and the lease."""
        if self._done and self._scanner is None:
            return defer.succeed(None)
        self._finish()
        return defer.succeed(None)

    def __aiter__(self) -> "PooledScanner":
        return self

    async def __anext__(self) -> tuple:
        item = await self.get_next()
        if item is None:
            raise StopAsyncIteration
        return item



class PooledBatch(Batch):
    """``txhbase.Batch`` over a pool: each send runs on a leased connection.

    Mutations are buffered here; a send leases a connection, builds the
    ``mutateRows``/``incrementRows`` calls on it and is retried under the
    pool's policy (increments make it non-repeatable).
    """

    def _send(self, mutations: dict, increments: list, count: int,
              timeout: Optional[float]) -> defer.Deferred:
        ptable: PooledTable = self._table
        kind = _retry.UNSAFE if increments else _retry.IDEMPOTENT
        opts = dict(timestamp=self._timestamp, wal=self._wal, timeout=self._timeout)

        def attempt(t: Any) -> defer.Deferred:
            inner = Batch(t, **opts)
            # Increments name their table: use the leased connection's (prefixed) name.
            incs = [hbase.TIncrement(table=t.name, row=i.row, column=i.column,
                                     ammount=i.ammount) for i in increments]
            return inner._send(mutations, incs, count, timeout)

        return ptable.pool._run_retried(ptable, kind, "batch", attempt)
