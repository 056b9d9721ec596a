"""HBase's filter language for the embedded server: parser and evaluators.

``parse_filter(text)`` turns a Thrift ``filterString`` into a ``FilterSpec``
once per scan; ``spec.new()`` builds a fresh, stateful ``RowFilter`` which the
scanner feeds one row at a time::

    spec = parse_filter(b"PrefixFilter('row') AND ValueFilter(=, 'binary:x')")
    rf = spec.new()
    for row, cells in rows:            # cells: (family, qualifier, ts, value)
        kept = rf.filter_row(row, cells)
        if kept:
            emit(row, kept)
        if rf.done:
            break

Why an emulation rather than a predicate per filter: HBase filters answer
per cell with *return codes* (INCLUDE, SKIP, NEXT_COL, NEXT_ROW, seek hints,
...) that steer the region scanner, keep state within a row, and combine in
``FilterList``s by HBase's own merge tables.  Results that clients can see
(``WHILE`` ending a scan mid-row, ``FamilyFilter`` skipping a family, ``SKIP``
not consulting row keys, ``ColumnCountGetFilter`` ending a scan) only come out
right if the same machinery runs, so this module reproduces, in plain Python:

- each filter's ``filterRowKey`` / ``filterCell`` / ``transformCell`` /
  ``filterRowCells`` / ``filterRow`` / ``filterAllRemaining`` / ``reset``;
- ``FilterListWithAND`` / ``FilterListWithOR`` (MUST_PASS_ALL / MUST_PASS_ONE),
  ``SkipFilter`` (SKIP) and ``WhileMatchFilter`` (WHILE);
- the region scanner's per-row protocol and the store scanner's handling of
  return codes (NEXT_ROW ends the current *family* of the row, as a store
  scanner does; a filter that is "all done" closes the family for good).

Cells handed to ``filter_row`` must already be restricted to the scan's
columns, time range and number of versions (HBase 2 counts versions before
asking the filter), in HBase order: family asc, qualifier asc, timestamp desc.
When the filter has row-level decisions (``has_filter_row``: PageFilter,
SingleColumnValue*, DependentColumnFilter, SKIP, WHILE) HBase refuses scans
that ask for batches (``TScan.batchSize``): see ``BATCH_WITH_FILTER_ROW_ERROR``.

Families a filter does not need (``is_family_essential``: SingleColumnValue*
with filterIfMissing, ColumnValueFilter) are loaded "on demand" as in HBase:
after the row decision, and rows without a cell in a needed family are never
seen.  HBase refuses such filters on reversed scans: the caller should answer
``REVERSE_SCAN_ON_DEMAND_ERROR`` then.

Comparisons follow ``CompareFilter``: the op reads "cell OP comparator", so
``RowFilter(<=, 'binary:row5')`` keeps rows up to and including ``row5``.
Regexes are compiled once, at parse time: java.util.regex syntax is rewritten
for Python's ``re`` (DOTALL, ASCII case folding, ``$`` before any final line
terminator, ``\\Q..\\E``, ``\\p{..}``, ...) and matched with ``search`` against
the UTF-8 decoded value, as HBase's ``RegexStringComparator`` does.

The parser is HBase's ParseFilter algorithm (an operator stack), so the same
strings are accepted and refused, odd ones included (an unclosed ``(`` is
accepted, ``(A OR B AND C)`` is refused).  All of this was checked against a
real HBase 2.6 Thrift gateway with ~1,700 generated and hand-written filter
strings; the known difference: regex \\p{InBlock} / script properties, which
Python's unicodedata cannot provide, are refused.
"""
from __future__ import annotations

import bisect
import re
import struct
from typing import Callable, Optional, Sequence, Union

from txhbase.server._javaregex import JavaRegexError, compile_java_regex

__all__ = [
    "Cell",
    "FilterError",
    "REVERSE_SCAN_ON_DEMAND_ERROR",
    "BATCH_WITH_FILTER_ROW_ERROR",
    "FilterSpec",
    "RowFilter",
    "parse_filter",
    "while_prefix_spec",
]

#: One cell: (family, qualifier, timestamp, value).
Cell = tuple  # tuple[bytes, bytes, int, bytes]

# Filter.ReturnCode, as small ints for speed.
INCLUDE = 0
INCLUDE_AND_NEXT_COL = 1
INCLUDE_AND_SEEK_NEXT_ROW = 2
SKIP = 3
NEXT_COL = 4
NEXT_ROW = 5
SEEK_NEXT_USING_HINT = 6

_INCLUDES = (INCLUDE, INCLUDE_AND_NEXT_COL, INCLUDE_AND_SEEK_NEXT_ROW)
_NEG_INF = float("-inf")
_INT_MAX = 2 ** 31 - 1
_INT_MIN = -(2 ** 31)
_LONG_MAX = 2 ** 63 - 1


class FilterError(ValueError):
    """A malformed filter string (HBase answers these with an INTERNAL_ERROR)."""


#: What HBase 2.6 answers (an IOError, canRetry false, at the first
#: scannerGet/scannerGetList) to a *reversed* scan whose filter does not need
#: every scanned family (``is_family_essential`` false for one of them): such
#: families are loaded on demand, which reversed region scanners refuse.
REVERSE_SCAN_ON_DEMAND_ERROR = ("org.apache.hadoop.hbase.DoNotRetryIOException: "
                                "Reverse scan with loading CFs on demand is not supported")

#: What HBase 2.6 answers (an IOError at the first scannerGet/scannerGetList,
#: after its client gave up retrying: ~70 s on a real cluster) to a scan with a
#: ``batchSize`` whose filter ``has_filter_row``.
BATCH_WITH_FILTER_ROW_ERROR = ("org.apache.hadoop.hbase.client.RetriesExhaustedException: "
                               "org.apache.hadoop.hbase.filter.IncompatibleFilterException: "
                               "Cannot set batch on a scan using a filter that returns true "
                               "for filter.hasFilterRow")


def _key(cell: Cell) -> tuple:
    """Sort key of a cell inside a row (family, qualifier asc; timestamp desc)."""
    return (cell[0], cell[1], -cell[2])


def _first_on_col(cell: Cell, qualifier: bytes) -> tuple:
    """Seek hint: the first possible cell of ``qualifier`` in the cell's family."""
    return (cell[0], qualifier, _NEG_INF)


# ---------------------------------------------------------------------------
# Comparators and compare ops
# ---------------------------------------------------------------------------

_OPS = {b"<": "<", b"<=": "<=", b"=": "=", b"!=": "!=", b">=": ">=", b">": ">"}


def _filter_out(op: str, compare_result: int) -> bool:
    """``CompareFilter.compare``: True drops the cell.

    ``compare_result`` is comparator value against cell value (HBase's order),
    hence the inverted looking table: LESS drops when comparator <= cell.
    """
    if op == "<":
        return compare_result <= 0
    if op == "<=":
        return compare_result < 0
    if op == "=":
        return compare_result != 0
    if op == "!=":
        return compare_result == 0
    if op == ">=":
        return compare_result > 0
    return compare_result >= 0  # ">"


