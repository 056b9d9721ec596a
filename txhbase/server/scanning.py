"""Server-side scanners: their position in a table, and the open ones with their leases.

A ``ServerScanner`` walks a table's rows from where it stopped, through
the scan's filter, in steps bounded by ``SCAN_STEP_ROWS`` rows, so that a long
filtered scan shares the reactor with other clients.  ``ScannerRegistry``
hands out HBase's scanner ids, expires idle scanners (a lease renewed at
each use) and serves ``scannerGetList`` over several reactor turns when a
step runs out of rows to examine.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Union

from twisted.internet import defer

from txhbase.protocol.idl import hbase
from txhbase._clock import Clock, DelayedCall as Timer
from txhbase.server import filters
from txhbase.server.arguments import check_table_name, selection, selection_families
from txhbase.server.errors import internal_error
from txhbase.server.results import fast_row_result, row_result
from txhbase.server.store import LATEST, Selection, Store, StoredTable

__all__ = ["ALL_VERSIONS", "SCAN_STEP_ROWS", "ScannerRegistry", "ServerScanner",
           "open_scanner", "parse_scan_filter", "scan_refusal"]

log = logging.getLogger(__name__)

#: rows examined per reactor turn by one scannerGetList before yielding
SCAN_STEP_ROWS = 2000
#: "every stored version" for store.row_cells (Java's Integer.MAX_VALUE; the
#: store caps it at the family's max_versions)
ALL_VERSIONS = 0x7FFFFFFF


def parse_scan_filter(text: Union[str, bytes]) -> filters.ScanFilter:
    """A fresh evaluator for a ``TScan.filterString``; HBase's INTERNAL_ERROR if malformed."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    try:
        return filters.parse_filter(bytes(text)).new()
    except ValueError as e:
        raise internal_error(f"java.lang.IllegalArgumentException: {e}")


def scan_refusal(rf: filters.ScanFilter, families: frozenset[bytes], reverse: bool,
                 batch: int) -> Any:
    """The ``hbase.IOError`` HBase 2.6 answers to a filtered scan, or None.

    HBase's gateway opens its client scanner lazily, so these come at the
    first scannerGet/scannerGetList (and again at every later one, as each
    retries the region scanner's open), never at scannerOpenWithScan:

    - ``batch`` (> 0) with a filter that decides on whole rows: the region
      server's ``Scan.setBatch`` throws IncompatibleFilterException, which the
      client retries (~70 s on HBase) until RetriesExhaustedException:
      retryable;
    - a reversed scan of a family the filter does not need (loaded "on
      demand"): DoNotRetryIOException from the reversed region scanner.

    The batch check comes first, as HBase deserialises the Scan before it
    builds a region scanner.
    """
    if batch > 0 and rf.has_filter_row:
        return hbase.IOError(message=filters.BATCH_WITH_FILTER_ROW_ERROR, canRetry=True)
    if reverse and not all(rf.is_family_essential(f) for f in families):
        return hbase.IOError(message=filters.REVERSE_SCAN_ON_DEMAND_ERROR, canRetry=False)
    return None


