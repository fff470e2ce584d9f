"""Printable PDFs of a study set: duplex cut-out flashcards and a study guide, typeset by Typst.

Python decides *what* is printed (the cards in learning order, their codes, the choice order
shared with Anki, the page grid, the concept map's layers) and hands it to Typst as JSON; the
layouts are ordinary Typst files in ``templates/typst/`` that a course may override one file at
a time. Course text reaches Typst only as escaped markup inside that JSON (see
:mod:`flashgen.typst_markup`), never pasted into a template.

Each PDF is typeset in a scratch folder that becomes Typst's ``root``: the chosen template
files, ``data.json`` and copies of the images the text uses. Typst cannot read anything else.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cards import Card, StudySet
from .concept_map import concept_map_svg
from .concept_map import layout as concept_map_layout
from .diagnostics import CourseError, Diagnostics, Location
from .identity import letters
from .model import Basic, Cloze, Concept, Course, MultipleChoice, TrueFalse
from .templates import default_templates_dir, template_dirs
from .typst_markup import Formula, ResultCache, TypstRenderer, load_formula_cache, versions

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
        self.markup = TypstRenderer(self.course.root)
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


def concept_maps(study: StudySet) -> list[MapPicture]:
    """The guide's concept maps: the drawings of the HTML preview's index page (one map of the
    course, or one per chapter for a large course), drawn by :func:`concept_map_svg`."""
    from .preview import WHOLE_MAP_LIMIT  # here: preview imports the build, which imports this

    order = study.order
    if len(order) <= WHOLE_MAP_LIMIT:
        selections: list[tuple[str | None, list[str] | None]] = [(None, None)]
    else:
        selections = []
        for chapter in study.course.chapters:
            ids = [c.id for c in order if c.chapter == chapter.id]
            if ids:
                selections.append((chapter.title, ids))
    pictures = []
    for number, (title, ids) in enumerate(selections, 1):
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
    """What :func:`render_pdfs` produced: file bytes by name, plus warnings."""

    files: dict[str, bytes]
    diagnostics: Diagnostics


def cards_data(content: PdfContent, layout: Sheet) -> dict[str, Any]:
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
            for card in content.study.cards
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
            for key, label in (("before", "Learn before: "), ("after", "Learn after: "))
            if fields[key]
        ]
        faces = {"front": [fields["title"]], "back": [fields["summary"], *links]}
    elif kind == "multiple-choice":
        choices = [c["text"] for c in fields["choices"]]
        right = [c["text"] for c in fields["choices"] if c["correct"]]
        faces = {
            "front": [fields["question"], *choices],
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


def guide_data(content: PdfContent, paper: str, maps: Sequence[MapPicture]) -> dict[str, Any]:
    study = content.study
    course = study.course
    concepts: list[dict[str, Any]] = []
    by_concept: dict[str, dict[str, Any]] = {}
    number = 0
    for card in study.cards:
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
            by_concept[card.concept.id]["questions"].append(
                {
                    "number": number,
                    "code": card.code,
                    "kind": card.kind,
                    "label": KIND_LABELS[card.kind],
                    "fields": content.fields(card),
                }
            )
    return {
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
) -> Pdfs:
    """Typeset the requested PDFs (``cards``, ``guide``) and return their bytes.

    ``cache_dir`` (default :func:`default_cache_dir`) keeps what costs time and depends only on
    its inputs between builds: each formula's checked conversion, and the text size Typst chose
    for each card side it had to measure. Results never depend on whether it was used.

    Raises :class:`CourseError` when a template (a course's override, usually) has an error.
    """
    diag = Diagnostics()
    cache_dir = cache_dir or default_cache_dir()
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
            shutil.copyfile(source, media / name)
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
    """
    target = root / "typst"
    target.mkdir()
    origins: dict[str, Path] = {}
    for folder in reversed(template_dirs(course_dir)):
        source = folder / "typst"
        if not source.is_dir():
            continue
        for path in sorted(source.rglob("*")):
            if path.is_file():
                relative = path.relative_to(source).as_posix()
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)
                origins[f"typst/{relative}"] = path
    return origins


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
    compiler = typst.Compiler(
        main, root=root, sys_inputs={"data": f"/{kind}.json"}, font_paths=fonts or []
    )
    try:
        pdf = compiler.compile(format="pdf", timestamp=timestamp, pdf_tags=kind != "cards")
        overflow = json.loads(compiler.query("<fg-overflow>", field="value", format="json"))
        measured = json.loads(compiler.query("<fg-fit>", field="value", format="json"))
    except typst.TypstError as error:
        raise CourseError(_typst_error(error, root, origins)) from None
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
