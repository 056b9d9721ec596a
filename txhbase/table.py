"""Table: HappyBase's data API over Deferreds.

Each method checks its arguments (TypeError/ValueError naming the argument,
before anything is sent), turns the call into one or a few Thrift calls on
the table's ``Caller`` (a ``Connection`` or a ``ConnectionPool``, see
``txhbase.caller``) and shapes the result as HappyBase does.  Every method
takes a keyword-only ``timeout`` in milliseconds (None: the caller's
default).  Every Deferred can also fail with the caller's errors
(``ConnectionLost``, ``TimeoutError``, ``ServerError``; from a pool
``NoConnectionsAvailable`` / ``AllServersUnavailable``, with ``attempts``,
``servers`` and ``maybe_applied``).
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from twisted.internet import defer

from txhbase import _convert, _validate
from txhbase.batch import Batch
from txhbase.caller import Caller
from txhbase.protocol.idl import hbase
from txhbase.scanner import Row, Scanner, ScanSpec

__all__ = ["Table"]

log = logging.getLogger(__name__)

Name = Union[bytes, str]

#: Filters that make a scan return one empty cell per row (row counting).
KEY_ONLY = b"FirstKeyOnlyFilter() AND KeyOnlyFilter()"


class Table:
    """One HBase table; get it with ``Connection.table(name)`` or
    ``ConnectionPool.table(name)`` (no round trip).

    ``connection`` is the ``Caller`` the calls go through.
    """

    def __init__(self, name: bytes, connection: Caller) -> None:
        self.name = name
        self.connection: Caller = connection
        # Bound once: the hot path makes one method call per Thrift call.
        self._call: Callable[..., "defer.Deferred[Any]"] = connection.call

    def __repr__(self) -> str:
        return f"<txhbase.Table name={self.name!r}>"

    # ------------------------------------------------------------ metadata

    def families(self, *, timeout: Optional[float] = None) -> "defer.Deferred[Dict[bytes, Dict[str, Any]]]":
        """Fire with ``{family: settings dict}`` (HappyBase's shape; family
        names without ':'). Fails with ``HBaseIOError`` for a missing table."""
        d = self._call("getColumnDescriptors", self.name, timeout=_validate.timeout(timeout))
        return d.addCallback(_convert.families_result)

    def _family_names(self, *, timeout: Optional[float] = None) -> "defer.Deferred[List[bytes]]":
        d = self._call("getColumnDescriptors", self.name, timeout=timeout)
        return d.addCallback(lambda ds: [n.rstrip(b":") for n in ds])

    def regions(self, *, timeout: Optional[float] = None) -> "defer.Deferred[List[Dict[str, Any]]]":
        """Fire with the table's regions as dicts (``start_key``, ``end_key``,
        ``id``, ``name``, ``version``, ``server_name``, ``port``); [] for a
        missing table."""
        d = self._call("getTableRegions", self.name, timeout=_validate.timeout(timeout))
        return d.addCallback(lambda rs: [_convert.thrift_to_dict(r) for r in rs])

    # ------------------------------------------------------------ reads

    def row(self, row: Name, columns: Optional[List[Name]] = None,
            timestamp: Optional[int] = None, include_timestamp: bool = False, *,
            timeout: Optional[float] = None) -> "defer.Deferred[Dict[bytes, Any]]":
        """Fire with one row as ``{column: value}`` ({} when absent).

        ``columns`` restricts to families (``b'cf'``) or columns
        (``b'cf:q'``); ``timestamp`` returns versions strictly older than it;
        ``include_timestamp`` gives ``(value, timestamp)`` tuples. Fails
        with ``HBaseIOError`` for a missing table or unknown family.
        """
        if type(row) is not bytes:
            row = _validate.to_bytes(row, "row")
        cols = None if columns is None else _validate.columns(columns)
        ts = None if timestamp is None else _validate.timestamp(timestamp)
        if include_timestamp is not False and include_timestamp is not True:
            _validate.boolean(include_timestamp, "include_timestamp")
        if timeout is not None:
            timeout = _validate.timeout(timeout)
        if ts is None:
            d = self._call("getRowWithColumns", self.name, row, cols, {}, timeout=timeout)
        else:
            d = self._call("getRowWithColumnsTs", self.name, row, cols, ts, {}, timeout=timeout)
        # One callback from the reply straight to HappyBase's dict.
        return d.addCallback(_row_cells_ts if include_timestamp else _row_cells)

    def rows(self, rows: List[Name], columns: Optional[List[Name]] = None,
             timestamp: Optional[int] = None, include_timestamp: bool = False, *,
             timeout: Optional[float] = None) -> "defer.Deferred[List[Row]]":
        """Fire with ``[(row_key, {column: value}), ...]`` in request order,
        rows that do not exist omitted (duplicates kept).

        An empty ``rows`` fires with ``[]`` at once, without a round trip
        (HappyBase returns ``{}`` there; a list is what every other call gives).
        Fails with ``HBaseIOError`` for a missing table or unknown family.
        """
        keys = _validate.row_list(rows)
        cols = _validate.columns(columns)
        ts = _validate.timestamp(timestamp)
        _validate.flags(include_timestamp=include_timestamp)
        timeout = _validate.timeout(timeout)
        if not keys:
            return defer.succeed([])
        if ts is None:
            d = self._call("getRowsWithColumns", self.name, keys, cols, {}, timeout=timeout)
        else:
            d = self._call("getRowsWithColumnsTs", self.name, keys, cols, ts, {},
                           timeout=timeout)
        return d.addCallback(lambda results: [
            (r.row, _convert.make_row(r.columns, include_timestamp)) for r in results])

    def cells(self, row: Name, column: Name, versions: Optional[int] = None,
              timestamp: Optional[int] = None, include_timestamp: bool = False, *,
              timeout: Optional[float] = None) -> "defer.Deferred[List[Any]]":
        """Fire with up to ``versions`` versions of one cell, newest first
        (values, or ``(value, timestamp)`` with ``include_timestamp``); fails
        with ``HBaseIOError`` for a missing table or unknown family."""
        row = _validate.to_bytes(row, "row")
        column = _validate.column(column)
        if versions is None:
            versions = _validate.I32_MAX
        elif isinstance(versions, bool) or not isinstance(versions, int):
            raise TypeError("'versions' argument must be a number or None")
        elif versions < 1:
            raise ValueError("'versions' argument must be at least 1 (or None)")
        versions = min(versions, _validate.I32_MAX)
        ts = _validate.timestamp(timestamp)
        _validate.flags(include_timestamp=include_timestamp)
        timeout = _validate.timeout(timeout)
        if ts is None:
            d = self._call("getVer", self.name, row, column, versions, {}, timeout=timeout)
        else:
            d = self._call("getVerTs", self.name, row, column, ts, versions, {}, timeout=timeout)
        return d.addCallback(lambda cells: [
            (c.value, c.timestamp) if include_timestamp else c.value for c in cells])

    def exists(self, row: Name, *, timeout: Optional[float] = None) -> "defer.Deferred[bool]":
        """Fire with True when the row has at least one cell; fails with
        ``HBaseIOError`` for a missing table."""
        row = _validate.to_bytes(row, "row")
        d = self._call("getRow", self.name, row, {}, timeout=_validate.timeout(timeout))
        return d.addCallback(lambda rows: bool(rows) and bool(rows[0].columns))

    # ------------------------------------------------------------ scans

    def scan(self, row_start: Optional[Name] = None, row_stop: Optional[Name] = None,
             row_prefix: Optional[Name] = None, columns: Optional[List[Name]] = None,
             filter: Optional[Name] = None, timestamp: Optional[int] = None,
             include_timestamp: bool = False, batch_size: int = 1000,
             scan_batching: Optional[int] = None, limit: Optional[int] = None,
             sorted_columns: bool = False, reverse: bool = False, *,
             timeout: Optional[float] = None) -> Scanner:
        """Return a ``Scanner`` at once (opened on first ``get_next()``).

        Options as HappyBase's ``Table.scan``; argument errors are raised
        here. ``timeout`` applies to each Thrift call of the scan.
        """
        spec = ScanSpec.build(self.connection.compat, row_start=row_start, row_stop=row_stop,
                              row_prefix=row_prefix, columns=columns, filter=filter,
                              timestamp=timestamp, include_timestamp=include_timestamp,
                              batch_size=batch_size, scan_batching=scan_batching, limit=limit,
                              sorted_columns=sorted_columns, reverse=reverse)
        return Scanner(self, spec, _validate.timeout(timeout))

    def count(self, row_start: Optional[Name] = None, row_stop: Optional[Name] = None,
              row_prefix: Optional[Name] = None, filter: Optional[Name] = None, *,
              batch_size: int = 1000, timeout: Optional[float] = None) -> "defer.Deferred[int]":
        """Fire with the number of rows in the range, counted server-side.

        The scan carries ``FirstKeyOnlyFilter() AND KeyOnlyFilter()`` (only
        ``KeyOnlyFilter()`` when a user ``filter`` is given, ANDed with it, so
        a column-value filter still sees its column), so only row keys cross
        the wire.
        """
        user = _validate.opt_bytes(filter, "filter")
        if user is not None and self.connection.compat == "0.90":
            raise NotImplementedError("'filter' is not supported in HBase 0.90")
        if self.connection.compat == "0.90":
            combined = None
        elif user is None:
            combined = KEY_ONLY
        else:
            combined = b"(" + user + b") AND KeyOnlyFilter()"
        scanner = self.scan(row_start=row_start, row_stop=row_stop, row_prefix=row_prefix,
                            filter=combined, batch_size=batch_size, timeout=timeout)
        return _count_rows(scanner)

    def unordered_scanners(self, max_split_count: int, *,
                           timeout: Optional[float] = None,
                           **scan_kwargs: Any) -> "defer.Deferred[List[Scanner]]":
        """Fire with at most ``max_split_count`` Scanners that together cover
        the scan range exactly once, split along the table's regions (to scan
        them in parallel; rows across scanners come in no particular order).

        ``scan_kwargs`` are ``scan()``'s options except ``reverse`` and
        ``limit``, which cannot be split (ValueError).
        """
        n = _validate.integer(max_split_count, "max_split_count")
        if n < 1:
            raise ValueError("'max_split_count' must be >= 1")
        for bad in ("reverse", "limit"):
            if scan_kwargs.get(bad):
                raise ValueError(f"'{bad}' cannot be used with unordered_scanners")
        unknown = set(scan_kwargs) - {"row_start", "row_stop", "row_prefix", "columns", "filter",
                                      "timestamp", "include_timestamp", "batch_size",
                                      "scan_batching", "sorted_columns", "reverse", "limit"}
        if unknown:
            raise TypeError(f"unordered_scanners() got unexpected argument(s) "
                            f"{', '.join(sorted(unknown))}")
        base = ScanSpec.build(self.connection.compat, **scan_kwargs)
        timeout = _validate.timeout(timeout)
        d = self._call("getTableRegions", self.name, timeout=timeout)

        def split(regions: List[Any]) -> List[Scanner]:
            ranges = split_ranges(base.row_start, base.row_stop,
                                  sorted(r.startKey or b"" for r in regions), n)
            return [Scanner(self, replace(base, row_start=s, row_stop=e), timeout)
                    for s, e in ranges]

        return d.addCallback(split)

    # ------------------------------------------------------------ writes

    def put(self, row: Name, data: Dict[Name, bytes], timestamp: Optional[int] = None,
            wal: bool = True, *, ttl: Optional[float] = None,
            timeout: Optional[float] = None) -> "defer.Deferred[None]":
        """Store ``data`` (``{b'cf:q': b'value'}``) in ``row``; fires with None.

        ``ttl`` (seconds) is a per-put time to live, sent as HBase's ``_ttl``
        attribute. An empty ``data`` sends nothing and fires with None (HBase's
        gateway would send nothing either). Fails with ``HBaseIOError`` (e.g.
        unknown family).
        """
        if type(row) is not bytes:
            row = _validate.to_bytes(row, "row")
        # Checked in this order: row, data, timestamp, wal, ttl, timeout.
        if wal is True:
            # The usual call (wal left at its default): one pass over data.
            muts = _validate.put_mutations(data, True, hbase.Mutation)
            ts = None if timestamp is None else _validate.timestamp(timestamp)
        else:
            items = _validate.put_data(data)
            ts = _validate.timestamp(timestamp)
            wal = _validate.boolean(wal, "wal")
            muts = [hbase.Mutation(False, c, v, wal) for c, v in items]
        attributes: Dict[bytes, bytes] = {}
        if ttl is not None:
            attributes[b"_ttl"] = _convert.pack_i64(_validate.ttl(ttl))
        if timeout is not None:
            timeout = _validate.timeout(timeout)
        if not muts:  # nothing to write: HBase's gateway sends nothing either
            return defer.succeed(None)
        if ts is None:
            d = self._call("mutateRow", self.name, row, muts, attributes, timeout=timeout)
        else:
            d = self._call("mutateRowTs", self.name, row, muts, ts, attributes, timeout=timeout)
        return d.addCallback(_none)

    def delete(self, row: Name, columns: Optional[List[Name]] = None,
               timestamp: Optional[int] = None, wal: bool = True, *,
               timeout: Optional[float] = None) -> "defer.Deferred[None]":
        """Delete ``columns`` (families or columns) of ``row``, or the whole
        row; with ``timestamp``, only versions at or before it. Fires with None;
        fails with ``HBaseIOError`` for a missing table or unknown family."""
        row = _validate.to_bytes(row, "row")
        cols = _validate.columns(columns)
        ts = _validate.timestamp(timestamp)
        wal = _validate.boolean(wal, "wal")
        timeout = _validate.timeout(timeout)
        if cols is None and wal:
            if ts is None:
                d = self._call("deleteAllRow", self.name, row, {}, timeout=timeout)
            else:
                d = self._call("deleteAllRowTs", self.name, row, ts, {}, timeout=timeout)
            return d.addCallback(lambda _: None)
        if cols is None:
            d = self._family_names(timeout=timeout)
        else:
            d = defer.succeed(cols)

        def mutate(names: List[bytes]) -> "defer.Deferred[Any]":
            muts = [hbase.Mutation(isDelete=True, column=c, writeToWAL=wal) for c in names]
            if ts is None:
                return self._call("mutateRow", self.name, row, muts, {}, timeout=timeout)
            return self._call("mutateRowTs", self.name, row, muts, ts, {}, timeout=timeout)

        return d.addCallback(mutate).addCallback(lambda _: None)

    def batch(self, timestamp: Optional[int] = None, batch_size: Optional[int] = None,
              transaction: bool = False, wal: bool = True, *,
              timeout: Optional[float] = None) -> Batch:
        """A new ``Batch`` for this table (HappyBase's options; see ``Batch``)."""
        return Batch(self, timestamp=timestamp, batch_size=batch_size,
                     transaction=transaction, wal=wal, timeout=timeout)

    def run_batch(self, func: Callable[..., Any], *args: Any, timestamp: Optional[int] = None,
                  batch_size: Optional[int] = None, transaction: bool = False,
                  wal: bool = True, timeout: Optional[float] = None,
                  **kwargs: Any) -> "defer.Deferred[Any]":
        """Run ``func(batch, *args, **kwargs)`` then send the batch (the
        ``@inlineCallbacks`` form of ``async with table.batch()``); fires with
        ``func``'s result. With ``transaction=True`` nothing is sent if
        ``func`` fails."""
        b = self.batch(timestamp=timestamp, batch_size=batch_size,
                       transaction=transaction, wal=wal, timeout=timeout)
        return b.run(func, *args, **kwargs)

    def check_and_put(self, row: Name, column: Name, value: Optional[bytes],
                      data: Dict[Name, bytes], *,
                      timeout: Optional[float] = None) -> "defer.Deferred[bool]":
        """Put ``data`` if ``column`` holds ``value`` (``None``: if the column
        is absent); fires with True when the put was applied.

        The Thrift1 gateway takes one mutation, so ``data`` must hold exactly
        one column (ValueError otherwise). Fails with ``HBaseIOError``
        (missing table, unknown family); never repeated by a pool once it may
        have reached the server (``maybe_applied``).
        """
        row = _validate.to_bytes(row, "row")
        column = _validate.put_column(column, "column")
        if value is not None:
            value = _validate.value(value, column, "value")
        items = _validate.put_data(data)
        if len(items) != 1:
            raise ValueError("'data' must hold exactly one column for check_and_put "
                             f"(the Thrift1 gateway takes one mutation), not {len(items)}")
        timeout = _validate.timeout(timeout)
        (c, v), = items
        mput = hbase.Mutation(isDelete=False, column=c, value=v, writeToWAL=True)
        return self._call("checkAndPut", self.name, row, column, value, mput, {},
                          timeout=timeout).addCallback(bool)

    def append(self, row: Name, data: Dict[Name, bytes], include_timestamp: bool = False, *,
               timeout: Optional[float] = None) -> "defer.Deferred[Dict[bytes, Any]]":
        """Append each value of ``data`` to its column; fires with
        ``{column: new_value}`` (or ``(value, timestamp)``); fails with
        ``HBaseIOError`` (missing table, unknown family). Never repeated by a
        pool once it may have reached the server (``maybe_applied``)."""
        row = _validate.to_bytes(row, "row")
        items = _validate.put_data(data)
        _validate.flags(include_timestamp=include_timestamp)
        timeout = _validate.timeout(timeout)
        if not items:
            return defer.succeed({})
        cols = [c for c, _ in items]
        app = hbase.TAppend(table=self.name, row=row, columns=cols, values=[v for _, v in items])
        d = self._call("append", app, timeout=timeout)

        def shape(cells: List[Any]) -> Dict[bytes, Any]:
            # HBase returns the cells in its sort order: family, then qualifier.
            order = sorted(set(cols), key=_convert.split_column)
            return {name: (c.value, c.timestamp) if include_timestamp else c.value
                    for name, c in zip(order, cells)}

        return d.addCallback(shape)

    # ------------------------------------------------------------ counters

    def counter_get(self, row: Name, column: Name, *,
                    timeout: Optional[float] = None) -> "defer.Deferred[int]":
        """Fire with a counter's value (initialising it to 0 if absent); fails
        as ``counter_inc``."""
        return self.counter_inc(row, column, value=0, timeout=timeout)

    def counter_set(self, row: Name, column: Name, value: int = 0, *,
                    timeout: Optional[float] = None) -> "defer.Deferred[None]":
        """Set a counter column to ``value`` (an 8-byte big-endian put); fires
        with None, fails as ``put``."""
        value = _validate.integer(value, "value", _validate.I64_MIN, _validate.I64_MAX)
        return self.put(row, {_validate.counter_column(column): _convert.pack_i64(value)},
                        timeout=timeout)

    def counter_inc(self, row: Name, column: Name, value: int = 1, *,
                    timeout: Optional[float] = None) -> "defer.Deferred[int]":
        """Atomically add ``value`` to a counter; fires with the new value.

        A bare family ``b'cf'`` is the family's empty qualifier (sent as
        ``b'cf:'``, as in ``Batch.counter_inc``).

        Fails with ``HBaseIOError`` when the cell is not an 8-byte counter
        (or the table/family is missing). Never repeated by a pool once it may
        have reached the server: the error then says ``maybe_applied=True``.
        """
        row = _validate.to_bytes(row, "row")
        column = _validate.counter_column(column)
        value = _validate.integer(value, "value", _validate.I64_MIN, _validate.I64_MAX)
        return self._call("atomicIncrement", self.name, row, column, value,
                          timeout=_validate.timeout(timeout))

    def counter_dec(self, row: Name, column: Name, value: int = 1, *,
                    timeout: Optional[float] = None) -> "defer.Deferred[int]":
        """Atomically subtract ``value`` from a counter; fires with the new
        value, fails as ``counter_inc``."""
        value = _validate.integer(value, "value", -_validate.I64_MAX, _validate.I64_MAX)
        return self.counter_inc(row, column, -value, timeout=timeout)


def _row_cells(rows: List[Any]) -> Dict[bytes, Any]:
    """``getRowWithColumns``' reply as ``{column: value}`` ({} for no row)."""
    cells = rows[0].columns if rows else None
    return {name: cell.value for name, cell in cells.items()} if cells else {}


def _row_cells_ts(rows: List[Any]) -> Dict[bytes, Any]:
    """``getRowWithColumns``' reply as ``{column: (value, timestamp)}``."""
    cells = rows[0].columns if rows else None
    return {name: (cell.value, cell.timestamp) for name, cell in cells.items()} if cells else {}


def _none(_: Any) -> None:
    """Drop a call's result (a put fires with None)."""
    return None


def split_ranges(start: bytes, stop: Optional[bytes], region_starts: List[bytes],
                 max_count: int) -> List[Tuple[bytes, Optional[bytes]]]:
    """Cut ``[start, stop)`` at the region boundaries inside it, then merge
    neighbours so there are at most ``max_count`` ranges of similar region counts."""
    cuts = [k for k in region_starts if k and k > start and (stop is None or k < stop)]
    cuts = sorted(set(cuts))
    bounds: List[Tuple[bytes, Optional[bytes]]] = []
    lo = start
    for k in cuts:
        bounds.append((lo, k))
        lo = k
    bounds.append((lo, stop))
    if len(bounds) <= max_count:
        return bounds
    # Merge into max_count groups of consecutive ranges, sizes differing by <= 1.
    out = []
    q, r = divmod(len(bounds), max_count)
    i = 0
    for g in range(max_count):
        size = q + (1 if g < r else 0)
        group = bounds[i:i + size]
        out.append((group[0][0], group[-1][1]))
        i += size
    return out


@defer.inlineCallbacks
def _count_rows(scanner: Scanner) -> Any:
    n = 0
    last = None
    try:
        while True:
            items = yield scanner.next_batch()
            if not items:
                return n
            for key, _ in items:
                if key != last:
                    n += 1
                    last = key
    finally:
        if not scanner.exhausted:
            scanner.close()
