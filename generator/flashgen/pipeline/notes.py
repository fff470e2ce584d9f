"""The pipeline's render stage: each concept's note fields, memoized by its file's content.

A concept's rendered fields (title, summary, every question's fields, GUIDs and card codes:
:func:`flashgen.outputs.apkg.render_concept`) depend on its own file and the course id only,
so they are one ``"notes"`` entry of the memo. A concept that names images is rendered every
time, with the renderer that collects the deck's media files.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from flashgen.course.model import Concept
from flashgen.diagnostics import CourseError
from flashgen.outputs.apkg import assemble, render_concept
from flashgen.outputs.cards import StudySet, study_cards
from flashgen.outputs.notetypes import build_note_types
from flashgen.outputs.package import AnkiPackage, ConceptNotes
from flashgen.pipeline.load import Loaded, notes_key
from flashgen.render.markdown import HtmlRenderer
from flashgen.render.templates import template_environment, template_error


class Rendered:
    """The course as study cards, with every concept's rendered note fields, each made on
    first use: an output that is up to date needs neither (only the media, for its key)."""

    def __init__(self, loaded: Loaded):
        course = loaded.course
        assert course is not None
        self.course = course
        self._loaded = loaded
        #: The renderer of the concepts that name images: it holds the deck's media files.
        self.html = HtmlRenderer(course.root)
        self._with_images: dict[str, ConceptNotes] = {}
        images = {source.path for source in loaded.sources if source.names_images}
        for concept in course.concepts:
            if concept.path in images and concept.id not in self._with_images:
                self._with_images[concept.id] = render_concept(concept, course.id, self.html)

    @property
    def media(self) -> dict[str, Path]:
        return self.html.media

    @functools.cached_property
    def study(self) -> StudySet:
        return study_cards(self.course)

    @functools.cached_property
    def notes(self) -> dict[str, ConceptNotes]:
        """Each concept's rendered fields, by concept id (the first of a duplicated id)."""
        course, memo = self.course, self._loaded.memo
        digests = {source.path: source.digest for source in self._loaded.sources}
        notes: dict[str, ConceptNotes] = {}
        for concept in course.concepts:
            if concept.id in notes:
                continue
            if concept.id in self._with_images:
                notes[concept.id] = self._with_images[concept.id]
                continue
            file_digest = digests.get(concept.path, "")
            if not file_digest:
                notes[concept.id] = render_concept(concept, course.id, self.html)
                continue
            key = notes_key(course.id, concept.path, file_digest)
            notes[concept.id] = memo.memo("notes", key, _renderer(concept, course.id, course.root))
        return notes

    def package(self, course_dir: Path) -> AnkiPackage:
        """The deck as assembled from the rendered notes (before the ledger is applied)."""
        try:
            models = build_note_types(template_environment(course_dir), self.course.id)
        except jinja2.TemplateError as error:
            raise CourseError(template_error(error)) from None
        study = self.study
        return assemble(self.course, study.order, self.notes, study.learn_after, models, self.html)


def render(loaded: Loaded) -> Rendered:
    """The render stage of a loaded course without errors (see :class:`Rendered`)."""
    return Rendered(loaded)


def _renderer(concept: Concept, course_id: str, root: Path):  # type: ignore[no-untyped-def]
    return lambda: render_concept(concept, course_id, HtmlRenderer(root))
