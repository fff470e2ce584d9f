"""Export a study set as an Anki package (``.apkg``) with genanki.

Reproducible by construction: note GUIDs, note-type and deck ids come from names
(:mod:`flashgen.outputs.identity`), notes are written in learning order, and the zip is written with
fixed entry dates, so with the same timestamp two builds are byte-identical.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import sqlite3
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # genanki is imported where a deck is written (it takes ~50 ms to load)
    import genanki
    import jinja2

from flashgen.course.coursefiles import read_media
from flashgen.course.model import Basic, Chapter, Cloze, Concept, Course, MultipleChoice, TrueFalse
from flashgen.outputs import identity
from flashgen.outputs.cards import StudySet
from flashgen.outputs.identity import deck_id, letters
from flashgen.outputs.notetypes import FIELDS, build_note_types, stable_id
from flashgen.outputs.package import AnkiPackage, ConceptNotes, chapter_deck_leaf, deck_name
from flashgen.render.markdown import HtmlRenderer, escape_anki_markup

# genanki warns about HTML it does not recognise; fields here are already sanitised.
warnings.filterwarnings("ignore", module="genanki")


#: The fields every note type ends with; the course-level parts filled in by :func:`assemble`.
_TRAILING = ("Context", "CardCode", "Reserved")


def render_concept(concept: Concept, course_id: str, html: HtmlRenderer) -> ConceptNotes:
    """Render every field of a concept's notes that does not depend on other files."""
    base = concept.path.parent
    md = html.render
    questions = []
    for question in concept.questions:
        guid = identity.note_guid(course_id, concept.id, question.id)
        code = identity.card_code(course_id, concept.id, question.id)
        values = {"Explanation": md(question.explanation, base)}
        if isinstance(question, MultipleChoice):
            order = identity.choice_order_for(guid, len(question.choices))
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
        leading = tuple(values[name] for name in FIELDS[question.kind][: -len(_TRAILING)])
        questions.append((question.kind, guid, code, leading, question.id))
    return (
        md(concept.title, base, inline=True),
        md(concept.summary, base),
        identity.note_guid(course_id, concept.id),
        identity.card_code(course_id, concept.id),
        tuple(questions),
    )


class _ConceptLike(Protocol):
    id: str
    chapter: str
    tags: tuple[str, ...]

    @property
    def prerequisite_ids(self) -> tuple[str, ...]: ...

    @property
    def related_ids(self) -> tuple[str, ...]: ...


class _CourseLike(Protocol):
    id: str
    title: str
    tags: tuple[str, ...]
    chapters: tuple[Chapter, ...]
    root: Path


def assemble(
    course: _CourseLike,
    order: Sequence[_ConceptLike],
    notes: Mapping[str, ConceptNotes],
    learn_after: Mapping[str, Sequence[str]],
    models: dict[str, genanki.Model],
    html: HtmlRenderer,
) -> AnkiPackage:
    """Put each concept's rendered notes into decks, adding what depends on the whole course:
    links to other concepts, the context line, tags and the learning-order position."""
    titles: dict[str, str] = {cid: rendered[0] for cid, rendered in notes.items()}

    def title(cid: str) -> str:
        if cid not in titles:  # an unknown id: reported by the checks, never built
            titles[cid] = html.render(cid, course.root, inline=True)
        return titles[cid]

    def links(ids: Iterable[str]) -> str:
        items = "".join(f"<li>{title(cid)}</li>" for cid in dict.fromkeys(ids))
        return f'<ul class="fg-links">{items}</ul>' if items else ""

    chapters = {chapter.id: chapter for chapter in course.chapters}
    count = len(course.chapters)
    decks = {
        chapter.id: (
            deck_id(course, chapter.id),
            deck_name(course.title, chapter_deck_leaf(index, count, chapter.title)),
            [],
        )
        for index, chapter in enumerate(course.chapters)
    }
    prefix = {
        chapter.id: escape_anki_markup(f"{escape(course.title)} › {escape(chapter.title)} › ")
        for chapter in course.chapters
    }
    position = 0
    for concept in order:
        own_title, summary, guid, code, questions = notes[concept.id]
        chapter = chapters[concept.chapter]
        tags = dict.fromkeys(
            [
                f"course::{course.id}",
                f"chapter::{concept.chapter}",
                f"concept::{concept.id}",
                *course.tags,
                *concept.tags,
            ]
        )
        tag_text = " " + " ".join(tags) + " "
        context = prefix[chapter.id] + own_title
        deck_notes = decks[chapter.id][2]
        fields = [
            own_title,
            summary,
            links(concept.prerequisite_ids),
            links(learn_after.get(concept.id, ())),
            links(concept.related_ids),
            context,
            code,
            "",
        ]
        deck_notes.append(("concept", guid, fields, tag_text, position, (concept.id, "")))
        position += 1
        for kind, question_guid, question_code, leading, question_id in questions:
            fields = [*leading, context, question_code, ""]
            deck_notes.append(
                (kind, question_guid, fields, tag_text, position, (concept.id, question_id))
            )
            position += 1
    preset = (stable_id("flashgen-preset", course.id), f"{deck_name(course.title)} (flashgen)")
    return AnkiPackage(
        models, (deck_id(course), deck_name(course.title)), list(decks.values()), preset=preset
    )


