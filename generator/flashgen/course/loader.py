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
from flashgen.course.positions import (
    YamlList,
    YamlMap,
    locate_offset,
    source_position,
    text_source,
)
from flashgen.course.yaml_pitfalls import (
    CONTROL_CHARACTERS,
    CUT_COMMENT,
    ESCAPE,
    ESCAPE_RESULTS,
    LATEX_T_N,
    QUOTE_HOW,
    QUOTING_FIX,
    UNPRINTABLE,
    describe_character,
    markdown_hint,
    report_colon_anchors,
    report_flow_question_marks,
    report_unprintable,
)
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


def parse_yaml(text: str, path: Path, diagnostics: Diagnostics) -> Any:
    if UNPRINTABLE.search(text) and report_unprintable(text, path, diagnostics):
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
            message += markdown_hint(text, mark, problem)
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
    if "&" in text and report_colon_anchors(text, node, path, diagnostics):
        return None
    if "?" in text and report_flow_question_marks(text, node, path, diagnostics):
        return None
    return _Builder(path, diagnostics, text).build(node)


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
        match = CUT_COMMENT.match(rest)
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
            for match in ESCAPE.finditer(written) if "\\" in written else ():
                escape, letters = match.groups()
                if escape == "\\" or (escape in "tn" and escape + letters not in LATEX_T_N):
                    continue
                if escape in "NLP" and not letters:
                    continue
                latex = True
                command = "\\" + escape + letters
                self.diagnostics.error(
                    source_position(start, written, match.start()),
                    f"'{command}' in double quotes: YAML reads '\\{escape}' as "
                    f"{ESCAPE_RESULTS[escape]}, so students would not see '{command}'; "
                    f"{QUOTING_FIX}",
                )
            if latex:
                return
        match = CONTROL_CHARACTERS.search(value)
        if match is not None:
            where = locate_offset(start, text_source(node, self.text), match.start())
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
                index: text_source(item, self.text)
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
                result.text_sources[key] = text_source(value_node, self.text)
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
