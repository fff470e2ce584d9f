"""The printed page: paper and card sizes, the card grid, the labels cards carry, and the
generous estimate of which card faces surely fit (so that Typst need not measure them)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flashgen.render.typst_markup import Formula

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


def page_count(cards: int, layout: Sheet) -> int:
    """Pages in the cards PDF: a front page and a back page for every ``per_page`` cards."""
    return 2 * math.ceil(cards / layout.per_page)
