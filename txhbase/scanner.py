"""Scanner: rows of a server-side scan, one Deferred at a time.

``Table.scan()`` returns a ``Scanner`` at once; the server scanner is opened
on first use.  ``get_next()`` fires with ``(row_key, data)`` and, at the end,
with ``None`` on every later call; ``async for key, data in scanner`` works
too.  Concurrent ``get_next()`` calls are served in order.  ``next_batch()``
hands over every row received so far in one Deferred (``[]`` at the end), for
consumers that want fewer Deferreds per row.

Read-ahead: as soon as one ``scannerGetList`` batch arrives, the next one is
requested, so the caller consumes one batch while the next is in flight (at
most one request in flight, at most about two batches buffered).

Where the calls go: a scan runs on a ``Pinned`` from its ``Caller``
(``txhbase.caller``): a ``Connection`` pins itself, a ``ConnectionPool``
lends one connection for the scan's life, so ``scannerGetList`` and
``scannerClose`` reach the gateway that opened the scanner.

Release: the server scanner is closed when the scan is exhausted, when
``limit`` is reached, on ``close()``, on a non-resumable error, and when an
unclosed Scanner is garbage collected (a ``scannerClose`` is scheduled on the
clock), and when its ``Connection`` is closed (pending ``get_next()`` then
fail with ``ConnectionLost``: the scan did not end, it was cut).  The pin is
released with it.

Resume: if the connection drops mid-scan, or the server says the scanner id
is invalid (HBase expires scanners idle for 60 s), the pin decides whether
and where the scan is reopened (a pool retries on another gateway after a
back-off, under its retry budget); it is reopened just after the last row
received, so the caller sees every row exactly once.  With
``scan_batching`` (partial rows) or ``reverse``, the scan is reopened *at*
the last row and the columns of that row already received are skipped.
Scanners abandoned by a dropped connection are not closed explicitly (their
id means nothing on a new connection, which may reach another gateway); the
server expires them.  Stateful filters (``PageFilter``, ``WHILE``) restart
with the reopened scan.
"""
from __future__ import annotations

import logging
import weakref
from collections import deque
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Deque, Dict, List, Optional, Set, Tuple, Union

from twisted.internet import defer
from twisted.python.failure import Failure

from txhbase import _convert, _validate
from txhbase import errors
from txhbase.caller import Caller, Pinned
from txhbase.protocol.idl import hbase

if TYPE_CHECKING:
    from txhbase.table import Table

#: One row as a scan delivers it: ``(row_key, {column: value})`` (or
#: ``(value, timestamp)`` values with ``include_timestamp``).
Row = Tuple[bytes, Dict[bytes, Any]]

__all__ = ["Scanner", "ScanSpec"]

log = logging.getLogger(__name__)

#: Reopenings in a row (no scannerGetList answered in between) before giving up.
MAX_RESUMES = 3


