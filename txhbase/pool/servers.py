"""Gateway health for a pool: back-off after failures, and which gateway next.

A gateway that refuses a connection or drops one is *marked down* for a
back-off interval (doubling per consecutive failure up to a cap).  Down is a
hint, not a verdict: new connections prefer gateways that are up, but when
every gateway not yet tried is down they are probed anyway, the one whose
back-off ends first before the others, so a revived gateway is used as soon
as it accepts a connection.  A successful connect marks a gateway up at once.
"""
from __future__ import annotations

import itertools
import logging
from typing import AbstractSet, Any, Dict, List, Optional, Sequence


from txhbase.caller import Clock
from txhbase.errors import AllServersUnavailable
from txhbase.pool.events import Events, PoolStats

__all__ = ["Server", "Servers"]

log = logging.getLogger("txhbase.pool")


class Server:
    """Health of one gateway (``'host:port'``)."""

    def __init__(self, address: str) -> None:
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"'servers' entries must be 'host:port', not {address!r}")
        self.address = address
        self.host = host.strip("[]")
        self.port = int(port)
        self.down_until = 0.0
        self.marked_down = False
        self.consecutive_failures = 0
        self.last_error: Optional[BaseException] = None
        self.connections = 0  # open or opening

    def is_down(self, now: float) -> bool:
        """True while the gateway's back-off runs."""
        return now < self.down_until

    def __repr__(self) -> str:
        return f"<Server {self.address} {'down' if self.marked_down else 'up'}>"


class Servers:
    """The pool's gateways, their back-off, and the choice of the next one."""

    def __init__(self, addresses: Sequence[str], clock: Clock, events: Events,
                 stats: PoolStats, down_interval: float, max_down_interval: float) -> None:
        self.all = [Server(a) for a in addresses]
        self.clock = clock
        self.events = events
        self.stats = stats
        self.down_interval = down_interval
        self.max_down_interval = max(max_down_interval, down_interval)
        self._rr = itertools.count()

    def any_up_elsewhere(self, avoid: AbstractSet[str]) -> bool:
        """True when some gateway outside ``avoid`` is not marked down."""
        now = self.clock.seconds()
        return any(not s.is_down(now) and s.address not in avoid for s in self.all)

    def fewest_up_connections(self, default: int) -> int:
        """The fewest connections held by a gateway that is up."""
        now = self.clock.seconds()
        return min((s.connections for s in self.all if not s.is_down(now)), default=default)

    def pick(self, avoid: AbstractSet[str], tried: AbstractSet[str]) -> Server:
        """The gateway for a new connection, among those not in ``tried``.

        Up gateways first (not in ``avoid`` if possible, fewest connections,
        ties round-robin); when every untried one is down, the one whose
        back-off ends first (a probe).  Raises ``AllServersUnavailable`` when
        every gateway was tried.
        """
        now = self.clock.seconds()
        untried = [s for s in self.all if s.address not in tried]
        if not untried:
            errors = {s.address: s.last_error for s in self.all}
            detail = "; ".join(f"{a}: {type(e).__name__}: {e}" for a, e in errors.items())
            raise AllServersUnavailable(
                f"no gateway accepted a connection ({detail})", errors)
        up = [s for s in untried if not s.is_down(now)]
        if not up:
            return min(untried, key=lambda s: s.down_until)
        preferred = [s for s in up if s.address not in avoid] or up
        turn = next(self._rr)
        n = len(preferred)
        return min((preferred[(turn + i) % n] for i in range(n)), key=lambda s: s.connections)

    def failed(self, server: Server, exc: BaseException) -> None:
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
        self.events.emit("server_marked_down", server=server.address, error=exc,
                         until=server.down_until)

    def ok(self, server: Server) -> None:
        """The gateway answered or accepted a connection: up at once."""
        server.consecutive_failures = 0
        server.down_until = 0.0
        if server.marked_down:
            server.marked_down = False
            log.info("gateway %s is up again", server.address)
            self.events.emit("server_marked_up", server=server.address)

    def status(self) -> Dict[str, Dict[str, Any]]:
        """``'host:port'`` -> {down, down_until, connections, last_error}."""
        now = self.clock.seconds()
        return {s.address: {"down": s.is_down(now), "down_until": s.down_until,
                            "connections": s.connections, "last_error": s.last_error}
                for s in self.all}

    def addresses(self) -> List[str]:
        """The gateways, in the order given."""
        return [s.address for s in self.all]
