"""Building the preview site, reusing by content what the last build made.

A full preview build costs seconds per hundred concepts: Anki renders every card, and every
page is written. ``preview --serve`` keeps a :class:`PreviewMemo` between rebuilds, so that
after an edit only what the edit changed is made again:

* a concept file whose bytes are unchanged is not parsed again (its concept and its own
  diagnostics are reused); the course-wide checks run on every rebuild;
* a concept's cards are rendered by Anki again only when its notes changed: the key is the
  note types and each note's kind, GUID, fields and tags, as they go into the deck;
* a page is written again only when what it shows changed: a concept page depends on its own
  file, its cards and the course's outline (ids, titles, chapters, links, counts, file
  names), the index on the outline. Editing a summary or a question rewrites that concept's
  page; a new title or prerequisite rewrites the index and the concept pages too.

A template change (course or flashgen templates) rebuilds the whole site.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flashgen.course.coursefiles import CourseFileError, read_regular_file
from flashgen.course.loader import MAX_FILE_BYTES
from flashgen.course.model import Concept, Course
from flashgen.course.reader import read_concept_file, read_course
from flashgen.diagnostics import CourseError, Diagnostics, Location, display_path
from flashgen.outputs.cards import Card, StudySet, study_cards
from flashgen.outputs.folder import (
    SITE_ENTRIES,
    carry_over_foreign,
    check_output_folder,
    record_written,
    remove_stale_staging,
    staging_prefix,
)
from flashgen.outputs.preview.anki_render import CardSide, render_with_anki, require
from flashgen.outputs.preview.pages import SiteWriter, page_environment, page_name
from flashgen.render.markdown import HtmlRenderer
from flashgen.render.templates import template_dirs, template_environment, template_error

if TYPE_CHECKING:
    from flashgen.outputs.package import ConceptNotes


@dataclass
class PreviewResult:
    site: Path
    pages: int
    cards: int
    study: StudySet
    diagnostics: Any = None
    written: list[Path] = field(default_factory=list)


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
        """:func:`flashgen.course.checks.check_course`, with each concept's own checks (its
        Markdown, its math, its question-quality record) reused for an unchanged file."""
        from flashgen.course import quality
        from flashgen.course.checks import check_concept_images, check_concept_math, check_links

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


def _digest(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()


def templates_key(course_dir: Path) -> str:
    """A digest of every template file the site can use (the course's and flashgen's)."""
    digest = hashlib.sha256()
    for folder in template_dirs(course_dir):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(folder)).encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


#: Reads and checks a course: ``(course folder, folders to leave out) -> (course or None,
#: diagnostics)``. A caller higher in the pipeline may pass its own (one that memoizes by
#: content across runs); without one, the preview reads the course itself, reusing the
#: concept files that did not change since the last build through its :class:`PreviewMemo`.
CourseLoader = Callable[[Path, tuple[Path, ...]], tuple[Course | None, Diagnostics]]


def _load(
    course_dir: Path, site_dir: Path, memo: PreviewMemo, load: CourseLoader | None
) -> tuple[StudySet, Diagnostics]:
    if load is not None:
        course, diag = load(course_dir, (site_dir,))
    else:
        course, diag = read_course(
            course_dir, exclude=(site_dir,), read_file=memo.read_concept_file
        )
        if course is not None:
            memo.check_course(course, diag)
    if course is None or diag.has_errors:
        raise CourseError(diag)
    return study_cards(course), diag


def _notes_keys(
    study: StudySet, course_dir: Path, diag: Diagnostics, memo: PreviewMemo, site: str
) -> tuple[dict[str, str], Any, dict[str, Path]]:
    """Each concept's notes key, the deck package and its media, as a build makes them."""
    import jinja2

    from flashgen.outputs.apkg import build_package
    from flashgen.outputs.publication import prepare

    try:
        deck_env = memo.environments_for(course_dir, site)[0]
        package, html = build_package(study, deck_env, memo.render_concept)
    except jinja2.TemplateError as error:
        raise CourseError(template_error(error)) from None
    # The ledger adds to some fields (a removed cloze blank's note): what students see.
    prepared = prepare(package, study.course, course_dir, int(time.time()), announce=False)
    diag.extend(prepared.publication.diagnostics)
    models = _digest(
        sorted(
            (name, m.model_id, m.fields, m.templates, m.css, m.model_type)
            for name, m in package.models.items()
        )
    )
    notes = {note[1]: note for _, _, deck_notes in package.decks for note in deck_notes}
    parts: dict[str, list[Any]] = {}
    for card in study.cards:
        kind, guid, fields, tags = notes[card.guid][:4]
        parts.setdefault(card.concept.id, [models]).append((kind, guid, fields, tags))
    keys = {cid: _digest(*values) for cid, values in parts.items()}
    return keys, package, html.media


