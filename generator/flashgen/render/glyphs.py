"""Which characters the PDFs' fonts can draw: Typst prints any other as an empty box, silently.

Typst falls back through every font it knows for a character its chosen font lacks, so a
character prints when any font file it was given covers it. The coverage is read from each
font file's ``cmap`` table (formats 4 and 12, the ones Unicode fonts use; font collections
included). Typst's own embedded fonts (Libertinus Serif, New Computer Modern, DejaVu Sans
Mono) have no file to read; the Latin, Greek and Cyrillic letters and common symbols they
cover are counted as covered (:data:`ALWAYS_COVERED`).
"""

from __future__ import annotations

import mmap
import struct
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Characters taken as covered without reading a font: what Typst's embedded text fonts draw.
ALWAYS_COVERED = (
    (0x0000, 0x024F),  # Latin
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x04FF),  # Cyrillic
    (0x1E00, 0x1EFF),  # Latin Extended Additional
    (0x2000, 0x206F),  # General Punctuation
    (0x20A0, 0x20CF),  # currency signs
    (0x2100, 0x22FF),  # letterlike symbols, arrows, math operators
)
#: Characters that draw nothing anyway (marks, joiners, variation selectors).
_INVISIBLE = frozenset({"Mn", "Me", "Cf", "Cc", "Zs", "Zl", "Zp"})


def _unicode_cmap(data: Any, offset: int) -> tuple[int, bytes] | None:
    """The best Unicode ``cmap`` subtable (format, bytes) of the font at ``offset``."""
    (tables,) = struct.unpack_from(">H", data, offset + 4)
    cmap = None
    for index in range(tables):
        tag, _, start, _ = struct.unpack_from(">4sIII", data, offset + 12 + 16 * index)
        if tag == b"cmap":
            cmap = start
    if cmap is None:
        return None
    (count,) = struct.unpack_from(">H", data, cmap + 2)
    best: tuple[int, int] | None = None  # (format, offset of the subtable)
    for index in range(count):
        platform, encoding, sub = struct.unpack_from(">HHI", data, cmap + 4 + 8 * index)
        if platform == 0 or (platform == 3 and encoding in (1, 10)):
            (kind,) = struct.unpack_from(">H", data, cmap + sub)
            if kind in (4, 12) and (best is None or kind > best[0]):
                best = (kind, cmap + sub)
    if best is None:
        return None
    kind, at = best
    if kind == 12:
        (length,) = struct.unpack_from(">I", data, at + 4)
    else:
        (length,) = struct.unpack_from(">H", data, at + 2)
    return kind, bytes(data[at : at + length])


@lru_cache(maxsize=256)
def font_tables(path: str, mtime_ns: int) -> tuple[tuple[int, bytes], ...]:
    """The Unicode ``cmap`` subtables of the font file (or collection) at ``path``."""
    try:
        with (
            open(path, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            offsets = [0]
            if data[:4] == b"ttcf":
                (fonts,) = struct.unpack_from(">I", data, 8)
                offsets = list(struct.unpack_from(f">{fonts}I", data, 12))
            found = {_unicode_cmap(data, offset) for offset in offsets}
            return tuple(table for table in found if table is not None)
    except (OSError, struct.error, ValueError):
        return ()


def _has(kind: int, table: bytes, point: int) -> bool:
    """Whether a ``cmap`` subtable maps ``point`` (binary search, as a font renderer does)."""
    if kind == 12:
        low, high = 0, struct.unpack_from(">I", table, 12)[0]
        while low < high:
            middle = (low + high) // 2
            first, last = struct.unpack_from(">II", table, 16 + 12 * middle)
            if point < first:
                high = middle
            elif point > last:
                low = middle + 1
            else:
                return True
        return False
    if point > 0xFFFF:
        return False
    segments = struct.unpack_from(">H", table, 6)[0] // 2
    low, high = 0, segments
    while low < high:  # the first segment whose end is >= point
        middle = (low + high) // 2
        if struct.unpack_from(">H", table, 14 + 2 * middle)[0] < point:
            low = middle + 1
        else:
            high = middle
    if low >= segments:
        return False
    start = struct.unpack_from(">H", table, 16 + 2 * segments + 2 * low)[0]
    return start <= point and start != 0xFFFF


class Coverage:
    """The characters the given ``typst.Fonts`` can draw."""

    def __init__(self, fonts: Any) -> None:
        tables: dict[bytes, int] = {}
        paths = {getattr(font, "path", None) for font in (fonts.fonts() if fonts else ())}
        for path in sorted(filter(None, paths)):
            try:
                found = font_tables(path, Path(path).stat().st_mtime_ns)
            except OSError:
                continue
            for kind, table in found:
                tables.setdefault(table, kind)
        self._tables = [(kind, table) for table, kind in tables.items()]
        self._known: dict[str, bool] = {}

    def covers(self, char: str) -> bool:
        found = self._known.get(char)
        if found is None:
            point = ord(char)
            found = (
                unicodedata.category(char) in _INVISIBLE
                or any(first <= point <= last for first, last in ALWAYS_COVERED)
                or any(_has(kind, table, point) for kind, table in self._tables)
            )
            self._known[char] = found
        return found

    def missing(self, text: str) -> list[tuple[int, str]]:
        """(offset, character) of the first use of each character in ``text`` no font draws."""
        seen: set[str] = set()
        found = []
        for offset, char in enumerate(text):
            if char > "\u024f" and char not in seen:
                seen.add(char)
                if not self.covers(char):
                    found.append((offset, char))
        return found


def describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"'{char}' (U+{ord(char):04X}{' ' + name if name else ''})"
