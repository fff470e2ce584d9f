"""Checks that need the whole course: duplicates, references, cycles, chapter order."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path

from .diagnostics import Diagnostics, Location, display_path
from .graph import find_cycles
from .model import Concept, Course, MultipleChoice

#: Did-you-mean lookups scan every id; past this many unknown ids, skip the hint.
MAX_SUGGESTIONS = 50


def check_course(course: Course, diag: Diagnostics) -> None:
    """Append every course-wide problem to ``diag``."""
    check_links(course, diag)
    _check_images(course, diag)
    check_quality(course, diag)


def check_quality(course: Course, diag: Diagnostics) -> None:
    """The question-quality rules (:mod:`flashgen.quality`), on the same per-file records
    that the build cache keeps, so both paths report the same warnings."""
    from . import quality

    records = ((concept.path, quality.concept_record(concept)) for concept in course.concepts)
    quality.report(course.quality or quality.DEFAULT_CONFIG, records, diag, course.root)


def check_links(course: Course, diag: Diagnostics) -> None:
    """The checks that need every concept: duplicates, references, cycles, chapter order.

    They read only ids, chapters, prerequisites, related concepts and locations, so the build
    cache runs them on light stand-ins for :class:`Concept` (see :mod:`flashgen.cache`).
    """
    _check_duplicate_concepts(course, diag)
    _check_references(course, diag)
    _check_cycles(course, diag)
    _check_chapter_order(course, diag)


def _check_duplicate_concepts(course: Course, diag: Diagnostics) -> None:
    first: dict[str, Concept] = {}
    for concept in course.concepts:
        if concept.id in first:
            other = first[concept.id]
            where = f"{display_path(other.path, course.root)}:{other.location.line}"
            diag.error(concept.location, f"duplicate concept id '{concept.id}' (also in {where})")
        else:
            first[concept.id] = concept


def _check_references(course: Course, diag: Diagnostics) -> None:
    known = {concept.id for concept in course.concepts}
    suggestions = _Suggester(known)
    for concept in course.concepts:
        for kind, refs in (("prerequisite", concept.prerequisites), ("related", concept.related)):
            seen: set[str] = set()
            for ref in refs:
                if ref.id in seen:
                    diag.warning(ref.location, f"{kind} '{ref.id}' is listed twice")
                seen.add(ref.id)
                if ref.id not in known:
                    hint = suggestions.hint(ref.id)
                    diag.error(ref.location, f"unknown {kind} concept '{ref.id}'{hint}")
                elif kind == "related" and ref.id == concept.id:
                    diag.warning(ref.location, "a concept cannot be related to itself")
                elif kind == "related" and ref.id in concept.prerequisite_ids:
                    diag.warning(
                        ref.location,
                        f"'{ref.id}' is already a prerequisite; list it only once, there",
                    )


class _Suggester:
    def __init__(self, known: set[str]):
        self.known = sorted(known)
        self.budget = MAX_SUGGESTIONS

    def hint(self, word: str) -> str:
        if self.budget <= 0:
            return ""
        self.budget -= 1
        match = difflib.get_close_matches(word, self.known, n=1, cutoff=0.6)
        return f"; did you mean '{match[0]}'?" if match else ""


def _check_cycles(course: Course, diag: Diagnostics) -> None:
    concepts = {}
    for concept in course.concepts:
        concepts.setdefault(concept.id, concept)
    edges = {cid: concept.prerequisite_ids for cid, concept in concepts.items()}
    for cycle in find_cycles(edges):
        start, following = concepts[cycle[0]], cycle[1]
        ref = next(r for r in start.prerequisites if r.id == following)
        if len(cycle) == 2:
            diag.error(ref.location, f"concept '{start.id}' lists itself as a prerequisite")
        else:
            diag.error(
                ref.location,
                "prerequisite cycle: " + " → ".join(cycle) + " (each needs the next; "
                "remove one of these links)",
            )


def _check_chapter_order(course: Course, diag: Diagnostics) -> None:
    chapter_index = {chapter.id: chapter.index for chapter in course.chapters}
    by_id = {concept.id: concept for concept in reversed(course.concepts)}
    for concept in course.concepts:
        here = chapter_index.get(concept.chapter)
        for ref in concept.prerequisites:
            prerequisite = by_id.get(ref.id)
            if prerequisite is None or here is None:
                continue
            there = chapter_index.get(prerequisite.chapter)
            if there is not None and there > here:
                diag.warning(
                    ref.location,
                    f"prerequisite '{ref.id}' is in a later chapter ('{prerequisite.chapter}') "
                    f"than '{concept.id}' ('{concept.chapter}')",
                )


def _markdown_fields(concept: Concept) -> Iterator[tuple[str, Location]]:
    yield concept.title, concept.where("title")
    yield concept.summary, concept.where("summary")
    for question in concept.questions:
        for key in MARKDOWN_KEYS:
            text = getattr(question, key, None)
            if isinstance(text, str):
                yield text, question.where(key)
        if isinstance(question, MultipleChoice):
            for text in question.choices:
                yield text, question.where("correct" if text in question.correct else "distractors")


MARKDOWN_KEYS = ("question", "statement", "front", "back", "text", "explanation")


def _check_images(course: Course, diag: Diagnostics) -> None:
    """Every concept's Markdown: images, HTML, nesting (see :mod:`flashgen.markup_check`)."""
    root = course.root.resolve()
    for concept in course.concepts:
        check_concept_images(concept, root, diag)


