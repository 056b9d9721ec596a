"""The scan protocol that drives a filter tree, and parsed filter strings.

``ScanFilter`` is HBase's RegionScanner + StoreScanner handling of return
codes, fed one row at a time; ``FilterSpec`` is a parsed string that makes a
fresh ``ScanFilter`` per scan.
"""
from __future__ import annotations

from typing import Callable, Optional, Union

from txhbase.server.filters.base import (
    INCLUDE, INCLUDE_AND_NEXT_COL, INCLUDE_AND_SEEK_NEXT_ROW, NEXT_COL, NEXT_ROW, SKIP,
    FilterBase, FilterCell, cell_key,
)
from txhbase.server.filters.combinators import WhileMatchFilter
from txhbase.server.filters.evaluators import PrefixFilter
from txhbase.server.filters.parser import parse


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


# ---------------------------------------------------------------------------
# The per-scan evaluator: HBase's RegionScanner + StoreScanner protocol
# ---------------------------------------------------------------------------

class ScanFilter:
    """A fresh, stateful evaluator for one scan (or get); see ``filter_row``.

    ``done`` becomes True once the scan must end (WHILE failed, PageFilter
    returned its page, InclusiveStopFilter or PrefixFilter went past their
    row, ...); check it after every row.  Set ``reversed`` before the first
    row for reversed scans.
    """

    def __init__(self, root: FilterBase) -> None:
        self._root = root
        self._reversed = False
        self._closed: set[bytes] = set()
        self.done = False
        #: True when the filter decides on whole rows (``Filter.hasFilterRow``):
        #: HBase then refuses a ``TScan.batchSize`` (``BATCH_WITH_FILTER_ROW_ERROR``).
        self.has_filter_row = root.has_filter_row
        # Essential families only matter when some family can be non-essential;
        # is_family_essential is monotonic, so an unknown family tells.
        self._on_demand = not root.is_family_essential(b"\x00txhbase: no such family\x00")
        self._essential_family: dict[bytes, bool] = {}

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

    def filter_row(self, row: bytes, cells: list[FilterCell],
                   versions: Optional[int] = None) -> Optional[list[FilterCell]]:
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
        joined: list[FilterCell] = []
        if self._on_demand:
            # HBase scans the essential families first and loads the others
            # ("on demand") only for rows the filter kept; a row with no cell in
            # an essential family is never seen at all.
            essential = self._essential_family
            main: list[FilterCell] = []
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
        out: list[FilterCell] = []
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
            out.sort(key=cell_key)
        f.reset()
        if f.filter_all_remaining():
            self.done = True
        return out or None

    def _scan_cells(self, cells: list[FilterCell], out: list[FilterCell],
                    versions: Optional[int]) -> None:
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
        col: Optional[FilterCell] = None
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
                    while i < n and cells[i][0] == family and cell_key(cells[i]) < hint:
                        i += 1
            if finished is not None and (i == n or cells[i][0] != cell[0]) and finished():
                # The store scanner peeks at its next cell (the next row's) before
                # returning, gets DONE_SCAN there and closes: the family is over.
                closed.add(cell[0])

    @staticmethod
    def _next_column(cells: list[FilterCell], i: int) -> int:
        family, qualifier = cells[i][0], cells[i][1]
        i += 1
        if not qualifier:
            # HBase (HBASE-18471, ScanQueryMatcher.getKeyForNextColumn) cannot
            # seek past an empty qualifier's versions: it moves to the next one,
            # so the filter still sees the older versions.
            return i
        n = len(cells)
        while i < n and cells[i][1] == qualifier and cells[i][0] == family:
            i += 1
        return i

    @staticmethod
    def _next_family(cells: list[FilterCell], i: int) -> int:
        family = cells[i][0]
        i += 1
        n = len(cells)
        while i < n and cells[i][0] == family:
            i += 1
        return i


class FilterSpec:
    """A parsed filter string: immutable, cheap to instantiate per scan with ``new()``."""

    __slots__ = ("text", "_factory", "has_filter_row")

    def __init__(self, text: bytes, factory: Callable[[], FilterBase]) -> None:
        self.text = text
        self._factory = factory
        #: True when the filter decides on whole rows: HBase refuses batched scans then.
        self.has_filter_row = factory().has_filter_row

    def new(self) -> ScanFilter:
        """A fresh evaluator (filters keep state within a row and across a scan)."""
        return ScanFilter(self._factory())

    def is_family_essential(self, family: bytes) -> bool:
        """``Filter.isFamilyEssential`` (SingleColumnValue*Filter with filterIfMissing and
        ColumnValueFilter need only their own family); see ``REVERSE_SCAN_ON_DEMAND_ERROR``."""
        return self._factory().is_family_essential(family)

    def __repr__(self) -> str:
        return f"FilterSpec({self.text!r})"


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
    return FilterSpec(data, parse(data))


def while_prefix_spec(prefix: bytes) -> FilterSpec:
    """``WhileMatchFilter(PrefixFilter(prefix))``, what ``scannerOpenWithPrefix`` scans with."""
    if not isinstance(prefix, (bytes, bytearray)):
        raise TypeError(f"prefix must be bytes, not {type(prefix).__name__}")
    p = bytes(prefix)
    return FilterSpec(b"WHILE PrefixFilter('" + p.replace(b"'", b"''") + b"')",
                      lambda: WhileMatchFilter(PrefixFilter(p)))
