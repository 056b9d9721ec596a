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
from typing import Callable, Optional

from twisted.internet import defer
from twisted.internet import error as twisted_error

from txhbase import errors
from txhbase.batch import BatchError

#: Table methods that only read (safe to repeat whatever happened).
#: ``counter_get`` is HBase's atomicIncrement by 0: it changes nothing.
READ = "read"
#: Mutations whose repetition leaves the same data (except extra versions).
IDEMPOTENT = "idempotent"
#: Mutations that must never be repeated once they may have reached the server.
UNSAFE = "unsafe"

METHOD_KINDS: dict[str, str] = {
    "row": READ,
    "rows": READ,
    "cells": READ,
    "scan": READ,
    "exists": READ,
    "count": READ,
    "families": READ,
    "regions": READ,
    "counter_get": READ,
    "put": IDEMPOTENT,
    "delete": IDEMPOTENT,
    "counter_set": UNSAFE,
    "counter_inc": UNSAFE,
    "counter_dec": UNSAFE,
    "append": UNSAFE,
    "check_and_put": UNSAFE,
}


def method_kind(name: str) -> str:
    """The safety class of a Table method; unknown methods are treated as unsafe."""
    return METHOD_KINDS.get(name, UNSAFE)


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
        return ceiling * self.random()


def annotate(exc: BaseException, attempts: list[Attempt],
             maybe_applied: Optional[bool]) -> BaseException:
    """Attach the attempt history to the error a pooled call fails with."""
    try:
        exc.attempts = tuple(attempts)  # type: ignore[attr-defined]
        exc.servers = tuple(a.server for a in attempts)  # type: ignore[attr-defined]
        exc.maybe_applied = maybe_applied  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # pragma: no cover - exotic exception types
        pass
    return exc
