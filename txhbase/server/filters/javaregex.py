"""java.util.regex patterns on the ``regex`` package, for HBase's regexstring comparators.

HBase compiles ``regexstring:`` / ``regexstringnocase:`` comparators with
java.util.regex.Pattern.  The ``regex`` package in its VERSION1 mode already
has Java's semantics where Python's ``re`` lacks them: nested classes and
``&&`` intersections, Unicode blocks and scripts (``\\p{InGreek}``,
``\\p{IsLatin}``), inline flags that hold to the end of their group, possessive
quantifiers and atomic groups.  What this module still rewrites is spelling:
a class is re-emitted item by item (Java takes ``[[:alpha:]]`` as a nested
class, ``--``, ``||`` and ``~~`` as literals; an empty side of ``&&`` is
ignored), ``\\p{..}`` names become the ``regex`` package's, and ``\\Q..\\E``,
``\\z``, ``\\Z``, ``$``, ``\\h``, ``\\R``, ``\\v``, ``\\e``, ``\\x{..}``,
``\\k<..>`` and ``(?u)``/``(?U)`` are translated.  Escapes Java refuses
(``\\m``, ``\\K``, ...) are refused.

Known differences: a look-behind without an obvious maximum length is
accepted (Java refuses it); Unicode data is the ``regex`` package's (a newer
Unicode version than JDK 17's).
"""
from __future__ import annotations

from typing import Any, Union

import regex

__all__ = ["JavaRegexError", "compile_java_regex"]


class JavaRegexError(ValueError):
    """A pattern java.util.regex would refuse, or one this module cannot reproduce."""


def compile_java_regex(pattern: str, nocase: bool = False) -> Any:
    """RegexStringComparator's ``Pattern.compile(expr, DOTALL [| CASE_INSENSITIVE])``.

    Returns a compiled ``regex`` pattern (use its ``search``); raises
    ``JavaRegexError`` for a pattern Java refuses.
    """
    try:
        translated, ascii_case = _java_regex(pattern, nocase)
        flags = (regex.VERSION1 | regex.DOTALL | (regex.ASCII if ascii_case else 0)
                 | (regex.IGNORECASE if nocase else 0))
        # (?-f): Java folds case one character at a time (no "ß" ~ "SS")
        return regex.compile("(?-f)" + translated, flags)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        if isinstance(exc, JavaRegexError):
            raise
        raise JavaRegexError(str(exc)) from None


_MAX_CP = 0x10FFFF
_ANY = r"[\u0000-\U0010ffff]"
_NOTHING = r"[^\u0000-\U0010ffff]"
_JAVA_END = r"(?=(?:\r\n|[\n\r\u0085\u2028\u2029])?\Z)"  # '$' and '\Z' without MULTILINE
_JAVA_ESCAPES = {  # outside classes
    "z": r"\Z",
    "Z": _JAVA_END,
    "R": r"(?:\r\n|[\n\u000b\u000c\r\u0085\u2028\u2029])",
    "e": r"\u001b",
    "b": r"(?u:\b)",  # Unicode-aware word boundary (JDK 17)
    "B": r"(?u:\B)",
}
#: escapes outside classes that mean the same in Java and in ``regex``
_SAME_ESCAPES = frozenset("tnrfaAGdDsSwW")
_ASCII_SETS = {
    "d": [(0x30, 0x39)],
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
    "s": [(0x09, 0x0D), (0x20, 0x20)],
    "h": [(0x09, 0x09), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x180E, 0x180E),
          (0x2000, 0x200A), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)],
    "v": [(0x0A, 0x0D), (0x85, 0x85), (0x2028, 0x2029)],
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
#: java.lang.Character's predicates and Unicode binary properties, as ``regex`` sets
_JAVA_PROPERTIES = {
    "javaLowerCase": r"\p{Lowercase}", "javaUpperCase": r"\p{Uppercase}",
    "javaDigit": r"\p{Nd}", "javaLetter": r"\p{L}", "javaLetterOrDigit": r"[\p{L}\p{Nd}]",
    "javaAlphabetic": r"\p{Alphabetic}", "javaTitleCase": r"\p{Lt}",
    "javaIdeographic": r"\p{Ideographic}", "javaSpaceChar": r"\p{Z}",
    "javaISOControl": r"[\u0000-\u001f\u007f-\u009f]", "javaDefined": r"\P{Cn}",
    "javaMirrored": r"\p{Bidi_Mirrored}",
    # Character.isWhitespace: separators except the non-breaking ones, and some controls
    "javaWhitespace": r"[\u0009-\u000d\u001c-\u001f[[\p{Zs}\p{Zl}\p{Zp}]--[\u00a0\u2007\u202f]]]",
    "Alphabetic": r"\p{Alphabetic}", "Letter": r"\p{L}", "Lowercase": r"\p{Lowercase}",
    "Uppercase": r"\p{Uppercase}", "Digit": r"\p{Nd}", "White_Space": r"\p{White_Space}",
    "WhiteSpace": r"\p{White_Space}",
}
_BLOCK_PREFIXES = ("In", "blk=", "block=")
_SCRIPT_PREFIXES = ("sc=", "script=")

