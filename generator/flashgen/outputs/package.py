"""What goes into an Anki package, before it is written: note types, decks named as Anki
shows them, and each deck's notes. Both the deck writer (:mod:`flashgen.outputs.apkg`) and
the publication ledger (:mod:`flashgen.outputs.publication`) work on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flashgen.course.html_text import deck_name_text

if TYPE_CHECKING:
    import genanki


def deck_name(*titles: str) -> str:
    """An Anki deck path; '::' inside a title would create an unintended sub-deck. HTML tags
    are left out (see :func:`flashgen.course.html_text.deck_name_text`; check warns about them)."""
    return "::".join(deck_name_text(title.replace("::", ":"))[0] for title in titles)


def chapter_deck_leaf(index: int, count: int, title: str) -> str:
    """A chapter deck's own name: its zero-padded number, then its title, so that Anki's
    default "Deck" gather order (sub-decks alphabetically) follows the course."""
    width = max(2, len(str(count)))
    return f"{index + 1:0{width}d} {title}"


#: One concept's notes as far as they depend on its own file and the course id only: rendered
#: title and summary HTML, the concept note's GUID and card code, and for each question
#: ``(kind, guid, code, leading fields, question id)`` (the leading fields: every field before
#: Context, CardCode, Reserved). Plain tuples and strings, so that the build cache can store it
#: with :mod:`marshal`.
ConceptNotes = tuple[str, str, str, str, tuple[tuple[str, str, str, tuple[str, ...], str], ...]]


@dataclass
class AnkiPackage:
    """What goes into the .apkg: note types, decks, and each deck's notes in order."""

    models: dict[str, genanki.Model]
    parent: tuple[int, str]
    #: ``(deck id, deck name, notes)``. As assembled, a note is ``(kind, guid, fields, tags,
    #: due, (concept id, question id or ""))``; :func:`flashgen.outputs.publication.publish`
    #: replaces the last item with the note's modification time, which
    #: :func:`flashgen.outputs.apkg.write_apkg` needs.
    decks: list[tuple[int, str, list[tuple[Any, ...]]]]
    #: Each note type's modification time (set by :func:`flashgen.outputs.publication.publish`).
    model_mods: dict[str, int] = field(default_factory=dict)
    #: The course's deck-options preset: ``(id, name)``.
    preset: tuple[int, str] | None = None
