"""A fake Connection for unit tests: records Thrift calls, answered by hand."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

from twisted.internet import defer, task

from txhbase import _retry
from txhbase.protocol.idl import hbase
from txhbase.table import Table


class OneGateway:
    """The ``Caller``/``Pinned`` parts a single-gateway fake shares with
    ``Connection``: it is its own pin; a scan resumes on it after a dropped
    connection or an expired scanner, unless ``closed``."""

    address = "fake:9090"
    closed = False
    reactor: Any

    @property
    def clock(self) -> Any:
        return self.reactor

    def pin(self) -> defer.Deferred:
        return defer.succeed(self)

    def resume(self, exc: BaseException, opening: bool) -> Optional[defer.Deferred]:
        if self.closed or not _retry.resumes_scan(exc, opening):
            return None
        return defer.succeed(self)

    def release(self, bad: bool = False) -> None:
        pass

    def track(self, scanner: Any) -> None:
        pass

    def abandon(self, scanner_id: Optional[int]) -> None:
        if scanner_id is not None:
            self.reactor.callLater(0, lambda: self.call("scannerClose", scanner_id))


@dataclass
class Call:
    name: str
    args: tuple
    timeout: Optional[float]
    d: defer.Deferred = field(repr=False)
    cancelled: bool = False


class FakeConnection(OneGateway):
    """What Table, Scanner and Batch need from a Connection: ``call`` + settings."""

    def __init__(self, compat: str = "0.98") -> None:
        self.compat = compat
        self.reactor = task.Clock()
        self.calls: List[Call] = []

    def call(self, name: str, *args: Any, timeout: Optional[float] = None) -> defer.Deferred:
        holder: dict = {}

        def cancel(d: defer.Deferred) -> None:
            holder["call"].cancelled = True

        d: defer.Deferred = defer.Deferred(cancel)
        c = Call(name, args, timeout, d)
        holder["call"] = c
        self.calls.append(c)
        return d

    def table(self, name: bytes = b"t") -> Table:
        return Table(name, self)

    def pending(self, name: Optional[str] = None) -> List[Call]:
        return [c for c in self.calls if not c.d.called and (name is None or c.name == name)]

    def names(self) -> List[str]:
        return [c.name for c in self.calls]

    def answer(self, name: str, result: Any = None) -> Call:
        """Fire the oldest pending call, which must be ``name``."""
        pend = self.pending()
        assert pend, f"no pending call (wanted {name})"
        c = pend[0]
        assert c.name == name, f"oldest pending call is {c.name}, wanted {name}"
        c.d.callback(result)
        return c

    def fail(self, name: str, exc: BaseException) -> Call:
        pend = self.pending()
        assert pend and pend[0].name == name, (name, self.names())
        pend[0].d.errback(exc)
        return pend[0]


def cell(value: bytes, ts: int = 1) -> Any:
    return hbase.TCell(value=value, timestamp=ts)


def rowres(key: bytes, cols: dict, ts: int = 1) -> Any:
    return hbase.TRowResult(row=key, columns={c: cell(v, ts) for c, v in cols.items()})


def rows(*keys: bytes, col: bytes = b"cf:a") -> List[Any]:
    return [rowres(k, {col: b"v" + k}) for k in keys]


def result_of(d: defer.Deferred) -> Any:
    """The result of an already-fired Deferred (raises its failure)."""
    from twisted.python.failure import Failure

    out: list = []

    def grab(r: Any) -> Any:
        out.append(r)
        return None if isinstance(r, Failure) else r

    d.addBoth(grab)
    assert out, "Deferred has not fired"
    r = out[0]
    if isinstance(r, Failure):
        r.raiseException()
    return r
