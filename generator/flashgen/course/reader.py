"""Turn a course folder into a :class:`~.model.Course`, reporting every invalid value.

Each file is validated on its own against :mod:`flashgen.course.schema`; checks that need the whole
course (references, cycles, duplicates) live in :mod:`flashgen.course.checks`.
"""

from __future__ import annotations

import bisect
import difflib
import math
import os
import re
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

from flashgen.course import schema
from flashgen.course.coursefiles import outside_problem
from flashgen.course.loader import PLAIN_LINE, YamlList, YamlMap, load_yaml, locate_offset
from flashgen.course.model import (
    Basic,
    Chapter,
    Cloze,
    Concept,
    Course,
    MultipleChoice,
    Question,
    Reference,
    TrueFalse,
)
from flashgen.course.quality import DEFAULT_CONFIG, RULES, QualityConfig, rule_hint
from flashgen.course.quality import read_config as read_quality_config
from flashgen.diagnostics import Diagnostics, Location

COURSE_FILE = "course.yaml"
YAML_SUFFIXES = (".yaml", ".yml")
#: Folders of a course that never hold concept files.
SKIPPED_FOLDERS = frozenset({"templates", "output", "node_modules", "__pycache__"})

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


class _Fields:
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


class FieldLocations(dict[str, Location]):
    """Where each value of a mapping starts, and where any character of its text was written.

    Offsets count in the text as the model stores it (stripped of surrounding white space).
    Keeps only what locating needs, not the mapping: the model lives as long as the build,
    and every object it keeps alive slows Python's garbage collector on a large course.
    """

    __slots__ = ("_lists", "_texts")

    def __init__(self, mapping: YamlMap):
        super().__init__(mapping.value_locations)
        self._texts = mapping.text_sources
        self._lists = mapping.text_lists

    def locate(self, key: str, offset: int, index: int | None = None) -> Location | None:
        """Where character ``offset`` of the value of ``key`` (or of its item ``index``) was
        written; ``None`` for a key that was not written."""
        items = self._lists.get(key)
        if items is not None and index is not None and key in self:
            marks, sources = items
            if not 0 <= index < len(marks):
                return None
            start = Location(self[key].path, *marks[index])
            source = sources.get(index, PLAIN_LINE)
        elif key in self:
            start, source = self[key], self._texts.get(key, PLAIN_LINE)
        else:
            return None
        text = source[2]
        return locate_offset(start, source, offset + len(text) - len(text.lstrip()))


def _require_mapping(value: Any, location: Location, what: str, diag: Diagnostics) -> bool:
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


#: Reads one concept file on its own, as :func:`read_concept_file` does (a memo may stand in).
ConceptFileReader = Callable[
    [Path, Diagnostics], tuple[Concept | None, tuple[str, Location] | None]
]


def read_course(
    root: Path, exclude: Iterable[Path] = (), read_file: ConceptFileReader | None = None
) -> tuple[Course | None, Diagnostics]:
    """Read and validate every file of the course in ``root``; ``read_file`` reads one concept
    file (the preview server passes one that reuses what an unchanged file gave last time)."""
    diag = Diagnostics()
    course_file = find_course_file(root, diag)
    if course_file is None:
        return None, diag

    header = read_course_header(course_file, diag)
    chapters = header["chapters"] if header else ()
    chapter_ids = {chapter.id for chapter in chapters}
    concepts = []
    unreadable = set()
    read = read_file or read_concept_file
    for path in find_concept_files(root, exclude, diag):
        concept, chapter = read(path, diag)
        if chapter is not None and header is not None:
            check_chapter(*chapter, chapter_ids, diag)
        if concept is not None:
            concepts.append(concept)
        else:
            unreadable.add(path.stem)
    if header is None:
        return None, diag
    course = Course(
        id=header["id"],
        title=header["title"],
        tags=header["tags"],
        chapters=chapters,
        concepts=tuple(concepts),
        root=root,
        location=Location(course_file, 1, 1),
        quality=header["quality"],
        unreadable=frozenset(unreadable),
    )
    return course, diag


