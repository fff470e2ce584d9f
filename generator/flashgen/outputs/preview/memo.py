"""What one preview build leaves for the next (:class:`PreviewMemo`), each part under a key
of the content it was made from: a concept file's parse, its own checks and rendered notes,
its cards as Anki rendered them, the key each page was written from, and the compiled
templates. ``preview --serve`` keeps one between rebuilds (see :mod:`.site`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flashgen.course.coursefiles import CourseFileError, read_regular_file
from flashgen.course.loader import MAX_FILE_BYTES
from flashgen.course.model import Concept, Course
from flashgen.course.reader import read_concept_file
from flashgen.diagnostics import Diagnostics, Location
from flashgen.outputs.preview.pages import page_environment
from flashgen.render.markdown import HtmlRenderer
from flashgen.render.templates import template_environment

if TYPE_CHECKING:
    from flashgen.outputs.package import ConceptNotes

#: One concept file as read alone: the concept, its chapter reference, its own diagnostics.
FileResult = tuple[Concept | None, tuple[str, Location] | None, Diagnostics]
#: One card side as Anki rendered it: (GUID, card ord, front, back, CSS).
RenderedSide = tuple[str, int, str, str, str]


@dataclass
class PreviewMemo:
    """What one preview build leaves for the next, each part under a key of its inputs.

    Only what the last build used is kept, so the memo does not grow with every edit.
    """

    #: (file path, SHA-256 of its bytes) -> what reading it gave.
    files: dict[tuple[Path, str], FileResult] = field(default_factory=dict)
    #: A concept's notes key -> its card sides, in card order.
    sides: dict[str, tuple[RenderedSide, ...]] = field(default_factory=dict)
    #: Site-relative page path -> the key it was last written from.
    pages: dict[str, str] = field(default_factory=dict)
    #: The templates' key the site was last written whole with (``None``: not yet).
    site: str | None = None
    #: Whether MathJax is in the site.
    mathjax: bool = False
    #: The templates' key -> the deck's and the pages' template environments (compiled once).
    environments: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: (file SHA-256, course id) -> the concept's rendered notes (files without images only:
    #: an image's content can change while the file naming it does not).
    notes: dict[tuple[str, str], ConceptNotes] = field(default_factory=dict)
    _file_digests: dict[Path, str] = field(default_factory=dict)
    _with_images: set[Path] = field(default_factory=set)
    _files_used: dict[tuple[Path, str], FileResult] = field(default_factory=dict)
    _notes_used: dict[tuple[str, str], ConceptNotes] = field(default_factory=dict)
    #: (file path, SHA-256) -> a concept's own check results: diagnostics, quality record.
    checks: dict[tuple[Path, str], tuple[Diagnostics, Any]] = field(default_factory=dict)
    _checks_used: dict[tuple[Path, str], tuple[Diagnostics, Any]] = field(default_factory=dict)

    def read_concept_file(
        self, path: Path, diag: Diagnostics
    ) -> tuple[Concept | None, tuple[str, Location] | None]:
        """:func:`flashgen.reader.read_concept_file`, or what it gave for the same bytes."""
        try:
            data = read_regular_file(path, MAX_FILE_BYTES, "file")
        except CourseFileError:
            return read_concept_file(path, diag)  # it reports the problem, located
        key = (path, hashlib.sha256(data).hexdigest())
        found = self.files.get(key)
        if found is None:
            own = Diagnostics()
            concept, chapter = read_concept_file(path, own, data)
            found = (concept, chapter, own)
        self._files_used[key] = found
        self._file_digests[path] = key[1]
        if b"![" in data or b"<img" in data.lower():
            self._with_images.add(path)
        diag.extend(found[2])
        return found[0], found[1]

    def file_digest(self, path: Path) -> str:
        return self._file_digests.get(path, "")

    def render_concept(self, concept: Concept, course_id: str, html: HtmlRenderer) -> ConceptNotes:
        """:func:`flashgen.outputs.apkg.render_concept`, or what it gave for the same file."""
        from flashgen.outputs.apkg import render_concept

        digest = self._file_digests.get(concept.path)
        if digest is None or concept.path in self._with_images:
            return render_concept(concept, course_id, html)
        key = (digest, course_id)
        found = self.notes.get(key)
        if found is None:
            found = render_concept(concept, course_id, html)
        self._notes_used[key] = found
        return found

    def check_course(self, course: Course, diag: Diagnostics) -> None:
        """:func:`flashgen.pipeline.load.load_course`'s checks, with each concept's own checks (its
        Markdown, its math, its question-quality record) reused for an unchanged file."""
        from flashgen.course import quality
        from flashgen.course.checks import check_links
        from flashgen.render.text_checks import check_concept_images, check_concept_math

        check_links(course, diag)
        root = course.root.resolve()
        records = []
        for concept in course.concepts:
            digest = self._file_digests.get(concept.path)
            key = (concept.path, digest or "")
            found = None if concept.path in self._with_images else self.checks.get(key)
            if found is None:
                own = Diagnostics()
                check_concept_images(concept, root, own)
                check_concept_math(concept, own)
                found = (own, quality.concept_record(concept))
            if digest is not None:
                self._checks_used[key] = found
            diag.extend(found[0])
            records.append((concept.path, found[1]))
        quality.report(course.quality or quality.DEFAULT_CONFIG, records, diag, course.root)

    def environments_for(self, course_dir: Path, site: str) -> tuple[Any, Any]:
        """The deck's and the pages' template environments for templates of key ``site``."""
        found = self.environments.get(site)
        if found is None:
            found = (template_environment(course_dir), page_environment(course_dir))
            self.environments = {site: found}
        return found

    def start(self) -> None:
        self._files_used, self._notes_used, self._checks_used = {}, {}, {}
        self._file_digests, self._with_images = {}, set()

    def finish(self) -> None:
        """Keep only what this build used."""
        self.files, self.notes, self.checks = self._files_used, self._notes_used, self._checks_used