_BINARY_KEEP: dict[str, Callable[[bytes, bytes], bool]] = {
    "<": lambda v, c: v < c,
    "<=": lambda v, c: v <= c,
    "=": lambda v, c: v == c,
    "!=": lambda v, c: v != c,
    ">=": lambda v, c: v >= c,
    ">": lambda v, c: v > c,
}


class Comparator:
    """A parsed ``'type:value'`` comparator (immutable, shared by evaluators)."""

    __slots__ = ("kind", "value", "_pattern", "_needle")

    def __init__(self, kind: str, value: bytes) -> None:
        self.kind = kind
        self.value = value
        self._pattern = None
        self._needle = ""
        if kind in ("regexstring", "regexstringnocase"):
            self._pattern = _compile_java_regex(value, kind == "regexstringnocase")
        elif kind == "substring":
            self._needle = value.decode("utf-8", "replace").lower()

    @property
    def is_match_only(self) -> bool:
        """Regex and substring comparators only answer match / no match."""
        return self.kind in ("regexstring", "regexstringnocase", "substring")

    def keeper(self, op: str) -> Callable[[bytes], bool]:
        """A fast ``value -> keep?`` closure for ``op``, built once at parse time."""
        kind = self.kind
        if kind == "binary":
            fn = _BINARY_KEEP[op]
            c = self.value
            return lambda v: fn(v, c)
        if kind == "binaryprefix":
            fn = _BINARY_KEEP[op]
            c = self.value
            n = len(c)
            return lambda v: fn(v[:n], c)
        keep_on_match = not _filter_out(op, 0)
        keep_on_miss = not _filter_out(op, 1)
        if kind == "substring":
            needle = self._needle

            def keep_sub(v: bytes) -> bool:
                text = v.decode("ascii").lower() if v.isascii() else v.decode("utf-8", "replace").lower()
                return keep_on_match if needle in text else keep_on_miss
            return keep_sub
        assert self._pattern is not None
        search = self._pattern.search

        def keep_re(v: bytes) -> bool:
            return keep_on_match if search(v.decode("utf-8", "replace")) else keep_on_miss
        return keep_re


_COMPARATOR_TYPES = ("binary", "binaryprefix", "regexstring", "regexstringnocase", "substring")


def _compile_java_regex(value: bytes, nocase: bool) -> "re.Pattern[str]":
    """RegexStringComparator's Pattern.compile(expr, DOTALL [| CASE_INSENSITIVE])."""
    try:
        return compile_java_regex(value.decode("utf-8", "replace"), nocase)
    except JavaRegexError as exc:
        raise FilterError(f"invalid regular expression {_text(value)!r}: {exc}") from None


# ---------------------------------------------------------------------------
# Evaluators: one class per HBase filter, same hooks as org.apache.hadoop.hbase.filter.Filter
# ---------------------------------------------------------------------------

class _Filter:
    """FilterBase: include everything, never done, no row-level decision."""

    has_filter_row = False
    reversed = False
    #: Whether filter_all_remaining() can ever be true / transform_cell() changes
    #: cells: lets the scan loop skip those calls (speed only).
    may_finish = False
    transforms = False

    def set_reversed(self, value: bool) -> None:
        self.reversed = value

    def reset(self) -> None:
        pass

    def filter_all_remaining(self) -> bool:
        return False

    def filter_row_key(self, row: bytes) -> bool:
        return self.filter_all_remaining()

    def filter_cell(self, cell: Cell) -> int:
        return INCLUDE

    def transform_cell(self, cell: Cell) -> Cell:
        return cell

    def filter_row_cells(self, cells: list) -> None:
        pass

    def filter_row(self) -> bool:
        return False

    def next_cell_hint(self, cell: Cell) -> Optional[tuple]:
        return None

    def is_family_essential(self, family: bytes) -> bool:
        """False lets HBase load the family "on demand" (after the row decision)."""
        return True


class _KeyOnly(_Filter):
    transforms = True

    def __init__(self, len_as_val: bool) -> None:
        self.len_as_val = len_as_val

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def transform_cell(self, cell: Cell) -> Cell:
        value = struct.pack(">i", len(cell[3])) if self.len_as_val else b""
        return (cell[0], cell[1], cell[2], value)


class _FirstKeyOnly(_Filter):
    def __init__(self) -> None:
        self.found = False

    def reset(self) -> None:
        self.found = False

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: Cell) -> int:
        if self.found:
            return NEXT_ROW
        self.found = True
        return INCLUDE


class _Prefix(_Filter):
    may_finish = True
    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix
        self.passed = False
        self.filter_out = True

    def reset(self) -> None:
        self.filter_out = True

    def filter_all_remaining(self) -> bool:
        return self.passed

    def filter_row_key(self, row: bytes) -> bool:
        if self.passed:
            return True
        prefix = self.prefix
        if len(row) < len(prefix):
            return True  # HBase filters short rows without updating its state
        head = row[:len(prefix)]
        cmp = (head > prefix) - (head < prefix)
        if (cmp > 0 and not self.reversed) or (cmp < 0 and self.reversed):
            self.passed = True
        self.filter_out = cmp != 0
        return self.filter_out

    def filter_cell(self, cell: Cell) -> int:
        return NEXT_ROW if self.filter_out else INCLUDE

    def filter_row(self) -> bool:
        return self.filter_out


class _ColumnPrefix(_Filter):
    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: Cell) -> int:
        prefix = self.prefix
        qualifier = cell[1]
        if len(qualifier) < len(prefix):
            return SEEK_NEXT_USING_HINT if qualifier <= prefix[:len(qualifier)] else NEXT_ROW
        head = qualifier[:len(prefix)]
        if head < prefix:
            return SEEK_NEXT_USING_HINT
        if head > prefix:
            return NEXT_ROW
        return INCLUDE

    def next_cell_hint(self, cell: Cell) -> Optional[tuple]:
        return _first_on_col(cell, self.prefix)


class _MultipleColumnPrefix(_Filter):
    def __init__(self, prefixes: Sequence[bytes]) -> None:
        self.prefixes = sorted(set(prefixes))
        self.hint: Optional[bytes] = None

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: Cell) -> int:
        prefixes = self.prefixes
        if not prefixes:
            return INCLUDE
        qualifier = cell[1]
        n_lower = bisect.bisect_right(prefixes, qualifier)  # prefixes <= qualifier
        if n_lower:
            largest = prefixes[n_lower - 1]
            if qualifier.startswith(largest):
                return INCLUDE
            if n_lower == len(prefixes):
                return NEXT_ROW
            self.hint = prefixes[n_lower]
            return SEEK_NEXT_USING_HINT
        self.hint = prefixes[0]
        return SEEK_NEXT_USING_HINT

    def next_cell_hint(self, cell: Cell) -> Optional[tuple]:
        return None if self.hint is None else _first_on_col(cell, self.hint)


class _ColumnCountGet(_Filter):
    may_finish = True
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def reset(self) -> None:
        self.count = 0

    def filter_all_remaining(self) -> bool:
        return self.count > self.limit

    def filter_cell(self, cell: Cell) -> int:
        self.count += 1
        return NEXT_COL if self.count > self.limit else INCLUDE_AND_NEXT_COL


class _Page(_Filter):
    may_finish = True
    has_filter_row = True

    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self.rows_accepted = 0

    def filter_all_remaining(self) -> bool:
        return self.rows_accepted >= self.page_size

    def filter_row(self) -> bool:
        self.rows_accepted += 1
        return self.rows_accepted > self.page_size


