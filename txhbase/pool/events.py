"""Pool events and counters: ``PoolListener`` (pycassa style) and ``PoolStats``."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List

__all__ = ["EVENTS", "Events", "PoolListener", "PoolStats"]

log = logging.getLogger("txhbase.pool")


class PoolListener:
    """Receives pool events; override the ones you need.

    Every method gets one ``dict`` with at least ``pool`` and, where it makes
    sense, ``server`` (``'host:port'``), ``connection`` and ``error``.
    Exceptions raised by a listener are logged and otherwise ignored.
    """

    def connection_created(self, event: Dict[str, Any]) -> None:
        """A new connection was opened."""

    def connection_checked_out(self, event: Dict[str, Any]) -> None:
        """A connection was lent."""

    def connection_checked_in(self, event: Dict[str, Any]) -> None:
        """A lent connection came back."""

    def connection_failed(self, event: Dict[str, Any]) -> None:
        """Opening a connection, or a call on it, failed at the connection level."""

    def connection_disposed(self, event: Dict[str, Any]) -> None:
        """A connection was closed and dropped from the pool."""

    def connection_recycled(self, event: Dict[str, Any]) -> None:
        """A connection reached ``recycle`` leases and was replaced."""

    def pool_at_max(self, event: Dict[str, Any]) -> None:
        """A lease had to wait: every connection is lent and none may be added."""

    def server_marked_down(self, event: Dict[str, Any]) -> None:
        """A gateway is avoided until ``event['until']`` (clock seconds)."""

    def server_marked_up(self, event: Dict[str, Any]) -> None:
        """A gateway that was marked down works again."""


EVENTS = ("connection_created", "connection_checked_out", "connection_checked_in",
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
    failures: Dict[str, int] = field(default_factory=dict)  # server -> connection-level failures

    def as_dict(self) -> Dict[str, Any]:
        """A plain copy of every counter."""
        d = dict(self.__dict__)
        d["failures"] = dict(self.failures)
        return d


class Events:
    """The pool's listeners; ``emit`` calls each, logging listener errors."""

    def __init__(self, pool: Any, listeners: Iterable[PoolListener]) -> None:
        self.pool = pool
        self.listeners: List[PoolListener] = list(listeners)

    def emit(self, name: str, **event: Any) -> None:
        """Send event ``name`` (one of ``EVENTS``) to every listener."""
        if not self.listeners:
            return
        event["pool"] = self.pool
        for listener in list(self.listeners):
            try:
                getattr(listener, name)(event)
            except Exception:
                log.exception("pool listener %r failed in %s", listener, name)