def _render_changed(
    study: StudySet,
    package: Any,
    media: dict[str, Path],
    cards: list[Card],
    media_out: Path,
) -> list[CardSide]:
    """Render ``cards`` with Anki from a deck holding only their notes."""
    from flashgen.outputs.apkg import write_apkg
    from flashgen.outputs.package import AnkiPackage

    wanted = {card.guid for card in cards}
    decks = [
        (number, name, [note for note in notes if note[1] in wanted])
        for number, name, notes in package.decks
    ]
    texts = "\0".join(
        field_text for _, _, notes in decks for note in notes for field_text in note[2]
    )
    used = {name: path for name, path in media.items() if name in texts}
    part = AnkiPackage(package.models, package.parent, decks, package.model_mods, package.preset)
    with tempfile.TemporaryDirectory(prefix="flashgen-preview-") as scratch_name:
        scratch = Path(scratch_name)
        apkg = scratch / "preview.apkg"
        write_apkg(part, used, apkg, int(time.time()))
        return render_with_anki(apkg, cards, scratch, media_out)


def _outline_key(study: StudySet, course_dir: Path, counts: dict[str, int], site: str) -> str:
    """What every page shows of the whole course: titles, chapters, links, counts, files."""
    course = study.course
    return _digest(
        site,
        course.id,
        course.title,
        course.question_count,
        [(chapter.id, chapter.title) for chapter in course.chapters],
        [
            (
                c.id,
                c.title,
                c.chapter,
                c.prerequisite_ids,
                c.related_ids,
                display_path(c.path, course_dir).as_posix(),
                counts.get(c.id, 0),
            )
            for c in study.order
        ],
        study.learn_after,
    )


class _PageInputs:
    """What flashgen's concept page shows besides its cards: the concept, its chapter's list,
    the previous and next concepts, its links and the concepts of its local map (with their
    prerequisites, which the map draws), and the course's title and counts."""

    def __init__(self, writer: SiteWriter, course_dir: Path, site: str) -> None:
        self.writer = writer
        self.course_dir = course_dir
        course = writer.course
        self.common = (
            site,
            course.id,
            course.title,
            len(writer.order),
            course.question_count,
            len(writer.sides),
        )
        self.chapters: dict[str, list[tuple[str, str]]] = {}
        for concept in writer.order:
            self.chapters.setdefault(concept.chapter, []).append((concept.id, concept.title))

    def _brief(self, concept_id: str | None) -> tuple[Any, ...] | None:
        concept = self.writer.course.concept(concept_id) if concept_id else None
        if concept is None:
            return None
        return (concept.id, concept.title, concept.chapter, concept.prerequisite_ids)

    def of(self, concept: Concept) -> tuple[Any, ...]:
        writer = self.writer
        position = writer.index_of[concept.id]
        before = writer.order[position - 1].id if position > 0 else None
        after = writer.order[position + 1].id if position + 1 < len(writer.order) else None
        learn_after = writer.study.learn_after.get(concept.id, ())
        chapter = writer.course.chapter(concept.chapter)
        return (
            self.common,
            display_path(concept.path, self.course_dir).as_posix(),
            None if chapter is None else (chapter.id, chapter.title),
            self.chapters.get(concept.chapter, ()),
            [
                self._brief(cid)
                for cid in (
                    before,
                    after,
                    *concept.prerequisite_ids,
                    concept.id,
                    *learn_after,
                    *concept.related_ids,
                )
            ],
            concept.related_ids,
        )


def build_preview(
    course_dir: Path,
    site_dir: Path,
    progress: Callable[[str], None] = lambda step: None,
    memo: PreviewMemo | None = None,
    load: CourseLoader | None = None,
) -> PreviewResult:
    """Build the course's deck, render its cards with Anki and write the preview site into
    ``site_dir``, reusing what ``memo`` holds from the last build.

    Without a memo (or with an empty one, or after a template changed) the site is written
    whole into a staging folder that then replaces ``site_dir``; otherwise only the pages
    whose inputs changed are replaced, each atomically. ``load`` reads and checks the course
    (see :data:`CourseLoader`). Raises :class:`CourseError` when the
    course has errors (``site_dir`` is then untouched) and
    :class:`~flashgen.outputs.preview.anki_render.PreviewUnavailable` when the ``anki``
    package is missing.
    """
    require("anki", "flashgen preview")
    require("mathjax", "flashgen preview")  # the django-static-mathjax package
    memo = memo if memo is not None else PreviewMemo()
    check_output_folder(site_dir, course_dir)
    site_dir = site_dir.absolute()
    progress("checking")
    memo.start()
    study, diag = _load(course_dir, site_dir, memo, load)
    site = templates_key(course_dir)
    keys, package, media = _notes_keys(study, course_dir, diag, memo, site)
    whole = memo.site != site or not (site_dir / "index.html").is_file()
    target = site_dir
    if whole:
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(site_dir)
        # Not mkdtemp, whose folder is private (0700): the site is meant to be copied to a web
        # server, so it gets the usual permissions (0755 less the umask) like any new folder.
        target = site_dir.with_name(f".{site_dir.name}-new-{os.getpid()}-{time.monotonic_ns()}")
        target.mkdir()
    try:
        written = _write_site(study, keys, package, media, memo, course_dir, target, whole, site)
        if whole:
            record_written(target, SITE_ENTRIES, keep_earlier=False)
            _replace_dir(target, site_dir)
    except BaseException:
        if whole:
            shutil.rmtree(target, ignore_errors=True)
            memo.site = None
        raise
    memo.site = site
    memo.finish()
    return PreviewResult(
        site=site_dir,
        pages=len(study.order) + 1,
        cards=sum(len(memo.sides[key]) for key in keys.values()),
        study=study,
        diagnostics=diag,
        written=[site_dir / path.relative_to(target) for path in written],
    )