class _ColumnPagination(_Filter):
    def __init__(self, limit: int, offset: int) -> None:
        self.limit = limit
        self.offset = offset
        self.count = 0

    def reset(self) -> None:
        self.count = 0

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: Cell) -> int:
        if self.count >= self.offset + self.limit:
            return NEXT_ROW
        code = NEXT_COL if self.count < self.offset else INCLUDE_AND_NEXT_COL
        self.count += 1
        return code


class _InclusiveStop(_Filter):
    may_finish = True
    def __init__(self, stop: bytes) -> None:
        self.stop = stop
        self.done = False

    def filter_all_remaining(self) -> bool:
        return self.done

    def filter_row_key(self, row: bytes) -> bool:
        if self.done:
            return True
        self.done = row < self.stop if self.reversed else row > self.stop
        return self.done

    def filter_cell(self, cell: Cell) -> int:
        return NEXT_ROW if self.done else INCLUDE


class _Timestamps(_Filter):
    def __init__(self, timestamps: Sequence[int]) -> None:
        self.timestamps = frozenset(timestamps)
        self.min_ts = min(timestamps) if timestamps else _LONG_MAX

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: Cell) -> int:
        ts = cell[2]
        if ts in self.timestamps:
            return INCLUDE
        if ts < self.min_ts:
            return NEXT_COL
        return SKIP  # parsed TimestampsFilters cannot hint (canHint is false)


class _ColumnRange(_Filter):
    def __init__(self, min_col: Optional[bytes], min_incl: bool,
                 max_col: Optional[bytes], max_incl: bool) -> None:
        self.min_col = min_col
        self.min_incl = min_incl
        self.max_col = max_col
        self.max_incl = max_incl

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: Cell) -> int:
        qualifier = cell[1]
        min_col = self.min_col
        if min_col is not None:
            if qualifier < min_col:
                return SEEK_NEXT_USING_HINT
            if qualifier == min_col and not self.min_incl:
                return NEXT_COL
        max_col = self.max_col
        if max_col is None:
            return INCLUDE
        if qualifier < max_col or (self.max_incl and qualifier == max_col):
            return INCLUDE
        return NEXT_ROW

    def next_cell_hint(self, cell: Cell) -> Optional[tuple]:
        return _first_on_col(cell, self.min_col or b"")


class _RowCompare(_Filter):
    """HBase's RowFilter (named apart from this module's RowFilter evaluator)."""

    def __init__(self, keep: Callable[[bytes], bool]) -> None:
        self.keep = keep
        self.filter_out = False

    def reset(self) -> None:
        self.filter_out = False

    def filter_row_key(self, row: bytes) -> bool:
        if not self.keep(row):
            self.filter_out = True
        return self.filter_out

    def filter_cell(self, cell: Cell) -> int:
        return NEXT_ROW if self.filter_out else INCLUDE

    def filter_row(self) -> bool:
        return self.filter_out


class _FamilyCompare(_Filter):
    def __init__(self, keep: Callable[[bytes], bool]) -> None:
        self.keep = keep

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: Cell) -> int:
        family = cell[0]
        if family and not self.keep(family):
            return NEXT_ROW
        return INCLUDE


class _QualifierCompare(_Filter):
    def __init__(self, keep: Callable[[bytes], bool]) -> None:
        self.keep = keep

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: Cell) -> int:
        return INCLUDE if self.keep(cell[1]) else SKIP


class _ValueCompare(_Filter):
    def __init__(self, keep: Callable[[bytes], bool]) -> None:
        self.keep = keep

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: Cell) -> int:
        return INCLUDE if self.keep(cell[3]) else SKIP


class _SingleColumnValue(_Filter):
    has_filter_row = True

    def __init__(self, family: bytes, qualifier: bytes, keep: Callable[[bytes], bool],
                 filter_if_missing: bool, latest_only: bool) -> None:
        self.family = family
        self.qualifier = qualifier
        self.keep = keep
        self.filter_if_missing = filter_if_missing
        self.latest_only = latest_only
        self.found = False
        self.matched = False

    def reset(self) -> None:
        self.found = False
        self.matched = False

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: Cell) -> int:
        if self.matched:
            return INCLUDE
        if self.latest_only and self.found:
            return NEXT_ROW
        if cell[1] != self.qualifier or cell[0] != self.family:
            return INCLUDE
        self.found = True
        if not self.keep(cell[3]):
            return NEXT_ROW if self.latest_only else INCLUDE
        self.matched = True
        return INCLUDE

    def filter_row(self) -> bool:
        return (not self.matched) if self.found else self.filter_if_missing

    def is_family_essential(self, family: bytes) -> bool:
        return not self.filter_if_missing or family == self.family


class _SingleColumnValueExclude(_SingleColumnValue):
    def filter_row_cells(self, cells: list) -> None:
        family, qualifier = self.family, self.qualifier
        cells[:] = [c for c in cells if c[1] != qualifier or c[0] != family]


class _DependentColumn(_Filter):
    has_filter_row = True

    def __init__(self, family: bytes, qualifier: bytes, drop: bool,
                 keep: Optional[Callable[[bytes], bool]]) -> None:
        self.family = family
        self.qualifier = qualifier
        self.drop = drop
        self.keep = keep
        self.stamps: set[int] = set()

    def reset(self) -> None:
        self.stamps.clear()

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: Cell) -> int:
        if cell[1] != self.qualifier or cell[0] != self.family:
            return INCLUDE  # decided in filter_row_cells, once the stamps are known
        if self.keep is not None and not self.keep(cell[3]):
            return SKIP
        self.stamps.add(cell[2])
        return SKIP if self.drop else INCLUDE

    def filter_row_cells(self, cells: list) -> None:
        stamps = self.stamps
        cells[:] = [c for c in cells if c[2] in stamps]


class _ColumnValue(_Filter):
    def __init__(self, family: bytes, qualifier: bytes, keep: Callable[[bytes], bool]) -> None:
        self.family = family
        self.qualifier = qualifier
        self.keep = keep
        self.column_found = False

    def reset(self) -> None:
        self.column_found = False

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: Cell) -> int:
        if cell[1] != self.qualifier or cell[0] != self.family:
            return NEXT_ROW if self.column_found else NEXT_COL
        self.column_found = True
        return INCLUDE if self.keep(cell[3]) else SKIP

    def is_family_essential(self, family: bytes) -> bool:
        return family == self.family


class _Skip(_Filter):
    """SKIP: drop the whole row if the wrapped filter refuses any cell.

    Like HBase's SkipFilter (and WhileMatchFilter) it inherits FilterBase's
    ``setReversed``, which does not reach the wrapped filter.
    """

    has_filter_row = True

    def __init__(self, inner: _Filter) -> None:
        self.inner = inner
        self.filter_out = False
        self.transforms = inner.transforms

    def reset(self) -> None:
        self.inner.reset()
        self.filter_out = False

    # No filter_all_remaining: HBase's SkipFilter keeps FilterBase's "never
    # done", so a WHILE inside a SKIP cannot end the scan.

    def filter_row_key(self, row: bytes) -> bool:
        return False  # HBase's SkipFilter does not consult the wrapped filter here

    def filter_cell(self, cell: Cell) -> int:
        rc = self.inner.filter_cell(cell)
        if rc != INCLUDE:
            self.filter_out = True
        return rc

    def transform_cell(self, cell: Cell) -> Cell:
        return self.inner.transform_cell(cell)

    def filter_row(self) -> bool:
        return self.filter_out

    def is_family_essential(self, family: bytes) -> bool:
        return self.inner.is_family_essential(family)


