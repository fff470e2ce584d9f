"""Reading the values of a course file's mapping: each key checked against the schema, each
value against its type and rules, every problem a located diagnostic with a did-you-mean or a
quoting hint; and where each field was written (:class:`FieldLocations`)."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from flashgen.course import schema
from flashgen.course.model import Reference
from flashgen.course.positions import PLAIN_LINE, TextSource, YamlList, YamlMap, locate_offset
from flashgen.course.quality import DEFAULT_CONFIG, RULES, QualityConfig, rule_hint
from flashgen.course.quality import read_config as read_quality_config
from flashgen.diagnostics import Diagnostics, Location

_ID = re.compile(r"[^\W_][\w.-]*")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def slug(text: str) -> str:
    return re.sub(r"[^\w.]+", "-", text.strip().lower()).strip("-_.") or "id"


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "text"


def quote_hint(value: Any) -> str:
    if isinstance(value, bool):
        return f'; put it in quotes if you mean the text: "{str(value).lower()}"'
    if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
        return f'; put it in quotes if you mean the text: "{value}"'
    return ""


class FieldReader:
    """Validated access to one YAML mapping against a list of :class:`schema.Key`."""

    def __init__(self, mapping: YamlMap, keys: Iterable[schema.Key], what: str, diag: Diagnostics):
        self.mapping = mapping
        self.keys = {key.name: key for key in keys}
        self.what = what
        self.diag = diag
        self.ok = True

    def check_keys(self, extra_allowed: Iterable[str] = ()) -> None:
        """Unknown and missing keys; a misspelt required key is one error, not two."""
        allowed = [*self.keys, *extra_allowed]
        misspelt = set()
        for name in self.mapping:
            if name not in allowed:
                hint = did_you_mean(name, allowed) or f"; expected one of: {', '.join(allowed)}"
                self.diag.error(
                    self.mapping.key_location(name), f"unknown key '{name}' in {self.what}{hint}"
                )
                misspelt.update(difflib.get_close_matches(name, allowed, n=1, cutoff=0.6))
        for key in self.keys.values():
            if key.name in misspelt:
                self.ok = False
            elif key.required and key.name not in self.mapping:
                self.ok = False
                self.diag.error(
                    self.mapping.location, f"{self.what} is missing the required key '{key.name}'"
                )

    def error(self, name: str, message: str) -> None:
        self.ok = False
        self.diag.error(self.mapping.value_location(name), message)

    def get(self, name: str) -> Any:
        """The validated value of key ``name``, or ``None`` (and ``self.ok = False``)."""
        key = self.keys[name]
        if name not in self.mapping:
            return _DEFAULTS.get(key.type)
        value = self.mapping[name]
        return getattr(self, "_" + key.type.replace("-", "_"))(name, value)

    def _text(self, name: str, value: Any) -> str | None:
        if _is_number(value):  # `correct: 1.50`: the text as written, not the number 1.5
            value = self.mapping.number_texts.get(name, value)
        if not isinstance(value, str):
            if value is None:
                self.error(name, f"'{name}' is empty")
            else:
                self.error(name, f"'{name}' must be text, not {describe(value)}{quote_hint(value)}")
            return None
        if not value.strip():
            self.error(name, f"'{name}' must not be empty")
            return None
        return value.strip()

    _markdown = _text

    def _id(self, name: str, value: Any) -> str | None:
        if _is_number(value):
            self.error(name, f"'{name}' must be text, not {describe(value)}{quote_hint(value)}")
            return None
        text = self._text(name, value)
        if text is None:
            return None
        problem = id_problem(text)
        if problem:
            self.error(name, f"{name} {problem}")
            return None
        return text

    def _boolean(self, name: str, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        hint = ""
        word = value.strip().lower() if isinstance(value, str) else ""
        if word in ("true", "false"):
            hint = f"; write {word} without quotes"
        elif word in _BOOLEAN_WORDS:
            hint = f"; write {_BOOLEAN_WORDS[word]} (only true and false are booleans)"
        self.error(name, f"'{name}' must be true or false, not {describe(value)}{hint}")
        return None

    def _list(self, name: str, value: Any) -> YamlList | None:
        if value is None:
            return YamlList()
        if not isinstance(value, list):
            self.error(name, f"'{name}' must be a list, like [a, b], not {describe(value)}")
            return None
        return value

    def _items(self, name: str, value: Any, check: Any) -> tuple[Any, ...] | None:
        items = self._list(name, value)
        if items is None:
            return None
        result = []
        for index, item in enumerate(items):
            location = items.item_location(index)
            problem = check(item)
            if problem:
                self.ok = False
                self.diag.error(location, f"'{name}' item {index + 1} {problem}")
            else:
                result.append((item.strip(), location))
        return tuple(result)

    _questions = _list

    def _id_list(self, name: str, value: Any) -> tuple[Reference, ...] | None:
        items = self._items(name, value, lambda item: _text_problem(item) or id_problem(item))
        if items is None:
            return None
        return tuple(Reference(text, location) for text, location in items)

    def _tag_list(self, name: str, value: Any) -> tuple[str, ...] | None:
        items = self._items(name, value, lambda item: _text_problem(item) or tag_problem(item))
        return None if items is None else tuple(text for text, _ in items)

    def _text_list(self, name: str, value: Any) -> tuple[str, ...] | None:
        if isinstance(value, YamlList) and value.number_texts:
            written = YamlList(value.number_texts.get(i, item) for i, item in enumerate(value))
            written.location, written.item_marks = value.location, value.item_marks
            value = written
        items = self._items(name, value, _text_problem)
        return None if items is None else tuple(text for text, _ in items)

    def _rule_list(self, name: str, value: Any) -> tuple[str, ...] | None:
        items = self._items(name, value, lambda item: _text_problem(item) or _rule_problem(item))
        return None if items is None else tuple(text for text, _ in items)

    def _quality(self, name: str, value: Any) -> QualityConfig | None:
        config = read_quality_config(value, self.diag, self.mapping.value_location(name))
        if config is None:
            self.ok = False
        return config

    def _answers(self, name: str, value: Any) -> tuple[str, ...] | None:
        if isinstance(value, list):
            answers = self._text_list(name, value)
            if answers is not None and not answers:
                self.error(name, f"'{name}' lists no correct answer")
                return None
            return answers
        text = self._text(name, value)
        return None if text is None else (text,)


_DEFAULTS: dict[str, Any] = {
    "id-list": (),
    "tag-list": (),
    "text-list": (),
    "markdown": "",
    "questions": YamlList(),
    "rule-list": (),
    "quality": DEFAULT_CONFIG,
}
_BOOLEAN_WORDS = {"yes": "true", "no": "false", "on": "true", "off": "false"}


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _text_problem(value: Any) -> str:
    if isinstance(value, str):
        return "" if value.strip() else "must not be empty"
    return f"must be text, not {describe(value)}{quote_hint(value)}"


def _rule_problem(text: str) -> str:
    name = text.strip()
    return "" if name in RULES else f"names an unknown quality rule '{name}'{rule_hint(name)}"


def id_problem(text: str) -> str:
    """Why ``text`` is not a valid id, or an empty string."""
    if any(ch.isspace() for ch in text):
        return f"'{text}' cannot contain spaces; write it as '{slug(text)}'"
    if text != text.lower():
        return (
            f"'{text}' must be lower case (ids become case-insensitive Anki tags); "
            f"write '{slug(text)}'"
        )
    if not _ID.fullmatch(text):
        return (
            f"'{text}' may hold only letters, digits, '-', '_' and '.', starting with a letter or "
            f"digit; write '{slug(text)}'"
        )
    return ""


def tag_problem(text: str) -> str:
    if any(ch.isspace() for ch in text):
        return (
            f"'{text}' cannot contain spaces (Anki separates tags with spaces); "
            f"write '{slug(text)}'"
        )
    if '"' in text:
        return f"'{text}' cannot contain quotes"
    if any(ch in "<>&" for ch in text):
        return f"'{text}' cannot contain <, > or & (Anki and the preview show tags as HTML)"
    return ""


class FieldLocations(Mapping[str, Location]):
    """Where each value of a mapping starts, and where any character of its text was written.

    Offsets count in the text as the model stores it (stripped of surrounding white space).
    Keeps only what locating needs, not the mapping, and packed: the file's path once, the
    keys and their lines and columns as two tuples (each :class:`Location` is made when asked
    for). The model lives as long as the build, and a large course has hundreds of thousands
    of these positions: as objects they were the largest part of its memory.
    """

    __slots__ = ("_keys", "_lists", "_marks", "_path", "_texts")

    _path: Path | None
    _keys: tuple[str, ...]
    _marks: tuple[int, ...]
    _texts: dict[str, TextSource] | None
    _lists: dict[str, tuple[tuple[tuple[int, int], ...], dict[int, TextSource]]] | None

    def __init__(self, mapping: YamlMap):
        locations = mapping.value_locations
        #: One file's mapping: every position is in the same file.
        self._path = next(iter(locations.values())).path if locations else None
        self._keys = tuple(locations)
        self._marks = tuple(n for loc in locations.values() for n in (loc.line, loc.column))
        self._texts = mapping.text_sources or None
        self._lists = mapping.text_lists or None

    @classmethod
    def _restore(cls, path: Path | None, keys: tuple[str, ...], marks: tuple[int, ...],
                 texts: dict[str, TextSource] | None, lists: Any) -> FieldLocations:  # fmt: skip
        self = cls.__new__(cls)
        self._path, self._keys, self._marks, self._texts, self._lists = (
            path,
            keys,
            marks,
            texts,
            lists,
        )
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return FieldLocations._restore, (
            self._path, self._keys, self._marks, self._texts, self._lists
        )  # fmt: skip

    def __getitem__(self, key: str) -> Location:
        try:
            index = self._keys.index(key)
        except ValueError:
            raise KeyError(key) from None
        assert self._path is not None
        return Location(self._path, self._marks[2 * index], self._marks[2 * index + 1])

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FieldLocations({dict(self.items())!r})"

    def locate(self, key: str, offset: int, index: int | None = None) -> Location | None:
        """Where character ``offset`` of the value of ``key`` (or of its item ``index``) was
        written; ``None`` for a key that was not written."""
        items = self._lists.get(key) if self._lists else None
        if key not in self:
            return None
        start = self[key]
        if items is not None and index is not None:
            marks, sources = items
            if not 0 <= index < len(marks):
                return None
            start = Location(start.path, *marks[index])
            source = sources.get(index, PLAIN_LINE)
        elif self._texts:
            source = self._texts.get(key, PLAIN_LINE)
        else:
            source = PLAIN_LINE
        text = source[2]
        return locate_offset(start, source, offset + len(text) - len(text.lstrip()))


def require_mapping(value: Any, location: Location, what: str, diag: Diagnostics) -> bool:
    if isinstance(value, YamlMap):
        return True
    if value is not None or location.line:
        diag.error(
            location,
            f"{what} must be a mapping of keys like 'id:' and 'title:', not {describe(value)}",
        )
    else:
        diag.error(location, f"{what} is empty")
    return False
