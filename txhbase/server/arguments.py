"""The ``Hbase`` service's arguments, checked and converted as HBase's gateway does.

Each check raises what HBase raises for that argument, in HBase's order
(``errors``); conversions turn Thrift structs into the store's terms
(column selections, family specs, ``_ttl`` deadlines).
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Optional, Union

from thriftpy2.thrift import TApplicationException

from txhbase.protocol.idl import hbase
from txhbase.server.errors import display_name, internal_error
from txhbase.server.store import FOREVER, FamilySpec, PutCell, Selection

COMPRESSIONS = {"none": "NONE", "gz": "GZ", "lzo": "LZO", "snappy": "SNAPPY", "lz4": "LZ4",
                "bzip2": "BZIP2", "zstd": "ZSTD", "lzma": "LZMA", "brotli": "BROTLI"}
BLOOM_TYPES = {"NONE", "ROW", "ROWCOL", "ROWPREFIX_FIXED_LENGTH"}
_TABLE_QUALIFIER = re.compile(rb"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
_NAMESPACE = re.compile(rb"[A-Za-z0-9_]+\Z")

#: A parsed column: ``(family,)`` or ``(family, qualifier)``.
ParsedColumn = Union[tuple[bytes], tuple[bytes, bytes]]
#: A delete's target: (None, None) the row, (family, None) a family, else one column.
DeleteTarget = tuple[Optional[bytes], Optional[bytes]]
#: Thrift attributes: str or bytes keys (thriftpy2 decodes map<Text, Text> keys as given).
Attributes = Optional[Mapping[Any, bytes]]


def check_table_name(name: object) -> bytes:
    """HBase's TableName.valueOf rules; an invalid name is an uncaught error."""
    if not isinstance(name, (bytes, bytearray)) or not name:
        raise internal_error("java.lang.IllegalArgumentException: Table name must not be empty")
    name = bytes(name)
    ns, sep, qual = name.rpartition(b":")
    if (sep and not _NAMESPACE.match(ns)) or not _TABLE_QUALIFIER.match(qual):
        raise internal_error("java.lang.IllegalArgumentException: Illegal character or "
                             f"illegal first character in table name: {display_name(name)}")
    return name


def table_name_caught(name: object) -> bytes:
    """check_table_name where HBase's handler catches IllegalArgumentException."""
    try:
        return check_table_name(name)
    except TApplicationException as e:
        raise hbase.IllegalArgument(message=e.message)


def check_row(row: Optional[bytes], uncaught: bool = True) -> bytes:
    """A non-empty row key (HBase: "Row length is 0", caught or not by the method)."""
    if row is None or len(row) == 0:
        msg = "java.lang.IllegalArgumentException: Row length is 0"
        if uncaught:
            raise internal_error(msg)
        raise hbase.IllegalArgument(message=msg)
    return bytes(row)


def check_ts(ts: Optional[int], uncaught: bool = True) -> int:
    """A timestamp >= 0 (HBase: NullPointerException / "Timestamp cannot be negative")."""
    if ts is None:
        raise internal_error("java.lang.NullPointerException: timestamp")
    if ts < 0:
        msg = f"java.lang.IllegalArgumentException: Timestamp cannot be negative. ts={ts}"
        if uncaught:
            raise internal_error(msg)
        raise hbase.IllegalArgument(message=msg)
    return int(ts)


def parse_column(column: Optional[bytes]) -> ParsedColumn:
    """``b"cf"`` -> ``(b"cf",)``; ``b"cf:q"`` -> ``(b"cf", b"q")`` (CellUtil.parseColumn)."""
    column = bytes(column or b"")
    fam, sep, qual = column.partition(b":")
    return (fam, qual) if sep else (fam,)


_SELECTIONS: dict[tuple[bytes, ...], Selection] = {}


