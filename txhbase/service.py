"""Run a ``ConnectionPool`` as a Twisted application service.

A daemon started by ``twistd`` (or any ``MultiService``) wants its pool to
follow the application's lifecycle: opened when the application starts,
drained and closed when it stops, before the reactor goes away::

    application = service.Application("loader")
    pool = txhbase.ConnectionPool(4, "gw1", 9090, timeout=5000)
    PoolService(pool, grace=10).setServiceParent(application)

On stop (SIGTERM under ``twistd``), new calls fail at once with
``NoConnectionsAvailable``, calls already in flight may finish for ``grace``
seconds, then whatever is left fails with ``ConnectionLost`` and every
connection and server scanner is closed.  ``twistd`` waits for that before it
stops the reactor, so nothing is left hanging.
"""
from __future__ import annotations

import logging

from typing import Any, Optional, Protocol

from twisted.application import service
from twisted.internet import defer
from twisted.python.failure import Failure

__all__ = ["ClosablePool", "PoolService"]

log = logging.getLogger(__name__)


class ClosablePool(Protocol):
    """What ``PoolService`` needs from a pool (``txhbase.ConnectionPool`` is one)."""

    def prefill(self) -> "defer.Deferred[Any]":
        """Open connections until the pool's size is reached."""

    def close(self, grace: Optional[float] = None) -> "defer.Deferred[None]":
        """Stop new calls, let calls in flight run for ``grace`` seconds, close all."""


class PoolService(service.Service):
    """Opens ``pool`` when the application starts and closes it gracefully when it stops.

    :param pool: a ``txhbase.ConnectionPool`` (or anything with ``prefill()``
        and ``close(grace=)``).
    :param grace: seconds that calls in flight may take to finish once the
        service stops (on the pool's clock); ``None`` or ``0`` closes at once
        and fails calls in flight with ``ConnectionLost``.
    :param prefill: open the pool's connections when the service starts
        (else they open on first use).  A gateway that is down at start is
        logged, not fatal: the pool opens connections later, when it is back.
    """

    def __init__(self, pool: ClosablePool, grace: Optional[float] = 10.0, *,
                 prefill: bool = True) -> None:
        if grace is not None and (isinstance(grace, bool) or not isinstance(grace, (int, float))):
            raise TypeError(f"grace must be a number or None, not {type(grace).__name__}")
        if grace is not None and grace < 0:
            raise ValueError(f"grace must be >= 0 or None, not {grace!r}")
        if not isinstance(prefill, bool):
            raise TypeError(f"prefill must be a bool, not {type(prefill).__name__}")
        self.pool = pool
        self.grace = grace
        self.prefill = prefill
        #: fires with None once the prefill has finished (successfully or not:
        #: a failure is logged); None until the service starts.
        self.ready: Optional[defer.Deferred[None]] = None
        self._stopping: Optional[defer.Deferred[None]] = None

    def startService(self) -> None:
        """Mark the service running and, if asked, start opening connections."""
        super().startService()  # type: ignore[no-untyped-call]
        self._stopping = None
        if not self.prefill:
            self.ready = defer.succeed(None)
            return
        self.ready = defer.maybeDeferred(self.pool.prefill).addCallbacks(
            lambda _: None, self._prefill_failed)

    @staticmethod
    def _prefill_failed(failure: Failure) -> None:
        log.warning("pool prefill incomplete (connections open on demand): %s",
                    failure.getErrorMessage())

    def stopService(self) -> defer.Deferred[None]:
        """Close the pool with the grace period.

        Fires with None once every connection and server scanner is closed
        (at most about ``grace`` seconds after the call, plus the closes);
        never fails: a close error is logged.  Calling it again while the
        close runs returns a Deferred for the same close.
        """
        super().stopService()  # type: ignore[no-untyped-call]
        if self._stopping is None:
            self._stopping = defer.maybeDeferred(self.pool.close, grace=self.grace)
            self._stopping.addErrback(self._close_failed)
        done: defer.Deferred[None] = defer.Deferred()

        def closed(result: object) -> object:
            done.callback(None)
            return result

        self._stopping.addBoth(closed)
        return done

    @staticmethod
    def _close_failed(failure: Failure) -> None:
        log.error("closing the pool failed: %s", failure.getErrorMessage())
