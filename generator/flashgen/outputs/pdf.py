"""Printable PDFs of a study set: duplex cut-out flashcards and a study guide, typeset by Typst.

Python decides *what* is printed (the cards in learning order, their codes, the choice order
shared with Anki, the page grid, the concept map's layers) and hands it to Typst as JSON; the
layouts are ordinary Typst files in ``templates/typst/`` that a course may override one file at
a time. Course text reaches Typst only as escaped markup inside that JSON (see
:mod:`flashgen.render.typst_markup`), never pasted into a template.

Each PDF is typeset in a scratch folder that becomes Typst's ``root``: the chosen template
files, ``data.json`` and copies of the images the text uses. Typst cannot read anything else.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import itertools
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flashgen.atomic import tie_to_build
from flashgen.course.coursefiles import (
    MAX_TEMPLATE_BYTES,
    CourseFileError,
    course_file_problem,
    read_course_file,
    read_media,
)
from flashgen.course.model import Basic, Chapter, Cloze, Concept, Course, MultipleChoice, TrueFalse
from flashgen.diagnostics import CourseError, Diagnostics, Location
from flashgen.outputs.cards import Card, StudySet
from flashgen.outputs.concept_map import concept_map_svg
from flashgen.outputs.concept_map import layout as concept_map_layout
from flashgen.outputs.identity import letters
from flashgen.render.formula_worker import BackgroundConverter
from flashgen.render.templates import default_templates_dir, template_dirs
from flashgen.render.typst_markup import (
    Formula,
    ResultCache,
    TypstRenderer,
    load_formula_cache,
    versions,
)

MM_PER_INCH = 25.4

#: Paper sizes in millimetres (width, height), portrait.
PAPERS: dict[str, tuple[float, float]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}


@dataclass(frozen=True, slots=True)
class CardSize:
    name: str
    #: Width and height in mm; None means "an eighth of the page" (2 x 4 inside the margin).
    size: tuple[float, float] | None
    #: Body text size in points before shrinking.
    font_size: float
    help: str


CARD_SIZES: dict[str, CardSize] = {
    size.name: size
    for size in (
        CardSize("eighth", None, 9.5, "8 a page (2 x 4), about A7"),
        CardSize(
            "index", (5 * MM_PER_INCH, 3 * MM_PER_INCH), 11.0, "5 x 3 in index cards, 3 a page"
        ),
        CardSize("business", (85.0, 55.0), 8.0, "85 x 55 mm business cards, 10 a page on A4"),
    )
}

#: Room around the card grid for cut marks; also more than any printer's unprintable edge.
MIN_MARGIN_MM = 10.0
#: Nothing is printed within this distance of a cut (cutting is never exact).
SAFE_MM = 5.5
#: Smallest text size a card may shrink to before its text is reported as not fitting.
MIN_FONT_PT = 5.5


@dataclass(frozen=True, slots=True)
class Sheet:
    """The card grid on one page; backs use the same grid with columns mirrored."""

    paper: str
    page: tuple[float, float]
    card: tuple[float, float]
    columns: int
    rows: int
    font_size: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def margin(self) -> tuple[float, float]:
        """Left and top margin: the grid is centred, so it lands on itself when mirrored."""
        return (
            (self.page[0] - self.columns * self.card[0]) / 2,
            (self.page[1] - self.rows * self.card[1]) / 2,
        )

    def slot(self, index: int, back: bool) -> tuple[int, int]:
        """(column, row) of the ``index``-th card of a page on the front or the back.

        Flipping a portrait sheet over its long (vertical) edge swaps left and right, so a
        card's back sits in the mirrored column of the same row.
        """
        row, column = divmod(index, self.columns)
        return (self.columns - 1 - column if back else column), row


def sheet(paper: str = "a4", card_size: str = "eighth") -> Sheet:
    page = PAPERS[paper]
    spec = CARD_SIZES[card_size]
    if spec.size is None:
        columns, rows = 2, 4
        card = (
            (page[0] - 2 * MIN_MARGIN_MM) / columns,
            (page[1] - 2 * MIN_MARGIN_MM) / rows,
        )
    else:
        card = spec.size
        columns = int((page[0] - 2 * MIN_MARGIN_MM) // card[0])
        rows = int((page[1] - 2 * MIN_MARGIN_MM) // card[1])
    return Sheet(paper, page, card, columns, rows, spec.font_size)


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
#: ``$FLASHGEN_PDF_SPLIT_CARDS`` overrides it (tests use a small value).
SPLIT_CARDS = 2000


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


#: The concept card's lists of other concepts, with their labels (as in Anki).
LINK_LABELS = (("before", "Learn before: "), ("after", "Learn after: "), ("related", "Related: "))
#: Said under a multiple-choice question with several right answers (as in Anki).
SEVERAL = "Select all that apply"

KIND_LABELS = {
    "concept": "Concept",
    "multiple-choice": "Multiple choice",
    "true-false": "True or false",
    "basic": "Question",
    "cloze": "Fill in the blanks",
}


class PdfContent:
    """Turns a study set's cards into JSON-ready dicts of Typst markup (shared by both PDFs)."""

    def __init__(self, study: StudySet):
        self.study = study
        self.course = study.course
        self.markup = TypstRenderer(self.course.root, background=BackgroundConverter())
        self._titles: dict[str, str] = {}

    def text(self, text: str, concept: Concept, where: Location, **options: Any) -> str:
        return self.markup.render(text, concept.path.parent, where, **options)

    def title(self, concept_id: str) -> str:
        if concept_id not in self._titles:
            concept = self.course.concept(concept_id)
            if concept is None:
                self._titles[concept_id] = self.markup.render(
                    concept_id, self.course.root, self.course.location, inline=True
                )
            else:
                self._titles[concept_id] = self.text(
                    concept.title, concept, concept.where("title"), inline=True
                )
        return self._titles[concept_id]

    def links(self, ids: Iterable[str]) -> list[dict[str, str]]:
        return [{"id": cid, "title": self.title(cid)} for cid in dict.fromkeys(ids)]

    def fields(self, card: Card) -> dict[str, Any]:
        """What the card shows, by kind; the same content the Anki note's fields hold."""
        concept, question = card.concept, card.question
        if question is None:
            return {
                "title": self.title(concept.id),
                "summary": self.text(concept.summary, concept, concept.where("summary")),
                "before": self.links(concept.prerequisite_ids),
                "after": self.links(self.study.learn_after.get(concept.id, ())),
                "related": self.links(concept.related_ids),
            }
        where = question.where
        values: dict[str, Any] = {
            "explanation": self.text(question.explanation, concept, where("explanation"))
        }
        if isinstance(question, MultipleChoice):
            order = self.study.choice_order(card)
            keys = letters(len(order))
            correct = len(question.correct)
            values["question"] = self.text(question.question, concept, where("question"))
            values["choices"] = [
                {
                    "letter": key,
                    "text": self.text(
                        question.choices[index],
                        concept,
                        where("correct" if index < correct else "distractors"),
                        inline=True,
                    ),
                    "correct": index < correct,
                }
                for key, index in zip(keys, order, strict=True)
            ]
            values["answer"] = " ".join(c["letter"] for c in values["choices"] if c["correct"])
            # As in Anki: several right answers are announced on the front.
            values["several"] = correct > 1
        elif isinstance(question, TrueFalse):
            values["statement"] = self.text(question.statement, concept, where("statement"))
            values["answer"] = question.answer
        elif isinstance(question, Basic):
            values["front"] = self.text(question.front, concept, where("front"))
            values["back"] = self.text(question.back, concept, where("back"))
        elif isinstance(question, Cloze):
            values["front"] = self.text(question.text, concept, where("text"), cloze="front")
            values["back"] = self.text(question.text, concept, where("text"), cloze="back")
        return values

    def card(self, card: Card) -> dict[str, Any]:
        return {
            "code": card.code,
            "kind": card.kind,
            "label": KIND_LABELS[card.kind],
            "concept_id": card.concept.id,
            "chapter": card.chapter.title,
            "concept": self.title(card.concept.id),
            "fields": self.fields(card),
        }


