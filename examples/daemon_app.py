"""The application behind ``daemon.tac``: a pool service and a load service.

``PoolService`` opens the pool when ``twistd`` starts the application and,
on SIGTERM, lets calls in flight finish for a grace period before it closes
every connection.  ``LoadService`` writes rows and scans them back through
the pool, one line per call outcome in an outcomes file:

    ok put KEY            the call completed
    fail put KEY ERROR    it failed with a txhbase error (named)
    BUG put KEY ERROR     it failed with anything else (never expected)

and ``stopped OK FAILED`` once every call it started has an outcome.

Configured from the environment (a ``.tac`` file takes no arguments):
``TXHBASE_GATEWAY`` (``host:port``; unset: an embedded server in this
process), ``TXHBASE_TRANSPORT``, ``TXHBASE_PROTOCOL``, ``TXHBASE_OUTCOMES``
(the outcomes file), ``TXHBASE_WRITERS`` (concurrent writers, default 8),
``TXHBASE_GRACE`` (seconds, default 5).
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Optional, TextIO

from twisted.application import service
from twisted.internet import defer

import txhbase
from txhbase import server as embedded
from txhbase.service import PoolService

TABLE = "example_daemon"


class LoadService(service.Service):
    """``writers`` loops, each putting rows and scanning back every 10th one."""

    def __init__(self, pool: txhbase.ConnectionPool, outcomes: TextIO, writers: int) -> None:
        self.pool = pool
        self.outcomes = outcomes
        self.writers = writers
        self.ok = self.failed = 0
        self._loops: list[defer.Deferred[None]] = []

    def record(self, outcome: Any, what: str) -> None:
        if not isinstance(outcome, BaseException):
            line, self.ok = f"ok {what}", self.ok + 1
        elif isinstance(outcome, txhbase.TxHBaseError):
            line, self.failed = f"fail {what} {type(outcome).__name__}", self.failed + 1
        else:
            line = f"BUG {what} {outcome!r}"
        self.outcomes.write(line + "\n")
        self.outcomes.flush()

    async def ensure_table(self) -> None:
        async with self.pool.connection() as conn:
            if TABLE.encode() not in await conn.tables():
                try:
                    await conn.create_table(TABLE, {"cf": {"max_versions": 1}})
                except txhbase.AlreadyExists:
                    pass

    async def writer(self, number: int) -> None:
        table = self.pool.table(TABLE)
        i = 0
        while self.running:
            key = f"w{number:02d}-{i:08d}"
            try:
                await table.put(key, {b"cf:n": str(i).encode()})
                self.record(None, f"put {key}")
            except Exception as exc:  # every outcome is recorded, none is hidden
                self.record(exc, f"put {key}")
            if i % 10 == 9 and self.running:
                try:
                    rows = [k async for k, _ in table.scan(row_start=f"w{number:02d}-", limit=10)]
                    self.record(None, f"scan w{number:02d} {len(rows)}")
                except Exception as exc:
                    self.record(exc, f"scan w{number:02d}")
            i += 1

    async def run(self) -> None:
        await self.ensure_table()
        await defer.gatherResults([defer.ensureDeferred(self.writer(n))
                                   for n in range(self.writers)])

    def startService(self) -> None:
        super().startService()
        d = defer.ensureDeferred(self.run())
        d.addErrback(lambda f: self.record(f.value, "start"))
        self._loops = [d]

    def stopService(self) -> defer.Deferred[None]:
        """Stop starting calls; fire once every call started has an outcome."""
        super().stopService()

        def summary(_: Any) -> None:
            self.outcomes.write(f"stopped {self.ok} {self.failed}\n")
            self.outcomes.flush()

        return defer.gatherResults(self._loops).addBoth(summary)


def make_application(env: Mapping[str, str], reactor: Any = None) -> service.Application:
    """The ``twistd`` application: pool service first, load service second
    (a MultiService stops its children in reverse order: the load stops
    starting calls, then the pool drains what is in flight)."""
    if reactor is None:
        from twisted.internet import reactor
    options = {"transport": env.get("TXHBASE_TRANSPORT", "buffered"),
               "protocol": env.get("TXHBASE_PROTOCOL", "binary")}
    gateway = env.get("TXHBASE_GATEWAY")
    srv: Optional[Any] = None
    if gateway:
        host, _, port = gateway.rpartition(":")
    else:
        srv = embedded.listen(0, reactor=reactor, **options)
        host, port = srv.host, str(srv.port)
        # Stop it only after the application (and so the pool) has stopped.
        reactor.addSystemEventTrigger("during", "shutdown", srv.stop)
    pool = txhbase.ConnectionPool(4, host, int(port), timeout=5000, reactor=reactor, **options)

    application = service.Application("txhbase-example-daemon")
    PoolService(pool, grace=float(env.get("TXHBASE_GRACE", "5"))).setServiceParent(application)
    outcomes = open(env.get("TXHBASE_OUTCOMES", "daemon-outcomes.log"), "a")
    LoadService(pool, outcomes, int(env.get("TXHBASE_WRITERS", "8"))).setServiceParent(application)
    return application
