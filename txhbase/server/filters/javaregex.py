"""java.util.regex patterns on Python's ``re``, for HBase's regexstring comparators.

HBase compiles ``regexstring:`` / ``regexstringnocase:`` comparators with
java.util.regex.Pattern.  Most syntax is shared with Python's ``re``; what
differs is rewritten here so the same patterns are accepted and match the same
text: character classes are evaluated as Java does (nested classes, ``&&``
intersections, ``\\p{..}`` members) and emitted flat; ``\\Q..\\E``, ``\\z``,
``\\Z``, ``$``, ``\\h``, ``\\R``, ``\\v``, ``\\e``, ``\\x{..}``, named groups,
``(?u)``/``(?U)`` and inline flags are translated.  Unicode blocks and scripts
(``\\p{InGreek}``, ``\\p{IsLatin}``) are refused: Python's unicodedata lacks them.
"""
from __future__ import annotations

import re
import warnings
from typing import Callable

__all__ = ["JavaRegexError", "compile_java_regex"]


class JavaRegexError(ValueError):
    """A pattern java.util.regex would refuse, or one this module cannot reproduce."""


def compile_java_regex(pattern: str, nocase: bool = False) -> "re.Pattern[str]":
    """RegexStringComparator's ``Pattern.compile(expr, DOTALL [| CASE_INSENSITIVE])``."""
    try:
        translated, unicode_case = _java_regex(pattern)
        flags = re.DOTALL | (0 if unicode_case else re.ASCII) | (re.IGNORECASE if nocase else 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning about nested sets
            return re.compile(translated, flags)
    except (re.error, ValueError, OverflowError, RecursionError) as exc:
        if isinstance(exc, JavaRegexError):
            raise
        raise JavaRegexError(str(exc)) from None


_MAX_CP = 0x10FFFF
_JAVA_END = "(?=(?:\r\n|[\n\r\x85\u2028\u2029])?\\Z)"  # '$' and '\Z' without MULTILINE
_JAVA_ESCAPES = {  # outside classes
    "z": "\\Z",
    "Z": _JAVA_END,
    "R": "(?:\r\n|[\n\x0b\x0c\r\x85\u2028\u2029])",
    "e": "\\x1b",
    "b": "(?u:\\b)",  # Unicode-aware word boundary (JDK 17)
    "B": "(?u:\\B)",
}
_HSPACE = [(0x09, 0x09), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x180E, 0x180E),
           (0x2000, 0x200A), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)]
_VSPACE = [(0x0A, 0x0D), (0x85, 0x85), (0x2028, 0x2029)]
_ASCII_SETS = {
    "d": [(0x30, 0x39)],
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
    "s": [(0x09, 0x0D), (0x20, 0x20)],
    "h": _HSPACE,
    "v": _VSPACE,
}
_POSIX = {  # java.util.regex POSIX classes (US-ASCII)
    "Lower": [(0x61, 0x7A)], "Upper": [(0x41, 0x5A)], "ASCII": [(0, 0x7F)],
    "Alpha": [(0x41, 0x5A), (0x61, 0x7A)], "Digit": [(0x30, 0x39)],
    "Alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "Punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "Graph": [(0x21, 0x7E)], "Print": [(0x20, 0x7E)], "Blank": [(0x09, 0x09), (0x20, 0x20)],
    "Cntrl": [(0, 0x1F), (0x7F, 0x7F)], "XDigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
    "Space": [(0x09, 0x0D), (0x20, 0x20)],
}
_CATEGORY_CACHE: dict = {}


