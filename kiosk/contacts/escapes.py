"""Splitting and unescaping of backslash-escaped values (vCard and MECARD)."""

from __future__ import annotations

# vCard 3.0 and 4.0 escape these; MECARD escapes the same set plus ':' and '"'.
_ESCAPED = {"n": "\n", "N": "\n", "\\": "\\", ",": ",", ";": ";", ":": ":", '"': '"'}


def split_unescaped(text: str, separator: str, limit: int = 64) -> list[str]:
    """Split on each separator not preceded by a backslash; keep the escapes.

    Args:
        text: the escaped text.
        separator: a single character.
        limit: the maximum number of parts; the last part takes the rest.
    """
    parts: list[str] = []
    start = 0
    index = 0
    length = len(text)
    while index < length and len(parts) < limit - 1:
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == separator:
            parts.append(text[start:index])
            start = index + 1
        index += 1
    parts.append(text[start:])
    return parts


def unescape(text: str) -> str:
    """Replace ``\\n``, ``\\\\``, ``\\,``, ``\\;``, ``\\:`` and ``\\"``; keep others.

    A backslash before any other character stays, because vCard 2.1 values and
    Windows paths use it literally.
    """
    if "\\" not in text:
        return text
    out: list[str] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == "\\" and index + 1 < length and text[index + 1] in _ESCAPED:
            out.append(_ESCAPED[text[index + 1]])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)
