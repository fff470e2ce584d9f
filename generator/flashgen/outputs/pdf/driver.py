"""Typesetting a course's PDFs: the data of every document, made once here, then each PDF
typeset by Typst (in this process for a small course, else each in a fresh worker process),
skipping any whose inputs are those of the PDF already in the output folder (:mod:`.memo`).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flashgen.course.coursefiles import read_media
from flashgen.diagnostics import CourseError, Diagnostics, Location
from flashgen.outputs.cards import StudySet
from flashgen.outputs.pdf.content import PdfContent, cards_data, concept_maps, guide_data
from flashgen.outputs.pdf.layout import sheet
from flashgen.outputs.pdf.memo import PdfMemo, digest
from flashgen.outputs.pdf.parts import Part, pdf_name, pdf_parts, split_limit
from flashgen.outputs.pdf.typeset import (
    FIT_CACHE,
    cards_json,
    dumps,
    fonts_digest,
    report_overflow,
    stage_templates,
    substitute_json,
    template_error,
    templates_digest,
    typeset,
    valid_size,
)
from flashgen.outputs.pdf.workers import WORKERS, typeset_all
from flashgen.render.formulas import FORMULA_CACHE, default_cache_dir
from flashgen.render.templates import default_templates_dir
from flashgen.render.typst_markup import ResultCache, load_formula_cache, versions

#: A course of at most this many cards is typeset in the build's own process (starting a
#: worker costs about a second); a larger one in worker processes, one PDF at a time, so
#: that the build's memory is that of the largest PDF, not of both.
IN_PROCESS_CARDS = 500


@dataclass
class Pdfs:
    """What :func:`render_pdfs` produced, by key (see :func:`pdf_name`), in order: each PDF
    typeset is ``spooled`` to a temporary folder (removed by :meth:`close`); those ``kept``
    were not typeset, as the output folder's file was typeset from the same inputs."""

    diagnostics: Diagnostics
    spooled: dict[str, Path] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    #: Every key in order, with the digest of the inputs it was typeset from.
    inputs: dict[str, str] = field(default_factory=dict)
    #: The parts of a split course (None: one cards PDF and one guide).
    parts: list[Part] | None = None
    #: Cards cut off on the printed card, by key: kept with the memo, so that a PDF left
    #: untouched still reports them.
    overflow: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def names(self) -> list[str]:
        return list(self.inputs)

    def read(self, key: str) -> bytes:
        return self.spooled[key].read_bytes()

    def write(self, key: str, target: Path) -> None:
        shutil.copyfile(self.spooled[key], target)

    def take(self) -> dict[str, bytes]:
        """Every PDF typeset, read into memory, and the temporary folder removed (for callers
        that want the bytes of a small course's PDFs, such as tests and benchmarks)."""
        try:
            return {key: self.read(key) for key in self.spooled}
        finally:
            self.close()

    def close(self) -> None:
        folders = {path.parent for path in self.spooled.values()}
        self.spooled = {}
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def render_pdfs(
    study: StudySet,
    course_dir: Path,
    timestamp: int,
    paper: str = "a4",
    card_size: str = "eighth",
    kinds: Iterable[str] = ("cards", "guide"),
    cache_dir: Path | None = None,
    split_cards: int | None = None,
    memo: PdfMemo | None = None,
) -> Pdfs:
    """Typeset the requested PDFs (``cards``, ``guide``), keyed as :func:`pdf_name` names them.

    A course with more than ``split_cards`` cards (default :func:`split_limit`) gets one
    PDF of each kind per part (:func:`pdf_parts`), keyed ``cards-<part>`` and ``guide-<part>``.

    ``cache_dir`` (default :func:`default_cache_dir`) keeps what costs time and depends only on
    its inputs between builds: each formula's checked conversion, and the text size Typst chose
    for each card side it had to measure. Results never depend on whether it was used. With a
    ``memo``, a PDF whose inputs match those of its file in the memo's output folder is not
    typeset again (it is listed in ``kept``).

    Raises :class:`CourseError` when a template (a course's override, usually) has an error.
    """
    limit = split_limit() if split_cards is None else split_cards
    pdfs = Pdfs(Diagnostics(), parts=pdf_parts(study, limit))
    spool = Path(tempfile.mkdtemp(prefix="flashgen-pdfs-"))
    try:
        _render(
            study,
            course_dir,
            timestamp,
            paper,
            card_size,
            tuple(kinds),
            cache_dir,
            memo,
            pdfs,
            spool,
        )
    except BaseException:
        shutil.rmtree(spool, ignore_errors=True)
        raise
    if not pdfs.spooled:
        shutil.rmtree(spool, ignore_errors=True)
    return pdfs