def _normalize(ranges: list) -> list:
    out: list = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _complement(ranges: list) -> list:
    out = []
    nxt = 0
    for lo, hi in _normalize(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= _MAX_CP:
        out.append((nxt, _MAX_CP))
    return out


def _intersect(a: list, b: list) -> list:
    out = []
    a, b = _normalize(a), _normalize(b)
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _ranges_text(ranges: list) -> str:
    def esc(cp: int) -> str:
        ch = chr(cp)
        return "\\" + ch if ch in "\\]^-[" else ch
    return "".join(esc(lo) if lo == hi else esc(lo) + "-" + esc(hi) for lo, hi in ranges)


def _predicate_ranges(key: str, test: Callable[[str], bool]) -> list:
    """Code points passing ``test``, as ranges (computed once per property)."""
    if key not in _CATEGORY_CACHE:
        ranges: list = []
        start = None
        for cp in range(_MAX_CP + 2):
            inside = cp <= _MAX_CP and test(chr(cp))
            if inside and start is None:
                start = cp
            elif not inside and start is not None:
                ranges.append((start, cp - 1))
                start = None
        _CATEGORY_CACHE[key] = ranges
    return _CATEGORY_CACHE[key]


def _category_ranges(name: str) -> list:
    """Code points of a Unicode general category ("L", "Lu", ...), as ranges."""
    import unicodedata

    return _predicate_ranges("gc:" + name, lambda ch: unicodedata.category(ch).startswith(name))


def _java_whitespace(ch: str) -> bool:
    import unicodedata

    if ch in "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f":
        return True
    return unicodedata.category(ch) in ("Zs", "Zl", "Zp") and ch not in "\xa0\u2007\u202f"


_JAVA_PROPERTIES: dict = {  # java.lang.Character methods and common binary properties
    "javaLowerCase": str.islower, "javaUpperCase": str.isupper, "javaDigit": str.isdecimal,
    "javaLetter": str.isalpha, "javaLetterOrDigit": lambda ch: ch.isalpha() or ch.isdecimal(),
    "javaAlphabetic": str.isalpha, "javaWhitespace": _java_whitespace,
    "Alphabetic": str.isalpha, "Letter": str.isalpha, "Lowercase": str.islower,
    "Uppercase": str.isupper, "Digit": str.isdecimal, "White_Space": str.isspace,
    "WhiteSpace": str.isspace,
}


def _property_ranges(name: str) -> list:
    if name in _POSIX:
        return _POSIX[name]
    if name in _JAVA_PROPERTIES:
        return _predicate_ranges(name, _JAVA_PROPERTIES[name])
    for prefix in ("general_category=", "gc=", "Is"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    if name in _JAVA_PROPERTIES:
        return _predicate_ranges(name, _JAVA_PROPERTIES[name])
    if len(name) in (1, 2) and name[0] in "LMNPSZC" and (len(name) == 1 or name[1].islower()):
        return _category_ranges(name)
    raise JavaRegexError(f"unsupported regular expression property \\p{{{name}}} "
                      "(scripts and blocks are not available)")


def _escape_item(p: str, i: int) -> tuple:
    """The escape at p[i] (a backslash) inside a class: (code point or ranges, next index)."""
    if i + 1 >= len(p):
        raise JavaRegexError("trailing backslash in regular expression")
    d = p[i + 1]
    if d.lower() in _ASCII_SETS:
        ranges = _ASCII_SETS[d.lower()]
        return (ranges if d.islower() else _complement(ranges)), i + 2
    if d in "pP":
        if p[i + 2:i + 3] == "{":
            close = p.find("}", i + 3)
            if close < 0:
                raise JavaRegexError("unclosed \\p{...} in regular expression")
            name, nxt = p[i + 3:close], close + 1
        else:
            name, nxt = p[i + 2:i + 3], i + 3
        ranges = _property_ranges(name)
        return (ranges if d == "p" else _complement(ranges)), nxt
    if d == "x":
        if p[i + 2:i + 3] == "{":
            close = p.find("}", i + 3)
            digits, nxt = (p[i + 3:close], close + 1) if close > 0 else ("", i + 3)
        else:
            digits, nxt = p[i + 2:i + 4], i + 4
        return _hex_char(digits), nxt
    if d == "u":
        return _hex_char(p[i + 2:i + 6]), i + 6
    if d == "0":
        j = i + 2
        while j < len(p) and j < i + 5 and p[j] in "01234567":
            j += 1
        if j == i + 2:
            raise JavaRegexError("illegal octal escape in regular expression")
        return int(p[i + 2:j], 8), j
    if d == "c" and i + 2 < len(p):
        return ord(p[i + 2]) ^ 64, i + 3
    simple = {"t": 9, "n": 10, "r": 13, "f": 12, "a": 7, "e": 27}
    if d in simple:
        return simple[d], i + 2
    if d.isalnum():
        raise JavaRegexError(f"illegal escape \\{d} in a character class")
    return ord(d), i + 2


def _hex_char(digits: str) -> int:
    try:
        cp = int(digits, 16)
    except ValueError:
        cp = -1
    if not digits or cp < 0 or cp > _MAX_CP:
        raise JavaRegexError("bad hexadecimal escape in regular expression")
    return cp


def _java_class(p: str, i: int) -> tuple:
    """Evaluate the class whose '[' is at p[i]: (ranges, negated, index after ']')."""
    n = len(p)
    i += 1
    negated = p[i:i + 1] == "^"
    if negated:
        i += 1
    result = None        # the && chain so far
    operand: list = []   # union being collected
    first = True
    while True:
        if i >= n:
            raise JavaRegexError("unclosed character class in regular expression")
        c = p[i]
        if c == "]" and not first:
            i += 1
            break
        first = False
        if c == "[":
            sub, sub_neg, i = _java_class(p, i)
            operand += _complement(sub) if sub_neg else sub
            continue
        if c == "&" and p[i + 1:i + 2] == "&":
            if operand:  # Java ignores an empty side of '&&'
                result = _normalize(operand) if result is None else _intersect(result, operand)
            operand = []
            i += 2
            continue
        if c == "\\" and p[i + 1:i + 2] == "Q":
            end = p.find("\\E", i + 2)
            literal = p[i + 2:] if end < 0 else p[i + 2:end]
            operand += [(ord(ch), ord(ch)) for ch in literal]
            i = n if end < 0 else end + 2
            continue
        if c == "\\":
            item, i = _escape_item(p, i)
        else:
            item, i = ord(c), i + 1
        if isinstance(item, list):
            operand += item
            continue
        # A range "a-z" (a '-' before ']' or '[' is a literal).
        if p[i:i + 1] == "-" and i + 1 < n and p[i + 1] not in "][":
            if p[i + 1] == "\\":
                hi, j = _escape_item(p, i + 1)
            else:
                hi, j = ord(p[i + 1]), i + 2
            if isinstance(hi, list) or hi < item:
                raise JavaRegexError("illegal character range in regular expression")
            operand.append((item, hi))
            i = j
            continue
        operand.append((item, item))
    if result is None:
        ranges = _normalize(operand)
    else:
        ranges = _intersect(result, operand) if operand else result
    return ranges, negated, i


def _emit_class(ranges: list, negated: bool) -> str:
    if not ranges:
        return "(?s:.)" if negated else "(?!)"
    return ("[^" if negated else "[") + _ranges_text(ranges) + "]"


_FLAG_GROUP = re.compile(r"\(\?([idmsuxU]*)(?:-([idmsuxU]*))?([:)])")


def _top_level_flags(pattern: str) -> set:
    """Inline flags still on at the end of the top-level sequence.

    HBase ships the comparator to the region server as (pattern, flags()),
    and java.util.regex folds top-level "(?i)"-style groups into flags(), so
    there they apply to the whole pattern: "a(?i)b" matches "AB".
    """
    on: set = set()
    depth = 0
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if pattern[i + 1:i + 2] == "Q":
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
                continue
            i += 2
            continue
        if c == "[":
            try:
                i = _java_class(pattern, i)[2]
            except JavaRegexError:
                return on
            continue
        if c == "(":
            m = _FLAG_GROUP.match(pattern, i)
            if m and m.group(3) == ")" and depth == 0:
                on |= set(m.group(1))
                on -= set(m.group(2) or "")
                i = m.end()
                continue
            depth += 1
        elif c == ")" and depth:
            depth -= 1
        i += 1
    return on


def _java_regex(pattern: str) -> tuple:
    """``(python_pattern, unicode_case)`` for a java.util.regex pattern.

    ``unicode_case`` (Java's (?u) or (?U)) means: compile without re.ASCII;
    \\w, \\d and \\s are then spelled out as ASCII classes unless (?U) asked
    for Unicode ones too.
    """
    flag_groups = re.findall(r"\(\?([idmsuxU]*)(?:-[idmsuxU]*)?[:)]", pattern)
    unicode_classes = any("U" in g for g in flag_groups)
    unicode_case = unicode_classes or any("u" in g for g in flag_groups)
    final = _top_level_flags(pattern)
    out: list = ["(?" + f + ")" for f in "imx" if f in final]
    multiline = "m" in final
    scoped = [0]       # per open group: "(?flags:" groups opened for a mid-pattern "(?flags)"
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            d = pattern[i + 1]
            if d == "Q":
                end = pattern.find("\\E", i + 2)
                out.append(re.escape(pattern[i + 2:] if end < 0 else pattern[i + 2:end]))
                i = n if end < 0 else end + 2
                continue
            if d == "k" and pattern[i + 2:i + 3] == "<":
                close = pattern.find(">", i + 3)
                if close > 0:
                    out.append(f"(?P={pattern[i + 3:close]})")
                    i = close + 1
                    continue
            if d in _JAVA_ESCAPES:
                out.append(_JAVA_ESCAPES[d])
                i += 2
                continue
            if d.lower() in "dws" and unicode_classes:
                out.append(pattern[i:i + 2])
                i += 2
                continue
            if d.lower() in "dwshv" or d in "pPxuc0":
                item, i = _escape_item(pattern, i)
                if isinstance(item, list):
                    out.append(_emit_class(item, False))
                else:
                    out.append(re.escape(chr(item)))
                continue
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[":
            ranges, negated, i = _java_class(pattern, i)
            out.append(_emit_class(ranges, negated))
            continue
        if c == "(" and pattern.startswith("(?", i):
            m = _FLAG_GROUP.match(pattern, i)
            if m and (m.group(1) or m.group(2) is not None or m.group(3) == ":"):
                on = m.group(1).replace("u", "").replace("U", "").replace("d", "")
                off = (m.group(2) or "").replace("u", "").replace("U", "").replace("d", "")
                if "m" in on:
                    multiline = True
                flags = on + ("-" + off if off else "")
                if m.group(3) == ":":
                    out.append("(?" + flags + ":")
                    scoped.append(0)
                elif flags:
                    # Java applies "(?i)" from here to the end of the group; Python
                    # only allows that at the very start: scope it explicitly.
                    out.append("(?" + flags + ":")
                    scoped[-1] += 1
                i = m.end()
                continue
        if c == "(":
            scoped.append(0)
            if pattern.startswith("(?<", i) and pattern[i + 3:i + 4] not in ("=", "!"):
                out.append("(?P<")
                i += 3
                continue
        elif c == ")" and len(scoped) > 1:
            out.append(")" * scoped.pop())
        if c == "$" and not multiline:
            out.append(_JAVA_END)
            i += 1
            continue
        out.append(c)
        i += 1
    out.append(")" * scoped[0])
    return "".join(out), unicode_case