class _While(_Filter):
    """WHILE: end the scan at the first row key or cell the wrapped filter refuses."""

    has_filter_row = True
    may_finish = True

    def __init__(self, inner: _Filter) -> None:
        self.inner = inner
        self.all_done = False
        self.transforms = inner.transforms

    def reset(self) -> None:
        self.inner.reset()

    def filter_all_remaining(self) -> bool:
        return self.all_done or self.inner.filter_all_remaining()

    def filter_row_key(self, row: bytes) -> bool:
        if self.filter_all_remaining():
            return True
        value = self.inner.filter_row_key(row)
        self.all_done = self.all_done or value
        return value

    def filter_cell(self, cell: Cell) -> int:
        rc = self.inner.filter_cell(cell)
        if rc != INCLUDE:
            self.all_done = True
        return rc

    def transform_cell(self, cell: Cell) -> Cell:
        return self.inner.transform_cell(cell)

    # No filter_row_cells: HBase's WhileMatchFilter (like SkipFilter) keeps
    # FilterBase's no-op, so e.g. a wrapped SingleColumnValueExcludeFilter
    # does not drop its column.

    def filter_row(self) -> bool:
        value = self.inner.filter_row()
        self.all_done = self.all_done or value
        return value

    def is_family_essential(self, family: bytes) -> bool:
        return self.inner.is_family_essential(family)


# FilterListWithAND.mergeReturnCode ("maximal step"), indexed [rc][local_rc].
_AND_MERGE = {
    INCLUDE: {INCLUDE: INCLUDE, INCLUDE_AND_NEXT_COL: INCLUDE_AND_NEXT_COL,
              INCLUDE_AND_SEEK_NEXT_ROW: INCLUDE_AND_SEEK_NEXT_ROW, SKIP: SKIP,
              NEXT_COL: NEXT_COL, NEXT_ROW: NEXT_ROW},
    INCLUDE_AND_NEXT_COL: {INCLUDE: INCLUDE_AND_NEXT_COL, INCLUDE_AND_NEXT_COL: INCLUDE_AND_NEXT_COL,
                           INCLUDE_AND_SEEK_NEXT_ROW: INCLUDE_AND_SEEK_NEXT_ROW, SKIP: NEXT_COL,
                           NEXT_COL: NEXT_COL, NEXT_ROW: NEXT_ROW},
    INCLUDE_AND_SEEK_NEXT_ROW: {INCLUDE: INCLUDE_AND_SEEK_NEXT_ROW,
                                INCLUDE_AND_NEXT_COL: INCLUDE_AND_SEEK_NEXT_ROW,
                                INCLUDE_AND_SEEK_NEXT_ROW: INCLUDE_AND_SEEK_NEXT_ROW,
                                SKIP: NEXT_ROW, NEXT_COL: NEXT_ROW, NEXT_ROW: NEXT_ROW},
}

# FilterListWithOR.mergeReturnCode ("minimal step"), indexed [rc][local_rc].
_OR_MERGE = {
    INCLUDE: {x: INCLUDE for x in range(7)},
    INCLUDE_AND_NEXT_COL: {INCLUDE: INCLUDE, INCLUDE_AND_NEXT_COL: INCLUDE_AND_NEXT_COL,
                           INCLUDE_AND_SEEK_NEXT_ROW: INCLUDE_AND_NEXT_COL, SKIP: INCLUDE,
                           NEXT_COL: INCLUDE_AND_NEXT_COL, NEXT_ROW: INCLUDE_AND_NEXT_COL,
                           SEEK_NEXT_USING_HINT: INCLUDE},
    INCLUDE_AND_SEEK_NEXT_ROW: {INCLUDE: INCLUDE, INCLUDE_AND_NEXT_COL: INCLUDE_AND_NEXT_COL,
                                INCLUDE_AND_SEEK_NEXT_ROW: INCLUDE_AND_SEEK_NEXT_ROW, SKIP: INCLUDE,
                                NEXT_COL: INCLUDE_AND_NEXT_COL,
                                NEXT_ROW: INCLUDE_AND_SEEK_NEXT_ROW, SEEK_NEXT_USING_HINT: INCLUDE},
    SKIP: {INCLUDE: INCLUDE, INCLUDE_AND_NEXT_COL: INCLUDE, INCLUDE_AND_SEEK_NEXT_ROW: INCLUDE,
           SKIP: SKIP, NEXT_COL: SKIP, NEXT_ROW: SKIP, SEEK_NEXT_USING_HINT: SKIP},
    NEXT_COL: {INCLUDE: INCLUDE, INCLUDE_AND_NEXT_COL: INCLUDE_AND_NEXT_COL,
               INCLUDE_AND_SEEK_NEXT_ROW: INCLUDE_AND_NEXT_COL, SKIP: SKIP, NEXT_COL: NEXT_COL,
               NEXT_ROW: NEXT_COL, SEEK_NEXT_USING_HINT: SKIP},
    NEXT_ROW: {INCLUDE: INCLUDE, INCLUDE_AND_NEXT_COL: INCLUDE_AND_NEXT_COL,
               INCLUDE_AND_SEEK_NEXT_ROW: INCLUDE_AND_SEEK_NEXT_ROW, SKIP: SKIP,
               NEXT_COL: NEXT_COL, NEXT_ROW: NEXT_ROW, SEEK_NEXT_USING_HINT: SKIP},
    SEEK_NEXT_USING_HINT: {INCLUDE: INCLUDE, INCLUDE_AND_NEXT_COL: INCLUDE,
                           INCLUDE_AND_SEEK_NEXT_ROW: INCLUDE, SKIP: SKIP, NEXT_COL: SKIP,
                           NEXT_ROW: SKIP, SEEK_NEXT_USING_HINT: SEEK_NEXT_USING_HINT},
}


class _List(_Filter):
    def __init__(self, filters: list) -> None:
        self.filters = filters
        self.has_filter_row = any(f.has_filter_row for f in filters)
        self.may_finish = any(f.may_finish for f in filters)
        self.transforms = any(f.transforms for f in filters)

    def set_reversed(self, value: bool) -> None:
        self.reversed = value
        for f in self.filters:
            f.set_reversed(value)

    def filter_row_cells(self, cells: list) -> None:
        for f in self.filters:
            f.filter_row_cells(cells)

    def is_family_essential(self, family: bytes) -> bool:
        return any(f.is_family_essential(family) for f in self.filters)


