"""Conversions between Thrift structs and HappyBase-shaped Python values.

Results look exactly as HappyBase returns them: rows are dicts of
``b'cf:q' -> value`` (or ``(value, timestamp)`` with ``include_timestamp``),
sorted rows are ``OrderedDict``s, families and regions are dicts keyed by the
Thrift field names in PEP 8 spelling.  The reverse direction builds
``ColumnDescriptor``s from HappyBase's family option names.
"""
from __future__ import annotations

import re
import struct
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from txhbase._validate import to_bytes
from txhbase.protocol.idl import hbase

__all__ = [
    "make_row", "make_ordered_row", "thrift_to_dict", "families_result",
    "column_descriptors", "bytes_increment", "pack_i64", "unpack_i64",
    "FAMILY_OPTIONS", "split_column",
]

_i64 = struct.Struct(">q")
pack_i64 = _i64.pack


def unpack_i64(data: bytes) -> int:
    """An 8-byte big-endian signed counter value."""
    value: int = _i64.unpack(data)[0]
    return value


_CAPITALS = re.compile("([A-Z])")


def camel_to_pep8(name: str) -> str:
    """``maxVersions`` -> ``max_versions``."""
    return _CAPITALS.sub(lambda m: "_" + m.group(1).lower(), name).lstrip("_")


def pep8_to_camel(name: str) -> str:
    """``max_versions`` -> ``maxVersions``."""
    first, *rest = name.split("_")
    return first.lower() + "".join(s[:1].upper() + s[1:].lower() for s in rest)


def thrift_to_dict(obj: Any) -> Dict[str, Any]:
    """A Thrift struct as a dict keyed by PEP 8 field names (HappyBase's shape)."""
    return {camel_to_pep8(spec[1]): getattr(obj, spec[1])
            for spec in obj.thrift_spec.values()}


def make_row(cell_map: Optional[Mapping[bytes, Any]], include_timestamp: bool) -> Dict[bytes, Any]:
    """A ``TRowResult.columns`` map as ``{column: value}`` / ``{column: (value, ts)}``."""
    if not cell_map:
        return {}
    if include_timestamp:
        return {name: (cell.value, cell.timestamp) for name, cell in cell_map.items()}
    return {name: cell.value for name, cell in cell_map.items()}


def make_ordered_row(sorted_columns: Optional[Iterable[Any]], include_timestamp: bool) -> "OrderedDict[bytes, Any]":
    """A ``TRowResult.sortedColumns`` list as an ``OrderedDict``."""
    od: "OrderedDict[bytes, Any]" = OrderedDict()
    for col in sorted_columns or ():
        od[col.columnName] = (col.cell.value, col.cell.timestamp) if include_timestamp \
            else col.cell.value
    return od


def row_of(result: Any, sorted_columns: bool, include_timestamp: bool) -> Any:
    """The data dict of one ``TRowResult``."""
    if sorted_columns and result.sortedColumns is not None:
        return make_ordered_row(result.sortedColumns, include_timestamp)
    if sorted_columns:
        # A server that ignores sortColumns: sort the map ourselves.
        od: "OrderedDict[bytes, Any]" = OrderedDict()
        for name in sorted((result.columns or {}), key=split_column):
            cell = result.columns[name]
            od[name] = (cell.value, cell.timestamp) if include_timestamp else cell.value
        return od
    return make_row(result.columns, include_timestamp)


def families_result(descriptors: Mapping[bytes, Any]) -> Dict[bytes, Dict[str, Any]]:
    """``getColumnDescriptors`` as ``{family: settings}``, family without ':'.

    String settings (``compression``, ``bloom_filter_type``) are bytes, as
    HappyBase returns them.
    """
    out = {}
    for name, d in descriptors.items():
        settings = thrift_to_dict(d)
        for key, val in settings.items():
            if isinstance(val, str):
                settings[key] = val.encode("utf-8")
        out[name.rstrip(b":")] = settings
    return out


def split_column(name: bytes) -> Tuple[bytes, bytes]:
    """``b'cf:q'`` -> ``(b'cf', b'q')``: HBase's cell sort order (family, then qualifier)."""
    fam, _, qual = name.partition(b":")
    return fam, qual


#: HappyBase's family option names -> ColumnDescriptor field names and types.
FAMILY_OPTIONS: Dict[str, Tuple[str, type]] = {
    "max_versions": ("maxVersions", int),
    "compression": ("compression", str),
    "in_memory": ("inMemory", bool),
    "bloom_filter_type": ("bloomFilterType", str),
    "bloom_filter_vector_size": ("bloomFilterVectorSize", int),
    "bloom_filter_nb_hashes": ("bloomFilterNbHashes", int),
    "block_cache_enabled": ("blockCacheEnabled", bool),
    "time_to_live": ("timeToLive", int),
}


def column_descriptors(families: Any) -> List[Any]:
    """``{'cf': {'max_versions': 3, ...}}`` -> ``[ColumnDescriptor(name=b'cf:', ...)]``.

    Raises TypeError/ValueError naming ``families`` for anything HBase would
    reject or thriftpy2 could not encode.
    """
    if not isinstance(families, Mapping):
        raise TypeError("'families' arg must be a dictionary")
    if not families:
        raise ValueError("'families': no column families specified")
    out = []
    seen = set()
    for cf_name, options in families.items():
        name = to_bytes(cf_name, "families key")
        if name.endswith(b":"):
            name = name[:-1]
        if not name or b":" in name:
            raise ValueError(f"'families': bad column family name {cf_name!r}")
        if name in seen:
            raise ValueError(f"'families': column family {cf_name!r} given twice")
        seen.add(name)
        if options is None:
            options = {}
        if not isinstance(options, Mapping):
            raise TypeError(f"'families': options of {cf_name!r} must be a dict, "
                            f"not {type(options).__name__}")
        kwargs: Dict[str, Any] = {}
        for opt, val in options.items():
            if opt not in FAMILY_OPTIONS:
                raise ValueError(f"'families': unknown option {opt!r} for family {cf_name!r} "
                                 f"(known: {', '.join(sorted(FAMILY_OPTIONS))})")
            field, kind = FAMILY_OPTIONS[opt]
            if kind is int:
                if isinstance(val, bool) or not isinstance(val, int):
                    raise TypeError(f"'families': option {opt!r} of {cf_name!r} must be an int")
            elif kind is bool:
                if not isinstance(val, (bool, int)):
                    raise TypeError(f"'families': option {opt!r} of {cf_name!r} must be a bool")
                val = bool(val)
            else:
                if isinstance(val, bytes):
                    val = val.decode("ascii")
                if not isinstance(val, str):
                    raise TypeError(f"'families': option {opt!r} of {cf_name!r} must be a str")
            kwargs[field] = val
        out.append(hbase.ColumnDescriptor(name=name + b":", **kwargs))
    return out


def bytes_increment(b: bytes) -> Optional[bytes]:
    """The shortest byte string sorting after every string starting with ``b``.

    Increments the last byte below 0xFF and drops what follows; ``None`` when
    ``b`` is all 0xFF bytes (no such string: scan to the end).
    """
    stripped = b.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])
