"""Read YAML files into plain values that remember where they came from.

PyYAML's libyaml-backed ``CSafeLoader`` composes the node tree (fast, with line numbers); this
module walks the nodes itself, so that

* scalars follow YAML 1.2's core schema: only ``true``/``false`` are booleans, so a choice
  written ``No`` or ``on`` stays text, and ``2024-01-01`` stays text;
* every mapping and sequence keeps the position of each key and item (:class:`YamlMap`,
  :class:`YamlList`), for error messages;
* duplicate keys, aliases that expand without bound, and unsupported tags become diagnostics
  instead of silent data loss or exceptions.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from flashgen.course.coursefiles import CourseFileError, read_regular_file
from flashgen.diagnostics import Diagnostics, Location

try:
    from yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover - libyaml is part of PyYAML's wheels

    class _Parser(
        yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer
    ):  # type: ignore[no-redef]
        def __init__(self, stream: str):
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)


#: Largest number of values one file may expand to (guards against "billion laughs" aliases).
MAX_NODES = 200_000
#: Most characters one file may expand to, aliases counted each time they are used (a 1 MiB
#: text aliased 3,000 times is 3 GiB of cards).
MAX_LOADED_CHARS = 16 * 1024 * 1024
#: Longest text field accepted, in characters (a long summary is a few thousand).
MAX_TEXT_CHARS = 100_000
#: Deepest nesting of lists and mappings accepted.
MAX_DEPTH = 100
#: Largest file accepted, in bytes.
MAX_FILE_BYTES = 8 * 1024 * 1024


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


def _text_source(node: yaml.ScalarNode, text: str) -> TextSource:
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


class _Yaml12Resolver(yaml.resolver.BaseResolver):
    """Implicit tags of the YAML 1.2 core schema (PyYAML itself implements YAML 1.1)."""


_Yaml12Resolver.yaml_implicit_resolvers = {}
_RESOLVERS = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (
        "tag:yaml.org,2002:int",
        r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$",
        "-+0123456789",
    ),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    # Not part of YAML 1.2; resolved only so that a plain `<<` key is reported as unsupported.
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ["<"]),
]
for _tag, _pattern, _first in _RESOLVERS:
    _Yaml12Resolver.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


class _Loader(_Parser, _Yaml12Resolver):  # type: ignore[misc, valid-type]
    """libyaml's parser and composer with the YAML 1.2 resolver (no constructor: see _Builder)."""

    def __init__(self, stream: str):
        _Parser.__init__(self, stream)
        _Yaml12Resolver.__init__(self)

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        """``BaseResolver.resolve`` without path resolvers (none are registered): libyaml calls
        it for every node, so the shortcut is worth a few percent of loading a course."""
        if kind is _ScalarNode:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is _SequenceNode else _MAP


_ScalarNode, _SequenceNode = yaml.ScalarNode, yaml.SequenceNode
_IMPLICIT: dict[str, list[tuple[str, re.Pattern[str]]]] = _Yaml12Resolver.yaml_implicit_resolvers
assert None not in _IMPLICIT and not _Yaml12Resolver.yaml_path_resolvers


_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


#: What each core-schema tag accepts (explicit tags are checked too: ``!!bool yes`` is an error).
_CORE_PATTERNS = {
    _NULL: re.compile(r"~|null|Null|NULL|"),
    _BOOL: re.compile(r"true|True|TRUE|false|False|FALSE"),
    _INT: re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"),
    _FLOAT: re.compile(
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    ),
}
_TAG_NAMES = {_NULL: "null", _BOOL: "boolean", _INT: "integer", _FLOAT: "number"}
_TAG_FORMS = {
    _NULL: "null, ~ or nothing",
    _BOOL: "only true or false",
    _INT: "digits, 0o17 or 0x1F",
    _FLOAT: "like 1.5, 1e3, .inf or .nan",
}
_COLLECTION_TAGS = {"!", _MAP, _SEQ}


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