class _And(_List):
    """FilterList MUST_PASS_ALL (the AND operator)."""

    def __init__(self, filters: list) -> None:
        super().__init__(filters)
        self.seek_hint_filters: list = []

    def reset(self) -> None:
        for f in self.filters:
            f.reset()
        self.seek_hint_filters = []

    def filter_all_remaining(self) -> bool:
        return any(f.filter_all_remaining() for f in self.filters)

    def filter_row_key(self, row: bytes) -> bool:
        result = False
        for f in self.filters:  # no short cut: filters such as PrefixFilter track rows here
            if f.filter_all_remaining() or f.filter_row_key(row):
                result = True
        return result

    def filter_cell(self, cell: Cell) -> int:
        rc = INCLUDE
        hinting: list = []
        self.seek_hint_filters = hinting
        for f in self.filters:
            if f.filter_all_remaining():
                return NEXT_ROW
            local = f.filter_cell(cell)
            if local == SEEK_NEXT_USING_HINT:
                hinting.append(f)
                rc = SEEK_NEXT_USING_HINT
            else:
                rc = _AND_MERGE[rc][local]
            if rc not in _INCLUDES:  # HBASE-20565: later filters must not see the cell
                return rc
        return SEEK_NEXT_USING_HINT if hinting else rc

    def transform_cell(self, cell: Cell) -> Cell:
        for f in self.filters:
            cell = f.transform_cell(cell)
        return cell

    def filter_row(self) -> bool:
        for f in self.filters:
            if f.filter_row():
                return True
        return False

    def next_cell_hint(self, cell: Cell) -> Optional[tuple]:
        """The furthest hint (in FilterListBase.compareCell order, inverted when reversed)."""
        best = None
        for f in self.seek_hint_filters:
            if f.filter_all_remaining():
                continue
            hint = f.next_cell_hint(cell)
            if best is None:
                best = hint
            elif hint is not None and ((hint < best) if self.reversed else (hint > best)):
                best = hint
        return best


class _Or(_List):
    """FilterList MUST_PASS_ONE (the OR operator)."""

    def __init__(self, filters: list) -> None:
        super().__init__(filters)
        n = len(filters)
        self.prev_rc: list = [None] * n
        self.prev_cell: list = [None] * n
        self.included = [False] * n

    def reset(self) -> None:
        for f in self.filters:
            f.reset()
        n = len(self.filters)
        self.prev_rc = [None] * n
        self.prev_cell = [None] * n
        self.included = [False] * n

    def filter_all_remaining(self) -> bool:
        return all(f.filter_all_remaining() for f in self.filters)

    def filter_row_key(self, row: bytes) -> bool:
        result = True
        for f in self.filters:  # every filter sees the row, as in HBase
            if not f.filter_all_remaining() and not f.filter_row_key(row):
                result = False
        return result

    def _from_previous(self, f: _Filter, cell: Cell, prev: Optional[Cell],
                       prev_rc: Optional[int]) -> Optional[int]:
        """HBASE-17678: answer for ``f`` from its previous answer, without asking it."""
        if prev is None or prev_rc is None or prev_rc in (INCLUDE, SKIP):
            return None
        if prev_rc == SEEK_NEXT_USING_HINT:
            hint = f.next_cell_hint(prev)
            if hint is None:
                return None
            # FilterListBase.compareCell: the cell order is inverted on reversed scans.
            before = _key(cell) > hint if self.reversed else _key(cell) < hint
            return SEEK_NEXT_USING_HINT if before else None
        if prev_rc in (NEXT_COL, INCLUDE_AND_NEXT_COL):
            return NEXT_COL if prev[0] == cell[0] and prev[1] == cell[1] else None
        return NEXT_ROW if prev[0] == cell[0] else None  # NEXT_ROW, INCLUDE_AND_SEEK_NEXT_ROW

    def filter_cell(self, cell: Cell) -> int:
        rc = None
        included = self.included
        prev_cells = self.prev_cell
        prev_rcs = self.prev_rc
        for i, f in enumerate(self.filters):
            included[i] = False
            if f.filter_all_remaining():
                continue
            prev = prev_cells[i]
            local = None if prev is None else self._from_previous(f, cell, prev, prev_rcs[i])
            if local is None:
                local = f.filter_cell(cell)
            prev_rcs[i] = local
            prev_cells[i] = None if local == INCLUDE or local == SKIP else cell
            rc = local if rc is None else _OR_MERGE[rc][local]
            if local <= INCLUDE_AND_SEEK_NEXT_ROW:  # one of the INCLUDE codes
                included[i] = True
        return SKIP if rc is None else rc

    def transform_cell(self, cell: Cell) -> Cell:
        for f, inc in zip(self.filters, self.included):
            if inc:
                cell = f.transform_cell(cell)
        return cell

    def filter_row(self) -> bool:
        for f in self.filters:
            if not f.filter_row():
                return False
        return True

    def next_cell_hint(self, cell: Cell) -> Optional[tuple]:
        best = None
        for f in self.filters:
            if f.filter_all_remaining():
                continue
            hint = f.next_cell_hint(cell)
            if hint is None:
                return None
            if best is None or ((hint > best) if self.reversed else (hint < best)):
                best = hint
        return best


# ---------------------------------------------------------------------------
# The per-scan evaluator: HBase's RegionScanner + StoreScanner protocol
# ---------------------------------------------------------------------------

