"""One evaluator per HBase filter class (the leaves of a parsed filter string).

Same hooks and answers as org.apache.hadoop.hbase.filter's classes; the
combinators (SKIP, WHILE, AND, OR) are in ``combinators``; ``scan`` drives them.
"""
from __future__ import annotations

import bisect
import struct
from typing import Callable, Optional, Sequence

from txhbase.server.filters.base import (
    INCLUDE, INCLUDE_AND_NEXT_COL, LONG_MAX, NEXT_COL, NEXT_ROW, SEEK_NEXT_USING_HINT, SKIP,
    CellKey, FilterBase, FilterCell, first_on_column,
)


class KeyOnlyFilter(FilterBase):
    transforms = True

    def __init__(self, len_as_val: bool) -> None:
        self.len_as_val = len_as_val

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def transform_cell(self, cell: FilterCell) -> FilterCell:
        value = struct.pack(">i", len(cell[3])) if self.len_as_val else b""
        return (cell[0], cell[1], cell[2], value)


class FirstKeyOnlyFilter(FilterBase):
    def __init__(self) -> None:
        self.found = False

    def reset(self) -> None:
        self.found = False

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: FilterCell) -> int:
        if self.found:
            return NEXT_ROW
        self.found = True
        return INCLUDE


class PrefixFilter(FilterBase):
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

    def filter_cell(self, cell: FilterCell) -> int:
        return NEXT_ROW if self.filter_out else INCLUDE

    def filter_row(self) -> bool:
        return self.filter_out


class ColumnPrefixFilter(FilterBase):
    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: FilterCell) -> int:
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

    def next_cell_hint(self, cell: FilterCell) -> Optional[CellKey]:
        return first_on_column(cell, self.prefix)


class MultipleColumnPrefixFilter(FilterBase):
    def __init__(self, prefixes: Sequence[bytes]) -> None:
        self.prefixes = sorted(set(prefixes))
        self.hint: Optional[bytes] = None

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: FilterCell) -> int:
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

    def next_cell_hint(self, cell: FilterCell) -> Optional[CellKey]:
        return None if self.hint is None else first_on_column(cell, self.hint)


class ColumnCountGetFilter(FilterBase):
    may_finish = True
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def reset(self) -> None:
        self.count = 0

    def filter_all_remaining(self) -> bool:
        return self.count > self.limit

    def filter_cell(self, cell: FilterCell) -> int:
        self.count += 1
        return NEXT_COL if self.count > self.limit else INCLUDE_AND_NEXT_COL


class PageFilter(FilterBase):
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


class ColumnPaginationFilter(FilterBase):
    def __init__(self, limit: int, offset: int) -> None:
        self.limit = limit
        self.offset = offset
        self.count = 0

    def reset(self) -> None:
        self.count = 0

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: FilterCell) -> int:
        if self.count >= self.offset + self.limit:
            return NEXT_ROW
        code = NEXT_COL if self.count < self.offset else INCLUDE_AND_NEXT_COL
        self.count += 1
        return code


class InclusiveStopFilter(FilterBase):
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

    def filter_cell(self, cell: FilterCell) -> int:
        return NEXT_ROW if self.done else INCLUDE


class TimestampsFilter(FilterBase):
    def __init__(self, timestamps: Sequence[int]) -> None:
        self.timestamps = frozenset(timestamps)
        self.min_ts = min(timestamps) if timestamps else LONG_MAX

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: FilterCell) -> int:
        ts = cell[2]
        if ts in self.timestamps:
            return INCLUDE
        if ts < self.min_ts:
            return NEXT_COL
        return SKIP  # parsed TimestampsFilters cannot hint (canHint is false)


class ColumnRangeFilter(FilterBase):
    def __init__(self, min_col: Optional[bytes], min_incl: bool,
                 max_col: Optional[bytes], max_incl: bool) -> None:
        self.min_col = min_col
        self.min_incl = min_incl
        self.max_col = max_col
        self.max_incl = max_incl

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: FilterCell) -> int:
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

    def next_cell_hint(self, cell: FilterCell) -> Optional[CellKey]:
        return first_on_column(cell, self.min_col or b"")


class RowFilter(FilterBase):
    """HBase's RowFilter: keep rows whose key passes the comparison."""

    def __init__(self, keep: Callable[[bytes], bool]) -> None:
        self.keep = keep
        self.filter_out = False

    def reset(self) -> None:
        self.filter_out = False

    def filter_row_key(self, row: bytes) -> bool:
        if not self.keep(row):
            self.filter_out = True
        return self.filter_out

    def filter_cell(self, cell: FilterCell) -> int:
        return NEXT_ROW if self.filter_out else INCLUDE

    def filter_row(self) -> bool:
        return self.filter_out


class FamilyFilter(FilterBase):
    def __init__(self, keep: Callable[[bytes], bool]) -> None:
        self.keep = keep

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: FilterCell) -> int:
        family = cell[0]
        if family and not self.keep(family):
            return NEXT_ROW
        return INCLUDE


class QualifierFilter(FilterBase):
    def __init__(self, keep: Callable[[bytes], bool]) -> None:
        self.keep = keep

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: FilterCell) -> int:
        return INCLUDE if self.keep(cell[1]) else SKIP


class ValueFilter(FilterBase):
    def __init__(self, keep: Callable[[bytes], bool]) -> None:
        self.keep = keep

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: FilterCell) -> int:
        return INCLUDE if self.keep(cell[3]) else SKIP


class SingleColumnValueFilter(FilterBase):
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

    def filter_cell(self, cell: FilterCell) -> int:
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


class SingleColumnValueExcludeFilter(SingleColumnValueFilter):
    def filter_row_cells(self, cells: list[FilterCell]) -> None:
        family, qualifier = self.family, self.qualifier
        cells[:] = [c for c in cells if c[1] != qualifier or c[0] != family]


class DependentColumnFilter(FilterBase):
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

    def filter_cell(self, cell: FilterCell) -> int:
        if cell[1] != self.qualifier or cell[0] != self.family:
            return INCLUDE  # decided in filter_row_cells, once the stamps are known
        if self.keep is not None and not self.keep(cell[3]):
            return SKIP
        self.stamps.add(cell[2])
        return SKIP if self.drop else INCLUDE

    def filter_row_cells(self, cells: list[FilterCell]) -> None:
        stamps = self.stamps
        cells[:] = [c for c in cells if c[2] in stamps]


class ColumnValueFilter(FilterBase):
    def __init__(self, family: bytes, qualifier: bytes, keep: Callable[[bytes], bool]) -> None:
        self.family = family
        self.qualifier = qualifier
        self.keep = keep
        self.column_found = False

    def reset(self) -> None:
        self.column_found = False

    def filter_row_key(self, row: bytes) -> bool:
        return False

    def filter_cell(self, cell: FilterCell) -> int:
        if cell[1] != self.qualifier or cell[0] != self.family:
            return NEXT_ROW if self.column_found else NEXT_COL
        self.column_found = True
        return INCLUDE if self.keep(cell[3]) else SKIP

    def is_family_essential(self, family: bytes) -> bool:
        return family == self.family