def check_concept_images(concept: Concept, root: Path, diag: Diagnostics) -> bool:
    """Check the Markdown of every text of a concept (``root`` resolved): images, HTML and
    nesting (see :mod:`flashgen.markup_check`); return whether it names any image.

    A concept that names images is never served from the build cache: the image files can
    change, appear or vanish without its own file changing.
    """
    from .markup_check import image_problem, scan

    base = concept.path.parent
    found = False
    source = _Source(concept.path)
    for text, location in _markdown_fields(concept):
        findings, images = scan(text)
        for finding in findings:
            where = source.locate(location, text, finding.snippet, finding.line)
            (diag.error if finding.severity == "error" else diag.warning)(where, finding.message)
        for image in images:
            found = True
            problem = image_problem(image.src, base, root)
            if problem:
                diag.error(source.locate(location, text, image.snippet), problem)
    return found


class _Source:
    """Finds where a piece of a text field is written in its file.

    A field's value starts at a known line and column; the piece is looked for in the file from
    there (the n-th time a piece is asked for in one field, its n-th occurrence), so that a
    message points at the tag, path or link it is about, in any YAML style the text is written
    in. A piece not found as written (escaped in a double-quoted string) is reported at the
    start of its line in the text, or of the value.
    """

    def __init__(self, path: Path):
        self.path = path
        self._text: str | None = None
        self._line_starts: list[int] = []
        self._cursors: dict[tuple[Location, str], int] = {}

    def _load(self) -> str:
        if self._text is None:
            try:
                self._text = self.path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
            except (OSError, UnicodeDecodeError):
                self._text = ""
            starts = [0]
            starts.extend(i + 1 for i, char in enumerate(self._text) if char == "\n")
            self._line_starts = starts
        return self._text

    def locate(self, where: Location, text: str, snippet: str, line: int | None = None) -> Location:
        if where.path != self.path or where.line <= 0:
            return where
        source = self._load()
        if where.line > len(self._line_starts):
            return where
        start = self._line_starts[where.line - 1] + max(where.column - 1, 0)
        if snippet:
            key = (where, snippet)
            found = source.find(snippet, self._cursors.get(key, start))
            if found != -1:
                self._cursors[key] = found + len(snippet)
                return self._location(found)
        if line is not None:
            number = where.line + line + (1 if source[start : start + 1] in "|>" else 0)
            if number <= len(self._line_starts):
                offset = self._line_starts[number - 1]
                while source[offset : offset + 1] in (" ", "\t"):
                    offset += 1
                return self._location(offset)
        return where

    def _location(self, offset: int) -> Location:
        import bisect

        index = bisect.bisect_right(self._line_starts, offset) - 1
        return Location(self.path, index + 1, offset - self._line_starts[index] + 1)


def load_course(root: Path, exclude: tuple[Path, ...] = ()) -> tuple[Course | None, Diagnostics]:
    """Read the course and run every check: what ``flashgen check`` and every build do first."""
    from .reader import read_course

    course, diag = read_course(root, exclude)
    if course is not None:
        check_course(course, diag)
    return course, diag