# -- the concept map ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MapPicture:
    """One concept map for the guide: the very SVG the HTML preview shows (without its links),
    plus what the template needs to scale it, make its boxes links, and print it on several
    pages when it is too tall for one."""

    title: str | None
    #: File name (in Typst's root) -> SVG: the whole drawing first, then its strips.
    files: dict[str, str]
    width: float
    height: float
    #: The drawing cut between its rows: (file, top, bottom), in SVG units; stacked, the
    #: strips give the whole drawing, each box in exactly one of them.
    strips: list[tuple[str, float, float]]
    #: Each drawn concept's box: id and x, y, width, height in SVG units.
    boxes: list[dict[str, Any]]

    def data(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "image": "/" + next(iter(self.files)),
            "width": self.width,
            "height": self.height,
            "strips": [
                {"image": f"/{name}", "top": top, "bottom": bottom}
                for name, top, bottom in self.strips
            ],
            "boxes": self.boxes,
        }


def concept_maps(study: StudySet, part: Part | None = None, first: int = 1) -> list[MapPicture]:
    """The guide's concept maps: the drawings of the HTML preview's index page (one map of the
    course, or one per chapter for a large course), drawn by :func:`concept_map_svg`; for a
    ``part`` of a split course, the map of its concepts. Files are numbered from ``first``."""
    from flashgen.outputs.preview import (
        WHOLE_MAP_LIMIT,  # here: preview imports the build, which imports this
    )

    order = study.order
    selections: list[tuple[str | None, list[str] | None]]
    if part is not None:
        selections = [(None, list(dict.fromkeys(card.concept.id for card in part.cards)))]
    elif len(order) <= WHOLE_MAP_LIMIT:
        selections = [(None, None)]
    else:
        selections = []
        for chapter in study.course.chapters:
            ids = [c.id for c in order if c.chapter == chapter.id]
            if ids:
                selections.append((chapter.title, ids))
    pictures = []
    for number, (title, ids) in enumerate(selections, first):
        drawing = concept_map_layout(study, concepts=ids)
        options: dict[str, Any] = {
            "concepts": ids,
            "id_prefix": f"fg-map-{number}",
            "title": f"Concept map of {title}" if title else None,
            "map_layout": drawing,
        }
        svg = concept_map_svg(study, **options)
        size = re.search(r'width="([0-9.]+)" height="([0-9.]+)"', svg)
        assert size is not None
        width, height = float(size.group(1)), float(size.group(2))
        tops = sorted({box.y for box in drawing.boxes.values()})
        below = drawing.style.box_height
        cuts = [(a + below + b) / 2 for a, b in itertools.pairwise(tops)]
        files = {f"concept-map-{number}.svg": svg}
        strips = []
        for index, (top, bottom) in enumerate(itertools.pairwise([0.0, *cuts, height])):
            name = f"concept-map-{number}-{index + 1}.svg"
            files[name] = concept_map_svg(study, **options, band=(top, bottom))
            strips.append((name, top, bottom))
        boxes = [
            {"id": box.id, "x": box.x, "y": box.y, "w": box.width, "h": box.height}
            for box in drawing.boxes.values()
        ]
        pictures.append(MapPicture(title, files, width, height, strips, boxes))
    return pictures


