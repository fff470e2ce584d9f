"""Loaded YAML values that remember where they were written: mappings and lists with the
position of each key and item (:class:`YamlMap`, :class:`YamlList`), and for text the way it
was written (:data:`TextSource`), so that a message can point at any character of it, even in
a folded block or after an escape."""

from __future__ import annotations

from typing import Any

import yaml

from flashgen.diagnostics import Location


class YamlMap(dict[str, Any]):
    """A mapping with the location of itself and of each key."""

    location: Location
    key_locations: dict[str, Location]
    value_locations: dict[str, Location]
    #: How each text value was written (see :data:`TextSource`), unless as one plain line.
    text_sources: dict[str, TextSource]
    #: How each number was written (``1.50``, not ``1.5``), for keys that take text.
    number_texts: dict[str, str]
    #: For each list starting with a text item, its ``item_marks`` and ``text_sources``.
    text_lists: dict[str, tuple[tuple[tuple[int, int], ...], dict[int, TextSource]]]

    def key_location(self, key: str) -> Location:
        return self.key_locations.get(key, self.location)

    def value_location(self, key: str) -> Location:
        return self.value_locations.get(key, self.key_location(key))

    def offset_location(self, key: str, offset: int) -> Location:
        """Where character ``offset`` of the text value of ``key`` was written in the file."""
        if not isinstance(self.get(key), str):
            return self.value_location(key)
        source = self.text_sources.get(key, PLAIN_LINE)
        return locate_offset(self.value_location(key), source, offset)


class YamlList(list[Any]):
    """A sequence with the location of itself and of each item."""

    location: Location
    #: Line and column of each item (numbers, not :class:`Location` objects: cheap to keep).
    item_marks: tuple[tuple[int, int], ...]
    #: How each text item was written, by index, unless as one plain line.
    text_sources: dict[int, TextSource]
    #: How each number item was written, by index.
    number_texts: dict[int, str]

    @property
    def item_locations(self) -> list[Location]:
        return [Location(self.location.path, *mark) for mark in self.item_marks]

    def item_location(self, index: int) -> Location:
        if 0 <= index < len(self.item_marks):
            return Location(self.location.path, *self.item_marks[index])
        return self.location

    def offset_location(self, index: int, offset: int) -> Location:
        """Where character ``offset`` of the text item ``index`` was written in the file."""
        if not 0 <= index < len(self) or not isinstance(self[index], str):
            return self.item_location(index)
        source = self.text_sources.get(index, PLAIN_LINE)
        return locate_offset(self.item_location(index), source, offset)


#: How a text scalar was written: its style (``""`` plain, ``"'"``, ``'"'``, ``"|"``, ``">"``),
#: what locating an offset needs beyond its start (``None`` for one line written without
#: escapes, the indentation of a literal block, or else the scalar's source text) and its value.
#: Only atoms: Python's garbage collector need not track it while a build keeps it.
TextSource = tuple[str, "int | str | None", str]
#: The source of any text written as one plain line (its value is not needed).
PLAIN_LINE: TextSource = ("", None, "")


def text_source(node: yaml.ScalarNode, text: str) -> TextSource:
    style, value = node.style or "", node.value
    start, end = node.start_mark, node.end_mark
    if style == "|":
        return style, _literal_indent(value, text, start.index), value
    written = text[start.index : end.index]
    if style == ">":
        return style, written, value
    if start.line == end.line and not ("\\" in written if style == '"' else "''" in written):
        return style, None, value
    return style, written, value


def _literal_indent(value: str, text: str, header: int) -> int:
    """The indentation of a literal block scalar's content whose header is at ``header``."""
    number = len(value) - len(value.lstrip("\n"))  # the first line that is not empty
    if number == len(value):
        return 0
    end = value.find("\n", number)
    line = value[number : end if end >= 0 else len(value)]
    position = header
    for _ in range(number + 1):
        position = text.find("\n", position) + 1
    end = text.find("\n", position)
    source_line = text[position : end if end >= 0 else len(text)]
    return max(0, len(source_line) - len(line))


def locate_offset(start: Location, source: TextSource, offset: int) -> Location:
    """The location of character ``offset`` of a text scalar written at ``start``."""
    style, extra, value = source
    offset = max(0, offset if source is PLAIN_LINE else min(offset, len(value)))
    if style == "|" and isinstance(extra, int):
        line_start = value.rfind("\n", 0, offset) + 1
        line = start.line + 1 + value.count("\n", 0, offset)
        return Location(start.path, line, extra + offset - line_start + 1)
    if extra is None or isinstance(extra, int):
        quote = 1 if style in ("'", '"') else 0
        return Location(start.path, start.line, start.column + quote + offset)
    if style == ">":
        line, column = _folded_position(extra, value, offset)
    else:
        line, column = _flow_position(extra, style, offset)
    if line == 0:
        return Location(start.path, start.line, start.column + column)
    return Location(start.path, start.line + line, column + 1)


def _folded_position(source: str, value: str, offset: int) -> tuple[int, int]:
    """Line (from the header) and column (from 0) of ``offset`` in a folded block scalar."""
    found = (1, 0)
    position = 0
    for number, line in enumerate(source.split("\n")[1:], start=1):
        content = line.lstrip(" ")
        if not content:
            continue
        at = value.find(content, position)
        if at < 0 or at > offset:
            break
        found = (number, len(line) - len(content) + offset - at)
        position = at + len(content)
    return found


_ESCAPE_LENGTHS = {"x": 4, "u": 6, "U": 10}


def _flow_position(source: str, style: str, offset: int) -> tuple[int, int]:
    """Line and column (from 0, relative to the scalar's start) of character ``offset`` of a
    plain, single- or double-quoted scalar, following YAML's folding and escapes."""
    quoted = style in ("'", '"')
    index = 1 if quoted else 0
    end = len(source) - (1 if quoted else 0)
    line, column, out = 0, index, 0
    pending: list[tuple[int, int]] = []  # white space kept only if more text follows
    while index < end:
        char = source[index]
        if char == "\n":
            pending = []
            breaks = 0
            while index < end and source[index] in " \t\n":
                if source[index] == "\n":
                    breaks += 1
                    line, column = line + 1, 0
                else:
                    column += 1
                index += 1
            out += 1 if breaks == 1 else breaks - 1
            if out > offset:
                return line, column
            continue
        if char in " \t":
            pending.append((line, column))
            index, column = index + 1, column + 1
            continue
        for position in pending:
            if out == offset:
                return position
            out += 1
        pending = []
        if out >= offset:
            return line, column
        width = 1
        if style == '"' and char == "\\" and index + 1 < end:
            following = source[index + 1]
            if following == "\n":  # an escaped line break joins the lines
                index, line, column = index + 2, line + 1, 0
                while index < end and source[index] in " \t":
                    index, column = index + 1, column + 1
                continue
            width = _ESCAPE_LENGTHS.get(following, 2)
        elif style == "'" and char == "'":
            width = 2
        index, column, out = index + width, column + width, out + 1
    return line, column


def source_position(start: Location, written: str, index: int) -> Location:
    """The location of character ``index`` of ``written``, source text that starts at ``start``."""
    line_start = written.rfind("\n", 0, index)
    if line_start < 0:
        return Location(start.path, start.line, start.column + index)
    return Location(start.path, start.line + written.count("\n", 0, index), index - line_start)