def build_package(
    study: StudySet,
    env: jinja2.Environment,
    render: Callable[[Concept, str, HtmlRenderer], ConceptNotes] = render_concept,
) -> tuple[AnkiPackage, HtmlRenderer]:
    """The deck of a study set; the renderer returned holds the media files it references.

    ``render`` renders one concept's notes (the preview server passes one that reuses the
    notes of an unchanged file)."""
    course = study.course
    models = build_note_types(env, course.id)
    html = HtmlRenderer(course.root)
    notes: dict[str, ConceptNotes] = {}
    for concept in course.concepts:
        if concept.id not in notes:
            notes[concept.id] = render(concept, course.id, html)
    return assemble(course, study.order, notes, study.learn_after, models, html), html


def _card_ords(model: genanki.Model) -> Callable[[list[str]], list[int]]:
    """Which cards a note of ``model`` gets: genanki's rules (``Note.cards``), computed once."""
    import genanki

    if model.model_type == genanki.Model.CLOZE:
        qfmt = model.templates[0]["qfmt"]
        names = set(
            re.findall(r"{{[^}]*?cloze:(?:[^}]?:)*(.+?)}}", qfmt)
            + re.findall("<%cloze:(.+?)%>", qfmt)
        )
        positions = [
            next((i for i, f in enumerate(model.fields) if f["name"] == name), -1) for name in names
        ]

        def cloze(fields: list[str]) -> list[int]:
            ords: set[int] = set()
            for index in positions:
                value = fields[index] if index >= 0 else ""
                ords.update(int(m) - 1 for m in _CLOZE_NUMBER.findall(value) if int(m) > 0)
            return list(ords)

        return cloze
    requirements = [(ord_, {"any": any, "all": all}[op], req) for ord_, op, req in model._req]

    def front_back(fields: list[str]) -> list[int]:
        return [ord_ for ord_, op, req in requirements if op(fields[i] for i in req)]

    return front_back


_CLOZE_NUMBER = re.compile(r"{{c(\d+)::.+?}}", re.DOTALL)


def write_apkg(package: AnkiPackage, media: dict[str, Path], path: Path, timestamp: int) -> None:
    """Write ``package`` to ``path`` (which the caller makes atomic) reproducibly.

    genanki writes the collection's schema, decks and note types; the notes and cards are
    inserted here in bulk, row for row what genanki's per-note ``write_to_db`` would insert
    (same ids, order and values) at a fraction of the cost.
    """
    import genanki

    decks = [genanki.Deck(*package.parent)]
    for deck_number, name, _ in package.decks:
        deck = genanki.Deck(deck_number, name)
        for model in package.models.values():
            deck.add_model(model)
        decks.append(deck)
    with tempfile.TemporaryDirectory(prefix="flashgen-") as scratch:
        database = Path(scratch) / "collection.anki2"
        connection = sqlite3.connect(database)
        try:
            connection.execute("PRAGMA journal_mode=OFF")
            connection.execute("PRAGMA synchronous=OFF")
            cursor = connection.cursor()
            indexes = _write_collection(cursor, decks, timestamp, package)
            _insert_notes(cursor, package, itertools.count(timestamp * 1000))
            cursor.executescript(indexes)
            connection.commit()
        except sqlite3.Error as error:  # a full disk or file-size limit shows up here first
            raise OSError(f"cannot write the deck's database ({error})") from error
        finally:
            connection.close()
        date = _zip_date(timestamp)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            # Streamed from the file: the collection is never held in memory whole.
            entry = archive.open(_info("collection.anki2", date), "w")
            with open(database, "rb") as source, entry as target:
                shutil.copyfileobj(source, target, 1 << 20)
            names = sorted(media)
            index = {str(i): name for i, name in enumerate(names)}
            _add(archive, "media", json.dumps(index, sort_keys=True).encode(), date)
            for number, name in index.items():
                _add(archive, number, read_media(media[name])[0], date)


