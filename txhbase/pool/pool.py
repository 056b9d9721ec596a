"""ConnectionPool: connections over several Thrift gateways, failover, safe retries.

A pool keeps up to ``size`` (+ ``max_overflow``) ``Connection`` objects
spread over the healthy gateways of ``servers`` and implements
``txhbase.caller.Caller``: ``pool.table(name)`` is a plain ``Table`` whose
single calls (``row``, ``put``, ``counter_inc``, ...) run on *shared*
pipelined connections (``leases``), retried under ``txhbase._retry``'s
rules (``calls``), and whose scans lease one connection each (a pin) and
survive losing it.  ``pool.connection()`` and ``run()`` lease a connection
exclusively.  Gateway health and back-off: ``servers``; listeners and
counters: ``events``.

Time (pool timeouts, back-off, server down intervals, keep-warm, graceful
close) runs on the ``clock`` passed in, so tests use ``task.Clock``.

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

import logging
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Union

from twisted.internet import defer, task
from twisted.python.failure import Failure

from txhbase import _options, _retry
from txhbase.caller import Clock, Pinned, as_reactor_time
from txhbase.errors import NoConnectionsAvailable, TxHBaseError
from txhbase.pool.calls import CallRunner
from txhbase.pool.events import Events, PoolListener, PoolStats
from txhbase.pool.leases import ConnectionFactory, Leases, PoolConnection, Pooled
from txhbase.pool.servers import Servers
from txhbase.table import Table

__all__ = ["ConnectionPool"]

log = logging.getLogger("txhbase.pool")


def _int(value: Any, name: str, minimum: int) -> int:
    """An int >= ``minimum``: TypeError for another type, ValueError below it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"'{name}' must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"'{name}' must be >= {minimum}, not {value!r}")
    return value


def _opt_int(value: Any, name: str, minimum: int) -> Optional[int]:
    """None, or ``_int``."""
    return None if value is None else _int(value, name, minimum)


class _LeaseDeferred(defer.Deferred):  # type: ignore[type-arg]
    """The Deferred ``pool.connection()`` returns; also an async context manager.

    Leaving the ``async with`` block with a txhbase error (a Thrift or
    connection error) closes the connection instead of reusing it, as
    HappyBase does.
    """

    pool: "ConnectionPool"

    async def __aenter__(self) -> Any:
        d: "defer.Deferred[Any]" = defer.Deferred()

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
        bad = exc is not None and (isinstance(exc, TxHBaseError) or
                                   _retry.classify(exc, _retry.UNSAFE).connection_bad)
        self.pool.release(self._conn, bad=bad)


def _exception(failure: Failure) -> BaseException:
    """The exception a Failure carries."""
    exc = failure.value
    assert exc is not None
    return exc


def _default_factory(reactor: Any, kwargs: Dict[str, Any]) -> ConnectionFactory:
    def make(host: str, port: int) -> PoolConnection:
        from txhbase.connection import Connection

        return Connection(host, port, reactor=reactor, **kwargs)

    return make