def _location(path: Path, mark: Any) -> Location:
    return Location(path, mark.line + 1, mark.column + 1)


def _char_at(text: str, mark: Any) -> str:
    """The character at a parser mark (libyaml's marks count characters, from 0)."""
    lines = text.split("\n")
    if 0 <= mark.line < len(lines):
        return lines[mark.line][mark.column : mark.column + 1]
    return ""


def read_text(path: Path, diagnostics: Diagnostics, data: bytes | None = None) -> str | None:
    """The file's text as UTF-8 (a BOM is allowed); ``None`` with a diagnostic otherwise.

    ``data`` is the file's content when the caller has already read it (no larger than
    :data:`MAX_FILE_BYTES`).
    """
    if data is None:
        try:
            data = read_regular_file(path, MAX_FILE_BYTES, "file")
        except CourseFileError as error:
            message = error.message
            if message.startswith("file is too large"):
                message += ": split it into several concept files"
            diagnostics.error(Location(path), message)
            return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        diagnostics.error(
            Location(path, line, column),
            f"file is not valid UTF-8 (byte 0x{data[error.start]:02x}): save it as UTF-8",
        )
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_yaml(path: Path, diagnostics: Diagnostics, data: bytes | None = None) -> Any:
    """Parse one YAML file; ``None`` (with diagnostics) when it cannot be read or parsed."""
    text = read_text(path, diagnostics, data)
    if text is None:
        return None
    return parse_yaml(text, path, diagnostics)