# -- typesetting -------------------------------------------------------------------------------


@dataclass
class Pdfs:
    """What :func:`render_pdfs` produced: file bytes by key (see :func:`pdf_name`), plus
    warnings. A split course's PDFs are not held in memory but ``spooled`` to files in a
    temporary folder, removed by :meth:`close`."""

    files: dict[str, bytes]
    diagnostics: Diagnostics
    spooled: dict[str, Path] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [*self.files, *self.spooled]

    def read(self, key: str) -> bytes:
        return self.files[key] if key in self.files else self.spooled[key].read_bytes()

    def write(self, key: str, target: Path) -> None:
        if key in self.files:
            target.write_bytes(self.files[key])
        else:
            shutil.copyfile(self.spooled[key], target)

    def close(self) -> None:
        folders = {path.parent for path in self.spooled.values()}
        self.spooled = {}
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def cards_data(
    content: PdfContent, layout: Sheet, cards: Sequence[Card] | None = None
) -> dict[str, Any]:
    """The cards PDF's data: of every card, or of ``cards`` (one part of a split course)."""
    course = content.course
    return {
        "course": {"id": course.id, "title": course.title},
        "page": {"width": layout.page[0], "height": layout.page[1], "paper": layout.paper},
        "card": {"width": layout.card[0], "height": layout.card[1]},
        "grid": {
            "columns": layout.columns,
            "rows": layout.rows,
            "left": layout.margin[0],
            "top": layout.margin[1],
        },
        "safe": SAFE_MM,
        "font_size": layout.font_size,
        "min_font_size": MIN_FONT_PT,
        "cards": [
            estimate_fit(content.card(card), layout, content.markup.formulas)
            for card in (content.study.cards if cards is None else cards)
        ],
    }


#: Room the default template gives a card's header and footer, in mm.
HEADER_FOOTER_MM = 11.0
_FORMULA = re.compile("\ue010([0-9]+)\ue011")
_MARKUP_CODE = re.compile(r"#[a-z-]+\(|\\(.)")
_NEEDS_MEASURING = re.compile(
    "|".join(
        re.escape(marker)
        for marker in (
            *("#fg-image", "#raw(block", "#table", "#fg-tex(", "$ "),
            *("#list", "#enum", "#quote", "#block", "#line"),
        )
    )
)
#: Characters counted twice as wide (CJK and beyond).
_WIDE = re.compile("[\u2e80-\U0010ffff]")