#: An item of a class: one code point, or a set (``regex`` syntax) of several.
_Item = Union[int, str]


def _char(cp: int) -> str:
    """One code point as ``regex`` text that is literal everywhere (in sets, in (?x) mode)."""
    if cp < 0x80 and chr(cp).isalnum():
        return chr(cp)
    return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


def _ranges_set(ranges: list[tuple[int, int]], negated: bool = False) -> str:
    body = "".join(_char(lo) if lo == hi else _char(lo) + "-" + _char(hi) for lo, hi in ranges)
    return ("[^" if negated else "[") + body + "]"


def _negate(item: str) -> str:
    return "[^" + item + "]"


def _property_exists(text: str, name: str) -> str:
    try:
        regex.compile(text)
    except regex.error:
        raise JavaRegexError(f"unsupported regular expression property \\p{{{name}}}") from None
    return text


def _property(name: str) -> str:
    """Java's ``\\p{name}`` as a ``regex`` set (java.util.regex.Pattern's name lookup)."""
    if name in _POSIX:
        return _ranges_set(_POSIX[name])
    if name in _JAVA_PROPERTIES:
        return _JAVA_PROPERTIES[name]
    for prefix in _BLOCK_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return _property_exists(f"\\p{{Block={name[len(prefix):]}}}", name)
    for prefix in _SCRIPT_PREFIXES:
        if name.startswith(prefix):
            return _property_exists(f"\\p{{Script={name[len(prefix):]}}}", name)
    short = name
    for prefix in ("general_category=", "gc=", "Is"):
        if name.startswith(prefix):
            short = name[len(prefix):]
            break
    if short in _JAVA_PROPERTIES:
        return _JAVA_PROPERTIES[short]
    if len(short) in (1, 2) and short[0] in "LMNPSZC" and (len(short) == 1 or short[1].islower()):
        return _property_exists(f"\\p{{{short}}}", name)
    if name.startswith("Is") and short:  # \p{IsLatin}: a script
        return _property_exists(f"\\p{{Script={short}}}", name)
    raise JavaRegexError(f"unsupported regular expression property \\p{{{name}}}")


def _escape_item(p: str, i: int) -> tuple[_Item, int]:
    """The escape at p[i] (a backslash): (code point or set, next index)."""
    if i + 1 >= len(p):
        raise JavaRegexError("trailing backslash in regular expression")
    d = p[i + 1]
    if d.lower() in _ASCII_SETS:
        return _ranges_set(_ASCII_SETS[d.lower()], negated=d.isupper()), i + 2
    if d in "pP":
        if p[i + 2:i + 3] == "{":
            close = p.find("}", i + 3)
            if close < 0:
                raise JavaRegexError("unclosed \\p{...} in regular expression")
            name, nxt = p[i + 3:close], close + 1
        else:
            name, nxt = p[i + 2:i + 3], i + 3
        prop = _property(name)
        return (prop if d == "p" else _negate(prop)), nxt
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


def _java_class(p: str, i: int) -> tuple[str, int]:
    """Translate the class whose '[' is at p[i]: (a ``regex`` V1 set, index after ']')."""
    n = len(p)
    i += 1
    negated = p[i:i + 1] == "^"
    if negated:
        i += 1
    operands: list[str] = []  # the sides of '&&' seen so far
    operand: list[str] = []   # the union being collected
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
            sub, i = _java_class(p, i)
            operand.append(sub)
            continue
        if c == "&" and p[i + 1:i + 2] == "&":
            if operand:  # Java ignores an empty side of '&&'
                operands.append("".join(operand))
            operand = []
            i += 2
            continue
        if c == "\\" and p[i + 1:i + 2] == "Q":
            end = p.find("\\E", i + 2)
            literal = p[i + 2:] if end < 0 else p[i + 2:end]
            operand += [_char(ord(ch)) for ch in literal]
            i = n if end < 0 else end + 2
            continue
        item: _Item
        if c == "\\":
            item, i = _escape_item(p, i)
        else:
            item, i = ord(c), i + 1
        if isinstance(item, str):
            operand.append(item)
            continue
        # A range "a-z" (a '-' before ']' or '[' is a literal).
        if p[i:i + 1] == "-" and i + 1 < n and p[i + 1] not in "][":
            hi: _Item
            if p[i + 1] == "\\":
                hi, j = _escape_item(p, i + 1)
            else:
                hi, j = ord(p[i + 1]), i + 2
            if isinstance(hi, str) or hi < item:
                raise JavaRegexError("illegal character range in regular expression")
            operand.append(_char(item) + "-" + _char(hi))
            i = j
            continue
        operand.append(_char(item))
    if operand:
        operands.append("".join(operand))
    if not operands:
        return (_ANY if negated else _NOTHING), i
    body = operands[0] if len(operands) == 1 else "&&".join("[" + o + "]" for o in operands)
    return ("[^" if negated else "[") + body + "]", i


