"""Argument checks run before anything is sent.

Every check raises ``TypeError`` (wrong kind of value) or ``ValueError``
(right kind, bad value) with a message naming the offending argument, so a
caller learns about a mistake at the call site instead of from a server
stack trace.  Names (rows, columns, tables) may be ``bytes`` or ``str``
(encoded as UTF-8); values must be ``bytes``.
"""
from __future__ import annotations

from numbers import Integral
from typing import Any, Iterable, List, Mapping, Optional, Tuple

__all__ = [
    "to_bytes", "opt_bytes", "columns", "column", "put_column", "value", "put_data",
    "put_mutations", "timestamp", "positive_int", "opt_positive_int", "integer", "timeout", "ttl",
    "boolean", "row_list",
]

#: Thrift i32 / i64 ranges the server accepts.
I32_MAX = 2 ** 31 - 1
I64_MIN = -(2 ** 63)
I64_MAX = 2 ** 63 - 1


def _kind(value: Any) -> str:
    return type(value).__name__


def to_bytes(value: Any, name: str) -> bytes:
    """``value`` as bytes (``str`` is UTF-8 encoded); TypeError otherwise."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"'{name}' must be bytes or str, not {_kind(value)}")


def opt_bytes(value: Any, name: str) -> Optional[bytes]:
    """``to_bytes`` that lets ``None`` through."""
    return None if value is None else to_bytes(value, name)


def column(value: Any, name: str = "column") -> bytes:
    """A column name (``cf``, ``cf:`` or ``cf:q``) as bytes."""
    return to_bytes(value, name)


def put_column(value: Any, name: str = "data") -> bytes:
    """A column to write to: must name a family and a qualifier (``cf:q`` or ``cf:``)."""
    col = to_bytes(value, f"column in '{name}'")
    if b":" not in col:
        raise ValueError(f"column {col!r} in '{name}' has no family "
                         "(write 'family:qualifier' or 'family:')")
    if col.startswith(b":"):
        raise ValueError(f"column {col!r} in '{name}' has an empty family name")
    return col


def columns(value: Any, name: str = "columns") -> Optional[List[bytes]]:
    """``None`` or a list/tuple of column names, as a list of bytes."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"'{name}' must be a tuple or list, not {_kind(value)}")
    return [to_bytes(c, f"{name}[{i}]") for i, c in enumerate(value)]


def row_list(value: Any, name: str = "rows") -> List[bytes]:
    """A list/tuple of row keys as a list of bytes."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"'{name}' must be a tuple or list, not {_kind(value)}")
    return [to_bytes(r, f"{name}[{i}]") for i, r in enumerate(value)]


def value(val: Any, col: bytes, name: str = "data") -> bytes:
    """A cell value: bytes only (a ``str`` value is a TypeError)."""
    if isinstance(val, bytes):
        return val
    if isinstance(val, (bytearray, memoryview)):
        return bytes(val)
    raise TypeError(f"value of column {col!r} in '{name}' must be bytes, not {_kind(val)}")


def put_data(data: Any, name: str = "data") -> List[Tuple[bytes, bytes]]:
    """A ``{column: value}`` mapping as a list of ``(column_bytes, value_bytes)``."""
    if type(data) is not dict and not isinstance(data, Mapping):
        raise TypeError(f"'{name}' must be a dict of column -> value, not {_kind(data)}")
    out = []
    for col, val in data.items():
        c = put_column(col, name)
        out.append((c, value(val, c, name)))
    return out


def put_mutations(data: Any, wal: bool, mutation: Any, name: str = "data") -> List[Any]:
    """``data`` as a list of ``mutation(isDelete=False, column, value, writeToWAL=wal)``
    (``mutation``: ``hbase.Mutation``, whose fields are in that order).

    The put hot path (one call per row of a batch put): a plain dict of bytes
    to bytes is checked and turned into Mutations in a single comprehension, without
    the per-column helper calls of ``put_data``.  Anything else (str names,
    bytearray values, other mappings, bad input) takes ``put_data``, so the
    errors raised are exactly its errors, before anything is built or sent.
    """
    if type(data) is dict:
        # Keeps only well-formed columns (bytes 'cf:q' / 'cf:' with a non-empty
        # family: find(b":") > 0) and bytes values; if it kept them all, done.
        # Positional arguments (IDL field order) halve thriftpy2's constructor cost.
        out = [mutation(False, col, val, wal) for col, val in data.items()
               if type(col) is bytes and type(val) is bytes and col.find(b":") > 0]
        if len(out) == len(data):
            return out
    return [mutation(False, c, v, wal) for c, v in put_data(data, name)]


def integer(val: Any, name: str, minimum: Optional[int] = None,
            maximum: Optional[int] = None) -> int:
    """An int (not a bool) within [minimum, maximum]."""
    if isinstance(val, bool) or not isinstance(val, Integral):
        raise TypeError(f"'{name}' must be an integer, not {_kind(val)}")
    val = int(val)
    if minimum is not None and val < minimum:
        raise ValueError(f"'{name}' must be >= {minimum}, not {val}")
    if maximum is not None and val > maximum:
        raise ValueError(f"'{name}' must be <= {maximum}, not {val}")
    return int(val)


def timestamp(val: Any, name: str = "timestamp") -> Optional[int]:
    """``None`` or a non-negative 64-bit timestamp in milliseconds."""
    if val is None:
        return None
    return integer(val, name, 0, I64_MAX)


def positive_int(val: Any, name: str, maximum: int = I32_MAX) -> int:
    """An int >= 1 (HappyBase's message: "'name' must be >= 1")."""
    return integer(val, name, 1, maximum)


def opt_positive_int(val: Any, name: str, maximum: int = I32_MAX) -> Optional[int]:
    """``None`` or an int >= 1."""
    return None if val is None else positive_int(val, name, maximum)


def timeout(val: Any, name: str = "timeout") -> Optional[float]:
    """``None`` or a positive number of milliseconds."""
    if val is None:
        return None
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise TypeError(f"'{name}' must be a number of milliseconds or None, not {_kind(val)}")
    if not val > 0:
        raise ValueError(f"'{name}' must be > 0 milliseconds, not {val!r}")
    return val


def ttl(val: Any, name: str = "ttl") -> Optional[int]:
    """``None`` or a positive time to live in seconds -> milliseconds (int)."""
    if val is None:
        return None
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise TypeError(f"'{name}' must be a number of seconds or None, not {_kind(val)}")
    if not val > 0:
        raise ValueError(f"'{name}' must be > 0 seconds, not {val!r}")
    ms = int(round(val * 1000))
    if ms > I64_MAX:
        raise ValueError(f"'{name}' is too large: {val!r}")
    return max(ms, 1)


def boolean(val: Any, name: str) -> bool:
    """A bool (ints 0/1 are not accepted, to catch swapped arguments)."""
    if not isinstance(val, bool):
        raise TypeError(f"'{name}' must be a bool, not {_kind(val)}")
    return val


def names(values: Iterable[Any], name: str) -> List[bytes]:
    """Every element of ``values`` as bytes, naming ``name[i]`` on error."""
    return [to_bytes(v, f"{name}[{i}]") for i, v in enumerate(values)]
