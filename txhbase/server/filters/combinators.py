"""HBase's filter combinators: SkipFilter (SKIP), WhileMatchFilter (WHILE) and FilterList.

``FilterListWithAND`` / ``FilterListWithOR`` merge their members' return
codes by HBase's own tables (``mergeReturnCode``) and keep its seek-hint and
"previous answer" (HBASE-17678) rules.
"""
from __future__ import annotations

from typing import Optional

from txhbase.server.filters.base import (
    INCLUDE, INCLUDE_AND_NEXT_COL, INCLUDE_AND_SEEK_NEXT_ROW, INCLUDE_CODES, NEXT_COL, NEXT_ROW,
    SEEK_NEXT_USING_HINT, SKIP, CellKey, FilterBase, FilterCell, cell_key,
)


class SkipFilter(FilterBase):
    """SKIP: drop the whole row if the wrapped filter refuses any cell.

    Like HBase's SkipFilter (and WhileMatchFilter) it inherits FilterBase's
    ``setReversed``, which does not reach the wrapped filter.
    """

    has_filter_row = True

    def __init__(self, inner: FilterBase) -> None:
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

    def filter_cell(self, cell: FilterCell) -> int:
        rc = self.inner.filter_cell(cell)
        if rc != INCLUDE:
            self.filter_out = True
        return rc

    def transform_cell(self, cell: FilterCell) -> FilterCell:
        return self.inner.transform_cell(cell)

    def filter_row(self) -> bool:
        return self.filter_out

    def is_family_essential(self, family: bytes) -> bool:
        return self.inner.is_family_essential(family)


class WhileMatchFilter(FilterBase):
    """WHILE: end the scan at the first row key or cell the wrapped filter refuses."""

    has_filter_row = True
    may_finish = True

    def __init__(self, inner: FilterBase) -> None:
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

    def filter_cell(self, cell: FilterCell) -> int:
        rc = self.inner.filter_cell(cell)
        if rc != INCLUDE:
            self.all_done = True
        return rc

    def transform_cell(self, cell: FilterCell) -> FilterCell:
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


class FilterList(FilterBase):
    def __init__(self, filters: list[FilterBase]) -> None:
        self.filters = filters
        self.has_filter_row = any(f.has_filter_row for f in filters)
        self.may_finish = any(f.may_finish for f in filters)
        self.transforms = any(f.transforms for f in filters)

    def set_reversed(self, value: bool) -> None:
        self.reversed = value
        for f in self.filters:
            f.set_reversed(value)

    def filter_row_cells(self, cells: list[FilterCell]) -> None:
        for f in self.filters:
            f.filter_row_cells(cells)

    def is_family_essential(self, family: bytes) -> bool:
        return any(f.is_family_essential(family) for f in self.filters)


class FilterListWithAND(FilterList):
    """FilterList MUST_PASS_ALL (the AND operator)."""

    def __init__(self, filters: list[FilterBase]) -> None:
        super().__init__(filters)
        self.seek_hint_filters: list[FilterBase] = []

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

    def filter_cell(self, cell: FilterCell) -> int:
        rc = INCLUDE
        hinting: list[FilterBase] = []
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
            if rc not in INCLUDE_CODES:  # HBASE-20565: later filters must not see the cell
                return rc
        return SEEK_NEXT_USING_HINT if hinting else rc

    def transform_cell(self, cell: FilterCell) -> FilterCell:
        for f in self.filters:
            cell = f.transform_cell(cell)
        return cell

    def filter_row(self) -> bool:
        for f in self.filters:
            if f.filter_row():
                return True
        return False

    def next_cell_hint(self, cell: FilterCell) -> Optional[CellKey]:
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


class FilterListWithOR(FilterList):
    """FilterList MUST_PASS_ONE (the OR operator)."""

    def __init__(self, filters: list[FilterBase]) -> None:
        super().__init__(filters)
        n = len(filters)
        self.prev_rc: list[Optional[int]] = [None] * n
        self.prev_cell: list[Optional[FilterCell]] = [None] * n
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

    def _from_previous(self, f: FilterBase, cell: FilterCell, prev: Optional[FilterCell],
                       prev_rc: Optional[int]) -> Optional[int]:
        """HBASE-17678: answer for ``f`` from its previous answer, without asking it."""
        if prev is None or prev_rc is None or prev_rc in (INCLUDE, SKIP):
            return None
        if prev_rc == SEEK_NEXT_USING_HINT:
            hint = f.next_cell_hint(prev)
            if hint is None:
                return None
            # FilterListBase.compareCell: the cell order is inverted on reversed scans.
            before = cell_key(cell) > hint if self.reversed else cell_key(cell) < hint
            return SEEK_NEXT_USING_HINT if before else None
        if prev_rc in (NEXT_COL, INCLUDE_AND_NEXT_COL):
            return NEXT_COL if prev[0] == cell[0] and prev[1] == cell[1] else None
        return NEXT_ROW if prev[0] == cell[0] else None  # NEXT_ROW, INCLUDE_AND_SEEK_NEXT_ROW

    def filter_cell(self, cell: FilterCell) -> int:
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

    def transform_cell(self, cell: FilterCell) -> FilterCell:
        for f, inc in zip(self.filters, self.included):
            if inc:
                cell = f.transform_cell(cell)
        return cell

    def filter_row(self) -> bool:
        for f in self.filters:
            if not f.filter_row():
                return False
        return True

    def next_cell_hint(self, cell: FilterCell) -> Optional[CellKey]:
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
