"""Stable identities: Anki GUIDs, deck ids, card codes and the order of choices.

Everything here is a pure function of course, chapter, concept and question *ids*, never of
text, time or randomness: an instructor may reword anything and a rebuilt deck still updates
the same notes in every student's collection.
"""

from __future__ import annotations

import hashlib

from flashgen.course.model import Concept, Course, MultipleChoice, Question

#: Marks the concept's own note; question ids cannot contain '#', so it never collides.
CONCEPT_NOTE = "#concept"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def note_guid(course_id: str, concept_id: str, question_id: str = CONCEPT_NOTE) -> str:
    """The note's Anki GUID, from the course, concept and question ids only.

    Exactly ``genanki.guid_for(course_id, concept_id, question_id)`` (pinned by a test),
    without importing genanki where only ids are needed.
    """
    text = f"{course_id}__{concept_id}__{question_id}"
    number = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    digits = []
    while number > 0:
        number, rest = divmod(number, 91)
        digits.append(_BASE91[rest])
    return "".join(reversed(digits))


#: genanki's (and Anki's) base-91 alphabet for GUIDs.
_BASE91 = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
)


def deck_id(course: Course, chapter_id: str | None = None) -> int:
    from flashgen.outputs.notetypes import stable_id  # imports genanki, which only a deck needs

    if chapter_id is None:
        return stable_id("flashgen-deck", course.id)
    return stable_id("flashgen-deck", course.id, chapter_id)


def card_code(course_id: str, concept_id: str, question_id: str = CONCEPT_NOTE) -> str:
    """A short code printed on paper cards and shown in Anki, e.g. ``7KQ2-M9X``.

    35 bits: at 50,000 notes the chance that two share a code is about 4%, and the builder
    reports such a clash rather than printing two identical codes.
    """
    digest = hashlib.sha256("\x1f".join((course_id, concept_id, question_id)).encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = "".join(_CROCKFORD[(number >> (5 * i)) & 31] for i in range(7))
    return f"{chars[:4]}-{chars[4:]}"


def question_key(concept: Concept, question: Question | None) -> str:
    return CONCEPT_NOTE if question is None else question.id


def choice_order(course_id: str, concept_id: str, question: MultipleChoice) -> list[int]:
    """Indices into ``question.choices`` in display order: shuffled, but the same every build.

    The order depends on the question's identity and each choice's position, not on the
    wording, so editing a choice's text does not move it; the Anki card and the printed card
    show the same order.
    """
    return choice_order_for(note_guid(course_id, concept_id, question.id), len(question.choices))


def choice_order_for(guid: str, count: int) -> list[int]:
    """:func:`choice_order` from the note's GUID and the number of choices."""

    def key(index: int) -> bytes:
        return hashlib.sha256(f"{guid}\x1f{index}".encode()).digest()

    return sorted(range(count), key=key)


def letters(count: int) -> list[str]:
    """A, B, ..., Z, AA, AB, ...: labels for choices."""
    result = []
    for index in range(count):
        label = ""
        index += 1
        while index:
            index, rest = divmod(index - 1, 26)
            label = chr(65 + rest) + label
        result.append(label)
    return result