def estimate_fit(
    card: dict[str, Any], layout: Sheet, formulas: Sequence[Formula] = ()
) -> dict[str, Any]:
    """Mark each face of ``card`` that surely fits at its starting size (``front_fits``,
    ``back_fits``), so the template need not measure it.

    A generous estimate, checked against Typst on the test courses: characters 0.45 em wide
    (Libertinus averages 0.44 em in English text), lines filled to 90% and rounded up, lines
    1.3 em apart (the default template's are 1.2 em), every paragraph costing a third of a
    line more, and every inline formula 60% as wide as its LaTeX source and a third of a
    line taller. Faces with
    images, tables, code blocks, lists or displayed math are always measured.
    ``formulas`` are the renderer's, whose placeholders the markup still holds.
    """
    fields = card["fields"]
    kind = card["kind"]
    if kind == "concept":
        links = [
            label + "; ".join(item["title"] for item in fields[key])
            for key, label in LINK_LABELS
            if fields[key]
        ]
        faces = {"front": [fields["title"]], "back": [fields["summary"], *links]}
    elif kind == "multiple-choice":
        choices = [c["text"] for c in fields["choices"]]
        right = [c["text"] for c in fields["choices"] if c["correct"]]
        faces = {
            "front": [fields["question"], *choices, *([SEVERAL] if fields["several"] else [])],
            "back": ["Answer", *right, fields["explanation"]],
        }
    elif kind == "true-false":
        faces = {"front": [fields["statement"], "True or false?"]}
        faces["back"] = ["False", fields["explanation"]]
    else:
        faces = {"front": [fields["front"]], "back": [fields["back"], fields["explanation"]]}
    width = layout.card[0] - 2 * SAFE_MM
    height = layout.card[1] - 2 * SAFE_MM - HEADER_FOOTER_MM
    for side, parts in faces.items():
        scale = 1.5 if kind == "concept" and side == "front" else 1.0  # the title is larger
        size_mm = layout.font_size * scale * MM_PER_INCH / 72
        card[f"{side}_fits"] = _surely_fits(parts, width, height, size_mm, formulas)
    return card


def _surely_fits(
    parts: list[str], width: float, height: float, size: float, formulas: Sequence[Formula]
) -> bool:
    per_line = max(int(0.9 * width / (0.45 * size)), 1)
    lines = 0.0
    for part in parts:
        if _NEEDS_MEASURING.search(part):
            return False
        for paragraph in part.split("\n\n"):
            extra = 0.35
            for number in _FORMULA.findall(paragraph):
                formula = formulas[int(number)]
                if formula.block:
                    return False
                extra += 0.33 + 0.6 * len(formula.tex) / per_line
            text = _MARKUP_CODE.sub(r"\1", _FORMULA.sub("", paragraph))
            wide = len(_WIDE.findall(text))
            lines += math.ceil((len(text) + wide) / per_line) + extra
    return lines * 1.3 * size <= height


def guide_data(
    content: PdfContent, paper: str, maps: Sequence[MapPicture], part: Part | None = None
) -> dict[str, Any]:
    """The guide's data: of the whole course, or of one ``part`` of a split course (questions
    keep the numbers they have in the whole course; links to concepts printed in another
    part's guide are marked ``here: false``)."""
    study = content.study
    course = study.course
    concepts: list[dict[str, Any]] = []
    by_concept: dict[str, dict[str, Any]] = {}
    number = 0
    wanted = None if part is None else {card.code for card in part.cards}
    questions = 0
    for card in study.cards:
        if wanted is not None and card.code not in wanted:
            number += card.question is not None
            continue
        if card.question is None:
            entry = {
                "id": card.concept.id,
                "chapter": card.chapter.title,
                "chapter_id": card.chapter.id,
                "code": card.code,
                **content.fields(card),
                "questions": [],
            }
            concepts.append(entry)
            by_concept[card.concept.id] = entry
        else:
            number += 1
            questions += 1
            by_concept[card.concept.id]["questions"].append(
                {
                    "number": number,
                    "code": card.code,
                    "kind": card.kind,
                    "label": KIND_LABELS[card.kind],
                    "fields": content.fields(card),
                }
            )
    data: dict[str, Any] = {
        "course": {
            "id": course.id,
            "title": course.title,
            "chapters": [c.title for c in course.chapters],
            "concepts": len(study.order),
            "questions": number,
        },
        "page": {"paper": "us-letter" if paper == "letter" else "a4"},
        "concepts": concepts,
        "maps": [picture.data() for picture in maps],
    }
    if part is not None:
        data["course"].update(
            chapters=[part.title], concepts=len(concepts), questions=questions, part=part.title
        )
        for entry in concepts:
            for item in (*entry["before"], *entry["after"], *entry["related"]):
                item["here"] = item["id"] in by_concept
    return data


