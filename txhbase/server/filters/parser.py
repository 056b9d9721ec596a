"""HBase's filter language (ParseFilter), parsed exactly as HBase parses it.

The operator-stack algorithm of ParseFilter.parseFilterString, its way of
cutting a filter's arguments, and each filter's createFilterFromArguments
checks, so that the same strings are accepted and refused as by HBase (odd
ones included).  ``parse`` returns a factory of fresh evaluator trees.
"""
from __future__ import annotations

from typing import Callable, Optional

from txhbase.server.filters.base import INT_MAX, INT_MIN, LONG_MAX, FilterBase, FilterError, as_text
from txhbase.server.filters.combinators import (
    FilterListWithAND, FilterListWithOR, SkipFilter, WhileMatchFilter,
)
from txhbase.server.filters.comparators import COMPARATOR_TYPES, COMPARE_OPS, Comparator
from txhbase.server.filters.evaluators import (
    ColumnCountGetFilter, ColumnPaginationFilter, ColumnPrefixFilter, ColumnRangeFilter,
    ColumnValueFilter, DependentColumnFilter, FamilyFilter, FirstKeyOnlyFilter,
    InclusiveStopFilter, KeyOnlyFilter, MultipleColumnPrefixFilter, PageFilter, PrefixFilter,
    QualifierFilter, RowFilter, SingleColumnValueExcludeFilter, SingleColumnValueFilter,
    TimestampsFilter, ValueFilter,
)

# ---------------------------------------------------------------------------
# The parser (ParseFilter's grammar)
# ---------------------------------------------------------------------------

_SPACE = 0x20
_TAB = 0x09
_LPAREN = 0x28
_RPAREN = 0x29
_QUOTE = 0x27
_COMMA = 0x2C

#: Builds a fresh evaluator tree (filters keep state: one tree per scan).
FilterFactory = Callable[[], FilterBase]


class _Arg:
    """One filter argument: quoted string (unescaped) or a bare token."""

    __slots__ = ("quoted", "value")

    def __init__(self, quoted: bool, value: bytes) -> None:
        self.quoted = quoted
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value) if not self.quoted else "'" + self.value.decode("latin-1") + "'"


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
        return FilterError(f"{message}{where} of filter string {as_text(self.s)!r}")

    # -- the operator grammar (ParseFilter.parseFilterString) ----------------
    def parse(self) -> FilterFactory:
        s, n = self.s, self.n
        ops: list[bytes] = []      # b"(", b"AND", b"OR", b"SKIP", b"WHILE"
        stack: list[FilterFactory] = []    # filter factories
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

    def reduce(self, ops: list[bytes], stack: list[FilterFactory], word: bytes) -> None:
        prec = self._PRECEDENCE
        while ops and ops[-1] != b"(" and prec[ops[-1]] < prec[word]:
            stack.append(self.pop_arguments(ops, stack))

    def pop_arguments(self, ops: list[bytes], stack: list[FilterFactory]) -> FilterFactory:
        if not ops:  # HBase: EmptyStackException, an error all the same
            raise self.error("mismatched parentheses")
        top = ops[-1]
        if top in (b"AND", b"OR"):
            parts: list[FilterFactory] = []
            while ops and ops[-1] == top:
                if not stack:
                    raise self.error(f"{top.decode()} needs a filter on each side")
                parts.insert(0, stack.pop())
                ops.pop()
            if not stack:
                raise self.error(f"{top.decode()} needs a filter on each side")
            parts.insert(0, stack.pop())
            if top == b"AND":
                return lambda: FilterListWithAND([p() for p in parts])
            return lambda: FilterListWithOR([p() for p in parts])
        if not stack:
            if top == b"(":
                raise self.error("'(' without a filter")
            raise self.error(f"{top.decode()} needs a filter after it")
        inner = stack.pop()
        ops.pop()
        if top == b"SKIP":
            return lambda: SkipFilter(inner())
        if top == b"WHILE":
            return lambda: WhileMatchFilter(inner())
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

    def simple(self, start: int, end: int) -> FilterFactory:
        expr = self.s[start:end + 1]
        cut = [k for k in (expr.find(b"("), expr.find(b" ")) if k >= 0]
        name_end = min(cut) if cut else 0
        if name_end == 0:
            raise self.error("a filter name is expected", start)
        name = expr[:name_end]
        args = self.arguments(expr, start)
        builder = _BUILDERS.get(name)
        if builder is None:
            raise FilterError(f"Filter Name {as_text(name)} not supported")
        try:
            return builder(args)
        except FilterError as exc:
            raise FilterError(f"{as_text(name)}: {exc}") from None

    def arguments(self, expr: bytes, offset: int) -> list[_Arg]:
        """ParseFilter.getFilterArguments: quoted strings (unescaped) and bare
        tokens, separated by spaces and commas, after the first '('."""
        n = len(expr)
        i = expr.find(b"(")
        if i < 0:
            raise self.error("'(' expected after the filter name", offset)
        args: list[_Arg] = []
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