class ConnectionPool:
    """A pool of ``Connection`` objects over one or several gateways; a ``Caller``.

    :param size: connections kept open (at most; opened lazily unless ``prefill``).
    :param host, port: the gateway when ``servers`` is not given (``host``
        None: ``'localhost'``, as ``Connection``).
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
    :param retry_timeout: seconds after which a call is not retried any more
        (None: only ``max_retries`` bounds it).
    :param retry_backoff: base of the exponential back-off between retries, seconds.
    :param max_retry_backoff: cap of one back-off wait, seconds.
    :param down_interval: seconds a failed gateway is avoided (doubles per
        consecutive failure up to ``max_down_interval``); a hint: when every
        gateway is down they are probed anyway.
    :param keepalive: every this many seconds, idle connections make a cheap
        call (``getTableNames``) so gateways do not close them as idle
        (HBase's default idle timeout is 60 s); None disables it.
    :param reactor: used for connections; ``clock`` (default: the reactor) for time.
    :param connection_factory: ``(host, port) -> connection`` with ``open()``,
        ``close()`` and ``call()`` (``leases.PoolConnection``); default builds
        ``txhbase.Connection(host, port, **connection_kwargs)``.
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
        host: Optional[str] = "localhost",
        port: int = 9090,
        *,
        servers: Optional[Sequence[str]] = None,
        max_overflow: int = 0,
        pool_timeout: Optional[float] = None,
        recycle: Optional[int] = None,
        prefill: bool = False,
        max_in_flight: int = 64,
        max_retries: int = 3,
        retry_timeout: Optional[float] = None,
        retry_backoff: float = 0.05,
        max_retry_backoff: float = 2.0,
        down_interval: float = 1.0,
        max_down_interval: float = 30.0,
        keepalive: Optional[float] = None,
        reactor: Any = None,
        clock: Optional[Clock] = None,
        connection_factory: Optional[ConnectionFactory] = None,
        listeners: Iterable[PoolListener] = (),
        random: Optional[Callable[[], float]] = None,
        **connection_kwargs: Any,
    ) -> None:
        size = _int(size, "size", 1)
        max_overflow = _int(max_overflow, "max_overflow", 0)
        pool_timeout = _options.seconds(pool_timeout, "pool_timeout")
        recycle = _opt_int(recycle, "recycle", 1)
        max_in_flight = _int(max_in_flight, "max_in_flight", 1)
        keepalive = _options.seconds(keepalive, "keepalive", inclusive=False)
        retry_timeout = _options.seconds(retry_timeout, "retry_timeout", inclusive=False)
        down_interval = _options.duration(down_interval, "down_interval")
        max_down_interval = _options.duration(max_down_interval, "max_down_interval")
        if servers is None:
            if host is None:
                host = "localhost"
            if not isinstance(host, str):
                raise TypeError(f"'host' must be a str, not {type(host).__name__}")
            if isinstance(port, bool) or not isinstance(port, int):
                raise TypeError(f"'port' must be an int, not {type(port).__name__}")
            servers = [f"{host}:{port}"]
        elif isinstance(servers, (str, bytes)) or not all(isinstance(s, str) for s in servers):
            raise TypeError("'servers' must be a list of 'host:port' strings")
        if not servers:
            raise ValueError("'servers' must not be empty")
        if reactor is None:
            from twisted.internet import reactor as _reactor  # noqa: PLC0415

            reactor = _reactor
        self._reactor = reactor
        #: the clock of pool timeouts, back-off, down intervals, keep-warm, close.
        self.clock: Clock = clock if clock is not None else reactor
        self.size = size
        self.max_overflow = max_overflow
        self.pool_timeout = pool_timeout
        self.recycle = recycle
        self.max_in_flight = max_in_flight
        policy_kw: Dict[str, Any] = {}
        if random is not None:
            policy_kw["random"] = random
        self.policy = _retry.RetryPolicy(max_retries=max_retries, base=retry_backoff,
                                         cap=max(max_retry_backoff, retry_backoff), **policy_kw)
        self.stats = PoolStats()
        self._events = Events(self, listeners)
        self._servers = Servers(servers, self.clock, self._events, self.stats,
                                down_interval, max_down_interval)
        self.down_interval = down_interval
        self.max_down_interval = self._servers.max_down_interval
        if connection_factory is None:
            connection_factory = _default_factory(reactor, connection_kwargs)
            # Bad connection options are the caller's error, reported now - not
            # mistaken later for unreachable gateways. (No I/O: nothing connects.)
            first = self._servers.all[0]
            connection_factory(first.host, first.port)
        elif connection_kwargs:
            raise TypeError("connection options ("
                            + ", ".join(sorted(connection_kwargs))
                            + ") cannot be combined with connection_factory")
        self._compat: str = connection_kwargs.get("compat", "0.98")
        prefix = connection_kwargs.get("table_prefix")
        self._table_prefix: Optional[bytes] = (
            None if prefix is None else prefix.encode() if isinstance(prefix, str) else prefix)
        sep = connection_kwargs.get("table_prefix_separator", b"_")
        self._table_prefix_separator: bytes = sep.encode() if isinstance(sep, str) else sep
        self._leases = Leases(connection_factory, self._servers, self._events, self.stats,
                              self.clock, size=size, max_overflow=max_overflow,
                              pool_timeout=pool_timeout, recycle=recycle,
                              max_in_flight=max_in_flight)
        self._runner = CallRunner(self._leases, self._events, self.stats, self.clock,
                                  self.policy, retry_timeout)
        self._closing: "Optional[defer.Deferred[None]]" = None
        self._keepalive: Optional[task.LoopingCall] = None
        if keepalive is not None:
            self._keepalive = task.LoopingCall(self._keep_warm)
            self._keepalive.clock = as_reactor_time(self.clock)
            self._keepalive.start(keepalive, now=False).addErrback(
                lambda f: log.error("keep-warm loop stopped: %s", f.getErrorMessage()))
        if prefill:
            self.prefill().addErrback(
                lambda f: log.warning("pool prefill incomplete: %s", f.getErrorMessage()))

    def __repr__(self) -> str:
        return (f"<txhbase.ConnectionPool {', '.join(self.servers)} "
                f"{len(self._leases.all)}/{self.size} open>")

    # ------------------------------------------------------------------ info

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._leases.closed

    @property
    def compat(self) -> str:
        """HBase compatibility mode of the pooled connections."""
        return self._compat

    @property
    def servers(self) -> List[str]:
        """The gateways, in the order given."""
        return self._servers.addresses()

    def server_status(self) -> Dict[str, Dict[str, Any]]:
        """``'host:port'`` -> {down, down_until, connections, last_error}."""
        return self._servers.status()

    def connection_status(self) -> List[Dict[str, Any]]:
        """One dict per open connection: ``server``, ``connection``,
        ``leased``, ``shared``, ``in_flight`` (for monitoring and tests)."""
        return self._leases.snapshot()

    def add_listener(self, listener: PoolListener) -> None:
        """Register a ``PoolListener``."""
        self._events.listeners.append(listener)

    # ------------------------------------------------------------------ Caller

    def call(self, method: str, *args: Any, timeout: Optional[float] = None) -> "defer.Deferred[Any]":
        """Thrift call ``method(*args)`` on a shared connection, retried under
        ``txhbase._retry``'s rules for that method (``Caller.call``).

        Fires with the method's result.  Fails with the last attempt's error
        (``ConnectionLost``, ``TimeoutError``, ``HBaseIOError``, ...) carrying
        ``attempts``, ``servers`` and ``maybe_applied``, or with
        ``NoConnectionsAvailable`` (pool closed, ``pool_timeout``) /
        ``AllServersUnavailable`` (no gateway accepted a connection while the
        retry budget lasted).
        """
        return self._runner.call(method, *args, timeout=timeout)

    def pin(self) -> "defer.Deferred[Pinned]":
        """Lease one connection for a scanner (``Caller.pin``); fails with
        ``NoConnectionsAvailable`` or ``AllServersUnavailable``."""
        return self._runner.pin()

    def table(self, name: Union[bytes, str], use_prefix: bool = True) -> Table:
        """A ``Table`` over this pool (no round trip); ``table_prefix`` of the
        connection options applies unless ``use_prefix`` is false."""
        from txhbase.connection import prefixed_name

        if not isinstance(name, (bytes, str)):
            raise TypeError(f"'name' must be bytes or str, not {type(name).__name__}")
        prefix = self._table_prefix if use_prefix else None
        return Table(prefixed_name(name, prefix, self._table_prefix_separator), self)

    # ------------------------------------------------------------------ leasing

    def connection(self, timeout: Optional[float] = None) -> _LeaseDeferred:
        """Lease a connection; give it back with ``release(conn)``.

        Fires with the Connection; fails with ``NoConnectionsAvailable`` after
        ``timeout`` seconds (default ``pool_timeout``) or when the pool is
        closed, with ``AllServersUnavailable`` when no gateway accepts a
        connection.  ``async with pool.connection() as conn:`` releases on
        exit (closing it instead if a txhbase error left the block).
        """
        timeout = _options.seconds(timeout, "timeout")
        out = _LeaseDeferred()
        out.pool = self
        inner = self._leases.lease(frozenset(), timeout)

        def leased(rec: Pooled) -> None:
            if out.called:  # cancelled meanwhile: give it straight back
                self._leases.checkin(rec, False)
            else:
                out.callback(rec.conn)

        def failed(f: Failure) -> None:
            if not out.called:
                out.errback(f)

        inner.addCallbacks(leased, failed)
        out._canceller = lambda _d: inner.cancel()
        return out

    def release(self, conn: Any, bad: bool = False) -> None:
        """Give back a leased connection; ``bad=True`` closes it instead of reusing it.

        Raises ValueError for a connection not leased from this pool.
        """
        rec = self._leases.all.get(id(conn))
        if rec is None or rec.conn is not conn or not rec.leased:
            if rec is None and self.closed:
                return  # closed under the borrower: nothing left to do
            raise ValueError("conn is not a connection leased from this pool")
        self._leases.checkin(rec, bad)

    def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> "defer.Deferred[Any]":
        """Lease a connection, fire with ``func(conn, *args, **kwargs)``'s result, release.

        Not retried (``func`` may do anything); the connection is closed
        rather than reused if ``func`` failed with a connection-level error.
        Fails with ``func``'s error or as ``connection()``.
        """
        d = self._leases.lease(frozenset(), None)

        def call(rec: Pooled) -> "defer.Deferred[Any]":
            r = defer.maybeDeferred(func, rec.conn, *args, **kwargs)

            def done(result: Any) -> Any:
                bad = False
                if isinstance(result, Failure):
                    exc = _exception(result)
                    verdict = _retry.classify(exc, _retry.UNSAFE)
                    bad = verdict.connection_bad
                    if verdict.server_fault:
                        self._leases.server_failed(rec.server, exc)
                self._leases.checkin(rec, bad)
                return result

            return r.addBoth(done)

        return d.addCallback(call)

    # ------------------------------------------------------------------ lifecycle

    def prefill(self) -> "defer.Deferred[ConnectionPool]":
        """Open connections until ``size`` are open; fires with the pool when
        done, fails with the first connection error."""
        leases = self._leases
        wanted = self.size - leases.total()
        ds = [leases.open_new(frozenset()).addCallback(leases.checkin, False)
              for _ in range(max(0, wanted))]
        return defer.gatherResults(ds, consumeErrors=True).addCallback(lambda _: self)

    def _keep_warm(self) -> "defer.Deferred[Any]":
        """One cheap call on each idle connection; dispose those that fail."""
        leases = self._leases
        ds = []
        for rec in list(leases.idle):
            leases.idle.remove(rec)
            rec.warming = True  # out of the idle queue: not lent meanwhile
            d = defer.maybeDeferred(rec.conn.call, "getTableNames")

            def done(result: Any, rec: Pooled = rec) -> None:
                bad = isinstance(result, Failure)
                if isinstance(result, Failure) and not leases.closed:
                    exc = _exception(result)
                    verdict = _retry.classify(exc, _retry.READ)
                    if verdict.server_fault:
                        leases.server_failed(rec.server, exc)
                    self._events.emit("connection_failed", server=rec.server.address,
                                      connection=rec.conn, error=exc)
                rec.warming = False
                if rec.disposed:
                    return
                if bad or leases.closed:
                    leases.dispose(rec)
                    leases.serve_waiters()
                else:
                    leases.return_idle(rec)
                leases.refresh_stats()

            ds.append(d.addBoth(done))
        leases.refresh_stats()
        return defer.gatherResults(ds)

    def close(self, grace: Optional[float] = None) -> "defer.Deferred[None]":
        """Close every connection (lent ones too) and fail every waiter.

        ``grace`` (seconds on the pool's clock): new calls and leases fail at
        once with ``NoConnectionsAvailable("the pool was closed")``, calls in
        flight (and leased connections, scans) may finish until it ends; then
        whatever is left fails with ``ConnectionLost`` and every connection and
        server scanner is closed.  None or 0: at once.  Fires with None once
        all is closed; never fails. Safe to call twice.
        """
        grace = _options.seconds(grace, "grace")
        leases = self._leases
        if not leases.closed:
            leases.closed = True
            if self._keepalive is not None and self._keepalive.running:
                self._keepalive.stop()
            leases.fail_waiters(NoConnectionsAvailable("the pool was closed"))
            for rec in list(leases.idle):
                leases.idle.remove(rec)
                leases.dispose(rec)
            leases.refresh_stats()
        if not grace:
            return leases.close_all()
        if self._closing is None:
            drained = leases.when_empty()
            drained.addTimeout(grace, as_reactor_time(self.clock),
                               onTimeoutCancel=lambda r, t: None)
            self._closing = drained.addCallback(lambda _: leases.close_all())
        out: "defer.Deferred[None]" = defer.Deferred()

        def fire(result: Any) -> Any:
            out.callback(None)
            return result

        self._closing.addBoth(fire)
        return out