def default_cache_dir() -> Path:
    """Where the PDF caches live: ``$FLASHGEN_CACHE_DIR``, else the user's cache folder."""
    configured = os.environ.get("FLASHGEN_CACHE_DIR", "").strip()
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "flashgen"


def render_pdfs(
    study: StudySet,
    course_dir: Path,
    timestamp: int,
    paper: str = "a4",
    card_size: str = "eighth",
    kinds: Iterable[str] = ("cards", "guide"),
    cache_dir: Path | None = None,
    split_cards: int | None = None,
) -> Pdfs:
    """Typeset the requested PDFs (``cards``, ``guide``) and return their bytes by key (see
    :func:`pdf_name`).

    A course with more than ``split_cards`` cards (default :func:`split_limit`) gets one
    PDF of each kind per part (:func:`pdf_parts`), keyed ``cards-<part>`` and ``guide-<part>``,
    each typeset in a worker process of its own so that memory stays bounded.

    ``cache_dir`` (default :func:`default_cache_dir`) keeps what costs time and depends only on
    its inputs between builds: each formula's checked conversion, and the text size Typst chose
    for each card side it had to measure. Results never depend on whether it was used.

    Raises :class:`CourseError` when a template (a course's override, usually) has an error.
    """
    cache_dir = cache_dir or default_cache_dir()
    parts = pdf_parts(study, split_limit() if split_cards is None else split_cards)
    if parts is not None:
        return _render_parts(
            study, course_dir, timestamp, paper, card_size, tuple(kinds), cache_dir, parts
        )
    diag = Diagnostics()
    content = PdfContent(study)
    content.markup.formula_cache = load_formula_cache(cache_dir / FORMULA_CACHE)
    layout = sheet(paper, card_size)
    kinds = tuple(kinds)
    documents: dict[str, dict[str, Any]] = {}
    maps: list[MapPicture] = []
    if "cards" in kinds:
        documents["cards"] = cards_data(content, layout)
    if "guide" in kinds:
        maps = concept_maps(study)
        documents["guide"] = guide_data(content, paper, maps)
    import typst

    fonts = typst.Fonts()
    substitute = content.markup.finish(fonts)
    content.markup.formula_cache.save(cache_dir / FORMULA_CACHE)
    for location, message in content.markup.warnings:
        diag.warning(location, message)
    files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="flashgen-typst-") as scratch:
        root = Path(scratch)
        origins = stage_templates(course_dir, root)
        media = root / "media"
        media.mkdir()
        for name, source in content.markup.media.items():
            (media / name).write_bytes(read_media(source)[0])
        for picture in maps:
            for name, svg in picture.files.items():
                (root / name).write_text(svg, "utf-8")
        fits = None
        for kind, data in documents.items():
            if kind == "cards":
                context = (*versions("typst"), _fonts_digest(fonts))
                fits = ResultCache.load(cache_dir / FIT_CACHE, context, _valid_size)
                keys, text = cards_json(data, substitute, fits, _templates_digest(root))
            else:
                text = substitute_json(_dumps(data), substitute)
            (root / f"{kind}.json").write_text(text, "utf-8")
            pdf, overflow, measured = typeset(root, kind, timestamp, origins, fonts)
            files[kind] = pdf
            for item in overflow:
                report_overflow(study, item, diag)
            if kind == "cards" and fits is not None:
                for item in measured:
                    key = keys.get((str(item.get("code")), str(item.get("side"))))
                    if key is not None and _valid_size(item.get("size")):
                        fits.add(key, float(item["size"]))
                fits.save(cache_dir / FIT_CACHE)
    return Pdfs(files, diag)


def _render_parts(
    study: StudySet,
    course_dir: Path,
    timestamp: int,
    paper: str,
    card_size: str,
    kinds: tuple[str, ...],
    cache_dir: Path,
    parts: list[Part],
) -> Pdfs:
    """:func:`render_pdfs` for a split course: the data of every part is made here, then each
    PDF typeset in a worker process (:func:`_typeset_all`)."""
    diag = Diagnostics()
    spool = Path(tempfile.mkdtemp(prefix="flashgen-pdfs-"))
    pdfs = Pdfs({}, diag)
    try:
        _render_parts_in(
            study, course_dir, timestamp, paper, kinds, cache_dir, parts, pdfs, spool, card_size
        )
    except BaseException:
        shutil.rmtree(spool, ignore_errors=True)
        raise
    return pdfs


