"""The embedded server's multi-versioned, sorted cell store.

One ``StoredTable`` keeps its rows in a ``SortedDict`` (row key -> row), each row a
plain dict of interned column names (``b"fam:qual"``) to a flat tuple of
versions ``(ts, value, expiry, ts, value, expiry, ...)`` newest first.  Flat
tuples keep the overhead per cell near one tuple slot triple, which is what
lets a million cells fit in a few hundred MB.

HBase semantics modelled here (see docs and the gateway reference):

- reads return at most a family's ``max_versions`` versions, counted among
  those in the time range and not expired; like HBase's memstore, older
  versions are kept (up to ``RETAIN_VERSIONS`` per column) so a time-range
  read still finds them, and ``major_compact`` drops them;
- family TTL (seconds) and a per-put TTL (ms) expire cells: a cell is expired
  when ``ts + ttl < now``;
- deletes remove every version with ``ts <= T`` and leave a delete marker, so
  a later put with ``ts <= T`` stays masked until ``major_compact`` drops the
  markers (HBase keeps tombstones until a major compaction).

The store knows nothing about Thrift; the handler maps its errors.  Every
mutation is reported to ``on_record`` (the write-ahead log) with all
timestamps resolved, so replaying the records rebuilds the same store.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ItemsView, Iterable, Iterator, Mapping, Optional, Union

from sortedcontainers import SortedDict

#: timeToLive value meaning "forever" (Integer.MAX_VALUE seconds).
FOREVER = 2147483647
#: Java's Long.MAX_VALUE: HBase's LATEST_TIMESTAMP and the open end of a time range.
LATEST = 0x7FFFFFFFFFFFFFFF

#: One cell as ``Store.row_cells`` returns it: (column, timestamp, value).
StoredCell = tuple[bytes, int, bytes]
#: A column's interned names: (column, family, qualifier).
ColumnName = tuple[bytes, bytes, bytes]
#: A column's versions, newest first: (ts, value, expiry, ts, value, expiry, ...).
Versions = tuple[Any, ...]
#: One row: column -> versions.
Row = dict[bytes, Versions]
#: A write-ahead-log record (see ``Store.apply_record``).
Record = tuple[Any, ...]
#: What a put writes: (family, qualifier, value).
PutCell = tuple[bytes, bytes, bytes]

_ROW_MARK = b""  # key of the whole-row delete marker in a row's marker dict


class StoreError(Exception):
    """Base class of store errors (the handler turns them into HBase errors)."""


class TableNotFound(StoreError):
    pass


class TableExists(StoreError):
    pass


class TableNotEnabled(StoreError):
    pass


class TableNotDisabled(StoreError):
    pass


class NoSuchFamily(StoreError):
    pass


class NotACounter(StoreError):
    """An increment found a value that is not 8 bytes wide."""


@dataclass(frozen=True)
class FamilySpec:
    """A column family's settings (HBase's ColumnDescriptor, Thrift defaults)."""

    name: bytes
    max_versions: int = 3
    compression: str = "NONE"
    in_memory: bool = False
    bloom_filter_type: str = "NONE"
    bloom_filter_vector_size: int = 0
    bloom_filter_nb_hashes: int = 0
    block_cache_enabled: bool = False
    time_to_live: int = FOREVER  # seconds

    def __post_init__(self) -> None:
        ttl = self.time_to_live
        object.__setattr__(self, "ttl_ms", None if ttl >= FOREVER or ttl <= 0 else ttl * 1000)

    #: TTL in ms, or None for forever (computed once, read per cell)
    ttl_ms: Optional[int] = field(init=False, repr=False, compare=False, default=None)

    def as_record(self) -> tuple[Any, ...]:
        return (self.name, self.max_versions, self.compression, self.in_memory,
                self.bloom_filter_type, self.bloom_filter_vector_size,
                self.bloom_filter_nb_hashes, self.block_cache_enabled, self.time_to_live)

    @classmethod
    def from_record(cls, rec: tuple[Any, ...]) -> "FamilySpec":
        return cls(*rec)


class Selection:
    """Which columns a read returns: ``None`` = all, else whole families and exact columns."""

    __slots__ = ("families", "columns", "all_families")

    def __init__(self, families: Iterable[bytes] = (), columns: Iterable[bytes] = ()) -> None:
        self.families = frozenset(families)
        self.columns = frozenset(columns)
        #: every family named, whole or by a column (to check they exist)
        self.all_families = self.families | {c.partition(b":")[0] for c in self.columns}

    def wants(self, column: bytes, family: bytes) -> bool:
        """Whether a column of ``family`` is read."""
        return family in self.families or column in self.columns

    @staticmethod
    def items(select: Optional["Selection"], cols: Row, names: Mapping[bytes, ColumnName]
              ) -> Union[ItemsView[bytes, Versions], list[tuple[bytes, Versions]]]:
        """The ``(column, versions)`` pairs of one row's ``cols`` that ``select`` keeps
        (``names``: the table's ``StoredTable.column_names()``)."""
        if select is None:
            return cols.items()
        if not select.families:
            return [(c, cols[c]) for c in select.columns if c in cols]
        sf, sc = select.families, select.columns
        return [(c, v) for c, v in cols.items() if c in sc or names[c][1] in sf]


@dataclass
class StoredTable:
    """One table: families, enabled flag, region split keys and the rows."""

    name: bytes
    families: dict[bytes, FamilySpec] = field(default_factory=dict)
    enabled: bool = True
    split_keys: list[bytes] = field(default_factory=list)
    region_id: int = 0
    rows: Any = field(default_factory=SortedDict)  # SortedDict: row -> Row
    markers: dict[bytes, dict[bytes, int]] = field(default_factory=dict)  # row -> {b""|fam|col: ts}
    _names: dict[bytes, ColumnName] = field(default_factory=dict)  # column -> interned names

    def column_names(self) -> Mapping[bytes, ColumnName]:
        """Every column the table has stored -> its ``(column, family, qualifier)``.

        Read-only (``column`` and ``split`` add to it); the hot read paths look
        a cell's family up here once per cell.
        """
        return self._names

    def column(self, family: bytes, qualifier: bytes) -> ColumnName:
        """The interned ``(column, family, qualifier)`` triple for a column."""
        col = family + b":" + qualifier
        entry = self._names.get(col)
        if entry is None:
            entry = self._names[col] = (col, family, qualifier)
        return entry

    def split(self, column: bytes) -> ColumnName:
        """``b"f:q"`` as its interned ``(column, family, qualifier)``."""
        entry = self._names.get(column)
        if entry is None:
            fam, _, qual = column.partition(b":")
            entry = self._names[column] = (column, fam, qual)
        return entry

    def sort_key(self, column: bytes) -> tuple[bytes, bytes]:
        """HBase's order of columns in a row: (family, qualifier)."""
        entry = self.split(column)
        return (entry[1], entry[2])


def _masked(markers: Optional[dict[bytes, int]], column: bytes, family: bytes, ts: int) -> bool:
    if not markers:
        return False
    for key in (_ROW_MARK, family, column):
        m = markers.get(key)
        if m is not None and ts <= m:
            return True
    return False


#: versions kept per column beyond max_versions (HBase keeps them until a
#: flush or compaction); bounds memory for counters and hot cells
RETAIN_VERSIONS = 16


class Store:
    """All tables of one embedded server.

    ``clock`` returns the current time in ms (server time for puts without a
    timestamp and the "now" of TTL expiry): the caller passes it (``listen``
    derives it from its reactor; tests pass a fake one).
    """

    def __init__(self, clock: Callable[[], int]) -> None:
        if not callable(clock):
            raise TypeError(f"clock must be a callable returning ms, not {type(clock).__name__}")
        self.tables: dict[bytes, StoredTable] = {}
        self.clock: Callable[[], int] = clock
        self.on_record: Optional[Callable[[Record], None]] = None
        self.presplit: dict[bytes, list[bytes]] = {}  # split keys for tables not created yet
        self._issued: dict[tuple[bytes, bytes], int] = {}  # (table, row) -> last server ts

    #: rows remembered by ``issue_ts``; the memory is dropped beyond this
    ISSUED_LIMIT = 65536

    def issue_ts(self, t: StoredTable, row: bytes) -> int:
        """A server timestamp (HBase's LATEST) for a mutation of ``row``.

        The clock in ms, but strictly after the previous server timestamp of
        the same row: on HBase consecutive RPCs are at least a millisecond
        apart, so a delete then a put (or increments then a put) of one row
        apply in order.  Ours answer in microseconds; without this a put
        right after a delete in the same ms would be masked by its marker.
        """
        now = self.now()
        key = (t.name, row)
        last = self._issued.get(key)
        if last is not None and now <= last:
            now = last + 1
        if len(self._issued) >= self.ISSUED_LIMIT:
            self._issued.clear()
        self._issued[key] = now
        return now

    def issue_batch_ts(self, t: StoredTable, rows: list[bytes]) -> int:
        """One server timestamp for a batch mutation of ``rows`` (HBase: one per batch)."""
        if not rows:
            return 0
        distinct = set(rows)
        ts = max(self.issue_ts(t, r) for r in distinct)
        for r in distinct:
            self._issued[(t.name, r)] = ts
        return ts

    def now(self) -> int:
        """The clock, in ms."""
        return int(self.clock())

    def _record(self, rec: Record) -> None:
        if self.on_record is not None:
            self.on_record(rec)

    # ---- tables ----------------------------------------------------------

    def table(self, name: bytes) -> StoredTable:
        t = self.tables.get(name)
        if t is None:
            raise TableNotFound(name)
        return t

    def enabled_table(self, name: bytes) -> StoredTable:
        t = self.table(name)
        if not t.enabled:
            raise TableNotEnabled(name)
        return t

    def create_table(self, name: bytes, families: list[FamilySpec],
                     split_keys: Iterable[bytes] = (),
                     region_id: Optional[int] = None, enabled: bool = True) -> StoredTable:
        if name in self.tables:
            raise TableExists(name)
        keys = set(k for k in split_keys if k) | set(self.presplit.pop(name, ()))
        t = StoredTable(name, {f.name: f for f in families}, enabled, sorted(keys),
                  self.now() if region_id is None else region_id)
        self.tables[name] = t
        self._record(("create", name, tuple(f.as_record() for f in families),
                      tuple(t.split_keys), t.region_id, enabled))
        return t

    def delete_table(self, name: bytes) -> None:
        t = self.table(name)
        if t.enabled:
            raise TableNotDisabled(name)
        del self.tables[name]
        self._record(("drop", name))

    def set_enabled(self, name: bytes, enabled: bool) -> None:
        t = self.table(name)
        if t.enabled == enabled:
            raise (TableNotDisabled if enabled else TableNotEnabled)(name)
        t.enabled = enabled
        self._record(("enable", name, enabled))

    def split_table(self, name: bytes, keys: Iterable[bytes]) -> None:
        """Pre-split a table at ``keys`` so it reports several regions.

        For a table that does not exist yet the keys apply when it is created.
        """
        if name not in self.tables:
            self.presplit[name] = sorted(set(self.presplit.get(name, ())) | {k for k in keys if k})
            return
        t = self.tables[name]
        t.split_keys = sorted(set(t.split_keys) | {k for k in keys if k})
        self._record(("split", name, tuple(t.split_keys)))

    def regions(self, name: bytes) -> list[tuple[bytes, bytes]]:
        """The table's regions as ``(start, end)`` pairs in key order."""
        t = self.table(name)
        bounds = [b""] + t.split_keys + [b""]
        return list(zip(bounds[:-1], bounds[1:]))

    def major_compact(self, name: bytes) -> None:
        """Drop delete markers and expired or surplus versions (HBase's major compaction)."""
        t = self.table(name)
        t.markers.clear()
        now = self.now()
        for row in list(t.rows.keys()):
            cols = t.rows[row]
            for col in list(cols):
                fam = t.split(col)[1]
                spec = t.families.get(fam)
                ttl = spec.ttl_ms if spec else None
                max_versions = spec.max_versions if spec else 1
                v = cols[col]
                keep: list[Any] = []
                for i in range(0, len(v), 3):
                    ts, exp = v[i], v[i + 2]
                    if (exp is not None and exp < now) or (ttl is not None and ts + ttl < now):
                        continue
                    if len(keep) >= 3 * max_versions:
                        break
                    keep.extend(v[i:i + 3])
                if keep:
                    cols[col] = tuple(keep)
                else:
                    del cols[col]
            if not cols:
                del t.rows[row]
        self._record(("compact", name))

    # ---- writes ----------------------------------------------------------

    def check_families(self, t: StoredTable, families: Iterable[bytes]) -> None:
        for fam in families:
            if fam not in t.families:
                raise NoSuchFamily(fam)

    def put(self, t: StoredTable, row: bytes, cells: list[PutCell], ts: int,
            expiry: Optional[int] = None) -> None:
        """Store ``cells`` — ``(family, qualifier, value)`` — at ``ts`` in one row.

        Families must exist (checked first, nothing is written otherwise).
        ``expiry`` (absolute ms) is the per-cell TTL deadline of ``_ttl``.
        """
        self.check_families(t, (c[0] for c in cells))
        self._record(("put", t.name, row, ts, expiry, tuple(cells)))
        self._apply_put(t, row, cells, ts, expiry)

    def _apply_put(self, t: StoredTable, row: bytes, cells: Iterable[PutCell], ts: int,
                   expiry: Optional[int]) -> None:
        if expiry is not None and expiry < self.now():
            # born expired (a _ttl shorter than the cell's age): HBase skips it
            # on every read, so it never hides a same-timestamp older cell
            return
        markers = t.markers.get(row)
        cols = t.rows.get(row)
        for fam, qual, value in cells:
            col = t.column(fam, qual)[0]
            if _masked(markers, col, fam, ts):
                continue
            if cols is None:
                cols = t.rows[row] = {}
            old = cols.get(col)
            if old is None:
                cols[col] = (ts, value, expiry)
                continue
            if ts > old[0]:
                new = (ts, value, expiry) + old
            else:
                parts: list[Versions] = []
                placed = False
                for i in range(0, len(old), 3):
                    ots = old[i]
                    if not placed and ts >= ots:
                        parts.append((ts, value, expiry))
                        placed = True
                        if ts == ots:
                            continue  # same timestamp: the newer write replaces it
                    parts.append(old[i:i + 3])
                if not placed:
                    parts.append((ts, value, expiry))
                new = tuple(x for p in parts for x in p)
            limit = 3 * max(t.families[fam].max_versions, RETAIN_VERSIONS)
            cols[col] = new[:limit] if len(new) > limit else new

    def delete(self, t: StoredTable, row: bytes, ts: int, family: Optional[bytes] = None,
               qualifier: Optional[bytes] = None) -> None:
        """Delete versions with timestamp <= ``ts``: of the row, a family or one column."""
        if family is not None:
            self.check_families(t, (family,))
        self._record(("delete", t.name, row, ts, family, qualifier))
        self._apply_delete(t, row, ts, family, qualifier)

    def _apply_delete(self, t: StoredTable, row: bytes, ts: int, family: Optional[bytes],
                      qualifier: Optional[bytes]) -> None:
        if family is None:
            key = _ROW_MARK
        elif qualifier is None:
            key = family
        else:
            key = t.column(family, qualifier)[0]
        marks = t.markers.setdefault(row, {})
        if marks.get(key, -1) < ts:
            marks[key] = ts
        cols = t.rows.get(row)
        if not cols:
            return
        for col in list(cols):
            _, fam, _ = t.split(col)
            if family is not None and fam != family:
                continue
            if qualifier is not None and col != key:
                continue
            v = cols[col]
            keep = tuple(x for i in range(0, len(v), 3) if v[i] > ts for x in v[i:i + 3])
            if keep:
                cols[col] = keep
            else:
                del cols[col]
        if not cols:
            del t.rows[row]

    def apply_record(self, rec: Record) -> None:
        """Replay one record written through ``on_record`` (WAL recovery)."""
        op = rec[0]
        if op == "create":
            _, name, fams, splits, region_id, enabled = rec
            t = StoredTable(name, {}, enabled, list(splits), region_id)
            for f in fams:
                spec = FamilySpec.from_record(tuple(f))
                t.families[spec.name] = spec
            self.tables[name] = t
        elif op == "drop":
            self.tables.pop(rec[1], None)
        elif op == "enable":
            self.tables[rec[1]].enabled = rec[2]
        elif op == "split":
            self.tables[rec[1]].split_keys = list(rec[2])
        elif op == "put":
            _, name, row, ts, expiry, cells = rec
            self._apply_put(self.tables[name], row, cells, ts, expiry)
        elif op == "delete":
            _, name, row, ts, fam, qual = rec
            self._apply_delete(self.tables[name], row, ts, fam, qual)
        elif op == "compact":
            saved, self.on_record = self.on_record, None
            try:
                self.major_compact(rec[1])
            finally:
                self.on_record = saved
        elif op == "marker":
            _, name, row, key, ts = rec
            self.tables[name].markers.setdefault(row, {})[key] = ts
        else:
            raise ValueError(f"unknown store record {op!r}")

    def snapshot_records(self) -> Iterator[Record]:
        """Records that rebuild the current store (for WAL compaction)."""
        for t in self.tables.values():
            yield ("create", t.name, tuple(f.as_record() for f in t.families.values()),
                   tuple(t.split_keys), t.region_id, t.enabled)
            for row, marks in t.markers.items():
                for key, ts in marks.items():
                    yield ("marker", t.name, row, key, ts)
            for row, cols in t.rows.items():
                for col, v in cols.items():
                    _, fam, qual = t.split(col)
                    # oldest first so replay keeps the version order
                    for i in range(len(v) - 3, -1, -3):
                        yield ("put", t.name, row, v[i], v[i + 2], ((fam, qual, v[i + 1]),))

    # ---- reads -----------------------------------------------------------

    def row_cells(self, t: StoredTable, row: bytes, select: Optional[Selection] = None,
                  max_ts: int = LATEST, versions: int = 1, now: Optional[int] = None,
                  ordered: bool = False, cols: Optional[Row] = None) -> list[StoredCell]:
        """Visible cells of one row as ``(column, ts, value)``.

        Only versions with ``ts < max_ts`` (HBase's [0, max_ts) range), not
        expired, at most ``versions`` per column.  ``ordered`` sorts them in
        HBase order (family, qualifier, timestamp descending).
        """
        if cols is None:
            cols = t.rows.get(row)
            if not cols:
                return []
        if now is None:
            now = self.now()
        out: list[StoredCell] = []
        append = out.append
        names = t.column_names()
        fams = t.families
        for col, v in Selection.items(select, cols, names):
            spec = fams.get(names[col][1])
            if spec is None:
                continue
            ttl = spec.ttl_ms
            ts = v[0]
            if (versions == 1 and ts < max_ts and (v[2] is None or v[2] >= now)
                    and (ttl is None or ts + ttl >= now)):
                append((col, ts, v[1]))  # fast path: the newest version is the one
                continue
            limit = versions if versions <= spec.max_versions else spec.max_versions
            n = 0
            for i in range(0, len(v), 3):
                ts = v[i]
                if ts >= max_ts:
                    continue
                exp = v[i + 2]
                if (exp is not None and exp < now) or (ttl is not None and ts + ttl < now):
                    continue
                append((col, ts, v[i + 1]))
                n += 1
                if n >= limit:
                    break
        if ordered and len(out) > 1:
            key = t.sort_key
            out.sort(key=lambda c: (key(c[0]), -c[1]))
        return out

    def latest(self, t: StoredTable, row: bytes, family: bytes, qualifier: bytes,
               now: Optional[int] = None) -> Optional[tuple[int, bytes]]:
        """The newest visible ``(ts, value)`` of one column, or None."""
        col = t.column(family, qualifier)[0]
        cells = self.row_cells(t, row, Selection(columns=(col,)), now=now)
        return (cells[0][1], cells[0][2]) if cells else None

    def rows_from(self, t: StoredTable, start: bytes, *, inclusive: bool = True,
                  reverse: bool = False) -> Iterator[bytes]:
        """Row keys from ``start`` ("" = the first/last row) in scan order."""
        keys: Iterator[bytes]
        if reverse:
            if start:
                keys = t.rows.irange(maximum=start, inclusive=(True, inclusive), reverse=True)
            else:
                keys = t.rows.irange(reverse=True)
        elif start:
            keys = t.rows.irange(minimum=start, inclusive=(inclusive, True))
        else:
            keys = t.rows.irange()
        return keys

    # ---- read-modify-write ------------------------------------------------

    def _rmw_ts(self, t: StoredTable, row: bytes, old: Optional[tuple[int, bytes]]) -> int:
        # HBase: a new version at max(now, previous timestamp + 1)
        now = self.issue_ts(t, row)
        if old is not None and old[0] >= now:
            now = old[0] + 1
            self._issued[(t.name, row)] = now
        return now

    def increment(self, t: StoredTable, row: bytes, family: bytes, qualifier: bytes,
                  amount: int) -> int:
        """Add ``amount`` to an 8-byte big-endian signed counter; return the new value."""
        self.check_families(t, (family,))
        now = self.now()
        old = self.latest(t, row, family, qualifier, now)
        if old is None:
            cur = 0
        else:
            if len(old[1]) != 8:
                raise NotACounter(f"Field is not a long, it's {len(old[1])} bytes wide")
            cur = int.from_bytes(old[1], "big", signed=True)
        new = cur + amount
        new = (new + 2 ** 63) % 2 ** 64 - 2 ** 63  # Java long overflow wraps
        self.put(t, row, [(family, qualifier, new.to_bytes(8, "big", signed=True))],
                 self._rmw_ts(t, row, old))
        return new

    def append(self, t: StoredTable, row: bytes, cells: list[PutCell]
               ) -> list[tuple[bytes, bytes, int, bytes]]:
        """Append ``(family, qualifier, suffix)`` values; return ``(family, qualifier, ts, value)``."""
        self.check_families(t, (c[0] for c in cells))
        now = self.now()
        base = self.issue_ts(t, row)
        # every delta reads the row as it was before this append (HBase's
        # reckonDeltas), so a column named twice appends to the old value twice
        olds = [self.latest(t, row, fam, qual, now) for fam, qual, _ in cells]
        out = []
        for (fam, qual, suffix), old in zip(cells, olds):
            value = (old[1] if old else b"") + suffix
            ts = base if old is None else max(base, old[0] + 1)
            out.append((fam, qual, ts, value))
        for fam, qual, ts, value in out:
            self.put(t, row, [(fam, qual, value)], ts)
        if out:
            self._issued[(t.name, row)] = max(c[2] for c in out)
        out.sort(key=lambda c: (c[0], c[1]))
        return out
