"""Building the preview site, reusing by content what the last build made.

A full preview build costs seconds per hundred concepts: Anki renders every card, and every
page is written. ``preview --serve`` keeps a :class:`~.memo.PreviewMemo` between rebuilds, so
that after an edit only what the edit changed is made again:

* a concept file whose bytes are unchanged is not parsed, checked or rendered again (its
  concept, its own diagnostics, quality record and notes are reused); the course-wide checks
  run on every rebuild;
* a concept's cards are rendered by Anki again only when its notes changed: the key is the
  note types and each note's kind, GUID, fields and tags, as they go into the deck;
* a page is written again only when what it shows changed: a concept page depends on its own
  file, its cards, its neighbourhood (its chapter's list, the previous and next concepts, its
  links and local map) and the course's title and counts; the index on the whole outline
  (ids, titles, chapters, links, counts). Editing a summary or a question rewrites that
  concept's page; a new title rewrites the index and the pages that show it. With the
  course's own page templates every page depends on the whole outline.

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

from flashgen.course.model import Concept, Course
from flashgen.course.reader import read_course
from flashgen.diagnostics import CourseError, Diagnostics, display_path
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
from flashgen.outputs.preview.memo import PreviewMemo, RenderedSide
from flashgen.outputs.preview.pages import SiteWriter, page_name
from flashgen.render.templates import template_dirs, template_error

if TYPE_CHECKING:
    pass


@dataclass
class PreviewResult:
    site: Path
    pages: int
    cards: int
    study: StudySet
    diagnostics: Any = None
    written: list[Path] = field(default_factory=list)


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
