"""Checks that need the whole course: duplicates, references, cycles, chapter order.

The checks of one concept's texts that need the renderer's rules (images, HTML, math) are in
:mod:`flashgen.render.text_checks`; the pipeline (:mod:`flashgen.pipeline.load`) runs both.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from flashgen.course.graph import find_cycles
from flashgen.course.model import Concept, Course, MultipleChoice, Question
from flashgen.diagnostics import Diagnostics, Location, display_path

#: Did-you-mean lookups scan every id; past this many unknown ids, skip the hint.
MAX_SUGGESTIONS = 50


def check_links(course: Course, diag: Diagnostics) -> None:
    """The checks that need every concept: duplicates, references, cycles, chapter order.

    The pipeline runs them on every run, on the model (:mod:`flashgen.pipeline.load`); each is
    one pass over the concepts, so they stay linear in the size of the course.
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
    for text, owner, key, index in markdown_texts(concept):
        yield text, owner.where(key, None, index)


def markdown_texts(
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
