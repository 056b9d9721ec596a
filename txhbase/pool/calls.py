"""The pool's ``Caller``: single calls on shared connections, retried under
``txhbase._retry``'s rules, and pins (leases) for scanners.

A single call is sent at once on the least busy shared connection when one
is free (the hot path: no generator, no extra checks; the table layer
already checked the arguments), else it waits for a slot.  A failed attempt
is classified by ``_retry.classify`` with the safety class of its Thrift
method (``_retry.method_kind``); it is retried on another gateway after a
back-off while the call's retry budget lasts (``max_retries`` retries and,
if set, ``retry_timeout`` seconds).  Finding no gateway that accepts a
connection counts against the same budget: down is a hint, so the next
attempt probes the gateways again.
"""
from __future__ import annotations

import logging
from typing import AbstractSet, Any, Generator, List, Optional, Set, Tuple

from twisted.internet import defer, task
from twisted.python.failure import Failure

from txhbase import _retry
from txhbase.caller import Clock, Pinned, ScannerHandle, as_reactor_time
from txhbase.errors import AllServersUnavailable, ConnectionLost
from txhbase.pool.events import Events, PoolStats
from txhbase.pool.leases import Leases, Pooled

__all__ = ["CallRunner", "PoolPin"]

log = logging.getLogger("txhbase.pool")

_NOWHERE: AbstractSet[str] = frozenset()