def selection(columns: Optional[Iterable[bytes]]) -> Optional[Selection]:
    """The Selection for a Thrift column list (cached: clients repeat their lists)."""
    if not columns:
        return None
    key = tuple(columns)
    sel = _SELECTIONS.get(key)
    if sel is None:
        if len(_SELECTIONS) > 4096:
            _SELECTIONS.clear()
        sel = _SELECTIONS[key] = parse_selection(key)
    return sel


def parse_selection(columns: Iterable[bytes]) -> Selection:
    """Columns applied in order, as HBase's Get/Scan addFamily/addColumn do.

    ``addFamily`` replaces whatever the family had with "all columns";
    ``addColumn`` on a family that is "all columns" starts a new column set,
    so ``[b"cf", b"cf:q"]`` reads only ``cf:q`` and ``[b"cf:q", b"cf"]`` all of cf.
    """
    per_family: dict[bytes, Optional[set[bytes]]] = {}  # None: the whole family
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


def selection_families(sel: Optional[Selection]) -> frozenset[bytes]:
    """Every family a selection names (to check they exist)."""
    if sel is None:
        return frozenset()
    return sel.all_families


def ttl_expiry(attributes: Attributes, ts: int) -> Optional[int]:
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


def family_spec(cd: Any) -> FamilySpec:
    """A ``hbase.ColumnDescriptor`` as a FamilySpec, refused as HBase refuses it."""
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
        raise bad(f"Illegal character in column family name: {display_name(name)}")
    max_versions = 3 if cd.maxVersions is None else cd.maxVersions
    if max_versions <= 0:
        raise bad("Maximum versions must be positive")
    ttl = cd.timeToLive
    if ttl is None or ttl <= 0:
        ttl = FOREVER
    # bloomFilterVectorSize / NbHashes are not kept by HBase (read back as 0)
    return FamilySpec(name, max_versions, comp, bool(cd.inMemory), bloom, 0, 0,
                      bool(cd.blockCacheEnabled), ttl)


def split_mutations(mutations: Optional[Iterable[Any]], bare_put_error: bool
                    ) -> tuple[list[PutCell], list[DeleteTarget]]:
    """Thrift Mutations as (puts, deletes): ``(fam, qual, value)``, ``(fam, qual|None)``.

    A put of a bare family is skipped, or (``bare_put_error``: mutateRows)
    HBase's uncaught ArrayIndexOutOfBoundsException.
    """
    puts: list[PutCell] = []
    deletes: list[DeleteTarget] = []
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


def increment_target(inc: Any) -> tuple[bytes, bytes, bytes, bytes, int]:
    """A TIncrement as (table, row, family, qualifier, amount) (HBase's incrementFromThrift)."""
    if inc is None or not inc.row or not inc.table:
        raise internal_error("Must supply a table and a row key; can't increment")
    name = check_table_name(inc.table)
    p = parse_column(inc.column)
    if len(p) != 2:  # incrementFromThrift gives null: an NPE before any RPC
        raise internal_error("java.lang.NullPointerException: increment of a bare family")
    return name, bytes(inc.row), p[0], p[1], int(inc.ammount or 0)


def append_cells(append: Any) -> tuple[bytes, bytes, list[PutCell]]:
    """A TAppend as (table, row, cells) (HBase's appendFromThrift)."""
    if append is None or not append.row or not append.table:
        raise internal_error("Must supply a table and a row key; can't append")
    name = check_table_name(append.table)
    columns, values = append.columns or [], append.values or []
    if len(columns) != len(values):
        raise internal_error("java.lang.IndexOutOfBoundsException: columns and values differ")
    cells: list[PutCell] = []
    for c, v in zip(columns, values):
        p = parse_column(c)
        if len(p) != 2:
            raise internal_error("java.lang.ArrayIndexOutOfBoundsException: "
                                 "Index 1 out of bounds for length 1")
        cells.append((p[0], p[1], bytes(v or b"")))
    return name, bytes(append.row), cells