@dataclass(frozen=True)
class ScanSpec:
    """Validated scan options, and how to open (or reopen) the scan."""

    row_start: bytes = b""
    row_stop: Optional[bytes] = None
    row_prefix: Optional[bytes] = None  # only rows with this prefix are delivered
    columns: Optional[List[bytes]] = None
    filter: Optional[bytes] = None
    timestamp: Optional[int] = None
    include_timestamp: bool = False
    batch_size: int = 1000
    scan_batching: Optional[int] = None
    limit: Optional[int] = None
    sorted_columns: bool = False
    reverse: bool = False
    compat: str = "0.98"

    @classmethod
    def build(cls, compat: str, row_start: Any = None, row_stop: Any = None,
              row_prefix: Any = None, columns: Any = None, filter: Any = None,
              timestamp: Any = None, include_timestamp: bool = False,
              batch_size: Any = 1000, scan_batching: Any = None, limit: Any = None,
              sorted_columns: bool = False, reverse: bool = False) -> "ScanSpec":
        """Check HappyBase's scan options (same errors) and normalise them."""
        batch_size = _validate.integer(batch_size, "batch_size")
        if batch_size < 1:
            raise ValueError("'batch_size' must be >= 1")
        batch_size = min(batch_size, _validate.I32_MAX)
        if limit is not None:
            limit = _validate.integer(limit, "limit")
            if limit < 1:
                raise ValueError("'limit' must be >= 1")
        if scan_batching is not None:
            scan_batching = _validate.integer(scan_batching, "scan_batching")
            if scan_batching < 1:
                raise ValueError("'scan_batching' must be >= 1")
            scan_batching = min(scan_batching, _validate.I32_MAX)
        if sorted_columns and compat < "0.96":
            raise NotImplementedError("'sorted_columns' is only supported in HBase >= 0.96")
        if reverse and compat < "0.98":
            raise NotImplementedError("'reverse' is only supported in HBase >= 0.98")
        if filter is not None and compat == "0.90":
            raise NotImplementedError("'filter' is not supported in HBase 0.90")
        start = _validate.opt_bytes(row_start, "row_start")
        stop = _validate.opt_bytes(row_stop, "row_stop")
        prefix = _validate.opt_bytes(row_prefix, "row_prefix")
        cols = _validate.columns(columns)
        filt = _validate.opt_bytes(filter, "filter")
        ts = _validate.timestamp(timestamp)
        _validate.flags(include_timestamp=include_timestamp, sorted_columns=sorted_columns,
                        reverse=reverse)
        if prefix is not None:
            if start is not None or stop is not None:
                raise TypeError("'row_prefix' cannot be combined with 'row_start' or 'row_stop'")
            if not prefix:
                prefix = None
            elif reverse:
                # Start just above the prefix range; stop just below it.  The
                # bounds are exact up to keys that do not carry the prefix,
                # which are dropped client-side.
                start = _convert.bytes_increment(prefix)
                if prefix[-1] == 0:
                    stop = prefix[:-1] or None
                else:
                    stop = prefix[:-1] + bytes([prefix[-1] - 1]) + b"\xff" * 16
            else:
                start = prefix
                stop = _convert.bytes_increment(prefix)
        return cls(row_start=start or b"", row_stop=stop, row_prefix=prefix, columns=cols,
                   filter=filt, timestamp=ts, include_timestamp=bool(include_timestamp),
                   batch_size=batch_size, scan_batching=scan_batching, limit=limit,
                   sorted_columns=bool(sorted_columns), reverse=bool(reverse), compat=compat)

    def resumed(self, last_key: bytes) -> Tuple["ScanSpec", bool]:
        """The spec to reopen the scan after ``last_key``.

        Returns ``(spec, inclusive)``: ``inclusive`` means the new scan starts
        *at* ``last_key`` and its already-delivered part must be skipped.
        """
        if not self.reverse and self.scan_batching is None:
            return replace(self, row_start=last_key + b"\x00"), False
        return replace(self, row_start=last_key), True

    def open_call(self, table: bytes) -> Tuple[str, Tuple[Any, ...]]:
        """The Thrift method and arguments that open this scan."""
        if self.compat == "0.90":
            if self.row_stop is None:
                if self.timestamp is None:
                    return "scannerOpen", (table, self.row_start, self.columns, {})
                return "scannerOpenTs", (table, self.row_start, self.columns, self.timestamp, {})
            if self.timestamp is None:
                return "scannerOpenWithStop", (table, self.row_start, self.row_stop,
                                               self.columns, {})
            return "scannerOpenWithStopTs", (table, self.row_start, self.row_stop,
                                             self.columns, self.timestamp, {})
        scan = hbase.TScan(
            startRow=self.row_start,
            stopRow=self.row_stop,
            timestamp=self.timestamp,
            columns=self.columns,
            caching=self.batch_size,
            filterString=self.filter,
            batchSize=self.scan_batching,
            sortColumns=self.sorted_columns,
            reversed=self.reverse,
        )
        return "scannerOpenWithScan", (table, scan, {})


class _ServerState:
    """What the GC finalizer needs: the open scanner id and the pin it is on."""

    __slots__ = ("id", "pin")

    def __init__(self) -> None:
        self.id: Optional[int] = None
        self.pin: Optional[Pinned] = None


def _release_on_gc(state: _ServerState) -> None:
    """Finalizer of an unclosed Scanner: its pin closes the scanner soon."""
    sid, state.id = state.id, None
    pin, state.pin = state.pin, None
    if pin is not None:
        pin.abandon(sid)


def _end(w: "defer.Deferred[Any]") -> None:
    """Tell a waiter the scan is over: None for get_next(), [] for next_batch()."""
    w.callback([] if getattr(w, "_txhbase_batch", False) else None)