class RowFilter:
    """A fresh, stateful evaluator for one scan (or get); see ``filter_row``.

    ``done`` becomes True once the scan must end (WHILE failed, PageFilter
    returned its page, InclusiveStopFilter or PrefixFilter went past their
    row, ...); check it after every row.  Set ``reversed`` before the first
    row for reversed scans.
    """

    def __init__(self, root: _Filter) -> None:
        self._root = root
        self._reversed = False
        self._closed: set = set()
        self.done = False
        #: True when the filter decides on whole rows (``Filter.hasFilterRow``):
        #: HBase then refuses a ``TScan.batchSize`` (``BATCH_WITH_FILTER_ROW_ERROR``).
        self.has_filter_row = root.has_filter_row
        # Essential families only matter when some family can be non-essential;
        # is_family_essential is monotonic, so an unknown family tells.
        self._on_demand = not root.is_family_essential(b"\x00txhbase: no such family\x00")
        self._essential_family: dict = {}

    def is_family_essential(self, family: bytes) -> bool:
        """``Filter.isFamilyEssential``: see ``REVERSE_SCAN_ON_DEMAND_ERROR``."""
        return self._root.is_family_essential(family)

    @property
    def reversed(self) -> bool:
        return self._reversed

    @reversed.setter
    def reversed(self, value: bool) -> None:
        self._reversed = bool(value)
        self._root.set_reversed(self._reversed)

    def filter_row(self, row: bytes, cells: list,
                   versions: Optional[int] = None) -> Optional[list]:
        """Cells of ``row`` to return (transformed, e.g. by KeyOnlyFilter), or None to drop it.

        ``cells``: ``(family, qualifier, timestamp, value)`` tuples of one row in
        HBase order (family asc, qualifier asc, timestamp desc), limited to the
        scan's columns and time range and to the *family's* max versions: with a
        filter HBase lets it see every stored version, and applies the scan's
        own number of versions (``versions``; 1 for Thrift scans) to what the
        filter keeps.  ``versions=None`` keeps every version the filter keeps.
        Call once per row, in scan order; the list is not modified.
        """
        if versions is not None and versions < 1:
            raise ValueError(f"versions must be >= 1, got {versions!r}")
        if self.done or not cells:
            return None
        f = self._root
        closed = self._closed
        if closed:
            cells = [c for c in cells if c[0] not in closed]
            if not cells:
                return None
        joined: list = []
        if self._on_demand:
            # HBase scans the essential families first and loads the others
            # ("on demand") only for rows the filter kept; a row with no cell in
            # an essential family is never seen at all.
            essential = self._essential_family
            main: list = []
            for c in cells:
                fam = c[0]
                known = essential.get(fam)
                if known is None:
                    known = essential[fam] = f.is_family_essential(fam)
                (main if known else joined).append(c)
            if not main:
                return None
            cells = main
        # RegionScanner: the (wrapped) filter first sees the row key.
        if f.filter_all_remaining():
            self.done = True
            return None
        if f.filter_row_key(row):
            f.reset()
            self.done = f.filter_all_remaining()
            return None
        out: list = []
        self._scan_cells(cells, out, versions)
        # RegionScanner: row-level decisions (FilterWrapper.filterRowCellsWithRet),
        # taken before any on-demand family is loaded.
        excluded = not out
        if f.has_filter_row:
            f.filter_row_cells(out)
            if out and f.filter_row():
                excluded = True
        elif not excluded and f.filter_row():
            excluded = True
        if excluded:
            out = []
        elif joined:
            self._scan_cells(joined, out, versions)
            out.sort(key=_key)
        f.reset()
        if f.filter_all_remaining():
            self.done = True
        return out or None

    def _scan_cells(self, cells: list, out: list, versions: Optional[int]) -> None:
        """The store scanners' loop: ask the filter about each cell, obey its answer.

        ``versions``: UserScanQueryMatcher's versionsAfterFilter: past that many
        kept cells of one column, the cell is dropped and the column skipped.
        """
        f = self._root
        closed = self._closed
        append = out.append
        filter_cell = f.filter_cell
        transform = f.transform_cell if f.transforms else None
        finished = f.filter_all_remaining if f.may_finish else None
        col: Optional[Cell] = None
        count = 0
        i = 0
        n = len(cells)
        while i < n:
            cell = cells[i]
            if finished is not None and finished():
                # ScanQueryMatcher answers DONE_SCAN: this family's store scanner closes.
                closed.add(cell[0])
                i = self._next_family(cells, i)
                continue
            rc = filter_cell(cell)
            if versions is not None and rc <= INCLUDE_AND_SEEK_NEXT_ROW:  # an INCLUDE code
                if col is None or col[1] != cell[1] or col[0] != cell[0]:
                    col = cell
                    count = 0
                count += 1
                if count > versions:
                    i = self._next_column(cells, i)
                    continue
            if rc == INCLUDE:
                append(cell if transform is None else transform(cell))
                i += 1
            elif rc == SKIP:
                i += 1
            elif rc == INCLUDE_AND_NEXT_COL:
                append(cell if transform is None else transform(cell))
                i = self._next_column(cells, i)
            elif rc == NEXT_COL:
                i = self._next_column(cells, i)
            elif rc == INCLUDE_AND_SEEK_NEXT_ROW:
                append(cell if transform is None else transform(cell))
                i = self._next_family(cells, i)
            elif rc == NEXT_ROW:
                i = self._next_family(cells, i)
            else:  # SEEK_NEXT_USING_HINT: seek within this family's store
                hint = f.next_cell_hint(cell)
                i += 1
                if hint is not None:
                    family = cell[0]
                    while i < n and cells[i][0] == family and _key(cells[i]) < hint:
                        i += 1
            if finished is not None and (i == n or cells[i][0] != cell[0]) and finished():
                # The store scanner peeks at its next cell (the next row's) before
                # returning, gets DONE_SCAN there and closes: the family is over.
                closed.add(cell[0])

    @staticmethod
    def _next_column(cells: list, i: int) -> int:
        family, qualifier = cells[i][0], cells[i][1]
        i += 1
        n = len(cells)
        while i < n and cells[i][1] == qualifier and cells[i][0] == family:
            i += 1
        return i

    @staticmethod
    def _next_family(cells: list, i: int) -> int:
        family = cells[i][0]
        i += 1
        n = len(cells)
        while i < n and cells[i][0] == family:
            i += 1
        return i


class FilterSpec:
    """A parsed filter string: immutable, cheap to instantiate per scan with ``new()``."""

    __slots__ = ("text", "_factory", "has_filter_row")

    def __init__(self, text: bytes, factory: Callable[[], _Filter]) -> None:
        self.text = text
        self._factory = factory
        #: True when the filter decides on whole rows: HBase refuses batched scans then.
        self.has_filter_row = factory().has_filter_row

    def new(self) -> RowFilter:
        """A fresh evaluator (filters keep state within a row and across a scan)."""
        return RowFilter(self._factory())

    def is_family_essential(self, family: bytes) -> bool:
        """``Filter.isFamilyEssential`` (SingleColumnValue*Filter with filterIfMissing and
        ColumnValueFilter need only their own family); see ``REVERSE_SCAN_ON_DEMAND_ERROR``."""
        return self._factory().is_family_essential(family)

    def __repr__(self) -> str:
        return f"FilterSpec({self.text!r})"


# ---------------------------------------------------------------------------
# The parser (ParseFilter's grammar)
# ---------------------------------------------------------------------------

_SPACE = 0x20
_TAB = 0x09
_LPAREN = 0x28
_RPAREN = 0x29
_QUOTE = 0x27
_COMMA = 0x2C

_Factory = Callable[[], _Filter]


class _Arg:
    """One filter argument: quoted string (unescaped) or a bare token."""

    __slots__ = ("quoted", "value")

    def __init__(self, quoted: bool, value: bytes) -> None:
        self.quoted = quoted
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value) if not self.quoted else "'" + self.value.decode("latin-1") + "'"


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


