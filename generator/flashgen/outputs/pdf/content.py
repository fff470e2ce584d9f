"""What the PDFs print, as JSON-ready data of escaped Typst markup: the cards, the guide's
concepts and questions, and the guide's concept maps (the HTML preview's drawings)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flashgen.course.model import Basic, Cloze, Concept, MultipleChoice, TrueFalse
from flashgen.diagnostics import Location
from flashgen.outputs.cards import Card, StudySet
from flashgen.outputs.concept_map import WHOLE_MAP_LIMIT, concept_map_svg
from flashgen.outputs.concept_map import layout as concept_map_layout
from flashgen.outputs.identity import letters
from flashgen.outputs.pdf.layout import KIND_LABELS, MIN_FONT_PT, SAFE_MM, Sheet, estimate_fit
from flashgen.outputs.pdf.parts import Part
from flashgen.render.formula_worker import BackgroundConverter
from flashgen.render.typst_markup import TypstRenderer


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