def _count(args: list[_Arg], *allowed: int) -> None:
    if len(args) not in allowed:
        want = " or ".join(str(a) for a in allowed)
        raise FilterError(f"expected {want} arguments but got {len(args)}")


def _string(arg: _Arg, what: str) -> bytes:
    if not arg.quoted:
        raise FilterError(f"{what} must be a quoted string, got {as_text(arg.value)}")
    return arg.value


def _long(arg: _Arg, what: str) -> int:
    """ParseFilter.convertByteArrayToLong: an optional '-' then digits (a lone
    '-' reads as 0, as in HBase)."""
    raw = arg.value
    digits = raw[1:] if raw[:1] == b"-" else raw
    if arg.quoted or (digits and not (digits.isdigit() and digits.isascii())):
        raise FilterError(f"{what} must be an unquoted integer, got {arg!r}")
    value = int(digits) if digits else 0
    if value > LONG_MAX:
        raise FilterError(f"{what} {as_text(raw)} does not fit a long")
    return -value if raw[:1] == b"-" else value


def _int(arg: _Arg, what: str) -> int:
    value = _long(arg, what)
    if not INT_MIN <= value <= INT_MAX:
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
    op = None if arg.quoted else COMPARE_OPS.get(arg.value)
    if op is None:
        raise FilterError(f"invalid compare operator {arg!r} (use < <= = != >= > unquoted)")
    return op


def _comparator(arg: _Arg) -> Comparator:
    raw = _string(arg, "comparator")
    kind, sep, value = raw.partition(b":")
    if not sep:
        raise FilterError(f"incorrect comparator {as_text(raw)!r}: expected 'type:value'")
    name = kind.decode("latin-1")
    if name not in COMPARATOR_TYPES:
        raise FilterError(f"incorrect comparator type {name!r} (one of {', '.join(COMPARATOR_TYPES)})")
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

def _b_key_only(args: list[_Arg]) -> FilterFactory:
    _count(args, 0, 1)
    len_as_val = _bool(args[0], "lenAsVal") if args else False
    return lambda: KeyOnlyFilter(len_as_val)


def _b_first_key_only(args: list[_Arg]) -> FilterFactory:
    _count(args, 0)
    return FirstKeyOnlyFilter


def _b_prefix(args: list[_Arg]) -> FilterFactory:
    _count(args, 1)
    prefix = _string(args[0], "prefix")
    return lambda: PrefixFilter(prefix)


def _b_column_prefix(args: list[_Arg]) -> FilterFactory:
    _count(args, 1)
    prefix = _string(args[0], "prefix")
    return lambda: ColumnPrefixFilter(prefix)


def _b_multiple_column_prefix(args: list[_Arg]) -> FilterFactory:
    prefixes = [_string(a, "prefix") for a in args]
    if len(set(prefixes)) != len(prefixes):
        raise FilterError("prefixes must be distinct")
    return lambda: MultipleColumnPrefixFilter(prefixes)


