"""In-memory fake gateways and connections for the pool's unit tests.

The fake connections answer Thrift calls (what a ``Table`` over the pool
sends through ``Caller.call``), so the pool is tested below the real table
layer; faults apply per Thrift call.

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
from txhbase.protocol.idl import hbase

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


def _row_result(key: bytes, cols: dict) -> Any:
    return hbase.TRowResult(row=key, columns={c: hbase.TCell(value=v, timestamp=1)
                                              for c, v in cols.items()})


class FakeConnection:
    """A pooled connection answering the Thrift calls the table layer makes
    (``call(name, *args)``), from the cluster's dict store, with the
    server's fault script applied to each call."""

    def __init__(self, cluster: FakeCluster, address: str) -> None:
        self.cluster = cluster
        self.address = address
        self.server = cluster.servers[address]
        self.is_open = False
        self.closed = False
        self.held: list = []  # this connection's share of server.held
        self.scanners: dict = {}
        self.next_sid = 1

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
        self.scanners.clear()
        return defer.succeed(None)

    def call(self, name: str, *args: Any, timeout: Any = None) -> defer.Deferred:
        handler = getattr(self, "_" + name, None)
        if handler is None:
            raise AssertionError(f"unexpected call {name}")
        return self._run(name, args, lambda: handler(*args))

    # --- the Thrift methods, over cluster.store / cluster.counters

    def _getTableNames(self) -> list:
        return [b"t"]

    def _getColumnDescriptors(self, table: bytes) -> dict:
        return {b"cf:": hbase.ColumnDescriptor(name=b"cf:")}

    def _getRowWithColumns(self, table: bytes, row: bytes, columns: Any, attrs: Any) -> list:
        cols = self.cluster.store.get(row)
        return [_row_result(row, cols)] if cols else []

    def _getRow(self, table: bytes, row: bytes, attrs: Any) -> list:
        return self._getRowWithColumns(table, row, None, attrs)

    def _mutateRow(self, table: bytes, row: bytes, mutations: list, attrs: Any) -> None:
        store = self.cluster.store
        for m in mutations:
            if m.isDelete:
                store.get(row, {}).pop(m.column, None)
            else:
                store.setdefault(row, {})[m.column] = m.value
        if row in store and not store[row]:
            del store[row]

    def _mutateRows(self, table: bytes, batches: list, attrs: Any) -> None:
        for bm in batches:
            self._mutateRow(table, bm.row, bm.mutations, attrs)

    def _deleteAllRow(self, table: bytes, row: bytes, attrs: Any) -> None:
        self.cluster.store.pop(row, None)

    def _atomicIncrement(self, table: bytes, row: bytes, column: bytes, value: int) -> int:
        counters = self.cluster.counters
        counters[(row, column)] = counters.get((row, column), 0) + value
        return counters[(row, column)]

    def _incrementRows(self, increments: list) -> None:
        for inc in increments:
            self._atomicIncrement(inc.table, inc.row, inc.column, inc.ammount)

    def _scannerOpenWithScan(self, table: bytes, scan: Any, attrs: Any) -> int:
        store = self.cluster.store
        keys = sorted(store, reverse=bool(scan.reversed))
        results = []
        for k in keys:
            if scan.reversed:
                if scan.startRow and k > scan.startRow:
                    continue
                if scan.stopRow is not None and k <= scan.stopRow:
                    continue
            else:
                if k < scan.startRow:
                    continue
                if scan.stopRow is not None and k >= scan.stopRow:
                    continue
            cols = sorted(store[k].items())
            step = scan.batchSize or len(cols)
            for i in range(0, len(cols), step):
                results.append(_row_result(k, dict(cols[i:i + step])))
        sid = self.next_sid
        self.next_sid += 1
        self.scanners[sid] = results
        return sid

    def _scannerGetList(self, sid: int, n: int) -> list:
        if sid not in self.scanners:
            raise errors.IllegalArgument("scanner ID is invalid")
        rows = self.scanners[sid]
        out, self.scanners[sid] = rows[:n], rows[n:]
        return out

    def _scannerClose(self, sid: int) -> None:
        if self.scanners.pop(sid, None) is None:
            raise errors.IllegalArgument("scanner ID is invalid")

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
        try:
            result = apply()
        except errors.TxHBaseError as exc:
            return defer.fail(exc)
        if fault == LOST_REPLY:
            return defer.fail(errors.ConnectionLost("lost reply", sent=True))
        if fault == TIMEOUT:
            return defer.fail(errors.TimeoutError("timed out"))
        return defer.succeed(result)
