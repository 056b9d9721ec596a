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

import functools
import hashlib
import logging
import re
from typing import Any, Callable, Optional

from thriftpy2.thrift import TApplicationException
from twisted.internet import defer

from txhbase.protocol.idl import hbase
from txhbase.server import store as st
from txhbase.server.store import LATEST, FamilySpec, Selection, Store

log = logging.getLogger(__name__)

CLUSTER_ID = "4f7c0e38-3b1a-4e0c-9d8e-7478626173e1"
COMPRESSIONS = {"none": "NONE", "gz": "GZ", "lzo": "LZO", "snappy": "SNAPPY", "lz4": "LZ4",
                "bzip2": "BZIP2", "zstd": "ZSTD", "lzma": "LZMA", "brotli": "BROTLI"}
BLOOM_TYPES = {"NONE", "ROW", "ROWCOL", "ROWPREFIX_FIXED_LENGTH"}
_TABLE_QUALIFIER = re.compile(rb"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
_NAMESPACE = re.compile(rb"[A-Za-z0-9_]+\Z")
#: rows examined per reactor turn by one scannerGetList before yielding
SCAN_STEP_ROWS = 2000
#: "every stored version" for store.row_cells (Java's Integer.MAX_VALUE; the
#: store caps it at the family's max_versions)
ALL_VERSIONS = 0x7FFFFFFF


def internal_error(message: str) -> TApplicationException:
    return TApplicationException(TApplicationException.INTERNAL_ERROR, message)


def io_error(java_class: str, message: str, can_retry: bool = False) -> Any:
    return hbase.IOError(message=f"{java_class}: {message}", canRetry=can_retry)


def _name(b: Any) -> str:
    return b.decode("utf-8", "replace") if isinstance(b, (bytes, bytearray)) else str(b)


def _store_errors(fn: Callable) -> Callable:
    """Map store errors raised by ``fn`` to HBase's Thrift exceptions."""

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        try:
            return fn(*args)
        except st.TableNotFound as e:
            raise io_error("org.apache.hadoop.hbase.TableNotFoundException", _name(e.args[0]))
        except st.TableNotEnabled as e:
            raise io_error("org.apache.hadoop.hbase.TableNotEnabledException",
                           _name(e.args[0]) + " is disabled.")
        except st.TableNotDisabled as e:
            raise io_error("org.apache.hadoop.hbase.TableNotDisabledException", _name(e.args[0]))
        except st.NoSuchFamily as e:
            raise io_error("org.apache.hadoop.hbase.regionserver.NoSuchColumnFamilyException",
                           f"Column family {_name(e.args[0])} does not exist")
        except st.NotACounter as e:
            raise io_error("org.apache.hadoop.hbase.DoNotRetryIOException", str(e))
    return wrapper


def check_table_name(name: Any) -> bytes:
    """HBase's TableName.valueOf rules; an invalid name is an uncaught error."""
    if not isinstance(name, (bytes, bytearray)) or not name:
        raise internal_error("java.lang.IllegalArgumentException: Table name must not be empty")
    name = bytes(name)
    ns, sep, qual = name.rpartition(b":")
    if (sep and not _NAMESPACE.match(ns)) or not _TABLE_QUALIFIER.match(qual):
        raise internal_error("java.lang.IllegalArgumentException: Illegal character or "
                             f"illegal first character in table name: {_name(name)}")
    return name


def _table_name_caught(name: Any) -> bytes:
    """check_table_name where HBase's handler catches IllegalArgumentException."""
    try:
        return check_table_name(name)
    except TApplicationException as e:
        raise hbase.IllegalArgument(message=e.message)


def _check_row(row: Any, uncaught: bool = True) -> bytes:
    if row is None or len(row) == 0:
        msg = "java.lang.IllegalArgumentException: Row length is 0"
        if uncaught:
            raise internal_error(msg)
        raise hbase.IllegalArgument(message=msg)
    return bytes(row)


def _check_ts(ts: Any, uncaught: bool = True) -> int:
    if ts is None:
        raise internal_error("java.lang.NullPointerException: timestamp")
    if ts < 0:
        msg = f"java.lang.IllegalArgumentException: Timestamp cannot be negative. ts={ts}"
        if uncaught:
            raise internal_error(msg)
        raise hbase.IllegalArgument(message=msg)
    return int(ts)


def parse_column(column: Any) -> tuple:
    """``b"cf"`` -> ``(b"cf",)``; ``b"cf:q"`` -> ``(b"cf", b"q")`` (HBase's CellUtil.parseColumn)."""
    column = bytes(column or b"")
    fam, sep, qual = column.partition(b":")
    return (fam, qual) if sep else (fam,)


_SELECTIONS: dict = {}


def _selection(columns: Any) -> Optional[Selection]:
    """The Selection for a Thrift column list (cached: clients repeat their lists)."""
    if not columns:
        return None
    key = tuple(columns)
    sel = _SELECTIONS.get(key)
    if sel is None:
        if len(_SELECTIONS) > 4096:
            _SELECTIONS.clear()
        sel = _SELECTIONS[key] = _parse_selection(columns)
    return sel


def _parse_selection(columns: Any) -> Selection:
    """Columns applied in order, as HBase's Get/Scan addFamily/addColumn do.

    ``addFamily`` replaces whatever the family had with "all columns";
    ``addColumn`` on a family that is "all columns" starts a new column set,
    so ``[b"cf", b"cf:q"]`` reads only ``cf:q`` and ``[b"cf:q", b"cf"]`` all of cf.
    """
    per_family: dict = {}  # family -> None (whole family) or set of column names
    for c in columns:
        p = parse_column(c)
        if len(p) == 1:
            per_family[p[0]] = None
        else:
            cols = per_family.get(p[0])
            if cols is None:
                cols = per_family[p[0]] = set()
            cols.add(p[0] + b":" + p[1])
    fams = [f for f, cols in per_family.items() if cols is None]
    return Selection(fams, [c for cols in per_family.values() if cols for c in cols])


def _selection_families(sel: Optional[Selection]) -> frozenset:
    if sel is None:
        return frozenset()
    return sel.all_families


def _ttl_expiry(attributes: Any, ts: int) -> Optional[int]:
    """The absolute expiry of a put carrying HBase's ``_ttl`` attribute."""
    if not attributes:
        return None
    raw = attributes.get(b"_ttl", attributes.get("_ttl"))
    if raw is None:
        return None
    if len(raw) != 8:
        raise hbase.IllegalArgument(
            message="java.lang.IllegalArgumentException: _ttl must be an 8-byte long")
    ttl = int.from_bytes(raw, "big", signed=True)
    if ttl == 0x7FFFFFFFFFFFFFFF:
        return None
    return ts + ttl


def row_result(t: st.Table, row: bytes, cells: list, sort_columns: bool = False) -> Any:
    """A TRowResult from ``(column, ts, value)`` cells (HBase order when sorted)."""
    if sort_columns:
        return hbase.TRowResult(row=row, sortedColumns=[
            hbase.TColumn(columnName=c, cell=hbase.TCell(value=v, timestamp=ts))
            for c, ts, v in cells])
    # object.__new__ + attribute stores: twice as fast as the generated
    # __init__, and this runs once per returned cell
    new, TCell = object.__new__, hbase.TCell
    columns = {}
    for c, ts, v in cells:
        cell = new(TCell)
        cell.value = v
        cell.timestamp = ts
        columns[c] = cell
    result = new(hbase.TRowResult)
    result.row = row
    result.columns = columns
    result.sortedColumns = None
    return result


def fast_row_result(store: Store, t: st.Table, row: bytes, cols: dict,
                    select: Optional[Selection], max_ts: int, now: int) -> Any:
    """A TRowResult of the newest visible version per column, or None if empty.

    The hot path of gets and scans: builds TCells straight from the stored
    version tuples; a column whose newest version is not the answer (expired,
    outside the time range) falls back to ``store.row_cells``.
    """
    new, TCell = object.__new__, hbase.TCell
    names = t._names
    fams = t.families
    columns = {}
    for col, v in Selection.items(select, cols, names):
        spec = fams.get(names[col][1])
        if spec is None:
            continue
        ttl = spec.ttl_ms
        ts = v[0]
        if ts < max_ts and (v[2] is None or v[2] >= now) and (ttl is None or ts + ttl >= now):
            cell = new(TCell)
            cell.value = v[1]
            cell.timestamp = ts
            columns[col] = cell
        elif len(v) > 3:
            for c, ts, value in store.row_cells(t, row, Selection(columns=(col,)), max_ts, 1,
                                                now, cols={col: v}):
                cell = new(TCell)
                cell.value = value
                cell.timestamp = ts
                columns[col] = cell
    if not columns:
        return None
    result = new(hbase.TRowResult)
    result.row = row
    result.columns = columns
    result.sortedColumns = None
    return result


def scan_refusal(rf: Any, families: frozenset, reverse: bool, batch: int) -> Any:
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
    from txhbase.server import filters

    if batch > 0 and rf.has_filter_row:
        return hbase.IOError(message=filters.BATCH_WITH_FILTER_ROW_ERROR, canRetry=True)
    if reverse and not all(rf.is_family_essential(f) for f in families):
        return hbase.IOError(message=filters.REVERSE_SCAN_ON_DEMAND_ERROR, canRetry=False)
    return None


class Scanner:
    """One open server-side scanner: its options and its position (the last row key)."""

    __slots__ = ("id", "table", "start", "stop", "reverse", "prefix", "select", "max_ts",
                 "filter", "batch", "sort_columns", "last", "pending", "exhausted", "timer",
                 "stop_inclusive", "refusal")

    def __init__(self, table: st.Table, start: bytes = b"", stop: bytes = b"", *,
                 reverse: bool = False, prefix: Optional[bytes] = None,
                 select: Optional[Selection] = None, max_ts: int = LATEST,
                 row_filter: Any = None, batch: int = 0, sort_columns: bool = False) -> None:
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
        self.pending: list = []
        self.exhausted = False
        self.timer: Any = None
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

    def step(self, store: Store, n: int, budget: Optional[int] = None) -> tuple:
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
        ordered = self.sort_columns or self.batch or self.filter is not None
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
                    parts = [row_result(t, row, cells[i:i + b], self.sort_columns)
                             for i in range(0, len(cells), b)]
                    take = n - len(out)
                    out.extend(parts[:take])
                    self.pending.extend(parts[take:])
                else:
                    out.append(row_result(t, row, cells, self.sort_columns))
            if self.exhausted or len(out) >= n:
                break
            if examined >= budget:
                return out, True
        else:
            self.exhausted = True
        return out, False


class HBaseHandler:
    """The ``Hbase`` service: every IDL method, over one ``Store``.

    ``clock`` (an IReactorTime) drives idle-scanner expiry and the
    cooperative continuation of long scans; ``wal`` (optional) makes
    mutations durable before they are acknowledged.
    """

    def __init__(self, store: Optional[Store] = None, clock: Any = None,
                 scanner_timeout: float = 60.0, wal: Any = None,
                 server_name: bytes = b"localhost", server_port: int = 16020) -> None:
        if clock is None:
            from twisted.internet import reactor as clock  # noqa: N813
        self.store = store if store is not None else Store()
        self.clock = clock
        self.scanner_timeout = scanner_timeout
        self.wal = wal
        self.server_name = server_name
        self.server_port = server_port
        self.scanners: dict[int, Scanner] = {}
        self._next_scanner_id = 0  # HBase's first scanner id is 0 too

    # ---- helpers ---------------------------------------------------------

    def _durable(self, result: Any = None) -> Any:
        if self.wal is None:
            return result
        return self.wal.sync().addCallback(lambda _: result)

    def _table(self, name: Any) -> st.Table:
        return self.store.enabled_table(check_table_name(name))

    def _now(self) -> int:
        return self.store.now()

    # ---- tables ----------------------------------------------------------

    @_store_errors
    def enableTable(self, tableName: bytes) -> Any:
        self.store.set_enabled(check_table_name(tableName), True)
        return self._durable()

    @_store_errors
    def disableTable(self, tableName: bytes) -> Any:
        self.store.set_enabled(check_table_name(tableName), False)
        return self._durable()

    @_store_errors
    def isTableEnabled(self, tableName: bytes) -> bool:
        return self.store.table(check_table_name(tableName)).enabled

    @_store_errors
    def compact(self, tableNameOrRegionName: bytes) -> None:
        self._table_or_region(tableNameOrRegionName)

    @_store_errors
    def majorCompact(self, tableNameOrRegionName: bytes) -> Any:
        t = self._table_or_region(tableNameOrRegionName)
        self.store.major_compact(t.name)
        return self._durable()

    def _table_or_region(self, name: bytes) -> st.Table:
        name = bytes(name or b"")
        if b"," in name:  # a region name: "table,startKey,id.encoded."
            return self.store.table(check_table_name(name.split(b",", 1)[0]))
        return self.store.table(check_table_name(name))

    def getTableNames(self) -> list:
        return sorted(self.store.tables)

    def getTableNamesWithIsTableEnabled(self) -> dict:
        return {n: t.enabled for n, t in self.store.tables.items()}

    @_store_errors
    def getColumnDescriptors(self, tableName: bytes) -> dict:
        t = self.store.table(check_table_name(tableName))
        return {f.name + b":": hbase.ColumnDescriptor(
            name=f.name + b":", maxVersions=f.max_versions, compression=f.compression,
            inMemory=f.in_memory, bloomFilterType=f.bloom_filter_type,
            bloomFilterVectorSize=f.bloom_filter_vector_size,
            bloomFilterNbHashes=f.bloom_filter_nb_hashes,
            blockCacheEnabled=f.block_cache_enabled, timeToLive=f.time_to_live)
            for f in t.families.values()}

    def _region_info(self, t: st.Table, start: bytes, end: bytes) -> Any:
        base = t.name + b"," + start + b"," + str(t.region_id).encode()
        encoded = hashlib.md5(base).hexdigest().encode()
        return hbase.TRegionInfo(startKey=start, endKey=end, id=t.region_id,
                                 name=base + b"." + encoded + b".", version=1,
                                 serverName=self.server_name, port=self.server_port)

    def getTableRegions(self, tableName: bytes) -> list:
        name = check_table_name(tableName)
        t = self.store.tables.get(name)
        if t is None:
            return []
        return [self._region_info(t, s, e) for s, e in self.store.regions(name)]

    @_store_errors
    def createTable(self, tableName: bytes, columnFamilies: list) -> Any:
        name = check_table_name(tableName)
        if name in self.store.tables:
            raise hbase.AlreadyExists(message="table name already in use")
        specs = {}
        for cd in columnFamilies or []:
            spec = self._family_spec(cd)
            if spec.name in specs:
                raise hbase.IllegalArgument(
                    message="java.lang.IllegalArgumentException: Column family "
                            f"'{_name(spec.name)}' already exists")
            specs[spec.name] = spec
        if not specs:
            raise io_error("org.apache.hadoop.hbase.DoNotRetryIOException",
                           "Table should have at least one column family.")
        self.store.create_table(name, list(specs.values()))
        return self._durable()

    @staticmethod
    def _family_spec(cd: Any) -> FamilySpec:
        def bad(msg: str) -> Any:
            return hbase.IllegalArgument(message="java.lang.IllegalArgumentException: " + msg)

        # HBase's order: compression, bloom type, then the name, whose
        # family part (before any ':') is taken, as KeyValue.parseColumn does
        comp = COMPRESSIONS.get((cd.compression or "NONE").lower())
        if comp is None:
            raise bad(f"Unsupported compression algorithm name: {cd.compression}")
        bloom = cd.bloomFilterType or "NONE"
        if bloom not in BLOOM_TYPES:
            raise bad(f"No enum constant org.apache.hadoop.hbase.regionserver.BloomType.{bloom}")
        if not cd.name:
            raise hbase.IllegalArgument(message="column name is empty")
        name = bytes(cd.name).partition(b":")[0]
        if not name:
            raise bad("Column Family name can not be empty")
        if name.startswith(b".") or any(b < 0x20 or b == 0x7F for b in name):
            raise bad(f"Illegal character in column family name: {_name(name)}")
        max_versions = 3 if cd.maxVersions is None else cd.maxVersions
        if max_versions <= 0:
            raise bad("Maximum versions must be positive")
        ttl = cd.timeToLive
        if ttl is None or ttl <= 0:
            ttl = st.FOREVER
        # bloomFilterVectorSize / NbHashes are not kept by HBase (read back as 0)
        return FamilySpec(name, max_versions, comp, bool(cd.inMemory), bloom, 0, 0,
                          bool(cd.blockCacheEnabled), ttl)

    @_store_errors
    def deleteTable(self, tableName: bytes) -> Any:
        name = check_table_name(tableName)
        if name not in self.store.tables:  # HBase: a plain IOException here
            raise io_error("java.io.IOException", "table does not exist", can_retry=True)
        self.store.delete_table(name)
        for sid in [i for i, s in self.scanners.items() if s.table.name == name]:
            self._drop_scanner(sid)
        return self._durable()

    # ---- reads -----------------------------------------------------------

    def _cells(self, tableName: bytes, row: bytes, column: bytes, versions: int,
               max_ts: Any) -> list:
        # HBase builds the Get (name, row, time range, versions) before it
        # looks the table up: those errors come first
        name = check_table_name(tableName)
        row = _check_row(row)
        max_ts = _check_ts(max_ts)
        if versions is None or versions <= 0:
            raise io_error("java.io.IOException", "versions must be positive", can_retry=True)
        t = self.store.enabled_table(name)
        sel = _selection([column])
        self.store.check_families(t, _selection_families(sel))
        cells = self.store.row_cells(t, row, sel, max_ts, versions, ordered=True)
        return [hbase.TCell(value=v, timestamp=ts) for _, ts, v in cells]

    @_store_errors
    def get(self, tableName: bytes, row: bytes, column: bytes, attributes: Any = None) -> list:
        return self._cells(tableName, row, column, 1, LATEST)

    @_store_errors
    def getVer(self, tableName: bytes, row: bytes, column: bytes, numVersions: int,
               attributes: Any = None) -> list:
        return self.getVerTs(tableName, row, column, LATEST, numVersions, attributes)

    @_store_errors
    def getVerTs(self, tableName: bytes, row: bytes, column: bytes, timestamp: int,
                 numVersions: int, attributes: Any = None) -> list:
        return self._cells(tableName, row, column, numVersions, timestamp)

    def _rows(self, tableName: bytes, rows: list, columns: Any, max_ts: int,
              batch: bool = False) -> list:
        if batch and len(rows) == 1:
            batch = False  # HTable.get(List) of one Get is a plain get
        if batch:
            # HBase: table.get(List<Get>) -- nothing to fetch touches no table,
            # and failures come back wrapped in a (retryable) batch exception
            check_table_name(tableName)
            if not rows:
                return []
            rows = [_check_row(r) for r in rows]  # the Gets are built first
            max_ts = _check_ts(max_ts)
            try:
                t = self._table(tableName)
                sel = _selection(columns)
                self.store.check_families(t, _selection_families(sel))
            except st.StoreError as e:
                raise io_error(
                    "org.apache.hadoop.hbase.client.RetriesExhaustedWithDetailsException",
                    f"Failed {len(rows)} actions: {type(e).__name__}: "
                    f"{_name(e.args[0]) if e.args else ''}", can_retry=True)
        else:
            name = check_table_name(tableName)
            rows = [_check_row(r) for r in rows]
            max_ts = _check_ts(max_ts)
            t = self.store.enabled_table(name)
            sel = _selection(columns)
            self.store.check_families(t, _selection_families(sel))
        now = self._now()
        out = []
        get = t.rows.get
        for row in rows:
            row = _check_row(row)
            cols = get(row)
            if cols:
                r = fast_row_result(self.store, t, row, cols, sel, max_ts, now)
                if r is not None:
                    out.append(r)
        return out

    @_store_errors
    def getRow(self, tableName: bytes, row: bytes, attributes: Any = None) -> list:
        return self._rows(tableName, [row], None, LATEST)

    @_store_errors
    def getRowWithColumns(self, tableName: bytes, row: bytes, columns: list,
                          attributes: Any = None) -> list:
        return self._rows(tableName, [row], columns, LATEST)

    @_store_errors
    def getRowTs(self, tableName: bytes, row: bytes, timestamp: int,
                 attributes: Any = None) -> list:
        return self._rows(tableName, [row], None, timestamp)

    @_store_errors
    def getRowWithColumnsTs(self, tableName: bytes, row: bytes, columns: list,
                            timestamp: int, attributes: Any = None) -> list:
        return self._rows(tableName, [row], columns, timestamp)

    @_store_errors
    def getRows(self, tableName: bytes, rows: list, attributes: Any = None) -> list:
        return self._rows(tableName, rows or [], None, LATEST, batch=True)

    @_store_errors
    def getRowsWithColumns(self, tableName: bytes, rows: list, columns: list,
                           attributes: Any = None) -> list:
        return self._rows(tableName, rows or [], columns, LATEST, batch=True)

    @_store_errors
    def getRowsTs(self, tableName: bytes, rows: list, timestamp: int,
                  attributes: Any = None) -> list:
        return self._rows(tableName, rows or [], None, timestamp, batch=True)

    @_store_errors
    def getRowsWithColumnsTs(self, tableName: bytes, rows: list, columns: list,
                             timestamp: int, attributes: Any = None) -> list:
        return self._rows(tableName, rows or [], columns, timestamp, batch=True)

    # ---- writes ----------------------------------------------------------

    @staticmethod
    def _split_mutations(mutations: Any, bare_put_error: bool) -> tuple:
        """(puts, deletes): puts ``(fam, qual, value)``, deletes ``(fam, qual|None)``."""
        puts, deletes = [], []
        for m in mutations or []:
            p = parse_column(m.column)
            if m.isDelete:
                deletes.append((p[0], p[1] if len(p) == 2 else None))
            elif len(p) == 2:
                puts.append((p[0], p[1], bytes(m.value) if m.value is not None else b""))
            elif bare_put_error:
                raise internal_error("java.lang.ArrayIndexOutOfBoundsException: "
                                     "Index 1 out of bounds for length 1")
        return puts, deletes

    def _apply_deletes(self, t: st.Table, row: bytes, deletes: list, ts: int,
                       attributes: Any = None) -> None:
        """Apply ``(family | None, qualifier | None)`` deletes of versions <= ``ts``.

        A ``_ttl`` attribute puts a TTL on HBase's delete markers too: a
        marker already expired masks nothing, so such a delete changes
        nothing.  (A marker expiring later would unmask the cells again in
        HBase; ours are gone for good: a known difference.)
        """
        self.store.check_families(t, {f for f, _ in deletes if f is not None})
        expiry = _ttl_expiry(attributes, ts)
        if expiry is not None and expiry < self._now():
            return
        for fam, qual in deletes:
            self.store.delete(t, row, ts, fam, qual)

    @_store_errors
    def mutateRow(self, tableName: bytes, row: bytes, mutations: list,
                  attributes: Any = None) -> Any:
        return self._mutate_row(tableName, row, mutations, LATEST, attributes)

    @_store_errors
    def mutateRowTs(self, tableName: bytes, row: bytes, mutations: list, timestamp: int,
                    attributes: Any = None) -> Any:
        return self._mutate_row(tableName, row, mutations, timestamp, attributes)

    def _mutate_row(self, tableName: bytes, row: bytes, mutations: list, timestamp: int,
                    attributes: Any) -> Any:
        name = _table_name_caught(tableName)
        row = _check_row(row, uncaught=False)
        ts = _check_ts(timestamp, uncaught=False)
        puts, deletes = self._split_mutations(mutations, bare_put_error=False)
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
            self.store.put(t, row, puts, ts, _ttl_expiry(attributes, ts))
        return self._durable()

    @_store_errors
    def mutateRows(self, tableName: bytes, rowBatches: list, attributes: Any = None) -> Any:
        return self._mutate_rows(tableName, rowBatches, LATEST, attributes)

    @_store_errors
    def mutateRowsTs(self, tableName: bytes, rowBatches: list, timestamp: int,
                     attributes: Any = None) -> Any:
        return self._mutate_rows(tableName, rowBatches, timestamp, attributes)

    def _mutate_rows(self, tableName: bytes, rowBatches: list, timestamp: int,
                     attributes: Any) -> Any:
        # HBase builds the Puts and Deletes before its try block: errors
        # there are uncaught (INTERNAL_ERROR); the table lookup is inside it
        ts = _check_ts(timestamp)
        batches = []
        for b in rowBatches or []:
            row = _check_row(b.row)
            puts, deletes = self._split_mutations(b.mutations, bare_put_error=True)
            batches.append((row, puts, deletes))
        if attributes:
            _ttl_expiry(attributes, 0)  # validate before anything is applied
        name = _table_name_caught(tableName)
        if not any(puts or deletes for _, puts, deletes in batches):
            return None  # HBase sends nothing, so touches no table
        try:
            t = self.store.enabled_table(name)
        except st.StoreError as e:  # the batch put fails as a whole: retryable
            raise io_error(
                "org.apache.hadoop.hbase.client.RetriesExhaustedWithDetailsException",
                f"Failed {len(batches)} actions: {type(e).__name__}: {_name(e.args[0])}",
                can_retry=True)
        latest = ts == LATEST
        failed = []
        # one table.put(puts) then one table.delete(deletes): each batch gets
        # one server timestamp, after those of every row it touches
        put_ts = self.store.issue_batch_ts(t, [r for r, p, _ in batches if p]) if latest else ts
        del_ts = self.store.issue_batch_ts(t, [r for r, _, d in batches if d]) if latest else ts
        for row, puts, deletes in batches:  # every Put first ...
            if puts:
                try:
                    self.store.put(t, row, puts, put_ts, _ttl_expiry(attributes, put_ts))
                except st.NoSuchFamily as e:
                    failed.append(e)
        if failed:  # the put batch failed: HBase stops before the deletes
            return self._batch_failed(failed)
        for row, puts, deletes in batches:  # ... then every Delete
            if deletes:
                try:
                    self._apply_deletes(t, row, deletes, del_ts, attributes)
                except st.NoSuchFamily as e:
                    failed.append(e)
        if failed:  # table.delete(List) is a batch too
            return self._batch_failed(failed)
        return self._durable()

    def _batch_failed(self, failed: list) -> Any:
        """The retryable IOError of a batch with failed actions, after what did apply."""
        err = io_error(
            "org.apache.hadoop.hbase.client.RetriesExhaustedWithDetailsException",
            f"Failed {len(failed)} actions: org.apache.hadoop.hbase.regionserver."
            f"NoSuchColumnFamilyException: Column family {_name(failed[0].args[0])} "
            "does not exist", can_retry=True)
        d = self._durable()
        if isinstance(d, defer.Deferred):
            return d.addCallback(lambda _: defer.fail(err))
        raise err


    @_store_errors
    def atomicIncrement(self, tableName: bytes, row: bytes, column: bytes, value: int) -> Any:
        name = check_table_name(tableName)
        row = _check_row(row)
        t = self.store.enabled_table(name)
        p = parse_column(column)
        qual = p[1] if len(p) == 2 else b""
        return self._durable(self.store.increment(t, row, p[0], qual, int(value or 0)))

    @_store_errors
    def deleteAll(self, tableName: bytes, row: bytes, column: bytes,
                  attributes: Any = None) -> Any:
        return self.deleteAllTs(tableName, row, column, LATEST, attributes)

    @_store_errors
    def deleteAllTs(self, tableName: bytes, row: bytes, column: bytes, timestamp: int,
                    attributes: Any = None) -> Any:
        name = check_table_name(tableName)
        row = _check_row(row)
        ts = _check_ts(timestamp)
        t = self.store.enabled_table(name)
        p = parse_column(column)
        self._apply_deletes(t, row, [(p[0], p[1] if len(p) == 2 else None)],
                            self.store.issue_ts(t, row) if ts == LATEST else ts, attributes)
        return self._durable()

    @_store_errors
    def deleteAllRow(self, tableName: bytes, row: bytes, attributes: Any = None) -> Any:
        return self.deleteAllRowTs(tableName, row, LATEST, attributes)

    @_store_errors
    def deleteAllRowTs(self, tableName: bytes, row: bytes, timestamp: int,
                       attributes: Any = None) -> Any:
        name = check_table_name(tableName)
        row = _check_row(row)
        ts = _check_ts(timestamp)
        t = self.store.enabled_table(name)
        self._apply_deletes(t, row, [(None, None)],
                            self.store.issue_ts(t, row) if ts == LATEST else ts, attributes)
        return self._durable()

    def _increment_one(self, inc: Any) -> None:
        if inc is None or not inc.row or not inc.table:
            raise internal_error("Must supply a table and a row key; can't increment")
        name = check_table_name(inc.table)
        p = parse_column(inc.column)
        if len(p) != 2:  # incrementFromThrift gives null: an NPE before any RPC
            raise internal_error("java.lang.NullPointerException: increment of a bare family")
        t = self.store.enabled_table(name)
        self.store.increment(t, bytes(inc.row), p[0], p[1], int(inc.ammount or 0))

    @_store_errors
    def increment(self, increment: Any) -> Any:
        self._increment_one(increment)
        return self._durable()

    @_store_errors
    def incrementRows(self, increments: list) -> Any:
        for inc in increments or []:
            self._increment_one(inc)
        return self._durable()

    @_store_errors
    def append(self, append: Any) -> Any:
        if append is None or not append.row or not append.table:
            raise internal_error("Must supply a table and a row key; can't append")
        name = check_table_name(append.table)
        columns, values = append.columns or [], append.values or []
        if len(columns) != len(values):
            raise internal_error("java.lang.IndexOutOfBoundsException: columns and values differ")
        cells = []
        for c, v in zip(columns, values):  # appendFromThrift runs before the table is used
            p = parse_column(c)
            if len(p) != 2:
                raise internal_error("java.lang.ArrayIndexOutOfBoundsException: "
                                     "Index 1 out of bounds for length 1")
            cells.append((p[0], p[1], bytes(v or b"")))
        t = self.store.enabled_table(name)
        done = self.store.append(t, bytes(append.row), cells)
        return self._durable([hbase.TCell(value=v, timestamp=ts) for _, _, ts, v in done])

    @_store_errors
    def checkAndPut(self, tableName: bytes, row: bytes, column: bytes, value: Any,
                    mput: Any, attributes: Any = None) -> Any:
        row = _check_row(row, uncaught=False)
        if mput is None:
            raise internal_error("java.lang.NullPointerException: mput")
        target = parse_column(mput.column)
        check = parse_column(column)
        if len(check) != 2 or len(target) != 2:
            raise internal_error("java.lang.ArrayIndexOutOfBoundsException: "
                                 "Index 1 out of bounds for length 1")
        t = self.store.enabled_table(_table_name_caught(tableName))
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
        self.store.put(t, row, [(target[0], target[1], val)], ts, _ttl_expiry(attributes, ts))
        return self._durable(True)

    # ---- scanners --------------------------------------------------------

    def _open(self, tableName: bytes, start: Any, stop: Any = None, columns: Any = None,
              max_ts: int = LATEST, *, prefix: Optional[bytes] = None, reverse: bool = False,
              filter_string: Any = None, batch: int = 0, sort_columns: bool = False) -> int:
        name = check_table_name(tableName)
        rf = None
        if filter_string is not None:  # HBase builds the Scan before opening the table
            rf = self._parse_filter(filter_string)
            rf.reversed = reverse
        t = self.store.enabled_table(name)
        sel = _selection(columns)
        self.store.check_families(t, _selection_families(sel))
        sc = Scanner(t, bytes(start or b""), bytes(stop or b""), reverse=reverse,
                     prefix=prefix, select=sel, max_ts=max_ts, row_filter=rf,
                     batch=batch or 0, sort_columns=sort_columns)
        if rf is not None:
            families = _selection_families(sel) or frozenset(t.families)
            sc.refusal = scan_refusal(rf, families, reverse, sc.batch)
        sid = self._next_scanner_id
        self._next_scanner_id = (sid + 1) % 0x80000000
        sc.id = sid
        self.scanners[sid] = sc
        if self.scanner_timeout:
            sc.timer = self.clock.callLater(self.scanner_timeout, self._expire, sid)
        return sid

    @staticmethod
    def _parse_filter(text: Any) -> Any:
        try:
            from txhbase.server import filters
        except ImportError as e:  # pragma: no cover - the filters module ships with us
            raise internal_error(f"filters unavailable: {e}")
        if isinstance(text, str):
            text = text.encode("utf-8")
        try:
            return filters.parse_filter(bytes(text)).new()
        except ValueError as e:
            raise internal_error(f"java.lang.IllegalArgumentException: {e}")

    def _expire(self, sid: int) -> None:
        sc = self.scanners.pop(sid, None)
        if sc is not None:
            sc.timer = None
            log.debug("scanner %d expired after %.1f s idle", sid, self.scanner_timeout)

    def _drop_scanner(self, sid: int) -> None:
        sc = self.scanners.pop(sid, None)
        if sc is not None and sc.timer is not None and sc.timer.active():
            sc.timer.cancel()

    def open_scanner_count(self) -> int:
        return len(self.scanners)

    def close_all_scanners(self) -> None:
        for sid in list(self.scanners):
            self._drop_scanner(sid)

    @_store_errors
    def scannerOpenWithScan(self, tableName: bytes, scan: Any, attributes: Any = None) -> int:
        scan = scan or hbase.TScan()
        max_ts = LATEST if scan.timestamp is None else _check_ts(scan.timestamp)
        return self._open(tableName, scan.startRow, scan.stopRow, scan.columns, max_ts,
                          reverse=bool(scan.reversed), filter_string=scan.filterString,
                          batch=scan.batchSize or 0, sort_columns=bool(scan.sortColumns))

    @_store_errors
    def scannerOpen(self, tableName: bytes, startRow: bytes, columns: list,
                    attributes: Any = None) -> int:
        return self._open(tableName, startRow, None, columns)

    @_store_errors
    def scannerOpenWithStop(self, tableName: bytes, startRow: bytes, stopRow: bytes,
                            columns: list, attributes: Any = None) -> int:
        return self._open(tableName, startRow, stopRow, columns)

    @_store_errors
    def scannerOpenWithPrefix(self, tableName: bytes, startAndPrefix: bytes, columns: list,
                              attributes: Any = None) -> int:
        prefix = bytes(startAndPrefix or b"")
        return self._open(tableName, prefix, None, columns, prefix=prefix)

    @_store_errors
    def scannerOpenTs(self, tableName: bytes, startRow: bytes, columns: list,
                      timestamp: int, attributes: Any = None) -> int:
        return self._open(tableName, startRow, None, columns, _check_ts(timestamp))

    @_store_errors
    def scannerOpenWithStopTs(self, tableName: bytes, startRow: bytes, stopRow: bytes,
                              columns: list, timestamp: int, attributes: Any = None) -> int:
        return self._open(tableName, startRow, stopRow, columns, _check_ts(timestamp))

    def _scanner(self, sid: Any) -> Scanner:
        sc = self.scanners.get(sid)
        if sc is None:
            raise hbase.IllegalArgument(message="scanner ID is invalid")
        if sc.timer is not None and sc.timer.active():
            sc.timer.reset(self.scanner_timeout)
        return sc

    def scannerGet(self, id: int) -> Any:
        return self.scannerGetList(id, 1)

    def scannerGetList(self, id: int, nbRows: int) -> Any:
        """Up to ``nbRows`` rows; long filtered scans continue on later reactor turns."""
        sc = self._scanner(id)
        if nbRows is None or nbRows < 0:
            raise internal_error(f"java.lang.IllegalArgumentException: Illegal Capacity: {nbRows}")
        if nbRows == 0:  # ResultScanner.next(0) asks the region server nothing
            return []
        if sc.refusal is not None:
            raise sc.refusal
        results, more = sc.step(self.store, nbRows)
        if not more:
            return results
        d = defer.Deferred()

        def resume() -> None:
            if self.scanners.get(id) is not sc:  # closed meanwhile
                d.callback(results)
                return
            try:
                got, again = sc.step(self.store, nbRows - len(results))
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

    def scannerClose(self, id: int) -> None:
        self._scanner(id)
        self._drop_scanner(id)

    # ---- server ----------------------------------------------------------

    def getRegionInfo(self, row: bytes) -> Any:
        """The region whose meta row is the last one <= ``row`` (HBase: a reverse meta scan).

        Meta rows are region names ``table,startKey,id.encoded.``; asking for
        ``table,key,99999999999999`` finds the region of ``table`` holding ``key``.
        """
        row = bytes(row or b"")
        best = None
        for t in self.store.tables.values():
            for s, e in self.store.regions(t.name):
                info = self._region_info(t, s, e)
                # an empty row starts the reverse scan at the end of meta
                if (not row or info.name <= row) and (best is None or info.name > best.name):
                    best = info
        if best is None:
            raise io_error("java.io.IOException",
                           f"Cannot find row in hbase:meta, row={_name(row)}", can_retry=True)
        return best

    def getThriftServerType(self) -> int:
        return hbase.TThriftServerType.ONE

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
