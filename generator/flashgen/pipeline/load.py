"""The pipeline's first stages: discover the files, load each into the model, check the course.

Everything known about one concept file depends on that file alone: its parse, the checks
that read only it (images, math, question quality's per-file part). That is one ``"concept"``
entry of the memo, keyed by the file's content and path. A file's size, times, inode and
device stand in for reading it again (as git's index does), but for a file written within
:data:`RACY_SECONDS` of the run. A concept that names images is never taken from the memo:
image files change on their own.

What needs the whole course (chapters, duplicates, references, cycles, chapter order, the
quality rules across files) runs on every run, on the model (:mod:`flashgen.course.checks`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flashgen.atomic import tie_to_build
from flashgen.course.checks import check_links
from flashgen.course.coursefiles import CourseFileError, read_regular_file
from flashgen.course.loader import MAX_FILE_BYTES
from flashgen.course.model import Concept, Course, pickled_by_fields
from flashgen.course.quality import concept_record
from flashgen.course.quality import report as report_quality
from flashgen.course.reader import (
    check_chapter,
    find_concept_files_named,
    find_course_file,
    read_concept_file,
    read_course_header,
)
from flashgen.diagnostics import Diagnostic, Diagnostics, Location
from flashgen.pipeline.cache import Memo, digest
from flashgen.render.text_checks import check_concept_images, check_concept_math

#: Files changed this recently are read again even when their stat looks unchanged: a second
#: write within the file system's timestamp granularity would not show in ``os.stat``.
RACY_SECONDS = 2
#: Below this many files to read, a second process costs more than it saves.
PARALLEL_MIN_FILES = 400
CHUNK = 200


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class FileEntry:
    """One concept file read and checked on its own: the ``"concept"`` memo entry."""

    concept: Concept | None
    #: The chapter it names and where (checked against course.yaml by the course stage).
    chapter: tuple[str, Location] | None
    diagnostics: tuple[Diagnostic, ...]
    #: Whether its Markdown names images (then it is never taken from the memo).
    names_images: bool
    #: What the question-quality rules need of it (:func:`flashgen.course.quality.concept_record`).
    quality: Any


@dataclass(frozen=True, slots=True)
class Source:
    """A concept file as found: its name in the course (POSIX), path and content digest."""

    name: str
    path: Path
    #: SHA-256 of its bytes (hex); empty when it could not be read.
    digest: str
    names_images: bool


@dataclass
class Loaded:
    """A course through the first stages: its model, every diagnostic, where it came from."""

    course: Course | None
    diagnostics: Diagnostics
    memo: Memo
    root: Path
    sources: list[Source] = field(default_factory=list)
    #: SHA-256 (hex) of course.yaml.
    course_file_digest: str = ""


def load(
    course_dir: Path,
    exclude: Iterable[Path] = (),
    memo: Memo | None = None,
    render: bool = False,
) -> Loaded:
    """discover → load → model → checks, through ``memo`` (default: the course's own).

    ``render``: the caller will want the notes (:mod:`flashgen.pipeline.notes`), so a file
    read now also has its notes rendered now, in the same worker process.
    """
    diag = Diagnostics()
    course_file = find_course_file(course_dir, diag)
    if course_file is None:
        return Loaded(None, diag, memo or Memo(None, ()), course_dir)
    header = read_course_header(course_file, diag)
    if memo is None:
        memo = Memo.for_course(course_dir, header["id"] if header else "")
    named = find_concept_files_named(course_dir, exclude, diag)
    course_id = header["id"] if header and render else None
    sources, entries = _load_files(named, course_dir, memo, course_id)
    result = Loaded(None, diag, memo, course_dir, sources, _file_digest(course_file))
    chapter_ids = {chapter.id for chapter in header["chapters"]} if header else set()
    concepts, unreadable = [], set()
    for source, entry in zip(sources, entries, strict=True):
        diag.items.extend(entry.diagnostics)
        if header is not None and entry.chapter is not None:
            check_chapter(*entry.chapter, chapter_ids, diag)
        if entry.concept is not None:
            concepts.append(entry.concept)
        else:
            unreadable.add(source.path.stem)
    if header is None:
        return result
    course = result.course = Course(
        id=header["id"],
        title=header["title"],
        tags=header["tags"],
        chapters=header["chapters"],
        concepts=tuple(concepts),
        root=course_dir,
        location=Location(course_file, 1, 1),
        quality=header["quality"],
        unreadable=frozenset(unreadable),
    )
    check_links(course, diag)
    quality = (
        (source.path, entry.quality)
        for source, entry in zip(sources, entries, strict=True)
        if entry.quality is not None
    )
    report_quality(course.quality, quality, diag, course_dir)
    return result


def load_course(root: Path, exclude: Iterable[Path] = ()) -> tuple[Course | None, Diagnostics]:
    """The course and every diagnostic of :func:`load`, computed now and kept nowhere (for
    library use and tests; commands go through the course's memo)."""
    loaded = load(root, exclude, Memo(None, ()))
    return loaded.course, loaded.diagnostics


def read_file(path: Path) -> tuple[tuple[Any, ...] | None, bytes | None]:
    """A concept file's stamp (stat signature and SHA-256) and bytes; ``None`` for both when
    it cannot be read (:func:`check_file` reports why)."""
    try:
        stat = os.stat(path)  # before reading: a later write shows up
        data = read_regular_file(path, MAX_FILE_BYTES, "file")
    except (OSError, CourseFileError):
        return None, None
    return (_signature(stat), hashlib.sha256(data).hexdigest()), data


def check_file(path: Path, data: bytes | None, root: Path) -> FileEntry:
    """One concept file parsed, validated and checked on its own (``root``: the course
    folder, resolved)."""
    diag = Diagnostics()
    concept, chapter = read_concept_file(path, diag, data)
    names_images, quality = False, None
    if concept is not None:
        names_images = check_concept_images(concept, root, diag)
        check_concept_math(concept, diag)
        quality = concept_record(concept)
    return FileEntry(concept, chapter, tuple(diag.items), names_images, quality)


def _concept_key(path: Path, file_digest: str) -> bytes:
    return digest("concept", str(path), file_digest)


def notes_key(course_id: str, path: Path, file_digest: str) -> bytes:
    """The memo key of a concept's rendered notes (:mod:`flashgen.pipeline.notes`)."""
    return digest("notes", course_id, str(path), file_digest)


def _load_files(
    named: list[tuple[str, Path]], root: Path, memo: Memo, course_id: str | None
) -> tuple[list[Source], list[FileEntry]]:
    """Each file's entry: from the memo when its stat (else its content) is unchanged."""
    entries: list[FileEntry | None] = [None] * len(named)
    stamps: list[tuple[Any, ...] | None] = [None] * len(named)
    todo: list[tuple[int, bytes | None]] = []
    now = time.time_ns()
    for index, (_, path) in enumerate(named):
        found, stamp = memo.get("stat", digest(str(path)))
        try:
            signature = _signature(os.stat(path))
        except OSError:
            signature = None
        racy = signature is None or now - max(signature[1], signature[2]) <= RACY_SECONDS * 10**9
        data = None
        if not found or racy or tuple(stamp[0]) != signature:
            stamp, data = read_file(path)
        stamps[index] = stamp
        if stamp is not None:
            hit, entry = memo.get("concept", _concept_key(path, stamp[1]))
            if hit:
                entries[index] = entry
                continue
        else:
            memo.misses["concept"] += 1
        todo.append((index, data))
    checked = _check_all([(named[i][1], data) for i, data in todo], root, course_id)
    for (index, _), (pickled, notes) in zip(todo, checked, strict=True):
        entry = entries[index] = pickle.loads(pickled)
        stamp, path = stamps[index], named[index][1]
        if stamp is not None and not entry.names_images:
            memo.put_pickled("concept", _concept_key(path, stamp[1]), pickled)
            if notes is not None and course_id is not None:
                memo.misses["notes"] += 1
                memo.put_pickled("notes", notes_key(course_id, path, stamp[1]), notes)
    sources = []
    for (name, path), stamp, entry in zip(named, stamps, entries, strict=True):
        assert entry is not None
        if stamp is not None and not entry.names_images:
            memo.put("stat", digest(str(path)), stamp)
        sources.append(Source(name, path, stamp[1] if stamp else "", entry.names_images))
    return sources, entries  # type: ignore[return-value]


def _check_some(
    root: str, course_id: str | None, files: Sequence[tuple[str, bytes | None]]
) -> list[tuple[bytes, bytes | None]]:
    """Files checked (and rendered, given the course id), pickled: a worker's part."""
    base = Path(root)
    resolved = base.resolve()
    done = []
    for name, data in files:
        entry = check_file(Path(name), data, resolved)
        notes = None
        if course_id is not None and _renderable(entry):
            from flashgen.outputs.apkg import render_concept
            from flashgen.render.markdown import HtmlRenderer

            rendered = render_concept(entry.concept, course_id, HtmlRenderer(base))  # type: ignore[arg-type]
            notes = pickle.dumps(rendered, pickle.HIGHEST_PROTOCOL)
        done.append((pickle.dumps(entry, pickle.HIGHEST_PROTOCOL), notes))
    return done


def _renderable(entry: FileEntry) -> bool:
    """Whether a file's notes are rendered as it is read: a concept without errors that
    names no images (those are rendered with the deck's media, every time)."""
    if entry.concept is None or entry.names_images:
        return False
    return not any(item.severity == "error" for item in entry.diagnostics)


def _check_all(
    files: list[tuple[Path, bytes | None]], root: Path, course_id: str | None
) -> list[tuple[bytes, bytes | None]]:
    """Each file checked (in order); in two processes when there are many (Linux)."""
    named = [(str(path), data) for path, data in files]
    if len(files) < PARALLEL_MIN_FILES or (os.cpu_count() or 1) < 2 or sys.platform != "linux":
        return _check_some(str(root), course_id, named)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    work = functools.partial(_check_some, str(root), course_id)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=2, mp_context=context, initializer=tie_to_build, initargs=(os.getpid(),)
    ) as pool:
        return [item for chunk in pool.map(work, iter_chunks(named, CHUNK)) for item in chunk]


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _signature(stat: os.stat_result) -> tuple[int, int, int, int, int]:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev)


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(read_regular_file(path, MAX_FILE_BYTES, "file")).hexdigest()
    except CourseFileError:
        return ""