class ServerScanner:
    """One open server-side scanner: its options and its position (the last row key)."""

    __slots__ = ("id", "table", "start", "stop", "reverse", "prefix", "select", "max_ts",
                 "filter", "batch", "sort_columns", "last", "pending", "exhausted", "timer",
                 "stop_inclusive", "refusal")

    def __init__(self, table: StoredTable, start: bytes = b"", stop: bytes = b"", *,
                 reverse: bool = False, prefix: Optional[bytes] = None,
                 select: Optional[Selection] = None, max_ts: int = LATEST,
                 row_filter: Optional[filters.ScanFilter] = None, batch: int = 0,
                 sort_columns: bool = False) -> None:
        self.table = table
        self.start = start
        self.stop = stop
        self.reverse = reverse
        self.prefix = prefix
        self.select = select
        self.max_ts = max_ts
        self.filter = row_filter
        self.batch = batch if batch and batch > 0 else 0
        self.sort_columns = bool(sort_columns)
        self.last: Optional[bytes] = None
        self.pending: list[Any] = []
        self.exhausted = False
        self.timer: Optional[Timer] = None
        self.id = 0
        # HBase's (deprecated) Scan(start, stop) / setStopRow keep the old rule:
        # start == stop (non-empty) is a "get scan" that includes that row
        self.stop_inclusive = bool(start) and start == stop
        #: the IOError every scannerGet/scannerGetList answers, for scans HBase
        #: accepts at open but its region server refuses (see ``scan_refusal``)
        self.refusal: Any = None

    def _past_stop(self, row: bytes) -> bool:
        if self.prefix is not None and not row.startswith(self.prefix):
            return True
        if not self.stop:
            return False
        if self.stop_inclusive:
            return row < self.stop if self.reverse else row > self.stop
        return row <= self.stop if self.reverse else row >= self.stop

    def step(self, store: Store, n: int, budget: Optional[int] = None
             ) -> tuple[list[Any], bool]:
        """Up to ``n`` results, examining at most ``budget`` rows.

        Returns ``(results, more)``; ``more`` is True when the budget ran out
        before ``n`` results were found and the scan is not over (call again).
        """
        if budget is None:
            budget = SCAN_STEP_ROWS
        out = self.pending[:n]
        del self.pending[:n]
        if len(out) >= n or self.exhausted:
            return out, False
        t = self.table
        if self.last is None:
            keys = store.rows_from(t, self.start, reverse=self.reverse)
        else:
            keys = store.rows_from(t, self.last, inclusive=False, reverse=self.reverse)
        now = store.now()
        # (a bool: ``self.batch`` is an int, and row_cells takes a bool)
        ordered = self.sort_columns or self.batch > 0 or self.filter is not None
        versions = 1 if self.filter is None else ALL_VERSIONS
        rows = t.rows
        examined = 0
        for row in keys:
            if self._past_stop(row):
                self.exhausted = True
                break
            self.last = row
            examined += 1
            cols = rows.get(row)
            if not ordered:
                if cols:
                    r = fast_row_result(store, t, row, cols, self.select, self.max_ts, now)
                    if r is not None:
                        out.append(r)
                        if len(out) >= n:
                            break
                if examined >= budget:
                    return out, True
                continue
            # With a filter, HBase's column tracker lets every stored version
            # (up to the family's max) through to the filter and applies the
            # scan's one version to what the filter keeps (versionsAfterFilter).
            cells = store.row_cells(t, row, self.select, self.max_ts, versions, now, ordered,
                                    cols) if cols else []
            if self.filter is not None:
                if cells:
                    split = t.split
                    fcells = [split(c)[1:] + (ts, v) for c, ts, v in cells]
                    kept = self.filter.filter_row(row, fcells, versions=1)
                    cells = [(f + b":" + q, ts, v) for f, q, ts, v in kept] if kept else []
                if self.filter.done:
                    self.exhausted = True
            if cells:
                if self.batch and len(cells) > self.batch:
                    b = self.batch
                    parts = [row_result(row, cells[i:i + b], self.sort_columns)
                             for i in range(0, len(cells), b)]
                    take = n - len(out)
                    out.extend(parts[:take])
                    self.pending.extend(parts[take:])
                else:
                    out.append(row_result(row, cells, self.sort_columns))
            if self.exhausted or len(out) >= n:
                break
            if examined >= budget:
                return out, True
        else:
            self.exhausted = True
        return out, False