class Scanner:
    """The rows of one scan; see the module docstring for the guarantees.

    Built by ``Table.scan()`` (and ``Table.unordered_scanners()``), not directly.
    """

    def __init__(self, table: "Table", spec: ScanSpec, timeout: Optional[float] = None) -> None:
        self.table = table
        self.spec = spec
        self._caller: Caller = table.connection
        self._timeout = timeout
        self._state = _ServerState()
        self._buffer: Deque[Row] = deque()
        self._waiters: "Deque[defer.Deferred[Any]]" = deque()
        self._close_waiters: "List[defer.Deferred[None]]" = []
        self._fetching: "Optional[defer.Deferred[Any]]" = None
        self._started = False
        self._server_done = False   # nothing more to fetch
        self._finished = False      # everything delivered: None forever
        self._closed = False
        self._error: Optional[BaseException] = None
        self._fetched = 0           # results received (counted against limit)
        self._delivered = 0
        self._last_key: Optional[bytes] = None
        self._last_cols: Set[bytes] = set()
        self._skip_key: Optional[bytes] = None
        self._skip_cols: Optional[Set[bytes]] = None  # None: skip the whole row
        self._resumes = 0
        self.resumed = 0            #: how many times the scan was reopened
        self._pumping = False
        self._repump = False
        self._finalizer = weakref.finalize(self, _release_on_gc, self._state)
        self._finalizer.atexit = False

    def __repr__(self) -> str:
        return (f"<txhbase.Scanner {self.table.name!r} delivered={self._delivered} "
                f"{'finished' if self._finished else 'open'}>")

    # ------------------------------------------------------------ public API

    @property
    def delivered(self) -> int:
        """Number of rows handed to the caller so far."""
        return self._delivered

    @property
    def exhausted(self) -> bool:
        """True once every row has been delivered (or the scanner closed)."""
        return self._finished

    @property
    def address(self) -> Optional[str]:
        """The gateway the scan currently runs on (None before it opened or
        after it released its connection)."""
        pin = self._state.pin
        return None if pin is None else pin.address

    def get_next(self) -> "defer.Deferred[Optional[Row]]":
        """Fire with the next ``(row_key, data)``, or ``None`` at the end (and
        on every later call).

        Fails with ``TimeoutError``, ``HBaseIOError``, ``ServerError`` (e.g. a
        bad filter), ``ConnectionLost`` when the scan could not be resumed or
        its connection was closed, ``NoConnectionsAvailable`` /
        ``AllServersUnavailable`` from a pool, or ``CancelledError`` when this
        Deferred is cancelled (no row is lost: it goes to the next call).
        """
        buf = self._buffer
        if buf and not self._waiters and self._error is None:
            # A row is buffered and nobody is ahead: an already-fired
            # Deferred, no reactor turn and no _pump.
            item = buf.popleft()
            self._delivered += 1
            self._after_handout()
            return defer.succeed(item)
        if self._error is not None:
            return defer.fail(self._error)
        if self._finished and not buf:
            return defer.succeed(None)
        d: "defer.Deferred[Optional[Row]]" = defer.Deferred(self._cancel_waiter)
        self._waiters.append(d)
        self._pump()
        return d

    def next_batch(self) -> "defer.Deferred[List[Row]]":
        """Fire with every row received and not yet delivered (a non-empty
        list of ``(row_key, data)``), waiting for the next batch if none is;
        fires with ``[]`` at the end (and on every later call).

        Cheaper than one ``get_next()`` per row for high-throughput consumers;
        may be mixed with ``get_next()`` (calls are served in order). Fails
        as ``get_next()`` does.
        """
        buf = self._buffer
        if buf and not self._waiters and self._error is None:
            items = list(buf)
            buf.clear()
            self._delivered += len(items)
            self._after_handout()
            return defer.succeed(items)
        if self._error is not None:
            return defer.fail(self._error)
        if self._finished and not buf:
            return defer.succeed([])
        d: "defer.Deferred[List[Row]]" = defer.Deferred(self._cancel_waiter)
        d._txhbase_batch = True  # type: ignore[attr-defined]
        self._waiters.append(d)
        self._pump()
        return d

    def close(self) -> "defer.Deferred[None]":
        """Stop the scan and release the server scanner; fires with None once
        ``scannerClose`` was answered (never fails).

        Pending ``get_next()`` calls fire with ``None``. Safe to call twice.
        """
        if self._closed:
            if self._fetching is not None:
                d: "defer.Deferred[None]" = defer.Deferred()
                self._close_waiters.append(d)
                return d
            return defer.succeed(None)
        self._stop()
        if self._fetching is not None:
            d = defer.Deferred()
            self._close_waiters.append(d)
            return d
        return self._release()

    def _stop(self) -> None:
        """Mark the scan closed and finished; pending waiters fire with None."""
        self._closed = True
        self._finished = True
        self._buffer.clear()
        waiters, self._waiters = self._waiters, deque()
        for w in waiters:
            _end(w)

    def connection_closing(self) -> None:
        """Called by ``Connection.close()``: cut the scan and write its
        ``scannerClose`` now, even with a request in flight (the gateway
        answers requests of one connection in order).  Unless every row was
        already delivered, pending and later ``get_next()`` fail with
        ``ConnectionLost``: the scan did not reach its end.  A scan whose
        every row is already fetched (the server said it ended, or ``limit``
        was reached) is not cut: its buffered rows are still delivered."""
        if self._server_done and self._state.pin is None:
            return  # released its server scanner and its connection already
        if not self._closed and not self._finished:
            self._error = errors.ConnectionLost(
                f"connection closed with close() during the scan of {self.table.name!r} "
                f"({self._delivered} rows delivered)", sent=True)
            self._closed = True
            self._buffer.clear()
            waiters, self._waiters = self._waiters, deque()
            for w in waiters:
                w.errback(self._error)
        elif not self._closed:
            self._stop()
        sid, self._state.id = self._state.id, None
        pin, self._state.pin = self._state.pin, None
        if sid is not None and pin is not None:
            pin.call("scannerClose", sid, timeout=self._timeout).addErrback(
                lambda f: log.debug("scannerClose(%d) at connection close failed: %s",
                                    sid, f.getErrorMessage()))
        if pin is not None:
            pin.release()

    def __aiter__(self) -> "Scanner":
        return self

    async def __anext__(self) -> Row:
        item = await self.get_next()
        if item is None:
            raise StopAsyncIteration
        return item

    async def __aenter__(self) -> "Scanner":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self.close()

    # ------------------------------------------------------------ internals

    def _cancel_waiter(self, d: "defer.Deferred[Any]") -> None:
        try:
            self._waiters.remove(d)
        except ValueError:
            pass

    def _after_handout(self) -> None:
        """Rows were handed out straight from the buffer (no waiter): do what
        ``_pump`` would do next, i.e. read ahead once less than a batch is
        buffered, and mark the scan finished once its last row is out."""
        if not self._buffer:
            self._pump()
        elif (self._fetching is None and not self._server_done
              and len(self._buffer) < self.spec.batch_size):
            self._maybe_fetch()

    def _pump(self) -> None:
        """Hand buffered rows to waiters, end the scan, or fetch more."""
        if self._pumping:
            self._repump = True
            return
        self._pumping = True
        try:
            while True:
                self._repump = False
                while self._waiters and self._buffer:
                    w = self._waiters.popleft()
                    if getattr(w, "_txhbase_batch", False):
                        items = list(self._buffer)
                        self._buffer.clear()
                        self._delivered += len(items)
                        w.callback(items)
                        continue
                    item = self._buffer.popleft()
                    self._delivered += 1
                    w.callback(item)
                if self._error is not None:
                    while self._waiters:
                        self._waiters.popleft().errback(self._error)
                elif not self._buffer and (self._server_done or self._closed):
                    if not self._finished:
                        self._finished = True
                        log.debug("scan of %r finished: %d rows", self.table.name,
                                  self._delivered)
                    while self._waiters:
                        _end(self._waiters.popleft())
                else:
                    self._maybe_fetch()
                if not self._repump:
                    break
        finally:
            self._pumping = False

    def _maybe_fetch(self) -> None:
        if (self._fetching is not None or self._server_done or self._closed
                or self._error is not None):
            return
        if not self._waiters and (not self._started or len(self._buffer) >= self.spec.batch_size):
            return  # nobody waits and one batch is already buffered
        self._started = True
        how_many = self.spec.batch_size
        if self.spec.limit is not None:
            how_many = min(how_many, self.spec.limit - self._fetched)
        stage = {"opening": self._state.id is None}
        d: "defer.Deferred[Any]"
        if stage["opening"]:
            pin = self._state.pin
            pinned = defer.succeed(pin) if pin is not None else self._caller.pin()
            d = pinned.addCallback(self._open)
        else:
            d = defer.succeed(self._state.id)

        def get_list(sid: int) -> "defer.Deferred[Any]":
            stage["opening"] = False
            pin = self._state.pin
            assert pin is not None
            return pin.call("scannerGetList", sid, how_many, timeout=self._timeout)

        d.addCallback(get_list)
        self._fetching = d
        d.addCallbacks(self._got, self._failed, errbackArgs=(stage,))

    def _open(self, pin: Pinned) -> "defer.Deferred[int]":
        self._state.pin = pin
        spec = self.spec
        if self._last_key is not None:
            spec, inclusive = spec.resumed(self._last_key)
            if inclusive:
                self._skip_key = self._last_key
                self._skip_cols = set(self._last_cols) if spec.scan_batching else None
        method, args = spec.open_call(self.table.name)
        d = pin.call(method, *args, timeout=self._timeout)

        def opened(sid: int) -> int:
            self._state.id = sid
            pin.track(self)  # so closing its connection releases it
            log.debug("opened scanner %d on %r", sid, self.table.name)
            if self._closed:
                raise defer.CancelledError("scanner closed while opening")
            return sid

        return d.addCallback(opened)

    def _got(self, results: List[Any]) -> None:
        self._fetching = None
        if self._closed:
            self._after_close()
            return
        spec = self.spec
        self._resumes = 0  # a scannerGetList answered: the scan made progress
        if not results:
            self._server_done = True
        elif (self._skip_key is None and spec.row_prefix is None and not spec.sorted_columns
              and spec.scan_batching is None):
            # The usual scan: every row is delivered whole, as it came; one
            # comprehension per batch (``_convert.make_row``'s shape).
            if spec.include_timestamp:
                self._buffer.extend([
                    (r.row, {c: (cell.value, cell.timestamp) for c, cell in r.columns.items()}
                     if r.columns else {}) for r in results])
            else:
                self._buffer.extend([
                    (r.row, {c: cell.value for c, cell in r.columns.items()}
                     if r.columns else {}) for r in results])
            self._fetched += len(results)
            key = results[-1].row
            if key != self._last_key:
                self._last_key = key
                self._last_cols = set()  # only read with scan_batching
            results = []
        for r in results:
            key = r.row
            if spec.row_prefix is not None and not key.startswith(spec.row_prefix):
                continue
            data = _convert.row_of(r, spec.sorted_columns, spec.include_timestamp)
            if self._skip_key is not None:
                if key == self._skip_key:
                    if self._skip_cols is None:
                        continue
                    data = type(data)((c, v) for c, v in data.items()
                                      if c not in self._skip_cols)
                    if not data:
                        continue
                else:
                    self._skip_key = self._skip_cols = None
            if key != self._last_key:
                self._last_key = key
                self._last_cols = set()
            self._last_cols.update(data.keys())
            self._buffer.append((key, data))
            self._fetched += 1
        if spec.limit is not None and self._fetched >= spec.limit:
            self._server_done = True
        if self._server_done:
            self._release()
        self._pump()

    def _failed(self, failure: Failure, stage: Dict[str, bool]) -> None:
        opening = stage["opening"]
        self._fetching = None
        if self._closed:
            self._after_close()
            return
        exc = failure.value
        assert exc is not None
        pin = self._state.pin
        again = None
        if pin is not None and self._resumes < MAX_RESUMES:
            again = pin.resume(exc, opening)
        if again is not None:
            self._resumes += 1
            self.resumed += 1
            # The old id is meaningless on a new connection, or already gone.
            self._state.id = None
            log.info("resuming scan of %r after %s: %s (%d rows received)",
                     self.table.name, type(exc).__name__, exc, self._fetched)
            self._fetching = again
            again.addCallbacks(self._resume_on, self._resume_failed)
            return
        log.debug("scan of %r failed: %s", self.table.name, failure.getErrorMessage())
        self._error = exc
        if isinstance(exc, errors.ConnectionLost):
            self._state.id = None
        self._release()
        self._pump()

    def _resume_on(self, pin: Pinned) -> None:
        self._fetching = None
        self._state.pin = pin
        if self._closed:
            self._after_close()
            return
        self._pump()

    def _resume_failed(self, failure: Failure) -> None:
        self._fetching = None
        self._state.pin = None
        if self._closed:
            self._after_close()
            return
        self._error = failure.value
        self._pump()

    def _after_close(self) -> None:
        waiters, self._close_waiters = self._close_waiters, []
        d = self._release()

        def fire(_: Any) -> None:
            for w in waiters:
                w.callback(None)

        d.addBoth(fire)

    def _release(self) -> "defer.Deferred[None]":
        """Close the server scanner (if open), then give the pin back; fires
        with None, never fails."""
        sid, self._state.id = self._state.id, None
        pin, self._state.pin = self._state.pin, None
        if pin is None:
            return defer.succeed(None)
        if sid is None:
            pin.release()
            return defer.succeed(None)
        d = pin.call("scannerClose", sid, timeout=self._timeout)
        # Given back at once: the close is written, and whatever the next
        # borrower sends is answered after it (one connection, in order).
        pin.release()

        def closed(result: Any) -> None:
            if isinstance(result, Failure):
                log.debug("scannerClose(%d) failed: %s", sid, result.getErrorMessage())
            else:
                log.debug("closed scanner %d on %r", sid, self.table.name)
            return None

        return d.addBoth(closed)
