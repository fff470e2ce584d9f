"""The pipeline's render stage: each concept's note fields, memoized by its file's content.

A concept's rendered fields (title, summary, every question's fields, GUIDs and card codes:
:func:`flashgen.outputs.apkg.render_concept`) depend on its own file and the course id only,
so they are one ``"notes"`` entry of the memo. A concept that names images is rendered every
time, with the renderer that collects the deck's media files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from flashgen.course.model import Concept
from flashgen.diagnostics import CourseError
from flashgen.outputs.apkg import AnkiPackage, ConceptNotes, assemble, render_concept
from flashgen.outputs.cards import StudySet, study_cards
from flashgen.outputs.notetypes import build_note_types
from flashgen.pipeline.cache import digest
from flashgen.pipeline.load import Loaded
from flashgen.render.markdown import HtmlRenderer
from flashgen.render.templates import template_environment, template_error


@dataclass
class Rendered:
    """The course as study cards, with every concept's rendered note fields."""

    study: StudySet
    notes: dict[str, ConceptNotes]
    #: The renderer of the concepts that name images: it holds the deck's media files.
    html: HtmlRenderer

    @property
    def media(self) -> dict[str, Path]:
        return self.html.media

    def package(self, course_dir: Path) -> AnkiPackage:
        """The deck as assembled from the rendered notes (before the ledger is applied)."""
        course = self.study.course
        try:
            models = build_note_types(template_environment(course_dir), course.id)
        except jinja2.TemplateError as error:
            raise CourseError(template_error(error)) from None
        study = self.study
        return assemble(course, study.order, self.notes, study.learn_after, models, self.html)


def render(loaded: Loaded) -> Rendered:
    """Study cards and rendered notes of a loaded course without errors."""
    course = loaded.course
    assert course is not None
    memo = loaded.memo
    sources = {source.path: source for source in loaded.sources}
    html = HtmlRenderer(course.root)
    notes: dict[str, ConceptNotes] = {}
    for concept in course.concepts:
        if concept.id in notes:
            continue
        source = sources.get(concept.path)
        if source is None or source.names_images or not source.digest:
            notes[concept.id] = render_concept(concept, course.id, html)
            continue
        key = digest("notes", course.id, str(concept.path), source.digest)
        notes[concept.id] = memo.memo("notes", key, _renderer(concept, course.id, course.root))
    return Rendered(study_cards(course), notes, html)


def _renderer(concept: Concept, course_id: str, root: Path):  # type: ignore[no-untyped-def]
    return lambda: render_concept(concept, course_id, HtmlRenderer(root))