def find_course_file(root: Path, diag: Diagnostics) -> Path | None:
    """``root/course.yaml``, or ``None`` with an error when ``root`` is not a course folder."""
    if not root.exists():
        diag.error(Location(root), "course folder does not exist")
        return None
    if not root.is_dir():
        diag.error(Location(root), "is not a folder: give the folder that holds course.yaml")
        return None
    course_file = root / COURSE_FILE
    if not os.path.lexists(course_file):
        diag.error(Location(course_file), "course.yaml not found: is this a course folder?")
        return None
    problem = outside_problem(course_file, root)
    if problem:
        diag.error(Location(course_file), problem)
        return None
    return course_file


def read_course_header(path: Path, diag: Diagnostics) -> dict[str, Any] | None:
    """course.yaml's id, title, tags and chapters; ``None`` when it has errors."""
    data = load_yaml(path, diag)
    if data is None and diag.has_errors:
        return None
    if not _require_mapping(data, Location(path), "course.yaml", diag):
        return None
    fields = _Fields(data, schema.COURSE_KEYS, "course.yaml", diag)
    fields.check_keys()
    values = {key: fields.get(key) for key in ("id", "title", "tags", "quality")}
    _warn_html_in_deck_name(data, diag)
    chapters = _read_chapters(data, fields, diag) if "chapters" in data else ()
    if not fields.ok or chapters is None:
        return None
    return {**values, "chapters": chapters}


def _warn_html_in_deck_name(data: YamlMap, diag: Diagnostics) -> None:
    from flashgen.render.markdown import deck_name_text

    title = data.get("title")
    if not isinstance(title, str):
        return
    for offset, tag in deck_name_text(title)[1]:
        diag.warning(
            data.offset_location("title", offset),
            f"{tag} is left out of the Anki deck name this title gives (deck names are plain "
            "text); cards and PDFs show the title as written",
        )


def _read_chapters(data: YamlMap, fields: _Fields, diag: Diagnostics) -> tuple[Chapter, ...] | None:
    items = fields._list("chapters", data["chapters"])
    if items is None:
        return None
    if not items:
        fields.error("chapters", "'chapters' must list at least one chapter")
        return None
    chapters: list[Chapter] = []
    seen: dict[str, Chapter] = {}
    for index, item in enumerate(items):
        location = items.item_location(index)
        if not _require_mapping(item, location, f"chapter {index + 1}", diag):
            fields.ok = False
            continue
        chapter_fields = _Fields(item, schema.CHAPTER_KEYS, f"chapter {index + 1}", diag)
        chapter_fields.check_keys()
        chapter_id, title = chapter_fields.get("id"), chapter_fields.get("title")
        if not chapter_fields.ok:
            fields.ok = False
            continue
        if chapter_id in seen:
            diag.error(
                item.value_location("id"),
                f"duplicate chapter id '{chapter_id}' "
                f"(first used on line {seen[chapter_id].location.line})",
            )
            fields.ok = False
            continue
        _warn_html_in_deck_name(item, diag)
        chapter = Chapter(chapter_id, title, len(chapters), item.value_location("id"))
        seen[chapter_id] = chapter
        chapters.append(chapter)
    return tuple(chapters)


def find_concept_files(root: Path, exclude: Iterable[Path], diag: Diagnostics) -> list[Path]:
    """Every YAML file below ``root`` except course.yaml, in a stable (sorted) order."""
    return [path for _, path in find_concept_files_named(root, exclude, diag)]