class ScannerRegistry:
    """The open scanners of one server: ids, idle expiry and ``scannerGetList``.

    ``clock`` runs the leases (``timeout`` seconds idle; 0 or None keeps
    scanners until closed) and the continuation of long scans.
    """

    def __init__(self, store: Store, clock: Clock, timeout: Optional[float]) -> None:
        self.store = store
        self.clock = clock
        self.timeout = timeout
        self._open: dict[int, ServerScanner] = {}
        self._next_id = 0  # HBase's first scanner id is 0 too

    def __len__(self) -> int:
        return len(self._open)

    def add(self, sc: ServerScanner) -> int:
        """Register ``sc`` under a new id (HBase's 0, 1, ... up to 2**31) and start its lease."""
        sid = self._next_id
        self._next_id = (sid + 1) % 0x80000000
        sc.id = sid
        self._open[sid] = sc
        if self.timeout:
            sc.timer = self.clock.callLater(self.timeout, self._expire, sid)
        return sid

    def lookup(self, sid: int) -> ServerScanner:
        """The open scanner ``sid``, its lease renewed; ``hbase.IllegalArgument`` if none."""
        sc = self._open.get(sid)
        if sc is None:
            raise hbase.IllegalArgument(message="scanner ID is invalid")
        if sc.timer is not None and self.timeout and sc.timer.active():
            sc.timer.reset(self.timeout)
        return sc

    def _expire(self, sid: int) -> None:
        sc = self._open.pop(sid, None)
        if sc is not None:
            sc.timer = None
            log.debug("scanner %d expired after %.1f s idle", sid, self.timeout)

    def drop(self, sid: int) -> None:
        """Forget scanner ``sid`` (if open) and cancel its lease."""
        sc = self._open.pop(sid, None)
        if sc is not None and sc.timer is not None and sc.timer.active():
            sc.timer.cancel()

    def drop_table(self, name: bytes) -> None:
        """Drop the scanners of table ``name`` (it was deleted)."""
        for sid in [i for i, s in self._open.items() if s.table.name == name]:
            self.drop(sid)

    def drop_all(self) -> None:
        """Drop every scanner (the server stops)."""
        for sid in list(self._open):
            self.drop(sid)

    def get_list(self, sid: int, n: int) -> Union[list[Any], "defer.Deferred[list[Any]]"]:
        """Up to ``n`` TRowResults of scanner ``sid``: a list, or a Deferred firing with one
        when the scan continues on later reactor turns (long filtered scans)."""
        sc = self.lookup(sid)
        if n is None or n < 0:
            raise internal_error(f"java.lang.IllegalArgumentException: Illegal Capacity: {n}")
        if n == 0:  # ResultScanner.next(0) asks the region server nothing
            return []
        if sc.refusal is not None:
            raise sc.refusal
        results, more = sc.step(self.store, n)
        if not more:
            return results
        d: defer.Deferred[list[Any]] = defer.Deferred()

        def resume() -> None:
            if self._open.get(sid) is not sc:  # closed meanwhile
                d.callback(results)
                return
            try:
                got, again = sc.step(self.store, n - len(results))
            except Exception:
                d.errback()
                return
            results.extend(got)
            if again:
                self.clock.callLater(0, resume)
            else:
                d.callback(results)

        self.clock.callLater(0, resume)
        return d


def open_scanner(store: Store, table_name: bytes, start: Optional[bytes],
                 stop: Optional[bytes] = None, columns: Optional[list[bytes]] = None,
                 max_ts: int = LATEST, *, prefix: Optional[bytes] = None, reverse: bool = False,
                 filter_string: Union[str, bytes, None] = None, batch: int = 0,
                 sort_columns: bool = False) -> ServerScanner:
    """A new scanner over ``table_name``, its arguments checked in HBase's order."""
    name = check_table_name(table_name)
    rf = None
    if filter_string is not None:  # HBase builds the Scan before opening the table
        rf = parse_scan_filter(filter_string)
        rf.reversed = reverse
    t = store.enabled_table(name)
    sel = selection(columns)
    store.check_families(t, selection_families(sel))
    sc = ServerScanner(t, bytes(start or b""), bytes(stop or b""), reverse=reverse,
                       prefix=prefix, select=sel, max_ts=max_ts, row_filter=rf,
                       batch=batch or 0, sort_columns=sort_columns)
    if rf is not None:
        families = selection_families(sel) or frozenset(t.families)
        sc.refusal = scan_refusal(rf, families, reverse, sc.batch)
    return sc
