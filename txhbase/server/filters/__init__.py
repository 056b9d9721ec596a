"""HBase's filter language for the embedded server: parser and evaluators.

``parse_filter(text)`` turns a Thrift ``filterString`` into a ``FilterSpec``
once per scan; ``spec.new()`` builds a fresh, stateful ``ScanFilter`` which the
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
for the ``regex`` package's VERSION1 mode (DOTALL, ASCII case folding, ``$``
before any final line terminator, ``\\Q..\\E``, ``\\p{..}`` names, Java's
class syntax, ...; see ``javaregex``) and matched with ``search`` against
the UTF-8 decoded value, as HBase's ``RegexStringComparator`` does.

The parser is HBase's ParseFilter algorithm (an operator stack), so the same
strings are accepted and refused, odd ones included (an unclosed ``(`` is
accepted, ``(A OR B AND C)`` is refused).  All of this was checked against a
real HBase 2.6 Thrift gateway with ~1,700 generated and hand-written filter
strings.

Layout (a package; these names are its public face): ``scan`` (ScanFilter,
FilterSpec, the scan protocol), ``parser`` (the language), ``evaluators``
(one class per HBase filter), ``combinators`` (SKIP, WHILE, AND, OR),
``comparators``, ``base`` (cells, return codes, FilterBase) and
``javaregex`` (java.util.regex on the ``regex`` package).
"""
from __future__ import annotations

from txhbase.server.filters.base import FilterCell, FilterError
from txhbase.server.filters.javaregex import JavaRegexError
from txhbase.server.filters.parser import SUPPORTED_FILTERS
from txhbase.server.filters.scan import (
    BATCH_WITH_FILTER_ROW_ERROR, REVERSE_SCAN_ON_DEMAND_ERROR, FilterSpec, ScanFilter,
    parse_filter, while_prefix_spec,
)

__all__ = [
    "BATCH_WITH_FILTER_ROW_ERROR",
    "FilterCell",
    "FilterError",
    "FilterSpec",
    "JavaRegexError",
    "REVERSE_SCAN_ON_DEMAND_ERROR",
    "SUPPORTED_FILTERS",
    "ScanFilter",
    "parse_filter",
    "while_prefix_spec",
]