def find_concept_files_named(
    root: Path, exclude: Iterable[Path], diag: Diagnostics
) -> list[tuple[str, Path]]:
    """:func:`find_concept_files`, each with its path relative to ``root`` in POSIX form.

    Walks with :func:`os.scandir` (as :func:`os.walk` does, without following links) so that
    telling links from files costs no system call per file on a course of 50,000 files.
    """
    excluded = {path.resolve() for path in exclude}
    real_root = root.resolve()
    found: list[tuple[str, Path]] = []  # (path relative to root, as posix: the sort key)
    folders: list[tuple[Path, str]] = [(root, "")]
    while folders:
        here, prefix = folders.pop()
        try:
            entries = list(os.scandir(here))
        except OSError:
            continue
        dirnames, files = [], []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            (dirnames if is_dir else files).append(entry)
        kept = sorted(
            entry.name
            for entry in dirnames
            if not entry.name.startswith(".")
            and not (here == root and entry.name in SKIPPED_FOLDERS)
            and (here / entry.name).resolve() not in excluded
            and not _is_linked_folder(here / entry.name, real_root, diag)
        )
        folders.extend((here / name, f"{prefix}{name}/") for name in reversed(kept))
        for entry in files:
            name = entry.name
            if not name.endswith(YAML_SUFFIXES) or name.startswith("."):
                continue
            if here == root and name == COURSE_FILE:
                continue
            path = here / name
            if entry.is_symlink():
                try:
                    target = path.resolve()
                except (OSError, RuntimeError):  # a loop of links (RuntimeError before 3.13)
                    diag.error(Location(path), "symbolic link loop: cannot read the file")
                    continue
                if not target.is_relative_to(real_root):
                    diag.error(
                        Location(path),
                        f"symbolic link points outside the course folder (to {target}); "
                        "copy the file into the course instead",
                    )
                    continue
            found.append((prefix + name, path))
    found.sort(key=lambda item: item[0])
    return found


def _is_linked_folder(path: Path, real_root: Path, diag: Diagnostics) -> bool:
    """Symbolic links to folders are not followed: inside the course their files are read
    under their real path; outside it they would pull in files nobody reviewed."""
    if not path.is_symlink():
        return False
    try:
        target = path.resolve()
    except (OSError, RuntimeError):
        target = None
    if target is None or not target.is_relative_to(real_root):
        diag.error(
            Location(path),
            f"symbolic link to a folder outside the course (to {target}); "
            "copy the files into the course instead",
        )
    return True


def check_chapter(
    chapter: str, location: Location, chapter_ids: Collection[str], diag: Diagnostics
) -> None:
    """Report a concept's chapter that course.yaml does not list."""
    if chapter not in chapter_ids:
        hint = (
            did_you_mean(chapter, chapter_ids)
            or f"; chapters are: {', '.join(sorted(chapter_ids))}"
        )
        diag.error(location, f"unknown chapter '{chapter}'{hint}")


def read_concept_file(
    path: Path, diag: Diagnostics, content: bytes | None = None
) -> tuple[Concept | None, tuple[str, Location] | None]:
    """One concept file on its own: the concept (``None`` without a valid id) and its chapter.

    Whether the chapter exists is a question for the whole course (:func:`check_chapter`), so
    that the result depends on this file alone and can be cached or computed in parallel.
    """
    data = load_yaml(path, diag, content)
    if data is None and diag.has_errors and _has_error_for(diag, path):
        return None, None
    if not _require_mapping(data, Location(path), "a concept file", diag):
        return None, None
    fields = _Fields(data, schema.CONCEPT_KEYS, "a concept", diag)
    fields.check_keys()
    values = {
        key.name: fields.get(key.name) for key in schema.CONCEPT_KEYS if key.name != "questions"
    }
    chapter = values["chapter"]
    chapter_ref = None if chapter is None else (chapter, data.value_location("chapter"))
    questions = _read_questions(data, fields, diag)
    if values["id"] is None:
        return None, chapter_ref
    # A concept with other invalid fields is kept (its errors are already reported) so that
    # concepts naming it as a prerequisite are not also reported as broken.
    concept = Concept(
        id=values["id"],
        title=values["title"] or "",
        chapter=chapter or "",
        prerequisites=values["prerequisites"] or (),
        related=values["related"] or (),
        tags=values["tags"] or (),
        summary=values["summary"] or "",
        questions=questions,
        path=path,
        location=data.value_location("id"),
        chapter_location=data.value_location("chapter"),
        field_locations=FieldLocations(data),
    )
    _warn_placeholders(concept, diag)
    return concept, chapter_ref


PLACEHOLDER = "TODO"


