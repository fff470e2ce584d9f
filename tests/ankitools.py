"""Drive the official Anki library like a student's client: import, review, re-import."""

from __future__ import annotations

from pathlib import Path

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest


def import_apkg(col: Collection, path: Path, **options):
    """Import with Anki's default options (as File > Import does) and return the log."""
    request = ImportAnkiPackageRequest(
        package_path=str(path), options=ImportAnkiPackageOptions(**options)
    )
    log = col.import_anki_package(request).log
    col.models._clear_cache()  # the Python-side note-type cache is not told about imports
    return log


def answer_cards(col: Collection, deck: str, eases: list[int]) -> list[int]:
    """Review cards in ``deck`` with the real scheduler; return the reviewed card ids."""
    col.decks.select(col.decks.id_for_name(deck))
    reviewed = []
    for ease in eases:
        card = col.sched.getCard()
        assert card is not None, "the scheduler has no card to show"
        col.sched.answerCard(card, ease)
        reviewed.append(card.id)
    return reviewed


def scheduling(col: Collection, card_ids: list[int]) -> list[tuple]:
    ids = ",".join(map(str, card_ids))
    return sorted(
        col.db.all(
            f"select id, nid, did, ord, type, queue, due, ivl, factor, reps, lapses "
            f"from cards where id in ({ids})"
        )
    )


def note_by_guid(col: Collection, guid: str):
    return col.get_note(col.db.scalar("select id from notes where guid = ?", guid))
