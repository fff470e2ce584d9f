"""Anki note types ("models") for flashgen cards.

The field lists in :data:`FIELDS` and the names in :data:`NOTE_TYPE_NAMES` are a frozen
compatibility contract. Anki matches an imported note type to the one already in a student's
collection by its id; if the id, the name or the field list changes, Anki treats the import as a
*different* note type, and every re-imported note becomes a conflict instead of an in-place
update (losing the student's edits or duplicating cards). So:

* each course has its own five note types: ids come from :func:`stable_id` of the course id
  and the kind, names are ``flashgen-<kind> (<course id>)`` (so one course's templates or style
  never restyle another course's cards); fields and templates carry derived ids as well;
* a note type's modification time follows the fingerprint of its templates and style in the
  course's publication ledger (:mod:`flashgen.ledger`), so a template change reaches students
  and an unchanged note type leaves their own tweaks alone;
* new information goes into a new field only with a migration plan; ``Reserved`` exists so
  that one more value can be carried without changing the field list.

The HTML/CSS/JS of the card templates lives in ``templates/anki/`` (a course can override any
single file in its own ``templates/anki/``); ``templates/anki/FIELDS.md`` documents what the
builder must put in each field.
"""

from __future__ import annotations

import hashlib
from typing import Final

import genanki
import jinja2

__all__ = [
    "CARD_TEMPLATE_NAMES",
    "FIELDS",
    "KINDS",
    "NOTE_TYPE_NAMES",
    "build_note_types",
    "note_type_name",
    "stable_id",
]

_ID_LOW: Final = 1 << 40
_ID_HIGH: Final = 1 << 52


def stable_id(*names: str) -> int:
    """A positive id in ``[2**40, 2**52)`` derived only from ``names`` (sha256, no time/randomness).

    Anki stores ids as 64-bit integers, and its desktop and mobile clients pass them through
    JavaScript/JSON, so they must stay below 2**53. The range is wide enough (about 2**52 values)
    that a collision with another note type's id in a student's collection is negligible.
    """
    digest = hashlib.sha256("\x1f".join(names).encode("utf-8")).digest()
    return _ID_LOW + int.from_bytes(digest[:8], "big") % (_ID_HIGH - _ID_LOW)


#: Frozen field lists, in order, keyed by card kind. Never rename, reorder or remove a field.
FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "concept": (
        "Title",
        "Summary",
        "LearnBefore",
        "LearnAfter",
        "Related",
        "Context",
        "CardCode",
        "Reserved",
    ),
    "multiple-choice": (
        "Question",
        "Choices",
        "Answer",
        "Explanation",
        "Context",
        "CardCode",
        "Reserved",
    ),
    "true-false": ("Statement", "Answer", "Explanation", "Context", "CardCode", "Reserved"),
    "basic": ("Front", "Back", "Explanation", "Context", "CardCode", "Reserved"),
    "cloze": ("Text", "Explanation", "Context", "CardCode", "Reserved"),
}

KINDS: Final[tuple[str, ...]] = tuple(FIELDS)

#: Frozen note type names, keyed by card kind.
NOTE_TYPE_NAMES: Final[dict[str, str]] = {kind: f"flashgen-{kind}" for kind in KINDS}

#: Names of the single card template of each note type. Also frozen: Anki identifies a note's
#: cards by template position, but shows these names in the browser and in the card-type editor.
CARD_TEMPLATE_NAMES: Final[dict[str, str]] = {
    "concept": "Concept",
    "multiple-choice": "Multiple choice",
    "true-false": "True or false",
    "basic": "Basic",
    "cloze": "Cloze",
}

#: The field Anki's browser sorts by (and shows in its "Sort Field" column). The first field is
#: the human-readable prompt of every kind, which is what a student searches and sorts by.
_SORT_FIELD: Final[dict[str, str]] = {
    "concept": "Title",
    "multiple-choice": "Question",
    "true-false": "Statement",
    "basic": "Front",
    "cloze": "Text",
}


def note_type_name(kind: str, course_id: str | None = None) -> str:
    """``flashgen-basic (course-id)``: a course's own note types, so that one course's
    templates or style never restyle another course's cards in a student's collection."""
    base = NOTE_TYPE_NAMES[kind]
    return base if course_id is None else f"{base} ({course_id})"


def build_note_types(
    env: jinja2.Environment, course_id: str | None = None
) -> dict[str, genanki.Model]:
    """Render the card templates found by ``env`` and return one genanki model per kind.

    With ``course_id`` (as every build passes), ids and names are the course's own; fields and
    the card template carry ids derived from them too, which Anki's "Merge note types" uses
    to match them should the field list ever have to change.

    ``env`` is normally :func:`flashgen.render.templates.template_environment`, so a course's own
    ``templates/anki/...`` files override flashgen's defaults. The templates are rendered once
    here, with no variables: Jinja2 only assembles files (``[% include %]``, loops in the CSS);
    Anki's own ``{{Field}}`` syntax passes through for Anki to fill in per note.
    """
    css = env.get_template("anki/style.css").render()
    models: dict[str, genanki.Model] = {}
    for kind, fields in FIELDS.items():
        name = note_type_name(kind, course_id)
        front = env.get_template(f"anki/{kind}/front.html").render()
        back = env.get_template(f"anki/{kind}/back.html").render()
        ids = ("flashgen-note-type", name) if course_id is None else ("flashgen-note-type",
               course_id, kind)  # fmt: skip
        template = {"name": CARD_TEMPLATE_NAMES[kind], "qfmt": front, "afmt": back}
        field_list: list[dict[str, object]] = [{"name": field} for field in fields]
        if course_id is not None:
            template["id"] = stable_id(*ids, "template", CARD_TEMPLATE_NAMES[kind])
            for item in field_list:
                item["id"] = stable_id(*ids, "field", str(item["name"]))
        models[kind] = genanki.Model(
            model_id=stable_id(*ids),
            name=name,
            fields=field_list,
            templates=[template],
            css=css,
            model_type=genanki.Model.CLOZE if kind == "cloze" else genanki.Model.FRONT_BACK,
            sort_field_index=fields.index(_SORT_FIELD[kind]),
        )
    return models
