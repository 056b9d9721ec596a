"""Property test: whatever the batch sizes, partial rows, direction, limit and
injected failures (lost connection, expired scanner id) at any point, a
Scanner delivers exactly the cells a clean scan would, in order, once each,
and leaves no live scanner on the server."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet import defer, task

from txhbase import errors
from txhbase.protocol.idl import hbase
from txhbase.scanner import MAX_RESUMES
from txhbase.table import Table

from tests.client.fakes import OneGateway, result_of


class ModelServer(OneGateway):
    """A synchronous in-memory scanner service with failure injection."""

    def __init__(self, data: Dict[bytes, Dict[bytes, bytes]], failures: List[Optional[str]]):
        self.data = data
        self.failures = list(failures)  # per scanner call: None, "lost" or "expired"
        self.scanners: Dict[int, list] = {}
        self.next_id = 1
        self.run = 0  # failures injected since the last answered scannerGetList
        self.reactor = task.Clock()
        self.compat = "0.98"
        self.closed = False

    def _inject(self, name: str) -> Optional[BaseException]:
        kind = self.failures.pop(0) if self.failures else None
        if kind == "expired" and name != "scannerGetList":
            kind = None  # only an existing scanner id can expire
        if self.run >= MAX_RESUMES:
            kind = None  # let the scan make progress: the Scanner gives up after that
        if kind:
            self.run += 1
        if kind == "lost":
            self.scanners.clear()  # a new connection: the old ids are gone for us
            return errors.ConnectionLost("connection lost", sent=True)
        if kind == "expired":
            self.scanners.clear()
            return errors.IllegalArgument("scanner ID is invalid")
        return None

    def call(self, name: str, *args: Any, timeout: Any = None) -> defer.Deferred:
        if name == "scannerClose":
            (sid,) = args
            if sid not in self.scanners:
                return defer.fail(errors.IllegalArgument("scanner ID is invalid"))
            del self.scanners[sid]
            return defer.succeed(None)
        exc = self._inject(name)
        if exc is not None:
            return defer.fail(exc)
        if name == "scannerOpenWithScan":
            _, scan, _ = args
            keys = sorted(self.data, reverse=bool(scan.reversed))
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
                cols = sorted(self.data[k].items())
                step = scan.batchSize or len(cols)
                for i in range(0, len(cols), step):
                    part = cols[i:i + step]
                    results.append(hbase.TRowResult(row=k, columns={
                        c: hbase.TCell(value=v, timestamp=1) for c, v in part}))
            sid = self.next_id
            self.next_id += 1
            self.scanners[sid] = results
            return defer.succeed(sid)
        if name == "scannerGetList":
            sid, n = args
            if sid not in self.scanners:
                return defer.fail(errors.IllegalArgument("scanner ID is invalid"))
            rest = self.scanners[sid]
            out, self.scanners[sid] = rest[:n], rest[n:]
            self.run = 0
            return defer.succeed(out)
        raise AssertionError(name)


keys_st = st.lists(st.binary(min_size=1, max_size=3), min_size=0, max_size=25, unique=True)


@st.composite
def datasets(draw):
    keys = draw(keys_st)
    return {k: {b"cf:%d" % j: k + b"%d" % j for j in range(draw(st.integers(1, 4)))}
            for k in keys}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets(),
       batch_size=st.integers(1, 6),
       scan_batching=st.one_of(st.none(), st.integers(1, 3)),
       reverse=st.booleans(),
       limit=st.one_of(st.none(), st.integers(1, 30)),
       failures=st.lists(st.sampled_from([None, None, None, "lost", "expired"]), max_size=40))
def test_scan_exactly_once_under_failures(data, batch_size, scan_batching, reverse, limit,
                                          failures):
    clean = ModelServer(data, [])
    expected = _drain(Table(b"t", clean).scan(batch_size=batch_size, scan_batching=scan_batching,
                                              reverse=reverse, limit=limit))
    server = ModelServer(data, failures)
    scanner = Table(b"t", server).scan(batch_size=batch_size, scan_batching=scan_batching,
                                       reverse=reverse, limit=limit)
    got = _drain(scanner)
    cells = lambda items: [(k, c, v) for k, d in items for c, v in d.items()]
    if limit is None:
        assert cells(got) == cells(expected)
    else:
        # A resumed partial row may come back split differently (limit counts
        # results), but never out of order nor twice.
        full = cells(_drain(Table(b"t", ModelServer(data, [])).scan(
            batch_size=batch_size, scan_batching=scan_batching, reverse=reverse)))
        assert cells(got) == full[:len(cells(got))]
        assert len(got) == min(limit, len(got)) and len(got) <= limit
        if scan_batching is None:
            assert got == expected
    assert server.scanners == {}  # nothing left open


def _drain(scanner) -> list:
    out = []
    while True:
        item = result_of(scanner.get_next())
        if item is None:
            return out
        out.append(item)


def test_scanner_gives_up_when_failures_persist():
    server = ModelServer({b"a": {b"cf:x": b"1"}}, ["lost"] * 10)
    server.run = -100  # inject every failure
    d = Table(b"t", server).scan().get_next()
    try:
        result_of(d)
    except errors.ConnectionLost:
        pass
    else:
        raise AssertionError("expected ConnectionLost")
    assert len(server.failures) == 10 - (MAX_RESUMES + 1)
