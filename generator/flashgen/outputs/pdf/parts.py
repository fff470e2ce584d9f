"""Which PDF files a course gets: one cards PDF and one study guide, or, for a course of more
than :data:`SPLIT_CARDS` cards, one of each per chapter (and numbered parts of a chapter that
alone is over the limit); their file names, and the older files of the other naming."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flashgen.course.model import Chapter, Course
from flashgen.outputs.cards import Card, StudySet


def cards_pdf_name(course: Course) -> str:
    return f"{course.id}-cards.pdf"


def guide_pdf_name(course: Course) -> str:
    return f"{course.id}-guide.pdf"


def pdf_name(course: Course, key: str) -> str:
    """The file name of the PDF :func:`render_pdfs` returns as ``key``: ``cards``, ``guide``,
    or for a split course ``cards-<chapter-id>``, ``guide-<chapter-id>-<n>`` and so on."""
    return f"{course.id}-{key}.pdf"


#: A course with more cards than this is printed as one cards PDF and one guide per chapter,
#: and a chapter with more cards than this as numbered parts (see :func:`pdf_parts`).
#: ``$FLASHGEN_PDF_SPLIT_CARDS`` overrides it (tests use a small value). Up to this size
#: a course gets exactly two PDFs, each typeset in a worker process of its own (see
#: :mod:`flashgen.outputs.pdf.driver`).
SPLIT_CARDS = 20_000


def split_limit() -> int:
    value = os.environ.get("FLASHGEN_PDF_SPLIT_CARDS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else SPLIT_CARDS


@dataclass(frozen=True, slots=True)
class Part:
    """The cards of one chapter, or of one numbered part of a large chapter, in study order."""

    chapter: Chapter
    #: 1, 2, ... when the chapter is cut into several parts, else None.
    number: int | None
    cards: tuple[Card, ...]

    @property
    def name(self) -> str:
        return self.chapter.id if self.number is None else f"{self.chapter.id}-{self.number}"

    @property
    def title(self) -> str:
        return self.chapter.title + ("" if self.number is None else f", part {self.number}")


def pdf_parts(study: StudySet, limit: int) -> list[Part] | None:
    """How a course with more than ``limit`` cards is split: one part per chapter (in the
    course's chapter order, empty chapters left out), a chapter with more than ``limit`` cards
    cut at concept boundaries into parts of at most ``limit`` cards (a single concept with more
    cards stays whole). None when the course is small enough for one file of each kind."""
    if len(study.cards) <= limit:
        return None
    blocks: dict[str, list[list[Card]]] = {}
    for card in study.cards:
        chapter = blocks.setdefault(card.chapter.id, [])
        if not chapter or chapter[-1][0].concept.id != card.concept.id:
            chapter.append([])
        chapter[-1].append(card)
    parts = []
    for chapter in study.course.chapters:
        groups: list[list[Card]] = []
        for block in blocks.get(chapter.id, []):
            if not groups or len(groups[-1]) + len(block) > limit:
                groups.append([])
            groups[-1].extend(block)
        for number, cards in enumerate(groups, 1):
            parts.append(Part(chapter, number if len(groups) > 1 else None, tuple(cards)))
    return parts


_SPLIT_NAME = re.compile(r"(?P<base>.+?)(?:-[0-9]+)?")


def stale_pdfs(
    output_dir: Path, course: Course, kinds: Iterable[str], keep: Iterable[str]
) -> list[Path]:
    """flashgen's PDFs of ``course`` in ``output_dir`` other than ``keep`` (file names): an
    unsplit ``<id>-cards.pdf`` left from when the course was small, the chapter files of a
    course that is no longer split, or of a chapter since renamed. A file that may be another
    course's (``<id>-cards-x-guide.pdf`` is course ``<id>-cards-x``'s guide) is left alone,
    unless its tail is one of this course's chapter ids."""
    keep = set(keep)
    chapters = {chapter.id for chapter in course.chapters}
    found = []
    for kind in kinds:
        prefix = f"{course.id}-{kind}"
        for path in sorted(output_dir.glob(f"{glob.escape(prefix)}*.pdf")):
            if path.name in keep or not path.is_file():
                continue
            rest = path.name[len(prefix) : -len(".pdf")]
            if rest:
                match = _SPLIT_NAME.fullmatch(rest[1:]) if rest.startswith("-") else None
                if match is None:
                    continue
                foreign = re.search(r"-(cards|guide)(-|$)", rest)
                if foreign and match.group("base") not in chapters and rest[1:] not in chapters:
                    continue
            found.append(path)
    return found


def split_note(course: Course, cards: int, limit: int, names: list[str]) -> str:
    """The build's one line on a split course: why, and which files it got (``names``, in
    order; the first and the last when there are many)."""
    shown = ", ".join(names) if len(names) <= 4 else f"{names[0]}, ..., {names[-1]}"
    return (
        f"{course.id} has {cards:,} cards, more than {limit:,} for one PDF: its PDFs are per "
        f"chapter, {len(names)} files named {course.id}-cards-<chapter>.pdf and "
        f"{course.id}-guide-<chapter>.pdf ({shown}); see docs/pdf.md"
    )