class CallRunner:
    """Runs Thrift calls for a ``ConnectionPool`` (its ``call`` and ``pin``)."""

    def __init__(self, leases: Leases, events: Events, stats: PoolStats, clock: Clock,
                 policy: _retry.RetryPolicy, retry_timeout: Optional[float]) -> None:
        self.leases = leases
        self.events = events
        self.stats = stats
        self.clock = clock
        self.policy = policy
        self.retry_timeout = retry_timeout

    def budget_left(self, retries: int, started: float, delay: float) -> bool:
        """True when one more retry (after ``delay`` s) fits the call's budget."""
        if retries >= self.policy.max_retries or self.leases.closed:
            return False
        if self.retry_timeout is None:
            return True
        return self.clock.seconds() + delay - started <= self.retry_timeout

    # ------------------------------------------------------------------ single calls

    def call(self, method: str, *args: Any, timeout: Optional[float] = None) -> "defer.Deferred[Any]":
        """``Caller.call`` for the pool; see the module docstring."""
        leases = self.leases
        if not leases.closed and not leases.shared_waiters:  # waiting calls go first
            rec = leases.try_shared(_NOWHERE)
            if isinstance(rec, Pooled):
                leases.start_shared(rec)
                self.stats.calls += 1
                d = rec.conn.call(method, *args, timeout=timeout)
                # A separate Deferred, so the caller's is not "called" while a retry waits.
                out: "defer.Deferred[Any]" = defer.Deferred(lambda _: d.cancel())
                d.addCallbacks(self._first_ok, self._first_failed, callbackArgs=(rec,),
                               errbackArgs=(rec, method, args, timeout)).chainDeferred(out)
                return out
        self.stats.calls += 1
        return self._retried(method, args, timeout, None)

    def _first_ok(self, result: Any, rec: Pooled) -> Any:
        self.leases.servers.ok(rec.server)
        self.leases.shared_done(rec, False)
        return result

    def _first_failed(self, f: Failure, rec: Pooled, method: str, args: Tuple[Any, ...],
                      timeout: Optional[float]) -> Any:
        exc = f.value
        assert exc is not None
        attempts: List[_retry.Attempt] = []
        kind = _retry.method_kind(method, args)
        verdict = self.attempt_failed(rec, exc, kind, True, attempts)
        delay = self.policy.delay(1)
        if verdict.retry and self.budget_left(0, self.clock.seconds(), delay):
            self.stats.retries += 1
            log.info("retrying %s (retry 1) after %s on %s", method,
                     type(exc).__name__, rec.server.address)
            return self._retried(method, args, timeout,
                                 (attempts, {rec.server.address}, 1, delay, attempts[0].at))
        self.stats.failed_calls += 1
        _retry.annotate(exc, attempts, _retry.aggregate(attempts))
        return f

    @defer.inlineCallbacks
    def _retried(self, method: str, args: Tuple[Any, ...], timeout: Optional[float],
                 resume: Optional[Tuple[List[_retry.Attempt], Set[str], int, float, float]]
                 ) -> Generator["defer.Deferred[Any]", Any, Any]:
        """The general path: wait for a shared slot, retry while the budget lasts.
        ``resume``: ``(attempts, avoid, retries, delay, started)`` of a call
        whose first attempt the fast path made (the back-off is waited first)."""
        kind = _retry.method_kind(method, args)
        if resume is None:
            attempts: List[_retry.Attempt] = []
            avoid: Set[str] = set()
            retries = 0
            started = self.clock.seconds()
        else:
            attempts, avoid, retries, delay, started = resume
            yield task.deferLater(as_reactor_time(self.clock), delay)
        while True:
            try:
                rec = yield self.leases.lease_shared(frozenset(avoid))
            except AllServersUnavailable as exc:
                delay = self.policy.delay(retries + 1)
                if self.budget_left(retries, started, delay):
                    # Down is a hint: try the gateways again after a back-off.
                    retries += 1
                    self.stats.retries += 1
                    avoid.clear()
                    yield task.deferLater(as_reactor_time(self.clock), delay)
                    continue
                self.stats.failed_calls += 1
                raise _retry.annotate(exc, attempts, _retry.aggregate(attempts))
            except Exception as exc:
                self.stats.failed_calls += 1
                raise _retry.annotate(exc, attempts, _retry.aggregate(attempts))
            try:
                result = yield rec.conn.call(method, *args, timeout=timeout)
            except Exception as exc:
                verdict = self.attempt_failed(rec, exc, kind, True, attempts)
                delay = self.policy.delay(retries + 1)
                if verdict.retry and self.budget_left(retries, started, delay):
                    retries += 1
                    self.stats.retries += 1
                    avoid.add(rec.server.address)
                    log.info("retrying %s (retry %d) after %s on %s", method, retries,
                             type(exc).__name__, rec.server.address)
                    yield task.deferLater(as_reactor_time(self.clock), delay)
                    continue
                self.stats.failed_calls += 1
                raise _retry.annotate(exc, attempts, _retry.aggregate(attempts))
            self.leases.servers.ok(rec.server)
            self.leases.shared_done(rec, False)
            return result

    def attempt_failed(self, rec: Pooled, exc: BaseException, kind: str, shared: bool,
                       attempts: List[_retry.Attempt]) -> _retry.Verdict:
        """Record a failed attempt on ``rec``, mark its gateway down if at fault
        and give the connection back; returns the verdict."""
        verdict = _retry.classify(exc, kind)
        attempts.append(_retry.Attempt(rec.server.address, exc, verdict.maybe_applied,
                                       self.clock.seconds()))
        # A dropped shared connection fails all its calls: count it once.
        if verdict.server_fault and not self.leases.closed and not rec.faulted:
            rec.faulted = shared
            self.events.emit("connection_failed", server=rec.server.address,
                             connection=rec.conn, error=exc)
            self.leases.server_failed(rec.server, exc)
        if shared:
            self.leases.shared_done(rec, verdict.connection_bad)
        elif rec.leased:
            self.leases.checkin(rec, verdict.connection_bad)
        return verdict

    # ------------------------------------------------------------------ pins

    def pin(self) -> "defer.Deferred[Pinned]":
        """Lease one connection for a scanner; fails as a lease does."""
        return self._pin(_ScanBudget(self.clock.seconds()), _NOWHERE)

    def _pin(self, budget: "_ScanBudget", avoid: AbstractSet[str]) -> "defer.Deferred[Pinned]":
        """A lease for a scan; finding no gateway that accepts a connection
        counts against the scan's budget (down is a hint: probe again later)."""
        d = self.leases.lease(avoid, None)

        def got(rec: Pooled) -> Pinned:
            return PoolPin(self, rec, budget)

        def failed(f: Failure) -> Any:
            if isinstance(f.value, AllServersUnavailable):
                wait = self.policy.delay(budget.retries + 1)
                if self.budget_left(budget.retries, budget.started, wait):
                    budget.retries += 1
                    self.stats.retries += 1
                    later: "defer.Deferred[None]" = task.deferLater(
                        as_reactor_time(self.clock), wait)
                    return later.addCallback(lambda _: self._pin(budget, _NOWHERE))
            if f.value is not None:
                _retry.annotate(f.value, budget.attempts, None)
            return f

        return d.addCallbacks(got, failed)


