"""Export a study set as an Anki package (``.apkg``) with genanki.

Reproducible by construction: note GUIDs, note-type and deck ids come from names
(:mod:`flashgen.identity`), notes are written in learning order, and the zip is written with
fixed entry dates, so with the same timestamp two builds are byte-identical.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import tempfile
import warnings
import zipfile
from collections.abc import Iterable
from html import escape
from pathlib import Path

import genanki
import jinja2

from .cards import Card, StudySet
from .identity import deck_id, letters
from .markdown import HtmlRenderer
from .model import Basic, Cloze, Course, MultipleChoice, TrueFalse
from .notetypes import FIELDS, build_note_types

# genanki warns about HTML it does not recognise; fields here are already sanitised.
warnings.filterwarnings("ignore", module="genanki")


def deck_name(*titles: str) -> str:
    """An Anki deck path; '::' inside a title would create an unintended sub-deck."""
    return "::".join(" ".join(title.replace("::", ":").split()) for title in titles)


class NoteRenderer:
    """Fills each note type's fields from a card (HTML, sanitised)."""

    def __init__(self, study: StudySet):
        self.study = study
        self.course = study.course
        self.html = HtmlRenderer(self.course.root)
        self._titles: dict[str, str] = {}

    @property
    def media(self) -> dict[str, Path]:
        return self.html.media

    def title(self, concept_id: str) -> str:
        if concept_id not in self._titles:
            concept = self.course.concept(concept_id)
            text = concept.title if concept else concept_id
            base = concept.path.parent if concept else self.course.root
            self._titles[concept_id] = self.html.render(text, base, inline=True)
        return self._titles[concept_id]

    def links(self, concept_ids: Iterable[str]) -> str:
        items = "".join(f"<li>{self.title(cid)}</li>" for cid in dict.fromkeys(concept_ids))
        return f'<ul class="fg-links">{items}</ul>' if items else ""

    def fields(self, card: Card) -> list[str]:
        concept, question = card.concept, card.question
        base = concept.path.parent
        md = self.html.render
        context = " › ".join(
            (escape(self.course.title), escape(card.chapter.title), self.title(concept.id))
        )
        common = {"Context": context, "CardCode": card.code, "Reserved": ""}
        if question is None:
            values = {
                "Title": self.title(concept.id),
                "Summary": md(concept.summary, base),
                "LearnBefore": self.links(concept.prerequisite_ids),
                "LearnAfter": self.links(self.study.learn_after.get(concept.id, ())),
                "Related": self.links(concept.related_ids),
            }
        else:
            values = {"Explanation": md(question.explanation, base)}
            if isinstance(question, MultipleChoice):
                order = self.study.choice_order(card)
                keys = letters(len(order))
                items = "".join(
                    f'<li class="fg-choice" data-key="{key}"><span class="fg-key">{key}</span> '
                    f'<span class="fg-text">{md(question.choices[index], base, inline=True)}'
                    "</span></li>"
                    for key, index in zip(keys, order, strict=True)
                )
                correct = range(len(question.correct))
                select = ' data-select="multiple"' if len(question.correct) > 1 else ""
                values |= {
                    "Question": md(question.question, base),
                    "Choices": f'<ol class="fg-choices"{select}>{items}</ol>',
                    "Answer": " ".join(
                        sorted(k for k, i in zip(keys, order, strict=True) if i in correct)
                    ),
                }
            elif isinstance(question, TrueFalse):
                values |= {
                    "Statement": md(question.statement, base),
                    "Answer": "True" if question.answer else "False",
                }
            elif isinstance(question, Basic):
                values |= {"Front": md(question.front, base), "Back": md(question.back, base)}
            elif isinstance(question, Cloze):
                values |= {"Text": md(question.text, base)}
        values |= common
        return [values[name] for name in FIELDS[card.kind]]


def build_package(study: StudySet, env: jinja2.Environment) -> tuple[genanki.Package, NoteRenderer]:
    course = study.course
    models = build_note_types(env)
    renderer = NoteRenderer(study)
    decks = {
        chapter.id: genanki.Deck(
            deck_id(course, chapter.id), deck_name(course.title, chapter.title)
        )
        for chapter in course.chapters
    }
    for card in study.cards:
        note = genanki.Note(
            model=models[card.kind],
            fields=renderer.fields(card),
            tags=list(card.tags),
            guid=card.guid,
            due=card.position,
        )
        decks[card.chapter.id].add_note(note)
    for model in models.values():
        for deck in decks.values():
            deck.add_model(model)
    parent = genanki.Deck(deck_id(course), deck_name(course.title))
    return genanki.Package([parent, *decks.values()]), renderer


def write_apkg(
    package: genanki.Package, media: dict[str, Path], path: Path, timestamp: int
) -> None:
    """Write ``package`` to ``path`` (which the caller makes atomic) reproducibly."""
    with tempfile.TemporaryDirectory(prefix="flashgen-") as scratch:
        database = Path(scratch) / "collection.anki2"
        connection = sqlite3.connect(database)
        try:
            package.write_to_db(connection.cursor(), timestamp, itertools.count(timestamp * 1000))
            connection.commit()
        except sqlite3.Error as error:  # a full disk or file-size limit shows up here first
            raise OSError(f"cannot write the deck's database ({error})") from error
        finally:
            connection.close()
        date = _zip_date(timestamp)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            _add(archive, "collection.anki2", database.read_bytes(), date)
            names = sorted(media)
            index = {str(i): name for i, name in enumerate(names)}
            _add(archive, "media", json.dumps(index, sort_keys=True).encode(), date)
            for number, name in index.items():
                _add(archive, number, media[name].read_bytes(), date)


def _add(archive: zipfile.ZipFile, name: str, data: bytes, date: tuple[int, ...]) -> None:
    info = zipfile.ZipInfo(name, date_time=date)  # type: ignore[arg-type]
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data, compresslevel=6)


def _zip_date(timestamp: int) -> tuple[int, ...]:
    import time

    year, month, day, hour, minute, second = time.gmtime(max(timestamp, 315532800))[:6]
    return (year, month, day, hour, minute, second - second % 2)


def apkg_name(course: Course) -> str:
    return f"{course.id}.apkg"