def _render(
    study: StudySet,
    course_dir: Path,
    timestamp: int,
    paper: str,
    card_size: str,
    kinds: tuple[str, ...],
    cache_dir: Path | None,
    memo: PdfMemo | None,
    pdfs: Pdfs,
    spool: Path,
) -> None:
    import typst

    cache_dir = cache_dir or default_cache_dir()
    diag = pdfs.diagnostics
    content = PdfContent(study)
    content.markup.formula_cache = load_formula_cache(cache_dir / FORMULA_CACHE)
    layout = sheet(paper, card_size)
    fonts = typst.Fonts()
    selection: list[Part | None] = [None] if pdfs.parts is None else list(pdfs.parts)
    with tempfile.TemporaryDirectory(prefix="flashgen-typst-") as scratch:
        root = Path(scratch)
        origins = stage_templates(course_dir, root)
        for kind in kinds:
            if not (root / "typst" / f"{kind}.typ").is_file():
                missing = Location(default_templates_dir() / "typst" / f"{kind}.typ")
                raise CourseError(template_error(missing, f"template typst/{kind}.typ is missing"))
        documents: list[tuple[str, str, dict[str, Any], list[str]]] = []
        for index, part in enumerate(selection, 1):
            suffix = "" if part is None else f"-{part.name}"
            if "cards" in kinds:
                cards = None if part is None else part.cards
                documents.append(
                    (f"cards{suffix}", "cards", cards_data(content, layout, cards), [])
                )
            if "guide" in kinds:
                maps = concept_maps(study, part, first=index)
                files = []
                for picture in maps:
                    for name, svg in picture.files.items():
                        (root / name).write_text(svg, "utf-8")
                        files.append(name)
                data = guide_data(content, paper, maps, part)
                documents.append((f"guide{suffix}", "guide", data, files))
        substitute = content.markup.finish(fonts)
        content.markup.formula_cache.save(cache_dir / FORMULA_CACHE)
        for location, message in content.markup.warnings:
            diag.warning(location, message)
        media = root / "media"
        media.mkdir()
        for name, source in sorted(content.markup.media.items()):
            (media / name).write_bytes(read_media(source)[0])
        fonts_id = fonts_digest(fonts)
        fits = None
        if "cards" in kinds:
            fits = ResultCache.load(
                cache_dir / FIT_CACHE, (*versions("typst"), fonts_id), valid_size
            )
        salt = templates_digest(root)
        stamp = str(timestamp) if memo is None or memo.reproducible else "-"
        shared = digest([stamp, fonts_id, salt, *_files_digests(root, sorted(media.iterdir()))])
        measure: dict[tuple[str, str], str] = {}
        tasks = []
        for key, kind, data, files in documents:
            if kind == "cards" and fits is not None:
                found, text, pure = cards_json(data, substitute, fits, salt)
            else:
                found, text = {}, substitute_json(dumps(data), substitute)
                pure = hashlib.sha256(text.encode()).hexdigest()
            inputs = pdfs.inputs[key] = digest(
                [shared, kind, pure, *_files_digests(root, [root / name for name in files])]
            )
            name = pdf_name(study.course, key)
            if memo is not None and memo.unchanged(name, inputs):
                pdfs.kept.append(key)
                pdfs.overflow[key] = memo.overflow(name)
                continue
            measure.update(found)
            (root / f"{key}.json").write_text(text, "utf-8")
            tasks.append((kind, key))
        del documents
        if pdfs.parts is None and len(study.cards) <= IN_PROCESS_CARDS:
            results = []
            for kind, key in tasks:
                pdf, overflow, measured = typeset(root, kind, timestamp, origins, fonts, key)
                (spool / f"{key}.pdf").write_bytes(pdf)
                results.append((overflow, measured))
        else:
            workers = 1 if pdfs.parts is None else WORKERS
            results = typeset_all(root, spool, tasks, timestamp, origins, workers)
        for (kind, key), (overflow, measured) in zip(tasks, results, strict=True):
            pdfs.spooled[key] = spool / f"{key}.pdf"
            pdfs.overflow[key] = overflow
            if kind == "cards" and fits is not None:
                for item in measured:
                    fit_key = measure.get((str(item.get("code")), str(item.get("side"))))
                    if fit_key is not None and valid_size(item.get("size")):
                        fits.add(fit_key, float(item["size"]))
        if fits is not None:
            fits.save(cache_dir / FIT_CACHE)
    by_code = {card.code: card for card in study.cards}
    for key in pdfs.inputs:
        for item in pdfs.overflow.get(key, []):
            report_overflow(by_code, item, diag)


def _files_digests(root: Path, paths: Iterable[Path]) -> list[str]:
    """Each file's name (relative to ``root``) and a digest of its content."""
    found = []
    for path in paths:
        found.append(path.relative_to(root).as_posix())
        found.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return found
