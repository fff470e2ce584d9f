"""The pipeline's last stage: write the deck and the PDFs, or leave them when up to date.

An output is left untouched when the memo's ``"output"`` record says it was written from the
same inputs (:class:`InputKey`: flashgen and library versions, course.yaml, every concept
file, templates, media, and ``SOURCE_DATE_EPOCH`` when set) and its file is still the one
written (size, times, inode). For the deck the ledger's text is part of its inputs: it is
rewritten with the deck. Without ``SOURCE_DATE_EPOCH`` a kept deck's notes carry the time it
was built, which is right: nothing in it changed. After any change the deck is built whole.

Each record also holds what producing its output reported (warnings, and for the PDFs the
build's notes such as the split line), replayed when the output is kept: an unchanged build
says what a build that wrote the outputs would say. For the deck that is what its ledger
still implies (a published deck name kept, say), not what was said once on publishing (a
ledger started, decks renamed), which the ledger now records.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flashgen.atomic import atomic_path
from flashgen.course.coursefiles import (
    MAX_TEMPLATE_BYTES,
    CourseFileError,
    read_course_file,
    read_media,
    read_regular_file,
)
from flashgen.course.loader import MAX_FILE_BYTES
from flashgen.diagnostics import Diagnostic, Diagnostics
from flashgen.outputs.folder import written_before
from flashgen.pipeline.cache import Memo, cache_root, digest
from flashgen.pipeline.load import Loaded
from flashgen.render.templates import template_dirs

if TYPE_CHECKING:  # notes import genanki: not needed to find that outputs are up to date
    from flashgen.outputs.cards import StudySet
    from flashgen.outputs.pdf import Pdfs
    from flashgen.outputs.publication import Changes
    from flashgen.pipeline.notes import Rendered


@dataclass
class BuildResult:
    written: list[Path] = field(default_factory=list)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    #: Those of ``written`` that were already up to date and left untouched.
    unchanged: list[Path] = field(default_factory=list)
    #: What a student's re-import of the deck does (``None``: no deck built or it was up to
    #: date).
    changes: Changes | None = None
    #: The publication ledger written (``None``: not written, it already said this).
    ledger: Path | None = None
    #: Lines the build says besides what it wrote (a course whose PDFs are split, say).
    notes: list[str] = field(default_factory=list)
    #: The memo the build ran through (its counters say what was reused).
    memo: Memo | None = None
    #: The rendered course (its study cards are made on first use).
    rendered: Rendered | None = None

    @property
    def study(self) -> StudySet | None:
        return None if self.rendered is None else self.rendered.study


@dataclass(frozen=True)
class InputKey:
    """A digest of everything the outputs are made from."""

    value: bytes

    @classmethod
    def of(cls, loaded: Loaded, rendered: Rendered, timestamp: int | None) -> InputKey:
        parts: list[str | bytes] = [*loaded.memo.context, loaded.course_file_digest]
        parts.append(templates_digest(loaded.root))
        parts.append("" if timestamp is None else str(timestamp))
        for source in loaded.sources:
            parts += [source.name, source.digest]
        for name, path in sorted(rendered.media.items()):
            try:
                data = read_media(path)[0]
            except CourseFileError as error:
                data = error.message.encode()
            parts += [name, hashlib.sha256(data).digest()]
        return cls(digest(*parts))


def templates_digest(course_dir: Path) -> bytes:
    """Every template file that could shape an output (a course's overrides included)."""
    parts: list[str | bytes] = []
    for folder in template_dirs(course_dir):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                try:  # a course's file that breaks the rule is reported when it is rendered
                    data = read_course_file(path, folder, MAX_TEMPLATE_BYTES, "template")
                except CourseFileError as error:
                    data = error.message.encode()
                parts += [path.relative_to(folder).as_posix(), hashlib.sha256(data).digest()]
    return digest(*parts)


def signature(path: Path) -> tuple[int, ...] | None:
    """What says a file is still the one written: size, times, inode, device."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev)


def file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(read_regular_file(path, MAX_FILE_BYTES, "file")).hexdigest()
    except CourseFileError:
        return ""


#: Where flashgen kept its build cache before the pipeline's memo: inside the output folder.
OLD_CACHE_DIR = ".cache"


def remove_old_cache(output_dir: Path) -> None:
    """Delete an earlier flashgen's build cache from ``output_dir`` when the folder's marker
    says flashgen wrote it (the memo now lives in the cache folder)."""
    if OLD_CACHE_DIR in written_before(output_dir):
        shutil.rmtree(output_dir / OLD_CACHE_DIR, ignore_errors=True)


def _record_key(kind: str, target: Path) -> bytes:
    return digest(kind, str(target.absolute()))


def write_deck(
    loaded: Loaded,
    rendered: Rendered,
    key: InputKey,
    output_dir: Path,
    timestamp: int,
    rename_decks: bool,
    update_ledger: bool,
    result: BuildResult,
    progress: Callable[[str], None],
) -> None:
    """Write the .apkg (and the ledger) into ``output_dir``, unless it is up to date."""
    from flashgen.outputs.apkg import apkg_name, write_apkg
    from flashgen.outputs.ledger import ledger_path, write_ledger
    from flashgen.outputs.publication import prepare

    course, memo, course_dir = loaded.course, loaded.memo, loaded.root
    assert course is not None
    target = output_dir / apkg_name(course)
    deck_key = digest(key.value, "apkg", str(rename_decks))
    record = _record_key("apkg", target)
    ledger = ledger_path(course_dir)
    found, previous = memo.get("output", record)
    result.written.append(target)
    if found and previous[:3] == (deck_key, file_digest(ledger), signature(target)):
        result.diagnostics.items.extend(previous[3])
        result.unchanged.append(target)
        return
    progress("writing Anki deck")
    package = rendered.package(course_dir)
    prepared = prepare(package, course, course_dir, timestamp, rename_decks, update_ledger)
    result.diagnostics.extend(prepared.publication.diagnostics)
    result.changes = prepared.publication.changes
    with atomic_path(target) as temporary:
        write_apkg(package, rendered.media, temporary, timestamp)
    if update_ledger and write_ledger(prepared.path, prepared.publication.ledger):
        result.ledger = prepared.path
    if update_ledger:  # a read-only build (the preview's) writes into a scratch folder
        replayed = prepared.publication.diagnostics
        if result.ledger is not None:  # what the new ledger implies, not what changed it
            replayed = prepare(
                rendered.package(course_dir), course, course_dir, timestamp, rename_decks
            ).publication.diagnostics
        remembered = (deck_key, file_digest(ledger), signature(target), tuple(replayed.items))
        memo.put("output", record, remembered)
    else:
        memo.forget("output", record)


def typeset_pdfs(
    rendered: Rendered, course_dir: Path, timestamp: int, paper: str, card_size: str, memo: Memo
) -> Pdfs:
    """The PDFs of a course, typeset in memory (the :mod:`flashgen.outputs.pdf` entry point;
    ``memo`` is there for it to keep its parts)."""
    from flashgen.outputs import pdf

    return pdf.render_pdfs(
        rendered.study, course_dir, timestamp, paper=paper, card_size=card_size,
        cache_dir=cache_root(),
    )  # fmt: skip


@dataclass
class PdfStep:
    """The PDFs of a build: typeset (to be written) or up to date."""

    loaded: Loaded
    output_dir: Path
    record: bytes
    key: bytes
    pdfs: Pdfs | None = None
    kept: list[Path] = field(default_factory=list)
    #: The build's notes on the kept PDFs, as said when they were written.
    kept_notes: tuple[str, ...] = ()

    def write(self, result: BuildResult, remember: bool = True) -> None:
        """Write the PDFs typeset (after the deck), remove those of another naming."""
        from flashgen.outputs import pdf

        course = self.loaded.course
        assert course is not None
        if self.pdfs is None:
            result.written.extend(self.kept)
            result.unchanged.extend(self.kept)
            result.notes.extend(self.kept_notes)
            return
        names: list[str] = []
        written: list[Any] = []
        notes: list[str] = []
        try:
            for name in self.pdfs.names():
                target = self.output_dir / pdf.pdf_name(course, name)
                with atomic_path(target) as temporary:
                    self.pdfs.write(name, temporary)
                result.written.append(target)
                names.append(target.name)
        finally:
            self.pdfs.close()
        if self.pdfs.parts is not None:
            cards = sum(len(part.cards) for part in self.pdfs.parts)
            notes.append(pdf.split_note(course, cards, pdf.split_limit(), names))
        result.notes.extend(notes)
        # A course that grew past the split limit (or shrank below it) must not leave its
        # PDFs of the other naming behind; only files flashgen wrote (a user's
        # <id>-guide-annotated.pdf has the same shape).
        ours = written_before(self.output_dir)
        for stale in pdf.stale_pdfs(self.output_dir, course, ("cards", "guide"), names):
            if stale.name in ours:
                stale.unlink(missing_ok=True)
        for name in names:
            written.append((name, signature(self.output_dir / name)))
        if remember:
            warnings = tuple(self.pdfs.diagnostics.items)
            remembered = (self.key, tuple(written), warnings, tuple(notes))
            self.loaded.memo.put("output", self.record, remembered)
        else:
            self.loaded.memo.forget("output", self.record)


def write_pdfs(
    loaded: Loaded,
    rendered: Rendered,
    key: InputKey,
    output_dir: Path,
    timestamp: int,
    paper: str,
    card_size: str,
    progress: Callable[[str], None],
) -> PdfStep:
    """Typeset the PDFs unless those in ``output_dir`` are up to date (written by
    :meth:`PdfStep.write`, after the deck)."""
    memo = loaded.memo
    record = _record_key("pdf", output_dir)
    from flashgen.outputs.pdf import split_limit

    pdf_key = digest(key.value, "pdf", paper, card_size, str(split_limit()))
    step = PdfStep(loaded, output_dir, record, pdf_key)
    found, previous = memo.get("output", record)
    if found and previous[0] == pdf_key and previous[1]:
        kept = [(output_dir / name, sig) for name, sig in previous[1]]
        if all(sig is not None and signature(path) == sig for path, sig in kept):
            step.kept = [path for path, _ in kept]
            warnings: tuple[Diagnostic, ...] = previous[2]
            loaded.diagnostics.items.extend(warnings)
            step.kept_notes = previous[3]
            return step
    progress("typesetting PDFs")
    step.pdfs = typeset_pdfs(rendered, loaded.root, timestamp, paper, card_size, memo)
    loaded.diagnostics.extend(step.pdfs.diagnostics)
    return step