def _write_site(
    study: StudySet,
    keys: dict[str, str],
    package: Any,
    media: dict[str, Path],
    memo: PreviewMemo,
    course_dir: Path,
    target: Path,
    whole: bool,
    site: str,
) -> list[Path]:
    """Render what changed with Anki, then write the pages whose inputs changed."""
    rendered = {} if whole else memo.sides
    changed = [card for card in study.cards if keys[card.concept.id] not in rendered]
    fresh: dict[str, list[RenderedSide]] = {}
    if changed:
        for side in _render_changed(study, package, media, changed, target / "media"):
            key = keys[side.card.concept.id]
            fresh.setdefault(key, []).append(
                (side.card.guid, side.ord, side.front, side.back, side.css)
            )
    memo.sides = {key: rendered.get(key) or tuple(fresh.get(key, ())) for key in keys.values()}
    by_guid: dict[str, list[RenderedSide]] = {}
    for sides in memo.sides.values():
        for side in sides:
            by_guid.setdefault(side[0], []).append(side)
    sides = [
        CardSide(card=card, ord=ord_, front=front, back=back, css=css)
        for card in study.cards
        for _, ord_, front, back, css in by_guid.get(card.guid, ())
    ]
    writer = SiteWriter(study, sides, course_dir, memo.environments_for(course_dir, site)[1])
    counts = {cid: len(found) for cid, found in writer.by_concept.items()}
    outline = _outline_key(study, course_dir, counts, site)
    if whole:
        memo.pages = {}
        written = writer.write(target)
        memo.mathjax = writer.mathjax
    else:
        writer.mathjax = memo.mathjax
        written = []
    pages: dict[str, tuple[str, Concept | None]] = {"index.html": (_digest(outline), None)}
    # A course's own page templates may show anything of the course: then every page depends
    # on the whole outline. flashgen's show the concept's neighbourhood.
    shows = _PageInputs(writer, course_dir, site)
    whole_outline = (course_dir / "templates" / "preview").is_dir()
    for concept in study.order:
        inputs = outline if whole_outline else shows.of(concept)
        key = _digest(inputs, memo.file_digest(concept.path), keys[concept.id])
        pages[f"concepts/{page_name(concept.id)}"] = (key, concept)
    if not whole:
        written = _write_changed_pages(writer, pages, memo.pages, target)
    memo.pages = {relative: key for relative, (key, _) in pages.items()}
    return written


def _write_changed_pages(
    writer: SiteWriter,
    pages: dict[str, tuple[str, Concept | None]],
    before: dict[str, str],
    site_dir: Path,
) -> list[Path]:
    """Replace each page whose key changed; remove the pages of concepts that are gone."""
    written = []
    for relative, (key, concept) in pages.items():
        if before.get(relative) == key and (site_dir / relative).is_file():
            continue
        html = writer.index_html() if concept is None else writer.concept_html(concept)
        written.append(_replace_file(site_dir / relative, html))
    for relative in before:
        if relative not in pages:
            (site_dir / relative).unlink(missing_ok=True)
    return written


def _replace_file(path: Path, text: str) -> Path:
    """Write ``path`` whole or not at all: the server may be sending the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}-{os.getpid()}-{time.monotonic_ns()}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _replace_dir(new: Path, target: Path) -> None:
    """Put ``new`` where ``target`` is; the old folder is moved away first, then deleted, but
    for the entries flashgen did not write (:func:`flashgen.outputs.folder.carry_over_foreign`)."""
    old = None
    if target.exists():
        name = f"{staging_prefix(target, 'old')}{os.getpid()}-{time.monotonic_ns()}"
        old = target.with_name(name)
        target.rename(old)
        try:
            carry_over_foreign(old, new)
        except OSError:
            old.rename(target)
            raise
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
