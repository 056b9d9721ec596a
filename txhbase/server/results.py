"""Thrift results built from the store: TRowResult, TCell, TRegionInfo, ColumnDescriptor.

``fast_row_result`` is the hot path of gets and scans: it builds TCells
straight from the stored version tuples with ``object.__new__`` and attribute
stores (twice as fast as thriftpy2's generated ``__init__``, and it runs once
per returned cell).
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterable, Optional

from txhbase.protocol.idl import hbase
from txhbase.server.store import Row, Selection, Store, StoredCell, StoredTable

__all__ = ["column_descriptors", "fast_row_result", "find_region", "region_info", "row_result",
           "tcells"]


def row_result(row: bytes, cells: list[StoredCell], sort_columns: bool = False) -> Any:
    """A TRowResult from ``(column, ts, value)`` cells (HBase order when sorted)."""
    if sort_columns:
        return hbase.TRowResult(row=row, sortedColumns=[
            hbase.TColumn(columnName=c, cell=hbase.TCell(value=v, timestamp=ts))
            for c, ts, v in cells])
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


def fast_row_result(store: Store, t: StoredTable, row: bytes, cols: Row,
                    select: Optional[Selection], max_ts: int, now: int) -> Any:
    """A TRowResult of the newest visible version per column, or None if empty.

    A column whose newest version is not the answer (expired, outside the
    time range) falls back to ``store.row_cells``.
    """
    new, TCell = object.__new__, hbase.TCell
    names = t.column_names()
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


def tcells(cells: Iterable[tuple[int, bytes]]) -> list[Any]:
    """``(timestamp, value)`` pairs as TCells."""
    return [hbase.TCell(value=v, timestamp=ts) for ts, v in cells]


def region_info(t: StoredTable, start: bytes, end: bytes, server_name: bytes,
                port: int) -> Any:
    """The TRegionInfo of ``t``'s region [start, end): HBase's region name and id."""
    base = t.name + b"," + start + b"," + str(t.region_id).encode()
    encoded = hashlib.md5(base).hexdigest().encode()
    return hbase.TRegionInfo(startKey=start, endKey=end, id=t.region_id,
                             name=base + b"." + encoded + b".", version=1,
                             serverName=server_name, port=port)


def column_descriptors(t: StoredTable) -> dict[bytes, Any]:
    """``getColumnDescriptors``' answer: ``b"fam:"`` -> ColumnDescriptor."""
    return {f.name + b":": hbase.ColumnDescriptor(
        name=f.name + b":", maxVersions=f.max_versions, compression=f.compression,
        inMemory=f.in_memory, bloomFilterType=f.bloom_filter_type,
        bloomFilterVectorSize=f.bloom_filter_vector_size,
        bloomFilterNbHashes=f.bloom_filter_nb_hashes,
        blockCacheEnabled=f.block_cache_enabled, timeToLive=f.time_to_live)
        for f in t.families.values()}


def find_region(store: Store, meta_row: bytes, server_name: bytes, port: int) -> Any:
    """The TRegionInfo whose meta row (region name) is the last one <= ``meta_row``, or None.

    An empty ``meta_row`` starts HBase's reverse meta scan at the end of meta.
    """
    best = None
    for t in store.tables.values():
        for s, e in store.regions(t.name):
            info = region_info(t, s, e, server_name, port)
            if (not meta_row or info.name <= meta_row) and (best is None or info.name > best.name):
                best = info
    return best