def _write_collection(
    cursor: sqlite3.Cursor, decks: list[genanki.Deck], timestamp: int, package: AnkiPackage
) -> str:
    """The schema and the ``col`` row exactly as ``genanki.Package.write_to_db`` leaves them.

    genanki re-reads, updates and re-writes the whole decks and note-types JSON once per deck,
    which costs seconds at a few hundred chapters; the end result is computed here directly.
    That includes a genanki quirk: it keys note types by integer id on top of the string keys
    it read back, so the last two decks' versions of each note type both appear in the JSON
    (Anki keeps the last one).
    """
    from genanki.apkg_col import APKG_COL
    from genanki.apkg_schema import APKG_SCHEMA

    # Tables now, indexes after the bulk insert (write_apkg): the same rows and indexes, and
    # building an index once is cheaper than maintaining it row by row.
    statements = [part.strip() for part in APKG_SCHEMA.split(";") if part.strip()]
    indexes = [sql for sql in statements if sql.upper().startswith("CREATE INDEX")]
    tables = [sql for sql in statements if sql not in indexes]
    cursor.executescript(";\n".join(tables) + ";")
    cursor.executescript(APKG_COL)
    decks_text, models_text = cursor.execute("SELECT decks, models FROM col").fetchone()
    decks_json = json.loads(decks_text)
    for deck in decks:
        decks_json[str(deck.deck_id)] = deck.to_json()
    model_mods = {model.model_id: package.model_mods.get(kind, timestamp)
                  for kind, model in package.models.items()}  # fmt: skip
    models_json: dict[Any, Any] = json.loads(models_text)
    with_models = [deck for deck in decks if deck.models]
    if len(with_models) >= 2:
        for model_id, model in with_models[-2].models.items():
            models_json[str(model_id)] = json.loads(
                json.dumps(model.to_json(model_mods[model_id], with_models[-2].deck_id))
            )
    if with_models:
        for model_id, model in with_models[-1].models.items():
            models_json[model_id] = model.to_json(model_mods[model_id], with_models[-1].deck_id)
    if package.preset is not None:
        _add_preset(cursor, decks_json, package.preset, timestamp)
    cursor.execute("UPDATE col SET decks = ?", (json.dumps(decks_json),))
    cursor.execute("UPDATE col SET models = ?", (json.dumps(models_json),))
    return ";\n".join(indexes) + ";"


def _add_preset(
    cursor: sqlite3.Cursor, decks_json: dict[str, Any], preset: tuple[int, str], timestamp: int
) -> None:
    """The course's deck-options preset, used by every deck of the course: new cards gathered
    by ascending position (the learning order) and shown in that order. Anki applies it only
    when the student ticks "Import deck presets"; otherwise the deck names' order serves."""
    (dconf_text,) = cursor.execute("SELECT dconf FROM col").fetchone()
    dconf = json.loads(dconf_text)
    config = json.loads(json.dumps(dconf["1"]))
    preset_id, name = preset
    config.update(
        id=preset_id,
        name=name,
        mod=timestamp,
        usn=-1,
        newGatherPriority=1,  # NEW_CARD_GATHER_PRIORITY_LOWEST_POSITION
        newSortOrder=1,  # NEW_CARD_SORT_ORDER_NO_SORT: "order gathered"
    )
    config["new"] = {**config.get("new", {}), "order": 1}  # new cards by due (position)
    dconf[str(preset_id)] = config
    for deck in decks_json.values():
        if deck.get("dyn", 0) == 0 and str(deck.get("id")) != "1":
            deck["conf"] = preset_id
    cursor.execute("UPDATE col SET dconf = ?", (json.dumps(dconf),))


def _insert_notes(cursor: sqlite3.Cursor, package: AnkiPackage, ids: Iterator[int]) -> None:
    """Every note and card, in deck order: the rows genanki's ``Note.write_to_db`` writes."""
    cards_of = {kind: _card_ords(model) for kind, model in package.models.items()}
    model_ids = {kind: model.model_id for kind, model in package.models.items()}
    sort_index = {kind: model.sort_field_index for kind, model in package.models.items()}
    note_rows: list[tuple[object, ...]] = []
    card_rows: list[tuple[object, ...]] = []
    for deck_number, _, notes in package.decks:
        for kind, guid, fields, tags, due, mod in notes:
            note_id = next(ids)
            note_rows.append(
                (note_id, guid, model_ids[kind], mod, -1, tags, "\x1f".join(fields),
                 fields[sort_index[kind]], 0, 0, "")
            )  # fmt: skip
            for ord_ in cards_of[kind](fields):
                card_rows.append(
                    (next(ids), note_id, deck_number, ord_, mod, -1, 0, 0, due,
                     0, 0, 0, 0, 0, 0, 0, 0, "")
                )  # fmt: skip
    cursor.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?);", note_rows)
    del note_rows
    cursor.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?);", card_rows)


#: zlib level 1: a third of level 6's time on a 40 MB collection, for a 10% larger file.
_COMPRESS_LEVEL = 1


def _info(name: str, date: tuple[int, ...]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date)  # type: ignore[arg-type]
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    # ZipFile.open(info, "w") reads the level from the info (3.13 renamed the attribute).
    level = "compress_level" if hasattr(info, "compress_level") else "_compresslevel"
    setattr(info, level, _COMPRESS_LEVEL)
    return info


def _add(archive: zipfile.ZipFile, name: str, data: bytes, date: tuple[int, ...]) -> None:
    archive.writestr(_info(name, date), data, compresslevel=_COMPRESS_LEVEL)


def _zip_date(timestamp: int) -> tuple[int, ...]:
    import time

    year, month, day, hour, minute, second = time.gmtime(max(timestamp, 315532800))[:6]
    return (year, month, day, hour, minute, second - second % 2)


def apkg_name(course: Course) -> str:
    return f"{course.id}.apkg"
