"""Shared helpers for the server tests: a handler on a fake clock, and shortcuts."""
from __future__ import annotations

from typing import Any

from thriftpy2.thrift import TApplicationException
from twisted.internet import task

from txhbase.protocol.idl import hbase
from txhbase.server.handler import HBaseHandler
from txhbase.server.store import Store

T0 = 1_700_000_000_000  # fake "now" in ms


class FakeTime:
    """A task.Clock whose ms reading drives the store (TTL, server timestamps)."""

    def __init__(self, start_ms: int = T0) -> None:
        self.clock = task.Clock()
        self.clock.advance(start_ms / 1000.0)

    def ms(self) -> int:
        return int(round(self.clock.seconds() * 1000))

    def advance_ms(self, ms: int) -> None:
        self.clock.advance(ms / 1000.0)


def make_handler(scanner_timeout: float = 60.0) -> tuple:
    ft = FakeTime()
    store = Store(clock=ft.ms)
    return HBaseHandler(store, clock=ft.clock, scanner_timeout=scanner_timeout), ft


def cd(name: bytes, **kw: Any) -> Any:
    return hbase.ColumnDescriptor(name=name, **kw)


def put(column: bytes, value: bytes | None) -> Any:
    return hbase.Mutation(isDelete=False, column=column, value=value)


def delete(column: bytes) -> Any:
    return hbase.Mutation(isDelete=True, column=column)


def app_error_type(excinfo: Any) -> int:
    assert isinstance(excinfo.value, TApplicationException)
    return excinfo.value.type


def rows_of(results: list) -> list:
    """TRowResults -> [(row, {col: value})]."""
    out = []
    for r in results:
        if r.columns is not None:
            out.append((r.row, {c: cell.value for c, cell in r.columns.items()}))
        else:
            out.append((r.row, [(c.columnName, c.cell.value) for c in r.sortedColumns]))
    return out