def _render_parts_in(
    study: StudySet,
    course_dir: Path,
    timestamp: int,
    paper: str,
    kinds: tuple[str, ...],
    cache_dir: Path,
    parts: list[Part],
    pdfs: Pdfs,
    spool: Path,
    card_size: str = "eighth",
) -> None:
    diag = pdfs.diagnostics
    content = PdfContent(study)
    content.markup.formula_cache = load_formula_cache(cache_dir / FORMULA_CACHE)
    layout = sheet(paper, card_size)
    import typst

    fonts = typst.Fonts()
    with tempfile.TemporaryDirectory(prefix="flashgen-typst-") as scratch:
        root = Path(scratch)
        origins = stage_templates(course_dir, root)
        for kind in kinds:
            if not (root / "typst" / f"{kind}.typ").is_file():
                missing = Location(default_templates_dir() / "typst" / f"{kind}.typ")
                raise CourseError(_template_error(missing, f"template typst/{kind}.typ is missing"))
        documents: list[tuple[str, str, dict[str, Any]]] = []
        for index, part in enumerate(parts, 1):
            if "cards" in kinds:
                documents.append(
                    (f"cards-{part.name}", "cards", cards_data(content, layout, part.cards))
                )
            if "guide" in kinds:
                maps = concept_maps(study, part, first=index)
                for picture in maps:
                    for name, svg in picture.files.items():
                        (root / name).write_text(svg, "utf-8")
                documents.append(
                    (f"guide-{part.name}", "guide", guide_data(content, paper, maps, part))
                )
        substitute = content.markup.finish(fonts)
        content.markup.formula_cache.save(cache_dir / FORMULA_CACHE)
        for location, message in content.markup.warnings:
            diag.warning(location, message)
        media = root / "media"
        media.mkdir()
        for name, source in content.markup.media.items():
            (media / name).write_bytes(read_media(source)[0])
        fits = None
        keys: dict[tuple[str, str], str] = {}
        if "cards" in kinds:
            context = (*versions("typst"), _fonts_digest(fonts))
            fits = ResultCache.load(cache_dir / FIT_CACHE, context, _valid_size)
        salt = _templates_digest(root)
        tasks = []
        names = [(key, kind) for key, kind, _ in documents]
        for key, kind, data in documents:
            if kind == "cards" and fits is not None:
                found, text = cards_json(data, substitute, fits, salt)
                keys.update(found)
            else:
                text = substitute_json(_dumps(data), substitute)
            (root / f"{key}.json").write_text(text, "utf-8")
            tasks.append((kind, key))
        del documents
        results = _typeset_all(root, spool, tasks, timestamp, origins)
        for (key, kind), (overflow, measured) in zip(names, results, strict=True):
            pdfs.spooled[key] = spool / f"{key}.pdf"
            for item in overflow:
                report_overflow(study, item, diag)
            if kind == "cards" and fits is not None:
                for item in measured:
                    found_key = keys.get((str(item.get("code")), str(item.get("side"))))
                    if found_key is not None and _valid_size(item.get("size")):
                        fits.add(found_key, float(item["size"]))
        if fits is not None:
            fits.save(cache_dir / FIT_CACHE)


#: Worker processes that typeset the parts of a split course, and how many parts each
#: typesets before it is replaced by a fresh one (Typst's caches only grow within a process).
WORKERS = 2
PARTS_PER_WORKER = 1


def _typeset_all(
    root: Path, spool: Path, tasks: list[tuple[str, str]], timestamp: int, origins: dict[str, Path]
) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Typeset each (kind, key) of ``tasks`` (data ``root/<key>.json``, PDF written to
    ``spool/<key>.pdf``) in worker processes: ``WORKERS`` at a time, each a fresh process
    that typesets ``PARTS_PER_WORKER`` parts and exits. The results (overflow and measured
    sides), in the order of ``tasks``, do not depend on which worker typeset what.

    (Not one pool with ``max_tasks_per_child``: replacing its workers can hang on Python 3.11.)
    """
    from concurrent.futures import ThreadPoolExecutor

    batches = [tasks[i : i + PARTS_PER_WORKER] for i in range(0, len(tasks), PARTS_PER_WORKER)]
    workers = max(1, min(WORKERS, os.cpu_count() or 1, len(batches)))
    work = functools.partial(_typeset_batch, str(root), str(spool), timestamp)
    outcomes: list[tuple[Any, ...]] = []
    with ThreadPoolExecutor(max_workers=workers) as threads:
        futures = [threads.submit(work, batch) for batch in batches]
        try:
            for future in futures:
                for outcome in future.result():
                    if outcome[0] == "error":
                        raise CourseError(_typst_error(_Failure(*outcome[1:]), root, origins))
                    outcomes.append(outcome)
        finally:
            for future in futures:
                future.cancel()
    return [(overflow, measured) for _, overflow, measured in outcomes]


def _typeset_batch(
    root: str, spool: str, timestamp: int, batch: list[tuple[str, str]]
) -> list[tuple[Any, ...]]:
    """Typeset ``batch`` in a new worker process, which ends with it (stopping at an error)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    found = []
    with ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=tie_to_build, initargs=(os.getpid(),)
    ) as process:
        for kind, key in batch:
            outcome = process.submit(_typeset_task, root, kind, key, spool, timestamp).result()
            found.append(outcome)
            if outcome[0] == "error":
                break
    return found


