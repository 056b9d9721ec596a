"""In-memory fake gateways and connections for the pool's unit tests.

A ``FakeCluster`` holds one ``FakeServer`` per ``'host:port'``; each has a
dict store and a script of faults for its next calls, so tests decide
exactly whether a call fails before reaching the server, after being applied
with its reply lost, or is answered with an HBase error.
"""
from __future__ import annotations

from typing import Any, Optional

from twisted.internet import defer
from twisted.internet import error as twisted_error

from txhbase import errors

# Fault kinds for FakeServer.script
NOT_SENT = "not_sent"        # ConnectionLost(sent=False), nothing applied
LOST_REPLY = "lost_reply"    # applied, then ConnectionLost(sent=True)
TIMEOUT = "timeout"          # applied, then TimeoutError
HOLD = "hold"                # never answers until released by the test


class FakeServer:
    def __init__(self, address: str) -> None:
        self.address = address
        self.up = True
        self.script: list = []      # faults or exceptions for the next calls
        self.calls: list = []       # (method, args) actually applied
        self.opened = 0
        self.held: list = []

    def next_fault(self) -> Any:
        return self.script.pop(0) if self.script else None


class FakeCluster:
    """Shared state of all fake gateways (one store, like one HBase behind several gateways)."""

    def __init__(self, *addresses: str) -> None:
        self.servers = {a: FakeServer(a) for a in addresses}
        self.store: dict = {}
        self.counters: dict = {}
        self.connections: list = []

    def factory(self, host: str, port: int) -> "FakeConnection":
        conn = FakeConnection(self, f"{host}:{port}")
        self.connections.append(conn)
        return conn


class FakeConnection:
    def __init__(self, cluster: FakeCluster, address: str) -> None:
        self.cluster = cluster
        self.address = address
        self.server = cluster.servers[address]
        self.is_open = False
        self.closed = False
        self.held: list = []  # this connection's share of server.held

    def in_flight(self) -> int:
        """Held calls on this connection that have not been answered yet."""
        return sum(1 for d, *_ in self.held if not d.called)

    def open(self) -> defer.Deferred:
        if not self.server.up:
            return defer.fail(twisted_error.ConnectionRefusedError(self.address))
        self.server.opened += 1
        self.is_open = True
        return defer.succeed(self)

    def close(self) -> defer.Deferred:
        self.closed = True
        self.is_open = False
        return defer.succeed(None)

    def call(self, name: str, *args: Any, timeout: Any = None) -> defer.Deferred:
        """The low-level call Batch uses: mutateRows and incrementRows."""
        cluster = self.cluster

        def apply() -> None:
            if name == "mutateRows":
                for bm in args[1]:
                    for m in bm.mutations:
                        if m.isDelete:
                            cluster.store.get(bm.row, {}).pop(m.column, None)
                        else:
                            cluster.store.setdefault(bm.row, {})[m.column] = m.value
            elif name == "incrementRows":
                for inc in args[0]:
                    key = (inc.row, inc.column)
                    cluster.counters[key] = cluster.counters.get(key, 0) + inc.ammount
            else:
                raise AssertionError(f"unexpected call {name}")

        return self._run(name, args, apply)

    def table(self, name: Any, use_prefix: bool = True) -> "FakeTable":
        return FakeTable(self, name)

    def tables(self) -> defer.Deferred:
        return self._run("tables", (), lambda: [])

    def _run(self, method: str, args: tuple, apply: Any) -> defer.Deferred:
        if self.closed:
            return defer.fail(errors.ConnectionLost("closed", sent=False))
        if not self.server.up:
            return defer.fail(errors.ConnectionLost("gateway down", sent=False))
        fault = self.server.next_fault()
        if fault == NOT_SENT:
            return defer.fail(errors.ConnectionLost("dropped before send", sent=False))
        if fault == HOLD:
            d: defer.Deferred = defer.Deferred()
            self.server.held.append((d, method, args, apply))
            self.held.append((d, method, args, apply))
            return d
        if isinstance(fault, BaseException):
            return defer.fail(fault)
        self.server.calls.append((method, args))
        result = apply()
        if fault == LOST_REPLY:
            return defer.fail(errors.ConnectionLost("lost reply", sent=True))
        if fault == TIMEOUT:
            return defer.fail(errors.TimeoutError("timed out"))
        return defer.succeed(result)


class FakeScanner:
    def __init__(self, table: "FakeTable", kwargs: dict) -> None:
        self.table = table
        self.kwargs = kwargs
        self.closed = False
        self.rows: Optional[list] = None

    def _load(self) -> list:
        store = self.table.conn.cluster.store
        start = self.kwargs.get("row_start")
        stop = self.kwargs.get("row_stop")
        prefix = self.kwargs.get("row_prefix")
        keys = sorted(store, reverse=bool(self.kwargs.get("reverse")))
        out = []
        for k in keys:
            if prefix is not None and not k.startswith(prefix):
                continue
            if not self.kwargs.get("reverse"):
                if start is not None and k < start:
                    continue
                if stop is not None and k >= stop:
                    continue
            else:
                if start is not None and k > start:
                    continue
                if stop is not None and k <= stop:
                    continue
            batching = self.kwargs.get("scan_batching")
            cols = sorted(store[k].items())
            if batching:
                for i in range(0, len(cols), batching):
                    out.append((k, dict(cols[i:i + batching])))
            else:
                out.append((k, dict(cols)))
        return out

    def get_next(self) -> defer.Deferred:
        def step() -> Any:
            if self.rows is None:
                self.rows = self._load()
            return self.rows.pop(0) if self.rows else None

        return self.table.conn._run("scannerGet", (), step)

    def close(self) -> defer.Deferred:
        self.closed = True
        return defer.succeed(None)


class FakeTable:
    def __init__(self, conn: FakeConnection, name: Any) -> None:
        self.conn = conn
        self.connection = conn
        self.name = name.encode() if isinstance(name, str) else name

    def _check_row(self, row: Any) -> None:
        if not isinstance(row, bytes):
            raise TypeError("row must be bytes")

    def row(self, row: bytes, columns: Any = None, timeout: Any = None) -> defer.Deferred:
        self._check_row(row)
        return self.conn._run("row", (row,), lambda: dict(self.conn.cluster.store.get(row, {})))

    def put(self, row: bytes, data: dict, timeout: Any = None) -> defer.Deferred:
        self._check_row(row)
        store = self.conn.cluster.store

        def apply() -> None:
            store.setdefault(row, {}).update(data)

        return self.conn._run("put", (row, dict(data)), apply)

    def delete(self, row: bytes, columns: Any = None) -> defer.Deferred:
        self._check_row(row)
        return self.conn._run("delete", (row,), lambda: self.conn.cluster.store.pop(row, None) and None)

    def counter_inc(self, row: bytes, column: bytes, value: int = 1) -> defer.Deferred:
        counters = self.conn.cluster.counters

        def apply() -> int:
            counters[(row, column)] = counters.get((row, column), 0) + value
            return counters[(row, column)]

        return self.conn._run("counter_inc", (row, column, value), apply)

    def counter_get(self, row: bytes, column: bytes) -> defer.Deferred:
        counters = self.conn.cluster.counters
        return self.conn._run("counter_get", (row, column), lambda: counters.get((row, column), 0))

    def scan(self, **kwargs: Any) -> FakeScanner:
        return FakeScanner(self, kwargs)
