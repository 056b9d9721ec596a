"""HBase's comparators (``'type:value'``) and compare operators, as used by the filters."""
from __future__ import annotations

from typing import Any, Callable, Optional

from txhbase.server.filters.base import FilterError, as_text
from txhbase.server.filters.javaregex import JavaRegexError, compile_java_regex

COMPARE_OPS = {b"<": "<", b"<=": "<=", b"=": "=", b"!=": "!=", b">=": ">=", b">": ">"}


def compare_drops(op: str, compare_result: int) -> bool:
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
        self._pattern: Any = None
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
        keep_on_match = not compare_drops(op, 0)
        keep_on_miss = not compare_drops(op, 1)
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


COMPARATOR_TYPES = ("binary", "binaryprefix", "regexstring", "regexstringnocase", "substring")


def _compile_java_regex(value: bytes, nocase: bool) -> Any:
    """RegexStringComparator's Pattern.compile(expr, DOTALL [| CASE_INSENSITIVE])."""
    try:
        return compile_java_regex(value.decode("utf-8", "replace"), nocase)
    except JavaRegexError as exc:
        raise FilterError(f"invalid regular expression {as_text(value)!r}: {exc}") from None
