"""Checks that need the whole course: duplicates, references, cycles, chapter order."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path

from .diagnostics import Diagnostics, Location, display_path
from .graph import find_cycles
from .markdown import image_references, is_remote
from .model import Concept, Course, MultipleChoice

#: Did-you-mean lookups scan every id; past this many unknown ids, skip the hint.
MAX_SUGGESTIONS = 50


def check_course(course: Course, diag: Diagnostics) -> None:
    """Append every course-wide problem to ``diag``."""
    check_links(course, diag)
    _check_images(course, diag)
    for concept in course.concepts:
        check_concept_math(concept, diag)


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
    """Every image must be a file inside the course folder, written as Markdown."""
    root = course.root.resolve()
    for concept in course.concepts:
        check_concept_images(concept, root, diag)


def check_concept_images(concept: Concept, root: Path, diag: Diagnostics) -> bool:
    """:func:`_check_images` for one concept (``root`` resolved); whether it names any image.

    A concept that names images is never served from the build cache: the image files can
    change, appear or vanish without its own file changing.
    """
    texts = [concept.title, concept.summary]
    for question in concept.questions:
        texts.extend(getattr(question, key, None) or "" for key in MARKDOWN_KEYS)
        if isinstance(question, MultipleChoice):
            texts.extend(question.choices)
    joined = "\n".join(texts)
    if "![" not in joined and "<img" not in joined.lower():
        return False  # the common case, decided without computing a single location
    base = concept.path.parent
    found = False
    for text, location in _markdown_fields(concept):
        found = found or "![" in text
        if "<img" in text.lower():
            found = True
            diag.error(
                location,
                "write images as Markdown, ![description](path/to/image.png), not <img>",
            )
        for src in image_references(text):
            if is_remote(src):
                diag.error(
                    location,
                    f"image '{src}' is not a file in the course; download it "
                    "into the course folder (cards must work offline)",
                )
                continue
            target = (base / src).resolve()
            if not target.is_relative_to(root):
                diag.error(location, f"image '{src}' is outside the course folder")
            elif not target.is_file():
                diag.error(location, f"image '{src}' not found (looked for {target})")
    return found


def check_concept_math(concept: Concept, diag: Diagnostics) -> None:
    """MathJax commands that cards may not hold (:data:`flashgen.markdown.UNSAFE_MATHJAX`),
    each an error where it is written."""
    from .formulas import locate
    from .markdown import mathjax_refusals

    for text, location in _markdown_fields(concept):
        if "\\" not in text:
            continue
        for name, offset in mathjax_refusals(text):
            diag.error(
                locate(location, text, offset),
                f"formula command \\{name} is not allowed: MathJax's safe mode refuses links, "
                "styles, classes, ids, data attributes and extensions on cards; remove it",
            )


def load_course(root: Path, exclude: tuple[Path, ...] = ()) -> tuple[Course | None, Diagnostics]:
    """Read the course and run every check: what ``flashgen check`` and every build do first."""
    from .reader import read_course

    course, diag = read_course(root, exclude)
    if course is not None:
        check_course(course, diag)
    return course, diag