def _warn_placeholders(concept: Concept, diag: Diagnostics) -> None:
    """Stubs written by ``flashgen new`` start with TODO: they must not reach students. Each
    is reported where it is written, so an editor can jump from one to the next."""
    texts = [("title", concept.title, concept.where("title", 0))]
    texts.append(("summary", concept.summary, concept.where("summary", 0)))
    for question in concept.questions:
        for key in ("question", "statement", "front", "back", "text", "explanation"):
            text = getattr(question, key, None)
            if isinstance(text, str):
                texts.append((key, text, question.where(key, 0)))
        if isinstance(question, MultipleChoice):
            for key in ("correct", "distractors"):
                choices = getattr(question, key)
                for index, text in enumerate(choices):
                    item = index if len(choices) > 1 else None
                    texts.append((key, text, question.where(key, 0, item)))
    for key, text, location in texts:
        if text.startswith(PLACEHOLDER):
            diag.warning(location, f"'{key}' is still a {PLACEHOLDER} placeholder")


CLOZE = re.compile(r"\{\{c\d+::.*?\}\}", re.DOTALL)


#: Anything that looks like the start of a cloze deletion, well written or not.
_CLOZE_OPENING = re.compile(r"(\{{1,2})(\s*)([cC])(\s*)(\d+)(\s*)(:{1,2})")
_CLOSE = re.compile(r"\}\}")


def cloze_syntax_problems(text: str) -> list[tuple[int, str]]:
    """Each malformed cloze deletion in ``text``: its offset and what is wrong with it."""
    problems = []
    closes = [m.start() for m in _CLOSE.finditer(text)]
    for match in _CLOZE_OPENING.finditer(text):
        braces, space1, letter, space2, number, space3, colons = match.groups()
        start = match.start()
        if len(braces) == 2 and start > 0 and text[start - 1] == "{":
            continue  # three braces: not a cloze opening
        written = match.group()
        problem = ""
        if len(braces) == 1:
            problem = "starts with one brace; write two: {{c1::"
        elif letter == "C":
            problem = "has an upper-case C, which Anki does not read; write {{c1::"
        elif space1 or space2 or space3:
            problem = "has spaces inside; write {{c1:: without spaces"
        elif len(colons) == 1:
            problem = "has one colon after the number; write two: {{c1::"
        elif int(number) == 0:
            problem = "is numbered 0; cloze numbers start at 1: {{c1::"
        else:
            after = bisect.bisect_left(closes, match.end())
            following = _CLOZE_OPENING.search(text, match.end())
            if after == len(closes) or (
                following is not None
                and following.start() < closes[after]
                and not _nested(closes, after, following.start())
            ):
                problem = "is never closed; end the hidden text with }}"
        if problem:
            problems.append((start, f"cloze deletion '{written}' {problem}"))
    return problems


def _nested(closes: list[int], after: int, end: int) -> bool:
    """Whether the deletion whose first possible "}}" is ``closes[after]`` holds the one
    opening at ``end`` (Anki allows a deletion inside another one)."""
    return len(closes) - bisect.bisect_left(closes, end) >= 2 and closes[after] > end


def _check_cloze_syntax(item: YamlMap, text: str, diag: Diagnostics) -> bool:
    """Report malformed cloze deletions, each where it was written; whether there were any."""
    problems = cloze_syntax_problems(text)
    if problems:
        where = FieldLocations(item)
        for offset, message in problems:
            diag.error(where.locate("text", offset) or item.value_location("text"), message)
    return bool(problems)


def _has_cloze(text: str) -> bool:
    """Whether ``text`` holds a deletion; searched only up to the last "}}", which keeps it
    linear (each "{{c1::" with no "}}" after it would otherwise scan to the end)."""
    return CLOZE.search(text, 0, text.rfind("}}") + 2) is not None


def normalize_choice(text: str) -> str:
    return " ".join(text.split()).casefold()


