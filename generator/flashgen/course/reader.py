"""Turn a course folder into a :class:`~.model.Course`, reporting every invalid value.

Each file is validated on its own against :mod:`flashgen.course.schema`; checks that need the whole
course (references, cycles, duplicates) live in :mod:`flashgen.course.checks`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

from flashgen.course import schema
from flashgen.course.coursefiles import outside_problem
from flashgen.course.fields import FieldLocations, FieldReader, did_you_mean, require_mapping
from flashgen.course.loader import load_yaml
from flashgen.course.model import (
    Chapter,
    Concept,
    Course,
    MultipleChoice,
)
from flashgen.course.positions import YamlMap
from flashgen.course.questions import read_questions
from flashgen.diagnostics import Diagnostics, Location

COURSE_FILE = "course.yaml"
YAML_SUFFIXES = (".yaml", ".yml")
#: Folders of a course that never hold concept files.
SKIPPED_FOLDERS = frozenset({"templates", "output", "node_modules", "__pycache__"})

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
    if not require_mapping(data, Location(path), "course.yaml", diag):
        return None
    fields = FieldReader(data, schema.COURSE_KEYS, "course.yaml", diag)
    fields.check_keys()
    values = {key: fields.get(key) for key in ("id", "title", "tags", "quality")}
    _warn_html_in_deck_name(data, diag)
    chapters = _read_chapters(data, fields, diag) if "chapters" in data else ()
    if not fields.ok or chapters is None:
        return None
    return {**values, "chapters": chapters}


def _warn_html_in_deck_name(data: YamlMap, diag: Diagnostics) -> None:
    from flashgen.course.html_text import deck_name_text

    title = data.get("title")
    if not isinstance(title, str):
        return
    for offset, tag in deck_name_text(title)[1]:
        diag.warning(
            data.offset_location("title", offset),
            f"{tag} is left out of the Anki deck name this title gives (deck names are plain "
            "text); cards and PDFs show the title as written",
        )


def _read_chapters(
    data: YamlMap, fields: FieldReader, diag: Diagnostics
) -> tuple[Chapter, ...] | None:
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
        if not require_mapping(item, location, f"chapter {index + 1}", diag):
            fields.ok = False
            continue
        chapter_fields = FieldReader(item, schema.CHAPTER_KEYS, f"chapter {index + 1}", diag)
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
    if not require_mapping(data, Location(path), "a concept file", diag):
        return None, None
    fields = FieldReader(data, schema.CONCEPT_KEYS, "a concept", diag)
    fields.check_keys()
    values = {
        key.name: fields.get(key.name) for key in schema.CONCEPT_KEYS if key.name != "questions"
    }
    chapter = values["chapter"]
    chapter_ref = None if chapter is None else (chapter, data.value_location("chapter"))
    questions = read_questions(data, fields, diag)
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


def _has_error_for(diag: Diagnostics, path: Path) -> bool:
    return any(d.location.path == path and d.severity == "error" for d in diag.items)