class _ScanBudget:
    """One scan's retries since its last answered call, kept across the pins
    it moves through."""

    __slots__ = ("attempts", "retries", "started")

    def __init__(self, started: float) -> None:
        self.attempts: List[_retry.Attempt] = []
        self.retries = 0
        self.started = started


class PoolPin:
    """A scanner's lease of one pooled connection (``txhbase.caller.Pinned``)."""

    def __init__(self, runner: CallRunner, rec: Pooled, budget: _ScanBudget) -> None:
        self._runner = runner
        self._rec: Optional[Pooled] = rec
        self._budget = budget
        self._bad = False
        self._address = rec.server.address
        self._scanner: Optional[ScannerHandle] = None

    @property
    def address(self) -> str:
        """The gateway of the leased connection."""
        return self._address

    def call(self, method: str, *args: Any, timeout: Optional[float] = None) -> "defer.Deferred[Any]":
        """One call on the leased connection (not retried: see ``resume``)."""
        rec = self._rec
        if rec is None:
            return defer.fail(ConnectionLost("the scanner's lease was given back", sent=False))
        return rec.conn.call(method, *args, timeout=timeout).addCallback(self._answered)

    def _answered(self, result: Any) -> Any:
        """A call of the scan was answered: its retry budget starts afresh
        (a long scan survives any number of failures it makes progress between)."""
        budget = self._budget
        if budget.retries:
            budget.retries = 0
            budget.started = self._runner.clock.seconds()
        return result

    def resume(self, exc: BaseException, opening: bool) -> "Optional[defer.Deferred[Pinned]]":
        """After a failed scan call: mark the gateway down if at fault, and
        fire with a fresh lease (on another gateway if possible, after a
        back-off) while the scan's retry budget lasts; None to give up."""
        runner, budget, rec = self._runner, self._budget, self._rec
        if rec is None:
            return None
        verdict = _retry.classify(exc, _retry.READ)
        budget.attempts.append(_retry.Attempt(rec.server.address, exc, None,
                                              runner.clock.seconds()))
        if verdict.server_fault and not runner.leases.closed:
            runner.events.emit("connection_failed", server=rec.server.address,
                               connection=rec.conn, error=exc)
            runner.leases.server_failed(rec.server, exc)
        delay = runner.policy.delay(budget.retries + 1)
        retry = verdict.retry or _retry.resumes_scan(exc, opening)
        if not (retry and runner.budget_left(budget.retries, budget.started, delay)):
            self._bad = verdict.connection_bad
            _retry.annotate(exc, budget.attempts, None)
            return None
        self.release(verdict.connection_bad)
        budget.retries += 1
        runner.stats.retries += 1
        d: "defer.Deferred[None]" = task.deferLater(as_reactor_time(runner.clock), delay)
        avoid = {self._address}
        return d.addCallback(lambda _: runner._pin(budget, avoid))

    def release(self, bad: bool = False) -> None:
        """Give the connection back (closed rather than reused if ``bad``)."""
        rec, self._rec = self._rec, None
        if rec is not None and self._scanner is not None:
            scanners = getattr(rec.conn, "live_scanners", None)
            if scanners is not None:
                scanners.discard(self._scanner)
        if rec is not None and rec.leased:
            self._runner.leases.checkin(rec, bad or self._bad)

    def track(self, scanner: ScannerHandle) -> None:
        """Closing the leased connection ends ``scanner`` (a ``Connection`` tracks it)."""
        rec = self._rec
        track = getattr(rec.conn, "track", None) if rec is not None else None
        if track is not None:
            track(scanner)
            self._scanner = scanner

    def abandon(self, scanner_id: Optional[int]) -> None:
        """GC of an unclosed scanner: close its server scanner, then close the
        connection rather than reuse it (a call may still be in flight on it)."""
        rec, self._rec = self._rec, None
        if rec is None:
            return
        leases = self._runner.leases

        def give_back() -> None:
            if scanner_id is not None:
                rec.conn.call("scannerClose", scanner_id).addErrback(lambda f: None)
            if rec.leased:
                leases.checkin(rec, True)

        try:
            self._runner.clock.callLater(0, give_back)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass
