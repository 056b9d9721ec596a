"""What every filter evaluator shares: cells, return codes, limits and ``FilterBase``.

An evaluator is one HBase filter class in Python, with the same hooks
(filterRowKey, filterCell, transformCell, filterRowCells, filterRow,
filterAllRemaining, reset, getNextCellHint, isFamilyEssential) under
snake_case names; ``FilterBase`` is HBase's FilterBase: include everything.
"""
from __future__ import annotations

from typing import Optional

#: One cell as filters see it: (family, qualifier, timestamp, value).
FilterCell = tuple[bytes, bytes, int, bytes]
#: A seek hint: (family, qualifier, -timestamp) compared with ``cell_key``.
CellKey = tuple[bytes, bytes, float]

# Filter.ReturnCode, as small ints for speed.
INCLUDE = 0
INCLUDE_AND_NEXT_COL = 1
INCLUDE_AND_SEEK_NEXT_ROW = 2
SKIP = 3
NEXT_COL = 4
NEXT_ROW = 5
SEEK_NEXT_USING_HINT = 6

INCLUDE_CODES = (INCLUDE, INCLUDE_AND_NEXT_COL, INCLUDE_AND_SEEK_NEXT_ROW)
_NEG_INF = float("-inf")
INT_MAX = 2 ** 31 - 1
INT_MIN = -(2 ** 31)
LONG_MAX = 2 ** 63 - 1


class FilterError(ValueError):
    """A malformed filter string (HBase answers these with an INTERNAL_ERROR)."""


def as_text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def cell_key(cell: FilterCell) -> CellKey:
    """Sort key of a cell inside a row (family, qualifier asc; timestamp desc)."""
    return (cell[0], cell[1], -cell[2])


def first_on_column(cell: FilterCell, qualifier: bytes) -> CellKey:
    """Seek hint: the first possible cell of ``qualifier`` in the cell's family."""
    return (cell[0], qualifier, _NEG_INF)


class FilterBase:
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

    def filter_cell(self, cell: FilterCell) -> int:
        return INCLUDE

    def transform_cell(self, cell: FilterCell) -> FilterCell:
        return cell

    def filter_row_cells(self, cells: list[FilterCell]) -> None:
        pass

    def filter_row(self) -> bool:
        return False

    def next_cell_hint(self, cell: FilterCell) -> Optional[CellKey]:
        return None

    def is_family_essential(self, family: bytes) -> bool:
        """False lets HBase load the family "on demand" (after the row decision)."""
        return True