class _Parser:
    """HBase's ParseFilter algorithm, step for step, so that exactly the same
    strings are accepted (quirks included: an unclosed '(' is closed at the
    end, '()' is ignored, text between a filter's name and its '(' is
    skipped, "(A OR B AND C)" is refused) and the same ones refused."""

    _PRECEDENCE = {b"SKIP": 1, b"WHILE": 1, b"AND": 2, b"OR": 3}

    def __init__(self, text: bytes) -> None:
        self.s = text
        self.n = len(text)

    def error(self, message: str, at: Optional[int] = None) -> FilterError:
        where = "" if at is None else f" at offset {at}"
        return FilterError(f"{message}{where} of filter string {_text(self.s)!r}")

    # -- the operator grammar (ParseFilter.parseFilterString) ----------------
    def parse(self) -> _Factory:
        s, n = self.s, self.n
        ops: list = []      # b"(", b"AND", b"OR", b"SKIP", b"WHILE"
        stack: list = []    # filter factories
        i = 0
        while i < n:
            c = s[i]
            if c == _LPAREN:
                ops.append(b"(")
                i += 1
            elif c == _SPACE or c == _TAB:
                i += 1
            elif (word := self.keyword_at(i)) is not None:
                self.reduce(ops, stack, word)
                ops.append(word)
                i += len(word)
            elif c == _RPAREN:
                if not ops:
                    raise self.error("unbalanced ')'", i)
                top = ops[-1]
                if top == b"(":
                    ops.pop()
                else:
                    while top != b"(":
                        stack.append(self.pop_arguments(ops, stack))
                        if not ops:
                            raise self.error("mismatched parentheses (HBase closes a group only "
                                             "around one operator kind)", i)
                        top = ops.pop()
                i += 1
            else:
                end = self.simple_end(i)
                stack.append(self.simple(i, end))
                i = end + 1
        while ops:
            stack.append(self.pop_arguments(ops, stack))
        if not stack:
            raise self.error("empty filter string" if not s.strip(b" \t") else "no filter")
        if len(stack) > 1:
            raise self.error("filters must be joined by AND or OR")
        return stack[0]

    def keyword_at(self, i: int) -> Optional[bytes]:
        """AND/OR need a space or ')' before them; SKIP/WHILE also accept '(' or
        the start; all need a space or '(' after them (ParseFilter.checkForX)."""
        s, n = self.s, self.n
        prev = s[i - 1] if i > 0 else None
        for word in (b"OR", b"AND", b"SKIP", b"WHILE"):
            end = i + len(word)
            if end >= n or s[end] not in (_SPACE, _LPAREN) or s[i:end] != word:
                continue
            if word in (b"AND", b"OR"):
                if prev in (_SPACE, _RPAREN):
                    return word
            elif prev is None or prev in (_SPACE, _RPAREN, _LPAREN):
                return word
        return None

    def reduce(self, ops: list, stack: list, word: bytes) -> None:
        prec = self._PRECEDENCE
        while ops and ops[-1] != b"(" and prec[ops[-1]] < prec[word]:
            stack.append(self.pop_arguments(ops, stack))

    def pop_arguments(self, ops: list, stack: list) -> _Factory:
        if not ops:  # HBase: EmptyStackException, an error all the same
            raise self.error("mismatched parentheses")
        top = ops[-1]
        if top in (b"AND", b"OR"):
            parts: list = []
            while ops and ops[-1] == top:
                if not stack:
                    raise self.error(f"{top.decode()} needs a filter on each side")
                parts.insert(0, stack.pop())
                ops.pop()
            if not stack:
                raise self.error(f"{top.decode()} needs a filter on each side")
            parts.insert(0, stack.pop())
            if top == b"AND":
                return lambda: _And([p() for p in parts])
            return lambda: _Or([p() for p in parts])
        if not stack:
            if top == b"(":
                raise self.error("'(' without a filter")
            raise self.error(f"{top.decode()} needs a filter after it")
        inner = stack.pop()
        ops.pop()
        if top == b"SKIP":
            return lambda: _Skip(inner())
        if top == b"WHILE":
            return lambda: _While(inner())
        return inner  # b"(": an unclosed group, closed at the end as HBase does

    # -- one filter expression (extractFilterSimpleExpression and friends) ---
    def simple_end(self, start: int) -> int:
        """Index of the ')' ending the expression at ``start``: the first one
        outside quotes ('' inside quotes is an escaped quote)."""
        s, n = self.s, self.n
        quotes = 0
        j = start
        while j < n:
            if s[j] == _QUOTE:
                if j == n - 1 or s[j + 1] != _QUOTE:
                    quotes += 1
                else:
                    j += 1  # an escaped quote: skip its twin
            elif s[j] == _RPAREN and quotes % 2 == 0:
                return j
            j += 1
        if quotes % 2:
            raise self.error("unbalanced quote in the filter starting", start)
        raise self.error("incomplete filter (no closing ')') starting", start)

    def simple(self, start: int, end: int) -> _Factory:
        expr = self.s[start:end + 1]
        cut = [k for k in (expr.find(b"("), expr.find(b" ")) if k >= 0]
        name_end = min(cut) if cut else 0
        if name_end == 0:
            raise self.error("a filter name is expected", start)
        name = expr[:name_end]
        args = self.arguments(expr, start)
        builder = _BUILDERS.get(name)
        if builder is None:
            raise FilterError(f"Filter Name {_text(name)} not supported")
        try:
            return builder(args)
        except FilterError as exc:
            raise FilterError(f"{_text(name)}: {exc}") from None

    def arguments(self, expr: bytes, offset: int) -> list:
        """ParseFilter.getFilterArguments: quoted strings (unescaped) and bare
        tokens, separated by spaces and commas, after the first '('."""
        n = len(expr)
        i = expr.find(b"(")
        if i < 0:
            raise self.error("'(' expected after the filter name", offset)
        args: list = []
        i += 1
        while i < n:
            c = expr[i]
            if c in (_SPACE, _COMMA, _RPAREN):
                i += 1
                continue
            if c == _QUOTE:
                j = i + 1
                while j < n:
                    if expr[j] == _QUOTE:
                        if j == n - 1 or expr[j + 1] != _QUOTE:
                            break
                        j += 2
                        continue
                    j += 1
                else:
                    raise self.error("unbalanced quote in filter arguments", offset + i)
                args.append(_Arg(True, expr[i + 1:j].replace(b"''", b"'")))
                i = j + 2  # HBase also steps over the character after the closing quote
            else:
                j = i
                while j < n and expr[j] not in (_SPACE, _COMMA, _RPAREN):
                    j += 1
                args.append(_Arg(False, expr[i:j]))
                i = j + 1
        return args


# -- argument converters (ParseFilter's helpers) ------------------------------

def _count(args: list, *allowed: int) -> None:
    if len(args) not in allowed:
        want = " or ".join(str(a) for a in allowed)
        raise FilterError(f"expected {want} arguments but got {len(args)}")


def _string(arg: _Arg, what: str) -> bytes:
    if not arg.quoted:
        raise FilterError(f"{what} must be a quoted string, got {_text(arg.value)}")
    return arg.value


def _long(arg: _Arg, what: str) -> int:
    """ParseFilter.convertByteArrayToLong: an optional '-' then digits (a lone
    '-' reads as 0, as in HBase)."""
    raw = arg.value
    digits = raw[1:] if raw[:1] == b"-" else raw
    if arg.quoted or (digits and not (digits.isdigit() and digits.isascii())):
        raise FilterError(f"{what} must be an unquoted integer, got {arg!r}")
    value = int(digits) if digits else 0
    if value > _LONG_MAX:
        raise FilterError(f"{what} {_text(raw)} does not fit a long")
    return -value if raw[:1] == b"-" else value


def _int(arg: _Arg, what: str) -> int:
    value = _long(arg, what)
    if not _INT_MIN <= value <= _INT_MAX:
        raise FilterError(f"{what} {value} does not fit an int")
    return value


def _bool(arg: _Arg, what: str) -> bool:
    word = arg.value.lower()
    if not arg.quoted:
        if word == b"true":
            return True
        if word == b"false":
            return False
    raise FilterError(f"{what} must be true or false (unquoted), got {arg!r}")


def _op(arg: _Arg) -> str:
    op = None if arg.quoted else _OPS.get(arg.value)
    if op is None:
        raise FilterError(f"invalid compare operator {arg!r} (use < <= = != >= > unquoted)")
    return op


def _comparator(arg: _Arg) -> Comparator:
    raw = _string(arg, "comparator")
    kind, sep, value = raw.partition(b":")
    if not sep:
        raise FilterError(f"incorrect comparator {_text(raw)!r}: expected 'type:value'")
    name = kind.decode("latin-1")
    if name not in _COMPARATOR_TYPES:
        raise FilterError(f"incorrect comparator type {name!r} (one of {', '.join(_COMPARATOR_TYPES)})")
    return Comparator(name, value)


