"""Fast and incremental reading and building: per-file results, cached and computed in parallel.

Everything flashgen knows about one concept file depends on that file alone (and the course
id): its parse, its own diagnostics, and its notes' rendered HTML, GUIDs and card codes. So

* each file becomes a *record* of plain tuples and strings (cheap to send between processes
  and to store with :mod:`marshal`);
* records are computed by two processes when there are many files (byte-identical results:
  each record is a pure function of its file);
* records are cached in ``OUTPUT/.cache/``, keyed by the SHA-256 of the file's content; a
  file's size, times, inode and device (``os.stat``) stand in for re-reading it, as in git's
  index (a file written within :data:`RACY_SECONDS` of being read is always re-read);
* what needs the whole course still runs on every build, on light stand-ins built from the
  records: chapters, duplicates, references, cycles, chapter order (all linear);
* when the deck would be identical to the one already in the output folder (same inputs,
  same flashgen, same templates, same ``SOURCE_DATE_EPOCH``, and the file untouched since),
  nothing is written.

The cache files carry a format number, the versions of everything that shapes the output and
a SHA-256 of their content: a cache that is corrupt, truncated, from another version or
another course is ignored and rewritten, never trusted. They are replaced atomically.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flashgen import __version__
from flashgen.atomic import atomic_path
from flashgen.course.checks import check_concept_images, check_concept_math, check_links
from flashgen.course.coursefiles import (
    MAX_TEMPLATE_BYTES,
    CourseFileError,
    read_course_file,
    read_media,
    read_regular_file,
)
from flashgen.course.graph import learn_after, learning_order
from flashgen.course.loader import MAX_FILE_BYTES
from flashgen.course.model import Chapter
from flashgen.course.quality import DEFAULT_CONFIG, QualityConfig, concept_record
from flashgen.course.quality import report as report_quality
from flashgen.course.reader import (
    check_chapter,
    find_concept_files_named,
    find_course_file,
    read_concept_file,
    read_course_header,
)
from flashgen.diagnostics import Diagnostics, Location
from flashgen.render.formulas import check_course_formulas, concept_formulas

CACHE_DIR = ".cache"
#: Bump whenever a record's layout or meaning changes.
FORMAT = 3
_MAGIC = b"flashgen-cache\x00"
#: Files changed this recently are re-read even when their stat looks unchanged: a second
#: write within the file system's timestamp granularity would not show in ``os.stat``.
RACY_SECONDS = 2
#: Below this many files to read, a second process costs more than it saves.
PARALLEL_MIN_FILES = 400
_CHUNK = 200

# A record (one concept file), a tuple so that marshal can store it:
(_SIG, _DIGEST, _DIAGS, _CHAPTER, _CONCEPT, _NOTES, _MEDIA, _CACHEABLE, _QUALITY, _FORMULAS) = (
    range(10)
)
# Its concept part: (id, line, column, chapter, prerequisites, related, tags, questions),
# references as (id, line, column). Its quality part: :func:`~.quality.concept_record`.


class _Ref:
    """A prerequisite or related id where it was written; the location made only if needed."""

    __slots__ = ("_column", "_line", "_path", "id")

    def __init__(self, ref_id: str, path: Path, line: int, column: int):
        self.id, self._path, self._line, self._column = ref_id, path, line, column

    @property
    def location(self) -> Location:
        return Location(self._path, self._line, self._column)


class LightConcept:
    """What course-wide checks, ordering and the deck need of a concept (see ``Concept``)."""

    __slots__ = (
        "_column",
        "_line",
        "chapter",
        "id",
        "path",
        "prerequisite_ids",
        "prerequisites",
        "question_count",
        "related",
        "related_ids",
        "tags",
    )

    def __init__(self, path: Path, data: tuple[Any, ...]):
        cid, line, column, chapter, prerequisites, related, tags, questions = data
        self.id, self.path, self._line, self._column = cid, path, line, column
        self.chapter = chapter
        self.prerequisites = tuple(_Ref(r, path, ln, col) for r, ln, col in prerequisites)
        self.related = tuple(_Ref(r, path, ln, col) for r, ln, col in related)
        self.prerequisite_ids = tuple(ref[0] for ref in prerequisites)
        self.related_ids = tuple(ref[0] for ref in related)
        self.tags = tags
        self.question_count = questions

    @property
    def location(self) -> Location:
        return Location(self.path, self._line, self._column)


@dataclass
class LightCourse:
    """A course as its records describe it: enough for ``flashgen check`` and the deck."""

    id: str
    title: str
    tags: tuple[str, ...]
    chapters: tuple[Chapter, ...]
    concepts: tuple[LightConcept, ...]
    root: Path
    location: Location
    quality: QualityConfig = DEFAULT_CONFIG
    unreadable: frozenset[str] = frozenset()

    @property
    def question_count(self) -> int:
        return sum(concept.question_count for concept in self.concepts)


# --- One file ---------------------------------------------------------------------------


def _signature(stat: os.stat_result) -> tuple[int, int, int, int, int]:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev)


def _loc(location: Location) -> tuple[int, int]:
    return location.line, location.column


def process_file(
    path: Path, root: Path, course_id: str | None, render: bool, resolved: Path | None = None
) -> tuple[Any, ...]:
    """The record of one concept file, read now (``resolved``: ``root.resolve()``)."""
    diag = Diagnostics()
    sig = digest = data = None
    try:
        stat = os.stat(path)  # before reading: a later write shows up
        data = read_regular_file(path, MAX_FILE_BYTES, "file")
        sig, digest = _signature(stat), hashlib.sha256(data).hexdigest()
    except (OSError, CourseFileError):
        data = None  # read_concept_file reports it
    concept, chapter = read_concept_file(path, diag, data)
    light = notes = quality = None
    media: tuple[tuple[str, str], ...] = ()
    formulas: tuple[tuple[str, int, int], ...] = ()
    cacheable = digest is not None
    if concept is not None:
        if check_concept_images(concept, resolved or root.resolve(), diag):
            cacheable = False
        check_concept_math(concept, diag)
        formulas = tuple(
            (tex, where.line, where.column) for tex, where in concept_formulas(concept)
        )
        light = (
            concept.id,
            *_loc(concept.location),
            concept.chapter,
            tuple((r.id, *_loc(r.location)) for r in concept.prerequisites),
            tuple((r.id, *_loc(r.location)) for r in concept.related),
            concept.tags,
            len(concept.questions),
        )
        quality = concept_record(concept)
        if render and course_id is not None and not diag.has_errors:
            from flashgen.outputs.apkg import render_concept
            from flashgen.render.markdown import HtmlRenderer

            html = HtmlRenderer(root)
            notes = render_concept(concept, course_id, html)
            media = tuple((name, str(file)) for name, file in html.media.items())
    diags = tuple(
        (
            d.severity,
            None if d.location.path == path else str(d.location.path),
            d.location.line,
            d.location.column,
            d.message,
        )
        for d in diag.items
    )
    chapter_ref = None if chapter is None else (chapter[0], *_loc(chapter[1]))
    return (sig, digest, diags, chapter_ref, light, notes, media, cacheable, quality, formulas)


def _process_chunk(
    root: str, course_id: str | None, render: bool, paths: list[str]
) -> list[tuple[Any, ...]]:
    """Records of some files (in a worker process)."""
    base = Path(root)
    resolved = base.resolve()
    return [process_file(Path(path), base, course_id, render, resolved) for path in paths]


def _process_all(
    paths: list[Path], root: Path, course_id: str | None, render: bool
) -> list[tuple[Any, ...]]:
    """Records of ``paths``, in order; in two processes when there are many (Linux)."""
    if len(paths) < PARALLEL_MIN_FILES or (os.cpu_count() or 1) < 2 or sys.platform != "linux":
        resolved = root.resolve()
        return [process_file(path, root, course_id, render, resolved) for path in paths]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    chunks = [[str(path) for path in chunk] for chunk in iter_chunks(paths, _CHUNK)]
    work = functools.partial(_process_chunk, str(root), course_id, render)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=2, mp_context=context, initializer=tie_to_build, initargs=(os.getpid(),)
    ) as pool:
        return [record for chunk in pool.map(work, chunks) for record in chunk]


def tie_to_build(parent: int) -> None:
    """A worker process's initializer (here and in :mod:`~.outputs.pdf`): tie the worker's life
    to the build's, so that a killed build leaves no workers behind, and let go of the build's
    standard output and error, which its caller may be waiting on."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the build died before the line above
        os._exit(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


# --- The cache files ------------------------------------------------------------------------


def _versions() -> tuple[str, ...]:
    """Versions of everything that shapes a record or the deck."""
    from importlib import metadata

    names = ("pyyaml", "markdown-it-py", "mdit-py-plugins", "nh3", "genanki", "jinja2")
    found = []
    for name in names:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=?")
    return (f"flashgen={__version__}", f"python={sys.version_info[:2]}", *found)


def _read_blob(path: Path) -> Any:
    """A cache file's content, or ``None`` when missing, truncated or corrupt."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + 32
    if len(data) < head or not data.startswith(_MAGIC):
        return None
    if hashlib.sha256(data[head:]).digest() != data[len(_MAGIC) : head]:
        return None
    try:
        return marshal.loads(data[head:])
    except (EOFError, ValueError, TypeError):
        return None


def _write_blob(path: Path, value: Any) -> None:
    payload = marshal.dumps(value)
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        handle.write(_MAGIC + hashlib.sha256(payload).digest())
        handle.write(payload)


@dataclass
class BuildCache:
    """The records of a course's files and what was last written, in ``OUTPUT/.cache/``.

    Two files: the index (small: signatures, digests, what the checks need) and the notes
    (rendered HTML), so that a build with nothing to write never reads the large one.
    """

    folder: Path
    context: tuple[Any, ...]
    files: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    outputs: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    _notes: dict[str, Any] | None = None
    _generation: str = ""

    @classmethod
    def open(cls, output_dir: Path, course_dir: Path, context: tuple[Any, ...]) -> BuildCache:
        name = hashlib.sha256(str(course_dir.resolve()).encode()).hexdigest()[:16]
        cache = cls(output_dir / CACHE_DIR / name, context)
        index = _read_blob(cache.folder / "index")
        if (
            isinstance(index, dict)
            and index.get("format") == FORMAT
            and index.get("context") == context
            and isinstance(index.get("files"), dict)
            and isinstance(index.get("outputs"), dict)
            and all(_valid_record(r) for r in index["files"].values())
        ):
            cache.files, cache.outputs = index["files"], index["outputs"]
            cache._generation = str(index.get("generation", ""))
        return cache

    def notes(self) -> dict[str, Any]:
        """Cached rendered notes by file digest (read on first use)."""
        if self._notes is None:
            blob = _read_blob(self.folder / "notes")
            ok = (
                isinstance(blob, dict)
                and self._generation
                and blob.get("generation") == self._generation
                and isinstance(blob.get("notes"), dict)
            )
            self._notes = blob["notes"] if ok else {}
        return self._notes

    def save(self, files: dict[str, tuple[Any, ...]], notes: dict[str, Any] | None) -> None:
        """Store the records (and, when given, the notes); failures only cost speed."""
        generation = self._generation
        with contextlib.suppress(OSError):
            if notes is not None:
                generation = hashlib.sha256(f"{time.time_ns()}-{os.getpid()}".encode()).hexdigest()
                _write_blob(self.folder / "notes", {"generation": generation, "notes": notes})
            index = {
                "format": FORMAT,
                "context": self.context,
                "generation": generation,
                "files": files,
                "outputs": self.outputs,
            }
            _write_blob(self.folder / "index", index)


def _valid_record(record: Any) -> bool:
    return (
        isinstance(record, tuple)
        and len(record) == 10
        and isinstance(record[_DIGEST], str)
        and isinstance(record[_DIAGS], tuple)
        and (record[_CONCEPT] is None or (isinstance(record[_CONCEPT], tuple)
                                          and len(record[_CONCEPT]) == 8))
    )  # fmt: skip


# --- The course -----------------------------------------------------------------------------


@dataclass
class CourseRecords:
    """A course read through records: the light course, diagnostics and each file's record."""

    course: LightCourse | None
    diagnostics: Diagnostics
    paths: list[Path]
    records: list[tuple[Any, ...]]
    course_file_digest: str = ""
    #: Each path relative to the course folder, in POSIX form: the cache's keys.
    names: list[str] = field(default_factory=list)


def read_records(
    root: Path,
    exclude: Iterable[Path] = (),
    cache: Callable[[str | None], BuildCache | None] = lambda course_id: None,
    render: bool = False,
) -> tuple[CourseRecords, BuildCache | None]:
    """Read the course in ``root`` as :func:`flashgen.course.checks.load_course` does, file by file.

    The diagnostics are the same as ``load_course``'s; ``cache`` is asked for the build
    cache once the course id is known (``None``: no cache).
    """
    diag = Diagnostics()
    course_file = find_course_file(root, diag)
    if course_file is None:
        return CourseRecords(None, diag, [], []), None
    header = read_course_header(course_file, diag)
    course_id = header["id"] if header else None
    store = cache(course_id)
    cached = store.files if store is not None else {}
    named = find_concept_files_named(root, exclude, diag)
    names, paths = [name for name, _ in named], [path for _, path in named]
    records: list[tuple[Any, ...] | None] = [None] * len(paths)
    todo: list[int] = []
    now = time.time_ns()
    for index, path in enumerate(paths):
        record = cached.get(names[index])
        if record is None or record[_SIG] is None:
            todo.append(index)
            continue
        try:
            sig = _signature(os.stat(path))
        except OSError:
            sig = None
        fresh = sig is not None and now - max(sig[1], sig[2]) > RACY_SECONDS * 1_000_000_000
        if fresh and tuple(record[_SIG]) == sig and record[_CACHEABLE]:
            records[index] = record
        else:
            todo.append(index)
    done = _process_all([paths[i] for i in todo], root, course_id, render)
    for index, record in zip(todo, done, strict=True):
        records[index] = record
    ready = [r for r in records if r is not None]
    assert len(ready) == len(paths)
    chapters = header["chapters"] if header else ()
    chapter_ids = {chapter.id for chapter in chapters}
    concepts = []
    unreadable = set()
    for path, record in zip(paths, ready, strict=True):
        for severity, other, line, column, message in record[_DIAGS]:
            location = Location(path if other is None else Path(other), line, column)
            (diag.error if severity == "error" else diag.warning)(location, message)
        if header is not None and record[_CHAPTER] is not None:
            chapter, line, column = record[_CHAPTER]
            check_chapter(chapter, Location(path, line, column), chapter_ids, diag)
        if record[_CONCEPT] is not None:
            concepts.append(LightConcept(path, record[_CONCEPT]))
        else:
            unreadable.add(path.stem)
    course = None
    if header is not None:
        course = LightCourse(
            id=header["id"],
            title=header["title"],
            tags=header["tags"],
            chapters=chapters,
            concepts=tuple(concepts),
            root=root,
            location=Location(course_file, 1, 1),
            quality=header["quality"],
            unreadable=frozenset(unreadable),
        )
        check_links(course, diag)  # type: ignore[arg-type]
        quality = (
            (path, record[_QUALITY])
            for path, record in zip(paths, ready, strict=True)
            if record[_QUALITY] is not None
        )
        report_quality(course.quality, quality, diag, root)
    digest = _file_digest(course_file)
    return CourseRecords(course, diag, paths, ready, digest, names), store


def _has_errors(record: tuple[Any, ...]) -> bool:
    return any(severity == "error" for severity, *_ in record[_DIAGS])


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(read_regular_file(path, MAX_FILE_BYTES, "file")).hexdigest()
    except CourseFileError:
        return ""


def check(root: Path) -> tuple[LightCourse | None, Diagnostics]:
    """``flashgen check``: the same diagnostics as ``load_course``, faster on big courses;
    the course's own templates (:mod:`flashgen.pipeline.template_checks`); and the warnings about
    formulas that the PDFs would print as LaTeX source (:mod:`flashgen.render.formulas`)."""
    from flashgen.pipeline.template_checks import check_templates

    result, _ = read_records(root)
    if result.course is not None:
        result.diagnostics.extend(check_templates(root))
    uses = [
        (tex, Location(path, line, column))
        for path, record in zip(result.paths, result.records, strict=True)
        for tex, line, column in record[_FORMULAS]
    ]
    check_course_formulas(uses, result.diagnostics)
    return result.course, result.diagnostics


# --- The deck -------------------------------------------------------------------------------


@dataclass
class DeckBuild:
    course: LightCourse | None
    diagnostics: Diagnostics
    target: Path | None = None
    unchanged: bool = False
    changes: Any = None
    ledger: Path | None = None


def _templates_digest(course_dir: Path) -> str:
    """Every template file that could shape the deck (a course's overrides included)."""
    from flashgen.render.templates import template_dirs

    digest = hashlib.sha256()
    for folder in template_dirs(course_dir):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(f"{path.relative_to(folder).as_posix()}\x00".encode())
                try:  # a course's file that breaks the rule is reported when it is rendered
                    data = read_course_file(path, folder, MAX_TEMPLATE_BYTES, "template")
                except CourseFileError as error:
                    data = error.message.encode()
                digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def build_deck(
    course_dir: Path,
    output_dir: Path,
    timestamp: int,
    reproducible: bool,
    progress: Callable[[str], None] = lambda step: None,
    rename_decks: bool = False,
    update_ledger: bool = True,
) -> DeckBuild:
    """Check the course and write its .apkg into ``output_dir`` unless it is up to date.

    ``reproducible`` says that ``timestamp`` comes from ``SOURCE_DATE_EPOCH``: then it is part
    of what the deck depends on. Otherwise a deck already written from the same inputs is kept
    with the time it was built: its notes are correct, and students who imported it have them.
    After any change the deck is rebuilt whole, every note with the new time, so that Anki
    updates the notes on import. Nothing is written (not even the cache) when the course has
    errors.

    Modification times, deck names and retired notes come from the course's publication
    ledger, exactly as in the full build (:func:`~.publication.prepare`); the ledger's text
    is part of what the deck depends on, and it is updated once the deck is written.
    """
    context_base = (FORMAT, *_versions())

    def open_cache(course_id: str | None) -> BuildCache | None:
        if course_id is None:
            return None
        return BuildCache.open(output_dir, course_dir, (*context_base, course_id))

    result, store = read_records(course_dir, (output_dir,), open_cache, render=True)
    course, diag = result.course, result.diagnostics
    build = DeckBuild(course, diag)
    if course is None or diag.has_errors:
        return build
    from flashgen.outputs.apkg import apkg_name
    from flashgen.outputs.ledger import ledger_path, write_ledger
    from flashgen.outputs.publication import prepare

    target = build.target = output_dir / apkg_name(course)  # type: ignore[arg-type]
    ledger_file = ledger_path(course_dir)
    index = {
        name: _without_notes(record)
        for name, record in zip(result.names, result.records, strict=True)
        if record[_CACHEABLE]
    }
    key = hashlib.sha256(
        repr(
            (
                context_base,
                course.id,
                result.course_file_digest,
                _templates_digest(course_dir),
                timestamp if reproducible else None,
                [(str(p), r[_DIGEST]) for p, r in zip(result.paths, result.records, strict=True)],
                [_media_digest(r) for r in result.records if r[_MEDIA]],
                rename_decks,
            )
        ).encode()
    ).hexdigest()

    def output_key(ledger_digest: str) -> str:
        return hashlib.sha256(f"{key}\x00{ledger_digest}".encode()).hexdigest()

    previous = store.outputs.get(target.name) if store is not None else None
    if (
        store is not None
        and previous is not None
        and previous[0] == output_key(_file_digest(ledger_file))
    ):
        try:
            same = tuple(previous[1]) == _signature(os.stat(target))
        except OSError:
            same = False
        if same:
            build.unchanged = True
            if index != store.files:
                store.save(index, None)
            return build
    progress("writing Anki deck")
    package, media = _package(course, course_dir, result, store)
    prepared = prepare(package, course, course_dir, timestamp, rename_decks, update_ledger)
    diag.extend(prepared.publication.diagnostics)
    build.changes = prepared.publication.changes
    with atomic_path(target) as temporary:
        from flashgen.outputs.apkg import write_apkg

        write_apkg(package, media, temporary, timestamp)
    if update_ledger and write_ledger(prepared.path, prepared.publication.ledger):
        build.ledger = prepared.path
    if store is not None:
        cached = store.notes()
        notes = {}
        for record in result.records:
            if record[_CACHEABLE] and record[_CONCEPT] is not None and not _has_errors(record):
                digest = record[_DIGEST]
                rendered = record[_NOTES] if record[_NOTES] is not None else cached.get(digest)
                if rendered is not None:
                    notes[digest] = rendered
        with contextlib.suppress(OSError):
            store.outputs = {
                target.name: (output_key(_file_digest(ledger_file)), _signature(os.stat(target)))
            }
        store.save(index, notes)
    return build


def _without_notes(record: tuple[Any, ...]) -> tuple[Any, ...]:
    """The record as the index keeps it (rendered notes live in the notes file)."""
    if record[_NOTES] is None:
        return record
    return (*record[:_NOTES], None, *record[_NOTES + 1 :])


def _media_digest(record: tuple[Any, ...]) -> str:
    digest = hashlib.sha256()
    for _, file in record[_MEDIA]:
        with contextlib.suppress(CourseFileError):
            digest.update(read_media(Path(file))[0])
    return digest.hexdigest()


def _package(
    course: LightCourse, course_dir: Path, result: CourseRecords, store: BuildCache | None
) -> tuple[Any, dict[str, Path]]:
    from flashgen.outputs.apkg import assemble
    from flashgen.outputs.notetypes import build_note_types
    from flashgen.render.markdown import HtmlRenderer
    from flashgen.render.templates import template_environment

    cached = store.notes() if store is not None else {}
    records = result.records  # updated in place: the re-rendered notes are cached too
    missing = [
        index
        for index, record in enumerate(records)
        if record[_CONCEPT] is not None and record[_NOTES] is None and record[_DIGEST] not in cached
    ]
    if missing:  # the notes file was lost or is from another build: render those files now
        again = _process_all([result.paths[i] for i in missing], course_dir, course.id, True)
        for index, record in zip(missing, again, strict=True):
            records[index] = record
    notes: dict[str, Any] = {}
    media: dict[str, Path] = {}
    for record in records:
        light = record[_CONCEPT]
        if light is None or light[0] in notes:
            continue
        rendered = record[_NOTES]
        notes[light[0]] = rendered if rendered is not None else cached[record[_DIGEST]]
        for name, file in record[_MEDIA]:
            media[name] = Path(file)
    order = learning_order(course)  # type: ignore[arg-type]
    after = learn_after(course, order)  # type: ignore[arg-type]
    models = build_note_types(template_environment(course_dir), course.id)
    html = HtmlRenderer(course.root)
    package = assemble(course, order, notes, after, models, html)  # type: ignore[arg-type]
    media.update(html.media)
    return package, media


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