def _unicode_scoped(item: str) -> str:
    """A set with Unicode properties, kept Unicode under the ASCII flag (Java's \\p{..}
    ignore it; only case folding is ASCII without (?u))."""
    return "(?u:" + item + ")" if "\\p{" in item or "\\P{" in item else item


_FLAG_GROUP = regex.compile(r"\(\?([idmsuxU]*)(?:-([idmsuxU]*))?([:)])")


def _top_level_flags(pattern: str) -> set[str]:
    """Inline flags still on at the end of the top-level sequence.

    HBase ships the comparator to the region server as (pattern, flags()),
    and java.util.regex folds top-level "(?i)"-style groups into flags(), so
    there they apply to the whole pattern: "a(?i)b" matches "AB".
    """
    on: set[str] = set()
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
                i = _java_class(pattern, i)[1]
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


def _java_regex(pattern: str, nocase: bool = False) -> tuple[str, bool]:
    """``(regex_pattern, ascii_case)`` for a java.util.regex pattern.

    ``ascii_case``: compile with ``regex.ASCII``, for Java's ASCII-only case
    folding: a case-insensitive pattern without (?u) or (?U).  \\w, \\d, \\s
    and \\b are spelled out so that they mean Java's whatever the flag (ASCII
    classes unless (?U) asks for Unicode ones; a Unicode \\b).
    """
    flag_groups = regex.findall(r"\(\?([idmsuxU]*)(?:-[idmsuxU]*)?[:)]", pattern)
    unicode_classes = any("U" in g for g in flag_groups)
    unicode_case = unicode_classes or any("u" in g for g in flag_groups)
    ascii_case = not unicode_case and (nocase or any("i" in g for g in flag_groups))
    final = _top_level_flags(pattern)
    out: list[str] = ["(?" + f + ")" for f in "imx" if f in final]
    multiline = "m" in final
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            d = pattern[i + 1]
            if d == "Q":
                end = pattern.find("\\E", i + 2)
                out.extend(_char(ord(ch)) for ch in (pattern[i + 2:] if end < 0
                                                     else pattern[i + 2:end]))
                i = n if end < 0 else end + 2
                continue
            if d == "k" and pattern[i + 2:i + 3] == "<":
                close = pattern.find(">", i + 3)
                if close > 0:
                    out.append(f"(?P={pattern[i + 3:close]})")
                    i = close + 1
                    continue
            if d == "X":  # a grapheme cluster (regex.ASCII would make it one character)
                out.append(r"(?u:(?>\r\n|\P{M}\p{M}*))" if ascii_case else r"\X")
                i += 2
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
                out.append(_unicode_scoped(item) if isinstance(item, str) else _char(item))
                continue
            if d == "N" and pattern[i + 2:i + 3] == "{":
                close = pattern.find("}", i + 3)
                if close > 0:
                    out.append(pattern[i:close + 1])
                    i = close + 1
                    continue
            if d.isascii() and d.isalpha() and d not in _SAME_ESCAPES:
                raise JavaRegexError(f"illegal/unsupported escape sequence \\{d}")
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[":
            item, i = _java_class(pattern, i)
            out.append(_unicode_scoped(item))
            continue
        if c == "(" and pattern.startswith("(?", i):
            m = _FLAG_GROUP.match(pattern, i)
            if m and (m.group(1) or m.group(2) is not None or m.group(3) == ":"):
                # Java's u (Unicode case), U (Unicode classes) and d (Unix lines) are
                # decided for the whole pattern above; the rest hold to the end of the
                # group in Java as in regex's VERSION1
                on = m.group(1).replace("u", "").replace("U", "").replace("d", "")
                off = (m.group(2) or "").replace("u", "").replace("U", "").replace("d", "")
                if "m" in on:
                    multiline = True
                flags = on + ("-" + off if off else "")
                if m.group(3) == ":":
                    out.append("(?" + flags + ":")
                elif flags:
                    out.append("(?" + flags + ")")
                i = m.end()
                continue
            if pattern.startswith("(?<", i) and pattern[i + 3:i + 4] not in ("=", "!"):
                out.append("(?P<")
                i += 3
                continue
        if c == "$" and not multiline:
            out.append(_JAVA_END)
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out), ascii_case