def _b_column_count_get(args: list[_Arg]) -> FilterFactory:
    _count(args, 1)
    limit = _non_negative(_int(args[0], "limit"), "limit")
    return lambda: ColumnCountGetFilter(limit)


def _b_page(args: list[_Arg]) -> FilterFactory:
    _count(args, 1)
    size = _non_negative(_long(args[0], "pageSize"), "pageSize")
    return lambda: PageFilter(size)


def _b_column_pagination(args: list[_Arg]) -> FilterFactory:
    _count(args, 2)
    limit = _non_negative(_int(args[0], "limit"), "limit")
    offset = _non_negative(_int(args[1], "offset"), "offset")
    return lambda: ColumnPaginationFilter(limit, offset)


def _b_inclusive_stop(args: list[_Arg]) -> FilterFactory:
    _count(args, 1)
    stop = _string(args[0], "stop row")
    return lambda: InclusiveStopFilter(stop)


def _b_timestamps(args: list[_Arg]) -> FilterFactory:
    stamps = [_non_negative(_long(a, "timestamp"), "timestamp") for a in args]
    return lambda: TimestampsFilter(stamps)


def _b_column_range(args: list[_Arg]) -> FilterFactory:
    _count(args, 4)
    min_col = _string(args[0], "minColumn") or None
    min_incl = _bool(args[1], "minColumnInclusive")
    max_col = _string(args[2], "maxColumn") or None
    max_incl = _bool(args[3], "maxColumnInclusive")
    return lambda: ColumnRangeFilter(min_col, min_incl, max_col, max_incl)


def _compare_builder(cls: type) -> Callable[[list[_Arg]], FilterFactory]:
    def build(args: list[_Arg]) -> FilterFactory:
        _count(args, 2)
        op = _op(args[0])
        keep = _checked_keep(op, _comparator(args[1]))
        return lambda: cls(keep)
    return build


def _b_single_column_value(cls: type) -> Callable[[list[_Arg]], FilterFactory]:
    def build(args: list[_Arg]) -> FilterFactory:
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


def _b_dependent_column(args: list[_Arg]) -> FilterFactory:
    _count(args, 2, 3, 5)
    family = _string(args[0], "family")
    qualifier = _string(args[1], "qualifier")
    drop = _bool(args[2], "dropDependentColumn") if len(args) >= 3 else False
    keep = None
    if len(args) == 5:
        # HBase does not restrict regex/substring ops here (no check in DependentColumnFilter).
        keep = _comparator(args[4]).keeper(_op(args[3]))
    return lambda: DependentColumnFilter(family, qualifier, drop, keep)


def _b_column_value(args: list[_Arg]) -> FilterFactory:
    _count(args, 4)
    family = _string(args[0], "family")
    qualifier = _string(args[1], "qualifier")
    op = _op(args[2])
    keep = _checked_keep(op, _comparator(args[3]))
    return lambda: ColumnValueFilter(family, qualifier, keep)


_BUILDERS: dict[bytes, Callable[[list[_Arg]], FilterFactory]] = {
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
    b"RowFilter": _compare_builder(RowFilter),
    b"FamilyFilter": _compare_builder(FamilyFilter),
    b"QualifierFilter": _compare_builder(QualifierFilter),
    b"ValueFilter": _compare_builder(ValueFilter),
    b"SingleColumnValueFilter": _b_single_column_value(SingleColumnValueFilter),
    b"SingleColumnValueExcludeFilter": _b_single_column_value(SingleColumnValueExcludeFilter),
    b"DependentColumnFilter": _b_dependent_column,
    b"ColumnValueFilter": _b_column_value,
}


#: The filter names the language knows (HBase's ParseFilter registry).
SUPPORTED_FILTERS = frozenset(name.decode() for name in _BUILDERS)


def parse(data: bytes) -> FilterFactory:
    """A factory of fresh evaluator trees for the filter string ``data``."""
    return _Parser(data).parse()
