"""Checks that need the whole course: duplicates, references, cycles, chapter order."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path

from flashgen.course.graph import find_cycles
from flashgen.course.model import Concept, Course, MultipleChoice, Question
from flashgen.diagnostics import Diagnostics, Location, display_path

#: Did-you-mean lookups scan every id; past this many unknown ids, skip the hint.
MAX_SUGGESTIONS = 50


def check_course(course: Course, diag: Diagnostics) -> None:
    """Append every course-wide problem to ``diag``."""
    check_links(course, diag)
    _check_images(course, diag)
    for concept in course.concepts:
        check_concept_math(concept, diag)
    check_quality(course, diag)


def check_quality(course: Course, diag: Diagnostics) -> None:
    """The question-quality rules (:mod:`flashgen.course.quality`), on the same per-file records
    that the build cache keeps, so both paths report the same warnings."""
    from flashgen.course import quality

    records = ((concept.path, quality.concept_record(concept)) for concept in course.concepts)
    quality.report(course.quality or quality.DEFAULT_CONFIG, records, diag, course.root)


def check_links(course: Course, diag: Diagnostics) -> None:
    """The checks that need every concept: duplicates, references, cycles, chapter order.

    They read only ids, chapters, prerequisites, related concepts and locations, so the build
    cache runs them on light stand-ins for :class:`Concept` (see :mod:`flashgen.pipeline.cache`).
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
    """Unknown ids are errors, except the names of concept files that could not be read:
    their own errors are the cause, and reporting every reference to them would bury it."""
    known = {concept.id for concept in course.concepts} | set(course.unreadable)
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
    """Cycles among concepts defined once (a duplicated id is reported as such, and its two
    definitions' links together could make a cycle that neither file has)."""
    concepts: dict[str, Concept] = {}
    duplicated = set()
    for concept in course.concepts:
        if concept.id in concepts:
            duplicated.add(concept.id)
        concepts.setdefault(concept.id, concept)
    for concept_id in duplicated:
        del concepts[concept_id]
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
    for text, owner, key, index in _markdown_texts(concept):
        yield text, owner.where(key, None, index)


def _markdown_texts(
    concept: Concept,
) -> Iterator[tuple[str, Concept | Question, str, int | None]]:
    """Every Markdown text of a concept: (text, its concept or question, key, list index)."""
    yield concept.title, concept, "title", None
    yield concept.summary, concept, "summary", None
    for question in concept.questions:
        for key in MARKDOWN_KEYS:
            text = getattr(question, key, None)
            if isinstance(text, str):
                yield text, question, key, None
        if isinstance(question, MultipleChoice):
            for key in ("correct", "distractors"):
                for index, text in enumerate(getattr(question, key)):
                    yield text, question, key, index


MARKDOWN_KEYS = ("question", "statement", "front", "back", "text", "explanation")


def _check_images(course: Course, diag: Diagnostics) -> None:
    """Every concept's Markdown: images, HTML, nesting (see :mod:`flashgen.render.markup_check`)."""
    root = course.root.resolve()
    for concept in course.concepts:
        check_concept_images(concept, root, diag)


def check_concept_images(concept: Concept, root: Path, diag: Diagnostics) -> bool:
    """Check the Markdown of every text of a concept (``root`` resolved): images, HTML and
    nesting (see :mod:`flashgen.render.markup_check`); return whether it names any image.

    A concept that names images is never served from the build cache: the image files can
    change, appear or vanish without its own file changing.
    """
    from flashgen.render.markup_check import image_problem, scan

    base = concept.path.parent
    found = False
    for text, owner, key, index in _markdown_texts(concept):
        findings, images = scan(text)
        if not findings and not images:
            continue
        offsets = _Offsets(text)
        for finding in findings:
            offset = offsets.of(finding.snippet, finding.line)
            where = owner.where(key, offset, index)
            (diag.error if finding.severity == "error" else diag.warning)(where, finding.message)
        for image in images:
            found = True
            problem = image_problem(image.src, base, root)
            if problem:
                offset = offsets.of(image.src)
                if offset is None:
                    offset = offsets.of(image.snippet)
                diag.error(owner.where(key, offset, index), problem)
    return found


def check_concept_math(concept: Concept, diag: Diagnostics) -> None:
    """MathJax commands that cards may not hold (:data:`flashgen.render.markdown.UNSAFE_MATHJAX`),
    each an error where it is written; formulas Markdown shows as text, each a warning."""
    from flashgen.render.formulas import concept_texts, math_text_slips
    from flashgen.render.markdown import mathjax_refusals

    for text, where in concept_texts(concept):
        for offset, message in math_text_slips(text):
            diag.warning(where(offset), message)
        if "\\" not in text:
            continue
        for name, offset in mathjax_refusals(text):
            diag.error(
                where(offset),
                f"formula command \\{name} is not allowed: MathJax's safe mode refuses links, "
                "styles, classes, ids, data attributes and extensions on cards; remove it",
            )


class _Offsets:
    """Where in a text a finding's piece of source stands: the n-th time a piece is asked
    for, its n-th occurrence; a piece not found as written, the start of its line."""

    def __init__(self, text: str):
        self.text = text
        self._after: dict[str, int] = {}

    def of(self, snippet: str, line: int | None = None) -> int | None:
        if snippet:
            found = self.text.find(snippet, self._after.get(snippet, 0))
            if found != -1:
                self._after[snippet] = found + len(snippet)
                return found
        if line is None:
            return None
        offset = 0
        for _ in range(line):
            offset = self.text.find("\n", offset) + 1
            if offset == 0:
                return None
        while self.text[offset : offset + 1] in (" ", "\t"):
            offset += 1
        return offset


def load_course(root: Path, exclude: tuple[Path, ...] = ()) -> tuple[Course | None, Diagnostics]:
    """Read the course and run every check: what ``flashgen check`` and every build do first."""
    from flashgen.course.reader import read_course

    course, diag = read_course(root, exclude)
    if course is not None:
        check_course(course, diag)
    return course, diag
