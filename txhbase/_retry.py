"""Retry policy for pooled calls: which failures may be retried, and when.

A pooled call can fail in three ways that matter for safety:

* it **never reached the server** (the connection could not be opened, or
  was found closed before the call was written): retrying is always safe;
* its **reply was lost** (connection dropped after the call was sent, a
  timeout, a garbled reply): the server may or may not have applied it.
  Reads, scans, ``put`` and ``delete`` are retried anyway - HBase puts and
  deletes are idempotent except that a repeated put with no explicit
  timestamp can leave one extra version of the cell. Counters, ``append``
  and ``check_and_put`` are never repeated: their error says
  ``maybe_applied=True``;
* the **server answered with an error**: retried only when HBase marks it
  retryable (``IOError.canRetry``) and the call is safe to repeat.

The policy is pure: it classifies, computes back-off delays (exponential,
with full jitter from an injectable random source) and keeps no timers; the
pool schedules the waits on its injected clock.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from twisted.internet import defer
from twisted.internet import error as twisted_error

from txhbase import errors
from txhbase.errors import BatchError

#: Calls that only read (safe to repeat whatever happened).
READ = "read"
#: Mutations whose repetition leaves the same data (except extra versions).
IDEMPOTENT = "idempotent"
#: Mutations that must never be repeated once they may have reached the server.
UNSAFE = "unsafe"

#: THE table of rules: the safety class of each Thrift method a pool may
#: retry, by name.  Methods not listed (table administration, ...) are UNSAFE.
METHOD_KINDS: Dict[str, str] = {
    **dict.fromkeys((
        "getRow", "getRowTs", "getRowWithColumns", "getRowWithColumnsTs",
        "getRows", "getRowsTs", "getRowsWithColumns", "getRowsWithColumnsTs",
        "get", "getVer", "getVerTs", "getRowOrBefore", "getRegionInfo",
        "getTableNames", "getColumnDescriptors", "getTableRegions", "isTableEnabled",
        "scannerOpen", "scannerOpenTs", "scannerOpenWithStop", "scannerOpenWithStopTs",
        "scannerOpenWithPrefix", "scannerOpenWithScan", "scannerGet", "scannerGetList",
        "scannerClose"), READ),
    **dict.fromkeys((
        "mutateRow", "mutateRowTs", "mutateRows", "mutateRowsTs",
        "deleteAll", "deleteAllTs", "deleteAllRow", "deleteAllRowTs"), IDEMPOTENT),
    **dict.fromkeys((
        "atomicIncrement", "increment", "incrementRows", "append", "checkAndPut"), UNSAFE),
}


def method_kind(name: str, args: Sequence[Any] = ()) -> str:
    """The safety class of Thrift call ``name(*args)``; unknown methods are unsafe.

    ``atomicIncrement`` by 0 (``Table.counter_get``) changes nothing: a read.
    """
    if name == "atomicIncrement" and len(args) == 4 and args[3] == 0:
        return READ
    return METHOD_KINDS.get(name, UNSAFE)


def resumes_scan(exc: BaseException, opening: bool) -> bool:
    """True when a scan on one connection may be reopened after ``exc``: the
    connection dropped, or (after the open) the gateway says the scanner id
    is invalid (HBase expires scanners idle for 60 s; a restarted gateway
    forgets them)."""
    if isinstance(exc, errors.ConnectionLost):
        return True
    return isinstance(exc, errors.IllegalArgument) and not opening


@dataclass(frozen=True)
class Verdict:
    """What to do about one failed attempt.

    ``retry``: try again (on another gateway if possible).
    ``maybe_applied``: the server may have applied the call (None: unknown).
    ``server_fault``: the gateway or the path to it failed; mark it down.
    ``connection_bad``: do not lend this connection again.
    """

    retry: bool
    maybe_applied: Optional[bool]
    server_fault: bool
    connection_bad: bool


_CONNECT_ERRORS = (
    twisted_error.ConnectError,  # refused, DNS, timeout while connecting, ...
    twisted_error.ConnectingCancelledError,
)


def not_sent(exc: BaseException) -> bool:
    """True when the failure proves the call never reached the server.

    Any error with ``sent=False`` counts (``ConnectionLost`` has it; a
    connect ``TimeoutError`` that carried it would be retried as unsent too).
    """
    if getattr(exc, "sent", None) is False:
        return True
    return isinstance(exc, _CONNECT_ERRORS)


def classify(exc: BaseException, kind: str) -> Verdict:
    """Classify the failure ``exc`` of a call of safety class ``kind``."""
    if isinstance(exc, BatchError):
        verdict = classify(exc.reason, kind)
        if exc.maybe_applied is False and verdict.maybe_applied:
            # Failed before anything was sent (e.g. fetching families).
            return Verdict(True, False, verdict.server_fault, verdict.connection_bad)
        return verdict
    return _classify(exc, kind)


def _classify(exc: BaseException, kind: str) -> Verdict:
    if isinstance(exc, (errors.NoConnectionsAvailable, errors.AllServersUnavailable)):
        return Verdict(False, False, False, False)
    if isinstance(exc, defer.CancelledError) and not isinstance(exc, errors.TimeoutError):
        # The caller gave up; the call may be in flight.
        return Verdict(False, None, False, True)
    if not_sent(exc):
        return Verdict(True, False, True, True)
    if isinstance(exc, (errors.ConnectionLost, errors.TimeoutError, errors.ProtocolError,
                        twisted_error.ConnectionLost, twisted_error.ConnectionDone)):
        # Lost reply: the request may have been applied.
        return Verdict(kind != UNSAFE, True, True, True)
    if isinstance(exc, errors.HBaseIOError):
        # The server ran the call and failed it; a retryable error means the
        # region was moving / the server busy.  The gateway itself is fine.
        retry = bool(exc.can_retry) and kind != UNSAFE
        return Verdict(retry, None, False, False)
    if isinstance(exc, (errors.IllegalArgument, errors.AlreadyExists, errors.ServerError)):
        return Verdict(False, False, False, False)
    # TypeError/ValueError from argument checks and anything unexpected:
    # not a server problem, never retried.
    return Verdict(False, False, False, False)


@dataclass(frozen=True)
class Attempt:
    """One try of a pooled call: where, what went wrong, when (clock seconds)."""

    server: Optional[str]
    error: BaseException
    maybe_applied: Optional[bool]
    at: float

    def __repr__(self) -> str:
        return f"Attempt({self.server!r}, {type(self.error).__name__}: {self.error})"


@dataclass
class RetryPolicy:
    """Exponential back-off with full jitter, bounded by ``max_retries``.

    ``delay(n)`` for the n-th retry (n >= 1) is uniform in
    ``[0, min(cap, base * 2 ** (n - 1))]``.  ``random`` is injectable so
    tests are deterministic.
    """

    max_retries: int = 3
    base: float = 0.05
    cap: float = 2.0
    random: Callable[[], float] = field(default=random.random, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.max_retries, int) or isinstance(self.max_retries, bool) \
                or self.max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, not {self.max_retries!r}")
        if not isinstance(self.base, (int, float)) or self.base < 0:
            raise ValueError(f"retry_backoff must be a number >= 0, not {self.base!r}")
        if not isinstance(self.cap, (int, float)) or self.cap < self.base:
            raise ValueError(f"retry cap must be a number >= base, not {self.cap!r}")

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based)."""
        ceiling = min(self.cap, self.base * (2 ** max(0, retry_number - 1)))
        return float(ceiling * self.random())


def aggregate(attempts: Sequence[Attempt]) -> Optional[bool]:
    """True if any attempt may have been applied, False if none was, else None."""
    if any(a.maybe_applied for a in attempts):
        return True
    if all(a.maybe_applied is False for a in attempts):
        return False
    return None


def annotate(exc: BaseException, attempts: Sequence[Attempt],
             maybe_applied: Optional[bool]) -> BaseException:
    """Attach the attempt history to the error a pooled call fails with."""
    try:
        exc.attempts = tuple(attempts)  # type: ignore[attr-defined]
        exc.servers = tuple(a.server for a in attempts)  # type: ignore[attr-defined]
        exc.maybe_applied = maybe_applied  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # pragma: no cover - exotic exception types
        pass
    return exc