def _check_choices(item: YamlMap, diag: Diagnostics) -> None:
    """Report choices that make a multiple-choice question ambiguous."""
    seen: dict[str, tuple[str, Location]] = {}

    def entries(key: str) -> list[tuple[str, Location]]:
        value = item.get(key)
        if isinstance(value, YamlList):
            written = value.number_texts
            return [
                (written.get(i, text), value.item_location(i))
                for i, text in enumerate(value)
                if isinstance(written.get(i, text), str)
            ]
        value = item.number_texts.get(key, value)
        return [(value, item.value_location(key))] if isinstance(value, str) else []

    if not item.get("distractors"):
        diag.error(
            item.value_location("distractors"),
            "a multiple-choice question needs at least one distractor (a wrong choice)",
        )
    for key in ("correct", "distractors"):
        for text, location in entries(key):
            norm = normalize_choice(text)
            if norm not in seen:
                seen[norm] = (key, location)
                continue
            first_key, first = seen[norm]
            if first_key == "correct" and key == "distractors":
                message = f"correct answer '{text.strip()}' is also listed as a distractor"
            else:
                message = f"duplicated choice '{text.strip()}' (also on line {first.line})"
            diag.error(location, message)


def _has_error_for(diag: Diagnostics, path: Path) -> bool:
    return any(d.location.path == path and d.severity == "error" for d in diag.items)


#: Most questions one concept may hold (a concept with many more is several concepts).
MAX_QUESTIONS = 500


def _read_questions(data: YamlMap, fields: _Fields, diag: Diagnostics) -> tuple[Question, ...]:
    items = fields.get("questions")
    if items is None:
        return ()
    if len(items) > MAX_QUESTIONS:
        fields.error(
            "questions",
            f"{len(items):,} questions in one concept; the limit is {MAX_QUESTIONS:,}: "
            "split the concept into several",
        )
        return ()
    questions: list[Question] = []
    seen: dict[str, Location] = {}
    for index, item in enumerate(items):
        location = items.item_location(index)
        what = f"question {index + 1}"
        if not _require_mapping(item, location, what, diag):
            continue
        question = _read_question(item, what, diag)
        if question is None:
            continue
        if question.id in seen:
            diag.error(
                item.value_location("id"),
                f"duplicate question id '{question.id}' in this concept "
                f"(first used on line {seen[question.id].line})",
            )
            continue
        seen[question.id] = question.location
        questions.append(question)
    return tuple(questions)


def _read_question(item: YamlMap, what: str, diag: Diagnostics) -> Question | None:
    kind = item.get("type")
    if not isinstance(kind, str) or kind not in schema.QUESTION_KEYS:
        if "type" not in item:
            diag.error(item.location, f"{what} is missing the required key 'type'")
        elif not isinstance(kind, str):
            diag.error(item.value_location("type"), f"'type' must be text, not {describe(kind)}")
        else:
            hint = did_you_mean(kind, schema.QUESTION_TYPES)
            hint = hint or f"; expected one of: {', '.join(schema.QUESTION_TYPES)}"
            diag.error(item.value_location("type"), f"unknown question type '{kind}'{hint}")
        fields = _Fields(item, schema.QUESTION_COMMON_KEYS, what, diag)
        if "id" in item:
            fields.get("id")
        return None
    keys = schema.QUESTION_COMMON_KEYS + schema.QUESTION_KEYS[kind]
    fields = _Fields(item, keys, f"{what} ({kind})", diag)
    fields.check_keys()
    values = {key.name: fields.get(key.name) for key in keys if key.name != "type"}
    if kind == "multiple-choice" and fields.ok:
        _check_choices(item, diag)
    if kind == "cloze" and values.get("text") and _check_cloze_syntax(item, values["text"], diag):
        fields.ok = False
    elif kind == "cloze" and values.get("text") and not _has_cloze(values["text"]):
        fields.error(
            "text",
            "cloze text has no deletion: mark what to hide as {{c1::hidden text}}",
        )
    question = None
    if fields.ok:
        common = {"id": values.pop("id"), "explanation": values.pop("explanation"),
                  "allow": values.pop("allow"),
                  "location": item.value_location("id"),
                  "field_locations": FieldLocations(item)}  # fmt: skip
        if kind == "multiple-choice":
            question = MultipleChoice(**common, **values)
        elif kind == "true-false":
            question = TrueFalse(**common, **values)
        elif kind == "basic":
            question = Basic(**common, **values)
        else:
            question = Cloze(**common, **values)
    return question