def _checked_keep(op: str, comparator: Comparator) -> Callable[[bytes], bool]:
    if comparator.is_match_only and op not in ("=", "!="):
        raise FilterError("a regexstring or substring comparator can only be used with = and !=")
    return comparator.keeper(op)


def _non_negative(value: int, what: str) -> int:
    if value < 0:
        raise FilterError(f"{what} must not be negative, got {value}")
    return value


# -- one builder per filter name: args -> factory ----------------------------

def _b_key_only(args: list) -> _Factory:
    _count(args, 0, 1)
    len_as_val = _bool(args[0], "lenAsVal") if args else False
    return lambda: _KeyOnly(len_as_val)


def _b_first_key_only(args: list) -> _Factory:
    _count(args, 0)
    return _FirstKeyOnly


def _b_prefix(args: list) -> _Factory:
    _count(args, 1)
    prefix = _string(args[0], "prefix")
    return lambda: _Prefix(prefix)


def _b_column_prefix(args: list) -> _Factory:
    _count(args, 1)
    prefix = _string(args[0], "prefix")
    return lambda: _ColumnPrefix(prefix)


def _b_multiple_column_prefix(args: list) -> _Factory:
    prefixes = [_string(a, "prefix") for a in args]
    if len(set(prefixes)) != len(prefixes):
        raise FilterError("prefixes must be distinct")
    return lambda: _MultipleColumnPrefix(prefixes)


def _b_column_count_get(args: list) -> _Factory:
    _count(args, 1)
    limit = _non_negative(_int(args[0], "limit"), "limit")
    return lambda: _ColumnCountGet(limit)


def _b_page(args: list) -> _Factory:
    _count(args, 1)
    size = _non_negative(_long(args[0], "pageSize"), "pageSize")
    return lambda: _Page(size)


def _b_column_pagination(args: list) -> _Factory:
    _count(args, 2)
    limit = _non_negative(_int(args[0], "limit"), "limit")
    offset = _non_negative(_int(args[1], "offset"), "offset")
    return lambda: _ColumnPagination(limit, offset)


def _b_inclusive_stop(args: list) -> _Factory:
    _count(args, 1)
    stop = _string(args[0], "stop row")
    return lambda: _InclusiveStop(stop)


def _b_timestamps(args: list) -> _Factory:
    stamps = [_non_negative(_long(a, "timestamp"), "timestamp") for a in args]
    return lambda: _Timestamps(stamps)


def _b_column_range(args: list) -> _Factory:
    _count(args, 4)
    min_col = _string(args[0], "minColumn") or None
    min_incl = _bool(args[1], "minColumnInclusive")
    max_col = _string(args[2], "maxColumn") or None
    max_incl = _bool(args[3], "maxColumnInclusive")
    return lambda: _ColumnRange(min_col, min_incl, max_col, max_incl)


def _compare_builder(cls: type) -> Callable[[list], _Factory]:
    def build(args: list) -> _Factory:
        _count(args, 2)
        op = _op(args[0])
        keep = _checked_keep(op, _comparator(args[1]))
        return lambda: cls(keep)
    return build


def _b_single_column_value(cls: type) -> Callable[[list], _Factory]:
    def build(args: list) -> _Factory:
        _count(args, 4, 6)
        family = _string(args[0], "family")
        qualifier = _string(args[1], "qualifier")
        op = _op(args[2])
        keep = _checked_keep(op, _comparator(args[3]))
        if_missing, latest = False, True
        if len(args) == 6:
            if_missing = _bool(args[4], "filterIfMissing")
            latest = _bool(args[5], "latestVersionOnly")
        return lambda: cls(family, qualifier, keep, if_missing, latest)
    return build


def _b_dependent_column(args: list) -> _Factory:
    _count(args, 2, 3, 5)
    family = _string(args[0], "family")
    qualifier = _string(args[1], "qualifier")
    drop = _bool(args[2], "dropDependentColumn") if len(args) >= 3 else False
    keep = None
    if len(args) == 5:
        # HBase does not restrict regex/substring ops here (no check in DependentColumnFilter).
        keep = _comparator(args[4]).keeper(_op(args[3]))
    return lambda: _DependentColumn(family, qualifier, drop, keep)


def _b_column_value(args: list) -> _Factory:
    _count(args, 4)
    family = _string(args[0], "family")
    qualifier = _string(args[1], "qualifier")
    op = _op(args[2])
    keep = _checked_keep(op, _comparator(args[3]))
    return lambda: _ColumnValue(family, qualifier, keep)


_BUILDERS: dict[bytes, Callable[[list], _Factory]] = {
    b"KeyOnlyFilter": _b_key_only,
    b"FirstKeyOnlyFilter": _b_first_key_only,
    b"PrefixFilter": _b_prefix,
    b"ColumnPrefixFilter": _b_column_prefix,
    b"MultipleColumnPrefixFilter": _b_multiple_column_prefix,
    b"ColumnCountGetFilter": _b_column_count_get,
    b"PageFilter": _b_page,
    b"ColumnPaginationFilter": _b_column_pagination,
    b"InclusiveStopFilter": _b_inclusive_stop,
    b"TimestampsFilter": _b_timestamps,
    b"ColumnRangeFilter": _b_column_range,
    b"RowFilter": _compare_builder(_RowCompare),
    b"FamilyFilter": _compare_builder(_FamilyCompare),
    b"QualifierFilter": _compare_builder(_QualifierCompare),
    b"ValueFilter": _compare_builder(_ValueCompare),
    b"SingleColumnValueFilter": _b_single_column_value(_SingleColumnValue),
    b"SingleColumnValueExcludeFilter": _b_single_column_value(_SingleColumnValueExclude),
    b"DependentColumnFilter": _b_dependent_column,
    b"ColumnValueFilter": _b_column_value,
}

#: The filter names the language knows (HBase's ParseFilter registry).
SUPPORTED_FILTERS = frozenset(name.decode() for name in _BUILDERS)


def parse_filter(text: Union[bytes, str]) -> FilterSpec:
    """Parse an HBase filter string (Thrift ``TScan.filterString``) once per scan.

    ``text`` is bytes as sent over Thrift; a ``str`` is encoded as UTF-8 (as
    HBase's ``Bytes.toBytes`` does).  Raises ``FilterError`` (a ValueError)
    naming the problem for any malformed string, and ``TypeError`` for a
    non-string argument.
    """
    if isinstance(text, str):
        data = text.encode("utf-8")
    elif isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
    else:
        raise TypeError(f"filter string must be bytes or str, not {type(text).__name__}")
    return FilterSpec(data, _Parser(data).parse())


def while_prefix_spec(prefix: bytes) -> FilterSpec:
    """``WhileMatchFilter(PrefixFilter(prefix))``, what ``scannerOpenWithPrefix`` scans with."""
    if not isinstance(prefix, (bytes, bytearray)):
        raise TypeError(f"prefix must be bytes, not {type(prefix).__name__}")
    p = bytes(prefix)
    return FilterSpec(b"WHILE PrefixFilter('" + p.replace(b"'", b"''") + b"')",
                      lambda: _While(_Prefix(p)))