@dataclass(frozen=True, slots=True)
class _Failure:
    """A Typst error reported by a worker process (what :func:`_typst_error` reads of one)."""

    diagnostic: str
    message: str
    hints: list[str]


def _typeset_task(root: str, kind: str, key: str, spool: str, timestamp: int) -> tuple[Any, ...]:
    """In a worker: write ``spool/<key>.pdf``; ("ok", overflow, measured), or ("error", text,
    message, hints)."""
    import typst

    try:
        data = f"/{key}.json"
        pdf, overflow, measured = _compile(Path(root), kind, timestamp, typst.Fonts(), data)
    except typst.TypstError as error:
        text = str(getattr(error, "diagnostic", "") or error)
        message = str(getattr(error, "message", "") or text.splitlines()[0])
        return ("error", text, message, [str(h) for h in getattr(error, "hints", None) or []])
    (Path(spool) / f"{key}.pdf").write_bytes(pdf)
    return ("ok", overflow, measured)


#: Cache files in the cache folder (see :func:`render_pdfs`).
FORMULA_CACHE = "typst-formulas"
FIT_CACHE = "typst-card-fits"


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _valid_size(value: Any) -> bool:
    return isinstance(value, float) and MIN_FONT_PT <= value <= 100


def cards_json(
    data: dict[str, Any], substitute: Callable[..., str], fits: ResultCache, salt: str
) -> tuple[dict[tuple[str, str], str], str]:
    """The cards data as JSON, with ``front_size``/``back_size`` for each side that must be
    measured but whose size Typst chose before (``fits``: by a digest of the card's final
    markup, ``salt`` and the page layout), so that it is not measured again.

    Returns the JSON and the digest of every side left to measure, by (code, side).
    """
    cards = data["cards"]
    head = _dumps({**data, "cards": []})
    assert head.endswith('"cards":[]}')  # the cards come last
    salt = hashlib.sha256((salt + head).encode()).hexdigest()
    keys: dict[tuple[str, str], str] = {}
    parts = []
    for card in cards:
        sure = {side: card.pop(f"{side}_fits", False) for side in ("front", "back")}
        text = substitute_json(_dumps(card), substitute)
        card.update({f"{side}_fits": value for side, value in sure.items()})
        extra = []
        for side, fits_surely in sure.items():
            extra.append(f'"{side}_fits":{"true" if fits_surely else "false"}')
            if fits_surely:
                continue
            key = hashlib.sha256(f"{salt}\0{side}\0{text}".encode()).hexdigest()
            found, size = fits.get(key)
            if found:
                extra.append(f'"{side}_size":{size!r}')
            else:
                keys[(str(card["code"]), side)] = key
        parts.append(f"{text[:-1]},{','.join(extra)}}}")
    return keys, f"{head[:-3]}[{','.join(parts)}]}}"