#: Characters YAML does not allow in a file (tab and line breaks aside).
_UNPRINTABLE = re.compile("[^\t\n\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: Control characters that cannot appear in a text field (tab and newline aside): U+001F is
#: Anki's field separator, and the others are invisible or break the outputs.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def describe_character(char: str) -> str:
    name = f"U+{ord(char):04X}"
    if char == "\x1f":
        return f"{name} (Anki's field separator)"
    return f"control character {name}" if ord(char) < 0x20 or ord(char) == 0x7F else name


def _report_unprintable(text: str, path: Path, diagnostics: Diagnostics) -> bool:
    """Report each character YAML refuses at its line and column; whether there were any."""
    found = False
    for count, match in enumerate(_UNPRINTABLE.finditer(text)):
        if count >= 20:
            break
        found = True
        start = match.start()
        line = text.count("\n", 0, start) + 1
        column = start - text.rfind("\n", 0, start)
        diagnostics.error(
            Location(path, line, column),
            f"{describe_character(match.group())} is not allowed in the file: delete it "
            "(it is invisible in most editors)",
        )
    return found


#: A line holding ``key: value`` or ``- value``: where the value starts.
_VALUE_START = re.compile(r"[ \t]*(?:-[ \t]+)*(?:[^\s'\"#\[\]{}][^:#]*?:[ \t]+)?")
#: What a first character means to YAML, for text written without quotes.
_FIRST_CHARACTER = {
    "*": "an alias (*name), not emphasis",
    "&": "an anchor (&name)",
    "!": "a tag (!name)",
    "`": "a reserved character",
    "@": "a reserved character",
    "%": "a directive",
    "[": "the start of a list, like [a, b]",
    "{": "the start of a mapping, like {a: 1}",
    "|": "a block, whose text must start on the next line",
    ">": "a folded block, whose text must start on the next line",
    "-": "a list item",
    "?": "a mapping key",
    '"': "quoted text, which must end at its closing quote",
    "'": "quoted text, which must end at its closing quote",
}
QUOTE_HOW = (
    "put the whole text in single quotes ('...', writing ' inside as '') or write it as a "
    "block: the key, then |, then the text on the next lines, indented"
)


def _markdown_hint(text: str, mark: Any, problem: str) -> str:
    """Why Markdown written as plain YAML text failed to parse, and how to quote it."""
    lines = text.split("\n")
    if not 0 <= mark.line < len(lines):
        return ""
    line = lines[mark.line]
    start = _VALUE_START.match(line)
    value = line[start.end() if start else 0 :]
    if not value.strip() or (start and start.end() > mark.column + 1 and value[0] not in "-?"):
        return ""
    first = value[0]
    if first in _FIRST_CHARACTER and (first not in "-?" or value[1:2] in (" ", "")):
        meaning = _FIRST_CHARACTER[first]
        return f": YAML reads '{first}' at the start of a text as {meaning}; {QUOTE_HOW}"
    if "mapping values" in problem or ": " in value:
        return f": ': ' inside a text reads as a new key; {QUOTE_HOW}"
    return ""


def parse_yaml(text: str, path: Path, diagnostics: Diagnostics) -> Any:
    if _UNPRINTABLE.search(text) and _report_unprintable(text, path, diagnostics):
        return None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        location = _location(path, mark) if mark else Location(path)
        problem = error.problem or "invalid YAML"
        if "\t" in problem or "tab" in problem or (mark and _char_at(text, mark) == "\t"):
            problem += " (indent with spaces, not tabs)"
        elif "escape" in problem:  # "found unknown escape character 's'" in "$\sigma$"
            problem += f" (LaTeX in double quotes? {QUOTING_FIX})"
        context = error.context or ""
        if context.startswith("while"):  # "... while scanning a quoted scalar"
            message = f"{problem} {context}"
        else:  # "expected a single document in the stream, but found another document"
            message = f"{context}, {problem}" if context else problem
        if mark and "tabs" not in problem and "escape" not in problem:
            message += _markdown_hint(text, mark, problem)
        diagnostics.error(location, f"YAML syntax error: {message}")
        return None
    except yaml.YAMLError as error:
        diagnostics.error(Location(path), f"YAML error: {error}")
        return None
    except RecursionError:
        diagnostics.error(Location(path), "YAML is nested too deeply")
        return None
    finally:
        loader.dispose()
    if node is None:
        return None
    if "&" in text and _report_colon_anchors(text, node, path, diagnostics):
        return None
    if "?" in text and _report_flow_question_marks(text, node, path, diagnostics):
        return None
    return _Builder(path, diagnostics, text).build(node)


#: An anchor (``&name``) at the start of a block value or list item (not in a block's text,
#: where ``&:=`` is LaTeX).
_ANCHOR = re.compile(r"^[ \t]*(?:-[ \t]+)*(?:[\w.-]+:[ \t]+)?&([^\s\[\]{},]+)", re.MULTILINE)


def _report_colon_anchors(text: str, node: yaml.Node, path: Path, diagnostics: Diagnostics) -> bool:
    """Anchor names with ':' (``&an:chor``): YAML 1.2 allows them, but libyaml reads the ':' as
    the end of the name and loads a different value; refuse them where they are written.
    An ``&`` inside a text (``$a &:= b$`` in a block scalar) is text, not an anchor."""
    found = False
    candidates = [m for m in _ANCHOR.finditer(text) if ":" in m.group(1)]
    inside = _scalar_bodies(text, node) if candidates else []
    for match in candidates:
        if not any(start <= match.start() < end for start, end in inside):
            found = True
            start = match.start(1) - 1
            line = text.count("\n", 0, start) + 1
            diagnostics.error(
                Location(path, line, start - text.rfind("\n", 0, start)),
                f"anchor name '&{match.group(1)}' contains ':', which YAML readers disagree "
                "about: rename the anchor without ':' (or, if it is text, put the text in "
                "single quotes)",
            )
    return found


def _scalar_bodies(text: str, root: yaml.Node) -> list[tuple[int, int]]:
    """The character ranges holding the text of each scalar (after any anchor, tag, block
    indicator or opening quote), where an ``&`` cannot start an anchor."""
    bodies, stack, seen = [], [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in node.value for item in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        else:
            start, end = node.start_mark.index, node.end_mark.index
            if node.style in ("|", ">"):
                newline = text.find("\n", start)
                start = end if newline < 0 else newline
            elif node.style in ("'", '"'):
                quote = text.find(node.style, start, end)
                start = end if quote < 0 else quote
            else:
                start += 1  # a plain scalar's first character may be its anchor's '&'
            bodies.append((start, end))
    return bodies


#: A '?' right before a word, where an item of a flow list or mapping starts.
_FLOW_QUESTION = re.compile(r"[\[{,][ \t\n]*(\?)[^ \t\n,\[\]{}]")


def _report_flow_question_marks(
    text: str, root: yaml.Node, path: Path, diagnostics: Diagnostics
) -> bool:
    """``[?x]`` or ``{ ?foo: bar }``: YAML 1.2 reads ``?x`` as text, libyaml as a key
    indicator (``{x: null}``), so the value would silently differ; refuse it where written."""
    spans, stack = [], [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in node.value for item in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        if isinstance(node, yaml.CollectionNode) and node.flow_style:
            spans.append((node.start_mark.index, node.end_mark.index))
    if not spans:
        return False
    inside = _scalar_bodies(text, root)
    found = False
    for start, end in spans:
        for match in _FLOW_QUESTION.finditer(text, start, end):
            at = match.start(1)
            if any(low <= at < high for low, high in inside):
                continue
            found = True
            line = text.count("\n", 0, at) + 1
            diagnostics.error(
                Location(path, line, at - text.rfind("\n", 0, at)),
                "'?' before a word in a [list] or {mapping} is read as text by YAML 1.2 but as "
                "a key by the parser flashgen uses: put the text in quotes ('?x')",
            )
    return found


#: LaTeX commands whose backslash YAML reads as ``\\t`` (tab) or ``\\n`` (newline) in double
#: quotes: written there they are almost certainly math, not a tab or a line break.
_LATEX_T_N = frozenset(
    [
        "times",
        "text",
        "textbf",
        "textit",
        "textrm",
        "texttt",
        "textsf",
        "textstyle",
        "tfrac",
        "tbinom",
        "theta",
        "tau",
        "tan",
        "tanh",
        "tilde",
        "to",
        "top",
        "triangle",
        "triangleq",
        "therefore",
        "tiny",
        "tt",
        "nu",
        "neq",
        "ne",
        "nabla",
        "neg",
        "not",
        "ni",
        "notin",
        "nleq",
        "ngeq",
        "nmid",
        "nparallel",
        "nsubseteq",
        "nexists",
        "nearrow",
        "nwarrow",
        "natural",
        "ncong",
        "nsim",
        "nrightarrow",
        "nleftarrow",
        "newline",
        "nolimits",
        "nonumber",
    ]
)
#: Double-quote escapes that turn a LaTeX command into something else without a YAML error.
_ESCAPE_RESULTS = {
    "a": "a bell (U+0007)", "b": "a backspace (U+0008)", "e": "an escape (U+001B)",
    "f": "a form feed (U+000C)", "r": "a carriage return (U+000D)",
    "v": "a vertical tab (U+000B)", "0": "a null character (U+0000)",
    "t": "a tab", "n": "a line break", "N": "a next-line character (U+0085)",
    "L": "a line separator (U+2028)", "P": "a paragraph separator (U+2029)",
    "_": "a no-break space (U+00A0)",
}  # fmt: skip
_ESCAPE = re.compile(r"\\(\\|[abefrv0tnNLP_])([A-Za-z]*)")
QUOTING_FIX = "write the text in single quotes ('...') or as a block (|), where \\ is kept"


#: A comment right after a plain text whose first word touches the '#' (a hashtag, not a
#: comment like ``# note``).
_CUT_COMMENT = re.compile(r"[ \t]+(#[^\s#])")


def source_position(start: Location, written: str, index: int) -> Location:
    """The location of character ``index`` of ``written``, source text that starts at ``start``."""
    line_start = written.rfind("\n", 0, index)
    if line_start < 0:
        return Location(start.path, start.line, start.column + index)
    return Location(start.path, start.line + written.count("\n", 0, index), index - line_start)


class _TooLarge(Exception):
    pass


class _TooDeep(Exception):
    pass


class _TooLong(Exception):
    def __init__(self, location: Location):
        super().__init__()
        self.location = location


class _Builder:
    def __init__(self, path: Path, diagnostics: Diagnostics, text: str):
        self.path = path
        self.diagnostics = diagnostics
        self.text = text
        self.has_comments = " #" in text
        self.count = 0
        self.chars = 0

    def build(self, node: yaml.Node) -> Any:
        try:
            return self.value(node, depth=0)
        except _TooDeep:
            self.diagnostics.error(
                _location(self.path, node.start_mark),
                f"YAML is nested more than {MAX_DEPTH} levels deep (an alias inside itself?)",
            )
            return None
        except _TooLarge:
            self.diagnostics.error(
                _location(self.path, node.start_mark),
                f"YAML expands to more than {MAX_NODES:,} values (aliases?): refusing to load it",
            )
            return None
        except _TooLong as error:
            self.diagnostics.error(
                error.location,
                f"YAML expands to more than {MAX_LOADED_CHARS:,} characters (the limit per "
                "file, aliases counted each time they are used): refusing to load it",
            )
            return None
        except RecursionError:
            self.diagnostics.error(Location(self.path), "YAML is nested too deeply")
            return None

    def check_length(self, node: yaml.ScalarNode) -> None:
        location = _location(self.path, node.start_mark)
        if self.chars > MAX_LOADED_CHARS:
            raise _TooLong(location)
        self.diagnostics.error(
            location,
            f"this text is {len(node.value):,} characters long; the limit is "
            f"{MAX_TEXT_CHARS:,} per text field: split it or shorten it",
        )

    def check_comment(self, node: yaml.ScalarNode) -> None:
        """Warn when `` #`` cut a plain text short: ``Six #carbons`` loads as ``Six``."""
        end = node.end_mark.index
        line_end = self.text.find("\n", end)
        rest = self.text[end : line_end if line_end >= 0 else len(self.text)]
        match = _CUT_COMMENT.match(rest)
        if match is None:
            return
        hash_mark = node.end_mark.column + match.start(1) + 1
        self.diagnostics.warning(
            Location(self.path, node.end_mark.line + 1, hash_mark),
            f"' #' starts a YAML comment, so '{rest[match.start(1) :].strip()}' is not part of "
            f"the text '{node.value}'; if it should be, {QUOTE_HOW}",
        )

    def check_collection_tag(self, node: yaml.Node) -> None:
        kind = "a mapping" if isinstance(node, yaml.MappingNode) else "a list"
        self.diagnostics.error(
            _location(self.path, node.start_mark),
            f"the YAML tag '{_short_tag(node.tag)}' cannot be used on {kind}: remove it",
        )

    def check_text(self, node: yaml.ScalarNode) -> None:
        """Report control characters in a text value, and LaTeX that double quotes changed."""
        start = _location(self.path, node.start_mark)
        value = node.value
        if node.style == '"':
            written = self.text[node.start_mark.index : node.end_mark.index]
            latex = False
            for match in _ESCAPE.finditer(written) if "\\" in written else ():
                escape, letters = match.groups()
                if escape == "\\" or (escape in "tn" and escape + letters not in _LATEX_T_N):
                    continue
                if escape in "NLP" and not letters:
                    continue
                latex = True
                command = "\\" + escape + letters
                self.diagnostics.error(
                    source_position(start, written, match.start()),
                    f"'{command}' in double quotes: YAML reads '\\{escape}' as "
                    f"{_ESCAPE_RESULTS[escape]}, so students would not see '{command}'; "
                    f"{QUOTING_FIX}",
                )
            if latex:
                return
        match = CONTROL_CHARACTERS.search(value)
        if match is not None:
            where = locate_offset(start, _text_source(node, self.text), match.start())
            self.diagnostics.error(
                where,
                f"{describe_character(match.group())} in the text (written as an escape in "
                "double quotes?): remove it",
            )

    def value(self, node: yaml.Node, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge
        if depth > MAX_DEPTH:
            raise _TooDeep
        if (
            (not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS)
            or (isinstance(node, yaml.SequenceNode) and node.tag == _MAP)
            or (isinstance(node, yaml.MappingNode) and node.tag == _SEQ)
        ):
            self.check_collection_tag(node)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            items = YamlList(self.value(item, depth + 1) for item in node.value)
            items.location = _location(self.path, node.start_mark)
            items.item_marks = tuple(
                (item.start_mark.line + 1, item.start_mark.column + 1) for item in node.value
            )
            items.text_sources = {
                index: _text_source(item, self.text)
                for index, item in enumerate(node.value)
                if type(items[index]) is str
                and (item.style or item.start_mark.line != item.end_mark.line)
            }
            items.number_texts = {
                index: item.value
                for index, item in enumerate(node.value)
                if type(items[index]) is int or type(items[index]) is float
            }
            return items
        return self.scalar(node)

    def mapping(self, node: yaml.MappingNode, depth: int) -> YamlMap:
        result = YamlMap()
        result.location = _location(self.path, node.start_mark)
        result.key_locations = {}
        result.value_locations = {}
        result.text_sources = {}
        result.text_lists = {}
        result.number_texts = {}
        for key_node, value_node in node.value:
            key_location = _location(self.path, key_node.start_mark)
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.diagnostics.error(key_location, "merge keys ('<<') are not supported")
                continue
            key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.diagnostics.error(key_location, "keys must be plain words like 'title'")
                continue
            if key in result:
                first = result.key_locations[key]
                self.diagnostics.error(
                    key_location, f"duplicate key '{key}' (first defined on line {first.line})"
                )
                continue
            value = result[key] = self.value(value_node, depth + 1)
            if type(value) is str and (
                value_node.style or value_node.start_mark.line != value_node.end_mark.line
            ):
                result.text_sources[key] = _text_source(value_node, self.text)
            elif type(value) is YamlList and value and type(value[0]) is str:
                result.text_lists[key] = (value.item_marks, value.text_sources)
            elif type(value) is int or type(value) is float:
                result.number_texts[key] = value_node.value
            result.key_locations[key] = key_location
            result.value_locations[key] = _location(self.path, value_node.start_mark)
        return result

    def scalar(self, node: yaml.ScalarNode) -> Any:
        value, tag = node.value, node.tag
        self.chars += len(value)
        if len(value) > MAX_TEXT_CHARS or self.chars > MAX_LOADED_CHARS:
            self.check_length(node)
        if tag == _STR:
            if node.style == '"' or CONTROL_CHARACTERS.search(value):
                self.check_text(node)
            elif self.has_comments and not node.style:
                self.check_comment(node)
            return value
        start = node.start_mark.index
        if tag == "!" or (tag != _STR and self.text[start : start + 2] in ("! ", "!\t", "!\n")):
            return value  # `! 12`: the non-specific tag makes it text
        pattern = _CORE_PATTERNS.get(tag)
        if pattern is None:
            self.diagnostics.error(
                _location(self.path, node.start_mark),
                f"unsupported YAML tag '{_short_tag(tag)}': write plain text, lists and mappings "
                "(if it is part of the text, put the whole text in single quotes)",
            )
            return value
        if not pattern.fullmatch(value):
            self.diagnostics.error(
                _location(self.path, node.start_mark),
                f"'{value}' is not a valid {_TAG_NAMES[tag]} for the tag '{_short_tag(tag)}' "
                f"(YAML 1.2 core schema: {_TAG_FORMS[tag]}); remove the tag to keep the text",
            )
            return value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return value.lower() == "true"
        if tag == _INT:
            if value.startswith(("0o", "0x")):
                return int(value[2:], 8 if value[1] == "o" else 16)
            return int(value)
        lower = value.lower()
        if lower.endswith(".inf"):
            return -math.inf if lower.startswith("-") else math.inf
        if lower == ".nan":
            return math.nan
        return float(value)
