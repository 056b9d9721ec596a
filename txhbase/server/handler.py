"""The ``Hbase`` Thrift1 service over the embedded store, with HBase's errors.

Each public method has the IDL name and takes the IDL arguments in field
order (``txhbase.protocol.server`` calls ``getattr(handler, name)(*args)``).
Errors are raised exactly as HBase's ``ThriftHBaseServiceHandler`` lets
them out (see the gateway reference, section 3):

- ``hbase.IOError(message, canRetry)`` for IOExceptions; ``canRetry`` is
  False for DoNotRetry errors (missing table, table in the wrong state, no
  such family, not a counter);
- ``hbase.IllegalArgument`` / ``hbase.AlreadyExists`` where HBase maps them;
- ``TApplicationException(INTERNAL_ERROR)`` for what HBase does not catch
  (bad filter, negative timestamp, invalid table name, empty row, ...).

Mutations return a Deferred when a write-ahead log is attached (``durable``),
fired once the log is on disk, so a reply never acknowledges a lost write.

Deliberate differences from a real gateway, and points to check against one
(the real-HBase differential test decides):

- deletes remove cells for good: a delete with a ``_ttl`` attribute whose
  marker has already expired is ignored (as in HBase), but a marker that
  expires later does not bring the cells back as it would in HBase;
- versions hidden by max_versions are kept, like in HBase's memstore, but
  only up to ``store.RETAIN_VERSIONS`` per column (HBase: until a flush);
- ``majorCompact`` drops delete markers at once (HBase: asynchronously, and
  its Thrift1 handler actually requests a minor compaction);
- idle scanners expire after ``scanner_timeout`` (HBase 2.6 keeps them in a
  map; an expiry there comes from the region server's lease);
- a ``_ttl`` attribute that is not 8 bytes is an IllegalArgument here; HBase
  2.6 keeps retrying it until the client times out (as it does for an
  atomicIncrement of an empty row, INTERNAL_ERROR here);
- a batched scan whose filter decides on whole rows fails at once at the
  first scannerGet (HBase: after ~70 s of its client's retries);
- TApplicationException messages carry the Java exception text; HBase's
  say only "Internal error processing <method>";
- between *separate* calls a row's server timestamps strictly increase
  (``Store.issue_ts``); on HBase two calls in the same millisecond can share
  one (a delete then a put of the same column in that ms masks the put).

Checked against HBase 2.6.1 (tests/realhbase/differential.py survey, 4,000+
random call sequences without divergence, plus tests/server/test_*conformance
and test_happybase.py with ``--backend hbase``).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional, cast

from twisted.internet import defer

from txhbase.protocol.idl import hbase
from txhbase._clock import Clock
from txhbase.server.arguments import (
    Attributes, DeleteTarget, append_cells, check_row, check_table_name, check_ts, family_spec,
    increment_target, parse_column, selection, selection_families, split_mutations,
    table_name_caught, ttl_expiry,
)
from txhbase.server.errors import (
    display_name, internal_error, io_error, maps_store_errors, retries_exhausted,
)
from txhbase.server.results import (
    column_descriptors, fast_row_result, find_region, region_info, tcells,
)
from txhbase.server.scanning import ScannerRegistry, open_scanner
from txhbase.server.store import LATEST, NoSuchFamily, Store, StoreError, StoredTable

if TYPE_CHECKING:
    from txhbase.server.wal import WriteAheadLog

__all__ = ["CLUSTER_ID", "HBaseHandler"]

log = logging.getLogger(__name__)

CLUSTER_ID = "4f7c0e38-3b1a-4e0c-9d8e-7478626173e1"


class HBaseHandler:
    """The ``Hbase`` service: every IDL method, over one ``Store``.

    ``clock`` (an Clock; the global reactor by default) drives
    idle-scanner expiry and the cooperative continuation of long scans, and
    is the time of a ``store`` created here; ``wal`` (optional) makes
    mutations durable before they are acknowledged.
    """

    def __init__(self, store: Optional[Store] = None, clock: Optional[Clock] = None,
                 scanner_timeout: Optional[float] = 60.0,
                 wal: Optional["WriteAheadLog"] = None,
                 server_name: bytes = b"localhost", server_port: int = 16020) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = cast(Clock, reactor)
        self.clock: Clock = clock
        if store is None:
            seconds = clock.seconds
            store = Store(clock=lambda: int(seconds() * 1000))
        self.store = store
        self.scanner_timeout = scanner_timeout
        self.wal = wal
        self.server_name = server_name
        self.server_port = server_port
        #: the open scanners (ids, leases, scannerGetList)
        self.scanners = ScannerRegistry(store, clock, scanner_timeout)

    # ---- helpers ---------------------------------------------------------

    def _durable(self, result: Any = None) -> Any:
        if self.wal is None:
            return result
        return self.wal.sync().addCallback(lambda _: result)

    def _table(self, name: Any) -> StoredTable:
        return self.store.enabled_table(check_table_name(name))

    def _now(self) -> int:
        return self.store.now()

    # ---- tables ----------------------------------------------------------

    @maps_store_errors
    def enableTable(self, tableName: bytes) -> Any:
        self.store.set_enabled(check_table_name(tableName), True)
        return self._durable()

    @maps_store_errors
    def disableTable(self, tableName: bytes) -> Any:
        self.store.set_enabled(check_table_name(tableName), False)
        return self._durable()

    @maps_store_errors
    def isTableEnabled(self, tableName: bytes) -> bool:
        return self.store.table(check_table_name(tableName)).enabled

    @maps_store_errors
    def compact(self, tableNameOrRegionName: bytes) -> None:
        self._table_or_region(tableNameOrRegionName)

    @maps_store_errors
    def majorCompact(self, tableNameOrRegionName: bytes) -> Any:
        t = self._table_or_region(tableNameOrRegionName)
        self.store.major_compact(t.name)
        return self._durable()

    def _table_or_region(self, name: bytes) -> StoredTable:
        name = bytes(name or b"")
        if b"," in name:  # a region name: "table,startKey,id.encoded."
            return self.store.table(check_table_name(name.split(b",", 1)[0]))
        return self.store.table(check_table_name(name))

    def getTableNames(self) -> list[Any]:
        return sorted(self.store.tables)

    def getTableNamesWithIsTableEnabled(self) -> dict[Any, Any]:
        return {n: t.enabled for n, t in self.store.tables.items()}

    @maps_store_errors
    def getColumnDescriptors(self, tableName: bytes) -> dict[bytes, Any]:
        return column_descriptors(self.store.table(check_table_name(tableName)))

    def _region_info(self, t: StoredTable, start: bytes, end: bytes) -> Any:
        return region_info(t, start, end, self.server_name, self.server_port)

    def getTableRegions(self, tableName: bytes) -> list[Any]:
        name = check_table_name(tableName)
        t = self.store.tables.get(name)
        if t is None:
            return []
        return [self._region_info(t, s, e) for s, e in self.store.regions(name)]

    @maps_store_errors
    def createTable(self, tableName: bytes, columnFamilies: list[Any]) -> Any:
        name = check_table_name(tableName)
        if name in self.store.tables:
            raise hbase.AlreadyExists(message="table name already in use")
        specs = {}
        for cd in columnFamilies or []:
            spec = family_spec(cd)
            if spec.name in specs:
                raise hbase.IllegalArgument(
                    message="java.lang.IllegalArgumentException: Column family "
                            f"'{display_name(spec.name)}' already exists")
            specs[spec.name] = spec
        if not specs:
            raise io_error("org.apache.hadoop.hbase.DoNotRetryIOException",
                           "Table should have at least one column family.")
        self.store.create_table(name, list(specs.values()))
        return self._durable()

    @maps_store_errors
    def deleteTable(self, tableName: bytes) -> Any:
        name = check_table_name(tableName)
        if name not in self.store.tables:  # HBase: a plain IOException here
            raise io_error("java.io.IOException", "table does not exist", can_retry=True)
        self.store.delete_table(name)
        self.scanners.drop_table(name)
        return self._durable()

    # ---- reads -----------------------------------------------------------

    def _cells(self, tableName: bytes, row: bytes, column: bytes, versions: int,
               max_ts: Any) -> list[Any]:
        # HBase builds the Get (name, row, time range, versions) before it
        # looks the table up: those errors come first
        name = check_table_name(tableName)
        row = check_row(row)
        max_ts = check_ts(max_ts)
        if versions is None or versions <= 0:
            raise io_error("java.io.IOException", "versions must be positive", can_retry=True)
        t = self.store.enabled_table(name)
        sel = selection([column])
        self.store.check_families(t, selection_families(sel))
        cells = self.store.row_cells(t, row, sel, max_ts, versions, ordered=True)
        return tcells((ts, v) for _, ts, v in cells)

    @maps_store_errors
    def get(self, tableName: bytes, row: bytes, column: bytes,
            attributes: Attributes = None) -> list[Any]:
        return self._cells(tableName, row, column, 1, LATEST)

    @maps_store_errors
    def getVer(self, tableName: bytes, row: bytes, column: bytes, numVersions: int,
               attributes: Attributes = None) -> list[Any]:
        return self.getVerTs(tableName, row, column, LATEST, numVersions, attributes)

    @maps_store_errors
    def getVerTs(self, tableName: bytes, row: bytes, column: bytes, timestamp: int,
                 numVersions: int, attributes: Attributes = None) -> list[Any]:
        return self._cells(tableName, row, column, numVersions, timestamp)

    def _rows(self, tableName: bytes, rows: list[Any], columns: Any, max_ts: int,
              batch: bool = False) -> list[Any]:
        if batch and len(rows) == 1:
            batch = False  # HTable.get(List) of one Get is a plain get
        if batch:
            # HBase: table.get(List<Get>) -- nothing to fetch touches no table,
            # and failures come back wrapped in a (retryable) batch exception
            check_table_name(tableName)
            if not rows:
                return []
            rows = [check_row(r) for r in rows]  # the Gets are built first
            max_ts = check_ts(max_ts)
            try:
                t = self._table(tableName)
                sel = selection(columns)
                self.store.check_families(t, selection_families(sel))
            except StoreError as e:
                raise retries_exhausted(len(rows), f"{type(e).__name__}: "
                                        f"{display_name(e.args[0]) if e.args else ''}")
        else:
            name = check_table_name(tableName)
            rows = [check_row(r) for r in rows]
            max_ts = check_ts(max_ts)
            t = self.store.enabled_table(name)
            sel = selection(columns)
            self.store.check_families(t, selection_families(sel))
        now = self._now()
        out = []
        get = t.rows.get
        for row in rows:
            row = check_row(row)
            cols = get(row)
            if cols:
                r = fast_row_result(self.store, t, row, cols, sel, max_ts, now)
                if r is not None:
                    out.append(r)
        return out

    @maps_store_errors
    def getRow(self, tableName: bytes, row: bytes, attributes: Attributes = None) -> list[Any]:
        return self._rows(tableName, [row], None, LATEST)

    @maps_store_errors
    def getRowWithColumns(self, tableName: bytes, row: bytes, columns: list[Any],
                          attributes: Attributes = None) -> list[Any]:
        return self._rows(tableName, [row], columns, LATEST)

    @maps_store_errors
    def getRowTs(self, tableName: bytes, row: bytes, timestamp: int,
                 attributes: Attributes = None) -> list[Any]:
        return self._rows(tableName, [row], None, timestamp)

    @maps_store_errors
    def getRowWithColumnsTs(self, tableName: bytes, row: bytes, columns: list[Any],
                            timestamp: int, attributes: Attributes = None) -> list[Any]:
        return self._rows(tableName, [row], columns, timestamp)

    @maps_store_errors
    def getRows(self, tableName: bytes, rows: list[Any],
                attributes: Attributes = None) -> list[Any]:
        return self._rows(tableName, rows or [], None, LATEST, batch=True)

    @maps_store_errors
    def getRowsWithColumns(self, tableName: bytes, rows: list[Any], columns: list[Any],
                           attributes: Attributes = None) -> list[Any]:
        return self._rows(tableName, rows or [], columns, LATEST, batch=True)

    @maps_store_errors
    def getRowsTs(self, tableName: bytes, rows: list[Any], timestamp: int,
                  attributes: Attributes = None) -> list[Any]:
        return self._rows(tableName, rows or [], None, timestamp, batch=True)

    @maps_store_errors
    def getRowsWithColumnsTs(self, tableName: bytes, rows: list[Any], columns: list[Any],
                             timestamp: int, attributes: Attributes = None) -> list[Any]:
        return self._rows(tableName, rows or [], columns, timestamp, batch=True)

    # ---- writes ----------------------------------------------------------

    def _apply_deletes(self, t: StoredTable, row: bytes, deletes: list[DeleteTarget], ts: int,
                       attributes: Attributes = None) -> None:
        """Apply ``(family | None, qualifier | None)`` deletes of versions <= ``ts``.

        A ``_ttl`` attribute puts a TTL on HBase's delete markers too: a
        marker already expired masks nothing, so such a delete changes
        nothing.  (A marker expiring later would unmask the cells again in
        HBase; ours are gone for good: a known difference.)
        """
        self.store.check_families(t, {f for f, _ in deletes if f is not None})
        expiry = ttl_expiry(attributes, ts)
        if expiry is not None and expiry < self._now():
            return
        for fam, qual in deletes:
            self.store.delete(t, row, ts, fam, qual)

    @maps_store_errors
    def mutateRow(self, tableName: bytes, row: bytes, mutations: list[Any],
                  attributes: Attributes = None) -> Any:
        return self._mutate_row(tableName, row, mutations, LATEST, attributes)

    @maps_store_errors
    def mutateRowTs(self, tableName: bytes, row: bytes, mutations: list[Any], timestamp: int,
                    attributes: Attributes = None) -> Any:
        return self._mutate_row(tableName, row, mutations, timestamp, attributes)

    def _mutate_row(self, tableName: bytes, row: bytes, mutations: list[Any], timestamp: int,
                    attributes: Attributes) -> Any:
        name = table_name_caught(tableName)
        row = check_row(row, uncaught=False)
        ts = check_ts(timestamp, uncaught=False)
        puts, deletes = split_mutations(mutations, bare_put_error=False)
        if not puts and not deletes:
            return None  # HBase sends nothing then, so a missing table is no error
        t = self.store.enabled_table(name)
        if ts == LATEST and (puts or deletes):
            # HBase sends the Delete then the Put from the gateway, well within
            # a millisecond: both get the same server time, so a put of a
            # column this call also deletes stays masked (as HBase 2.6 shows)
            ts = self.store.issue_ts(t, row)
        if deletes:
            self._apply_deletes(t, row, deletes, ts, attributes)
        if puts:
            self.store.put(t, row, puts, ts, ttl_expiry(attributes, ts))
        return self._durable()

    @maps_store_errors
    def mutateRows(self, tableName: bytes, rowBatches: list[Any],
                   attributes: Attributes = None) -> Any:
        return self._mutate_rows(tableName, rowBatches, LATEST, attributes)

    @maps_store_errors
    def mutateRowsTs(self, tableName: bytes, rowBatches: list[Any], timestamp: int,
                     attributes: Attributes = None) -> Any:
        return self._mutate_rows(tableName, rowBatches, timestamp, attributes)

    def _mutate_rows(self, tableName: bytes, rowBatches: list[Any], timestamp: int,
                     attributes: Attributes) -> Any:
        # HBase builds the Puts and Deletes before its try block: errors
        # there are uncaught (INTERNAL_ERROR); the table lookup is inside it
        ts = check_ts(timestamp)
        batches = []
        for b in rowBatches or []:
            row = check_row(b.row)
            puts, deletes = split_mutations(b.mutations, bare_put_error=True)
            batches.append((row, puts, deletes))
        if attributes:
            ttl_expiry(attributes, 0)  # validate before anything is applied
        name = table_name_caught(tableName)
        if not any(puts or deletes for _, puts, deletes in batches):
            return None  # HBase sends nothing, so touches no table
        try:
            t = self.store.enabled_table(name)
        except StoreError as e:  # the batch put fails as a whole: retryable
            raise retries_exhausted(len(batches), f"{type(e).__name__}: {display_name(e.args[0])}")
        latest = ts == LATEST
        failed = []
        # one table.put(puts) then one table.delete(deletes): each batch gets
        # one server timestamp, after those of every row it touches
        put_ts = self.store.issue_batch_ts(t, [r for r, p, _ in batches if p]) if latest else ts
        del_ts = self.store.issue_batch_ts(t, [r for r, _, d in batches if d]) if latest else ts
        for row, puts, deletes in batches:  # every Put first ...
            if puts:
                try:
                    self.store.put(t, row, puts, put_ts, ttl_expiry(attributes, put_ts))
                except NoSuchFamily as e:
                    failed.append(e)
        if failed:  # the put batch failed: HBase stops before the deletes
            return self._batch_failed(failed)
        for row, puts, deletes in batches:  # ... then every Delete
            if deletes:
                try:
                    self._apply_deletes(t, row, deletes, del_ts, attributes)
                except NoSuchFamily as e:
                    failed.append(e)
        if failed:  # table.delete(List) is a batch too
            return self._batch_failed(failed)
        return self._durable()

    def _batch_failed(self, failed: list[Any]) -> Any:
        """The retryable IOError of a batch with failed actions, after what did apply."""
        err = retries_exhausted(len(failed), "org.apache.hadoop.hbase.regionserver."
                                "NoSuchColumnFamilyException: Column family "
                                f"{display_name(failed[0].args[0])} does not exist")
        d = self._durable()
        if isinstance(d, defer.Deferred):
            return d.addCallback(lambda _: defer.fail(err))
        raise err

    @maps_store_errors
    def atomicIncrement(self, tableName: bytes, row: bytes, column: bytes, value: int) -> Any:
        name = check_table_name(tableName)
        row = check_row(row)
        t = self.store.enabled_table(name)
        p = parse_column(column)
        qual = p[1] if len(p) == 2 else b""
        return self._durable(self.store.increment(t, row, p[0], qual, int(value or 0)))

    @maps_store_errors
    def deleteAll(self, tableName: bytes, row: bytes, column: bytes,
                  attributes: Attributes = None) -> Any:
        return self.deleteAllTs(tableName, row, column, LATEST, attributes)

    @maps_store_errors
    def deleteAllTs(self, tableName: bytes, row: bytes, column: bytes, timestamp: int,
                    attributes: Attributes = None) -> Any:
        name = check_table_name(tableName)
        row = check_row(row)
        ts = check_ts(timestamp)
        t = self.store.enabled_table(name)
        p = parse_column(column)
        self._apply_deletes(t, row, [(p[0], p[1] if len(p) == 2 else None)],
                            self.store.issue_ts(t, row) if ts == LATEST else ts, attributes)
        return self._durable()

    @maps_store_errors
    def deleteAllRow(self, tableName: bytes, row: bytes, attributes: Attributes = None) -> Any:
        return self.deleteAllRowTs(tableName, row, LATEST, attributes)

    @maps_store_errors
    def deleteAllRowTs(self, tableName: bytes, row: bytes, timestamp: int,
                       attributes: Attributes = None) -> Any:
        name = check_table_name(tableName)
        row = check_row(row)
        ts = check_ts(timestamp)
        t = self.store.enabled_table(name)
        self._apply_deletes(t, row, [(None, None)],
                            self.store.issue_ts(t, row) if ts == LATEST else ts, attributes)
        return self._durable()

    def _increment_one(self, inc: Any) -> None:
        name, row, family, qualifier, amount = increment_target(inc)
        self.store.increment(self.store.enabled_table(name), row, family, qualifier, amount)

    @maps_store_errors
    def increment(self, increment: Any) -> Any:
        self._increment_one(increment)
        return self._durable()

    @maps_store_errors
    def incrementRows(self, increments: list[Any]) -> Any:
        for inc in increments or []:
            self._increment_one(inc)
        return self._durable()

    @maps_store_errors
    def append(self, append: Any) -> Any:
        name, row, cells = append_cells(append)  # appendFromThrift, before the table is used
        done = self.store.append(self.store.enabled_table(name), row, cells)
        return self._durable(tcells((ts, v) for _, _, ts, v in done))

    @maps_store_errors
    def checkAndPut(self, tableName: bytes, row: bytes, column: bytes, value: Any,
                    mput: Any, attributes: Attributes = None) -> Any:
        row = check_row(row, uncaught=False)
        if mput is None:
            raise internal_error("java.lang.NullPointerException: mput")
        target = parse_column(mput.column)
        check = parse_column(column)
        if len(check) != 2 or len(target) != 2:
            raise internal_error("java.lang.ArrayIndexOutOfBoundsException: "
                                 "Index 1 out of bounds for length 1")
        t = self.store.enabled_table(table_name_caught(tableName))
        self.store.check_families(t, {check[0]})  # the put's family only if it is applied
        now = self._now()
        cur = self.store.latest(t, row, check[0], check[1], now)
        if not value:
            # HRegion.checkAndMutate: a null or empty expected value matches a
            # missing column or an empty one (ifNotExists is ifEquals(null))
            ok = cur is None or cur[1] == b""
        else:
            ok = cur is not None and cur[1] == bytes(value)
        if not ok:
            return False
        val = bytes(mput.value) if mput.value is not None else b""
        ts = self.store.issue_ts(t, row)
        self.store.put(t, row, [(target[0], target[1], val)], ts, ttl_expiry(attributes, ts))
        return self._durable(True)

    # ---- scanners --------------------------------------------------------

    def _open(self, tableName: bytes, start: Optional[bytes], stop: Optional[bytes] = None,
              columns: Optional[list[bytes]] = None, max_ts: int = LATEST,
              **options: Any) -> int:
        return self.scanners.add(open_scanner(self.store, tableName, start, stop, columns,
                                              max_ts, **options))

    def open_scanner_count(self) -> int:
        """Scanners open on the server (neither closed nor expired)."""
        return len(self.scanners)

    def close_all_scanners(self) -> None:
        self.scanners.drop_all()

    @maps_store_errors
    def scannerOpenWithScan(self, tableName: bytes, scan: Any,
                            attributes: Attributes = None) -> int:
        scan = scan or hbase.TScan()
        max_ts = LATEST if scan.timestamp is None else check_ts(scan.timestamp)
        return self._open(tableName, scan.startRow, scan.stopRow, scan.columns, max_ts,
                          reverse=bool(scan.reversed), filter_string=scan.filterString,
                          batch=scan.batchSize or 0, sort_columns=bool(scan.sortColumns))

    @maps_store_errors
    def scannerOpen(self, tableName: bytes, startRow: bytes, columns: list[Any],
                    attributes: Attributes = None) -> int:
        return self._open(tableName, startRow, None, columns)

    @maps_store_errors
    def scannerOpenWithStop(self, tableName: bytes, startRow: bytes, stopRow: bytes,
                            columns: list[Any], attributes: Attributes = None) -> int:
        return self._open(tableName, startRow, stopRow, columns)

    @maps_store_errors
    def scannerOpenWithPrefix(self, tableName: bytes, startAndPrefix: bytes, columns: list[Any],
                              attributes: Attributes = None) -> int:
        prefix = bytes(startAndPrefix or b"")
        return self._open(tableName, prefix, None, columns, prefix=prefix)

    @maps_store_errors
    def scannerOpenTs(self, tableName: bytes, startRow: bytes, columns: list[Any],
                      timestamp: int, attributes: Attributes = None) -> int:
        return self._open(tableName, startRow, None, columns, check_ts(timestamp))

    @maps_store_errors
    def scannerOpenWithStopTs(self, tableName: bytes, startRow: bytes, stopRow: bytes,
                              columns: list[Any], timestamp: int,
                              attributes: Attributes = None) -> int:
        return self._open(tableName, startRow, stopRow, columns, check_ts(timestamp))

    def scannerGet(self, id: int) -> Any:
        return self.scannerGetList(id, 1)

    def scannerGetList(self, id: int, nbRows: int) -> Any:
        """Up to ``nbRows`` rows; long filtered scans continue on later reactor turns."""
        return self.scanners.get_list(id, nbRows)

    def scannerClose(self, id: int) -> None:
        self.scanners.lookup(id)
        self.scanners.drop(id)

    # ---- server ----------------------------------------------------------

    def getRegionInfo(self, row: bytes) -> Any:
        """The region whose meta row is the last one <= ``row`` (HBase: a reverse meta scan).

        Meta rows are region names ``table,startKey,id.encoded.``; asking for
        ``table,key,99999999999999`` finds the region of ``table`` holding ``key``.
        """
        row = bytes(row or b"")
        best = find_region(self.store, row, self.server_name, self.server_port)
        if best is None:
            raise io_error("java.io.IOException",
                           f"Cannot find row in hbase:meta, row={display_name(row)}",
                           can_retry=True)
        return best

    def getThriftServerType(self) -> int:
        return int(hbase.TThriftServerType.ONE)

    def getClusterId(self) -> str:
        return CLUSTER_ID

    def _no_security(self, info: Any) -> bool:
        raise io_error("org.apache.hadoop.hbase.DoNotRetryIOException",
                       "java.lang.UnsupportedOperationException: "
                       "org.apache.hadoop.hbase.security.access.AccessController is not loaded")

    # grant/revoke: only reachable when the IDL declares them (HBase 2.5's
    # does; 2.6's does not and the protocol layer answers UNKNOWN_METHOD).
    def grant(self, info: Any) -> bool:
        """Like HBase without the AccessController: IOError (security is off)."""
        return self._no_security(info)

    def revoke(self, info: Any) -> bool:
        """Like HBase without the AccessController: IOError (security is off)."""
        return self._no_security(info)