def _templates_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((root / "typst").rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _fonts_digest(fonts: Any) -> str:
    """The fonts Typst may choose from (fallback fonts change how much text fits)."""
    found = sorted(
        (f.family, f.style, f.weight, f.stretch, f.path or "", f.index) for f in fonts.fonts()
    )
    return hashlib.sha256(repr(found).encode()).hexdigest()


def substitute_json(text: str, substitute: Callable[..., str]) -> str:
    return substitute(text, json_string=True)


def stage_templates(course_dir: Path, root: Path) -> dict[str, Path]:
    """Copy the Typst templates into ``root/typst``: flashgen's, then the course's over them.

    Returns each staged file's origin (for error messages that name the real file).

    A course's files are read under :mod:`~.coursefiles`' rule (a link out of the course,
    a FIFO or an oversized file is a located error), and links to folders are not followed:
    Typst sees only copies, in a root holding nothing else flashgen did not put there, so a
    template's ``read()`` or ``image()`` cannot reach a file outside the course.
    """
    target = root / "typst"
    target.mkdir()
    origins: dict[str, Path] = {}
    diag = Diagnostics()
    for folder in reversed(template_dirs(course_dir)):
        source = folder / "typst"
        if not source.is_dir():
            continue
        own = folder != default_templates_dir()
        for here, dirs, files in os.walk(source):
            dirs.sort()
            for name in sorted(files) + [d for d in dirs if own and Path(here, d).is_symlink()]:
                path = Path(here, name)
                relative = path.relative_to(source).as_posix()
                if own:
                    problem = course_file_problem(path, course_dir, MAX_TEMPLATE_BYTES, "template")
                    if problem:
                        diag.error(Location(path), problem)
                        continue
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                try:
                    destination.write_bytes(_read_template(path, course_dir if own else None))
                except CourseFileError as error:
                    diag.error(Location(path), error.message)
                    continue
                origins[f"typst/{relative}"] = path
    if diag.has_errors:
        raise CourseError(diag)
    return origins


def _read_template(path: Path, course_dir: Path | None) -> bytes:
    if course_dir is None:
        return path.read_bytes()
    return read_course_file(path, course_dir, MAX_TEMPLATE_BYTES, "template")


_WHERE = re.compile(r"┌─ (\S+?):(\d+):(\d+)")


def typeset(
    root: Path, kind: str, timestamp: int, origins: dict[str, Path], fonts: object = None
) -> tuple[bytes, list[dict[str, Any]], list[dict[str, Any]]]:
    """Compile ``root/typst/<kind>.typ`` with ``/<kind>.json``; return the PDF, the
    cards whose text did not fit (the template marks them with ``<fg-overflow>``) and the
    size chosen for each side that was measured (``<fg-fit>``: code, side, size in pt).

    The cards PDF is written without PDF tags (the structure tree for screen readers): for
    cut-out cards it would double the typesetting time and make the file eight times larger;
    the study guide, meant to be read on screen too, keeps them.
    """
    import typst

    main = root / "typst" / f"{kind}.typ"
    if not main.is_file():
        missing = Location(default_templates_dir() / "typst" / f"{kind}.typ")
        raise CourseError(_template_error(missing, f"template typst/{kind}.typ is missing"))
    try:
        return _compile(root, kind, timestamp, fonts, f"/{kind}.json")
    except typst.TypstError as error:
        raise CourseError(_typst_error(error, root, origins)) from None


def _compile(
    root: Path, kind: str, timestamp: int, fonts: object, data: str
) -> tuple[bytes, list[dict[str, Any]], list[dict[str, Any]]]:
    import typst

    main = root / "typst" / f"{kind}.typ"
    compiler = typst.Compiler(main, root=root, sys_inputs={"data": data}, font_paths=fonts or [])
    pdf = compiler.compile(format="pdf", timestamp=timestamp, pdf_tags=kind != "cards")
    overflow = json.loads(compiler.query("<fg-overflow>", field="value", format="json"))
    measured = json.loads(compiler.query("<fg-fit>", field="value", format="json"))
    assert isinstance(pdf, bytes)
    return pdf, overflow, measured


def _typst_error(error: Any, root: Path, origins: dict[str, Path]) -> Diagnostics:
    """A Typst error as a diagnostic at the template's own file and line."""
    text = str(getattr(error, "diagnostic", "") or error)
    message = str(getattr(error, "message", "") or text.splitlines()[0])
    hints = list(getattr(error, "hints", None) or [])
    match = _WHERE.search(text)
    location = Location(root / "typst")
    if match:
        written = match.group(1).replace("\\", "/")
        staged = next((key for key in origins if written.endswith(key)), None)
        path = origins[staged] if staged else Path(written)
        location = Location(path, int(match.group(2)), int(match.group(3)))
    detail = "".join(f"; hint: {hint}" for hint in hints)
    return _template_error(location, f"Typst template error: {message}{detail}")


def _template_error(location: Location, message: str) -> Diagnostics:
    diag = Diagnostics()
    diag.error(location, message)
    return diag


def report_overflow(study: StudySet, item: dict[str, Any], diag: Diagnostics) -> None:
    code = str(item.get("code", ""))
    side = str(item.get("side", ""))
    card = next((c for c in study.cards if c.code == code), None)
    if card is None:
        return
    location = card.question.location if card.question else card.concept.location
    what = f"the {card.kind} card {code} ({card.concept.id}"
    what += f", question {card.question.id})" if card.question else ")"
    diag.warning(
        location,
        f"{what}: the {side} does not fit on the printed card even at {MIN_FONT_PT:g} pt and "
        "is cut off; shorten it or build with a larger --card-size",
    )


def page_count(cards: int, layout: Sheet) -> int:
    """Pages in the cards PDF: a front page and a back page for every ``per_page`` cards."""
    return 2 * math.ceil(cards / layout.per_page)
