"""A small typed fake pool honouring the graceful-close interface (PREAMBLE 3).

``FakePool.call()`` stands for a pooled call: while the pool is open it
returns a Deferred the test fires with ``finish()``; after ``close(grace)`` new
calls fail at once with ``NoConnectionsAvailable``, calls in flight may still
finish until ``grace`` seconds pass on the clock, then the rest fail with
``ConnectionLost`` and the close Deferred fires.
"""
from __future__ import annotations

from typing import Any, Optional

from twisted.internet import defer, task
from twisted.internet.interfaces import IDelayedCall

from txhbase import errors


class FakePool:
    def __init__(self, clock: task.Clock, prefill_result: Optional[defer.Deferred[Any]] = None) -> None:
        self.clock = clock
        self.prefills = 0
        self.closes: list[Optional[float]] = []
        self.in_flight: list[defer.Deferred[str]] = []
        self.closed = False
        self._prefill_result = prefill_result
        self._close_done: Optional[defer.Deferred[None]] = None
        self._timer: Optional[IDelayedCall] = None

    def prefill(self) -> defer.Deferred[Any]:
        self.prefills += 1
        if self._prefill_result is not None:
            return self._prefill_result
        return defer.succeed(self)

    def call(self) -> defer.Deferred[str]:
        if self.closed:
            return defer.fail(errors.NoConnectionsAvailable("the pool was closed"))
        d: defer.Deferred[str] = defer.Deferred()
        self.in_flight.append(d)
        return d

    def finish(self, d: defer.Deferred[str], value: str = "done") -> None:
        self.in_flight.remove(d)
        d.callback(value)
        if self.closed and not self.in_flight:
            self._finish_close()

    def close(self, grace: Optional[float] = None) -> defer.Deferred[None]:
        self.closes.append(grace)
        if self._close_done is not None:
            return self._close_done
        self.closed = True
        self._close_done = defer.Deferred()
        if grace and self.in_flight:
            self._timer = self.clock.callLater(grace, self._finish_close)
        else:
            self._finish_close()
        return self._close_done

    def _finish_close(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        left, self.in_flight = self.in_flight, []
        for d in left:
            d.errback(errors.ConnectionLost("closed at the end of the grace period"))
        assert self._close_done is not None
        if not self._close_done.called:
            self._close_done.callback(None)
