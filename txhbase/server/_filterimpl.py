"""HBase's filters as Python objects: the evaluators behind txhbase.server.filters.

One class per HBase filter class, with the same hooks (filterRowKey,
filterCell, transformCell, filterRowCells, filterRow, filterAllRemaining,
reset, getNextCellHint, isFamilyEssential) and the same answers, plus
FilterListWithAND / FilterListWithOR, SkipFilter and WhileMatchFilter, and
the comparators.  The region scanner's protocol that drives them is
``filters.RowFilter``; the language that builds them is ``_filterparse``.
"""
from __future__ import annotations

import bisect
import re
import struct
from typing import Callable, Optional, Sequence

from txhbase.server._javaregex import JavaRegexError, compile_java_regex

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


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


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
