"""Cards as Anki renders them: a package imported into a throw-away collection with the
official ``anki`` package, each card's question and answer HTML and its note type's CSS taken
from Anki's own renderer. So the preview cannot drift from the deck."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flashgen.outputs.cards import Card

#: flashgen is installed from its folder (a clone), not from a package index.
INSTALL_HINT = "in the flashgen folder, pip install '.[preview]'"


class PreviewUnavailable(Exception):
    """An optional dependency of the preview is missing; the message says how to install it."""


def require(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise PreviewUnavailable(
            f"{what} needs the '{module}' package, which is not installed: {INSTALL_HINT}"
        )


@dataclass(frozen=True, slots=True)
class CardSide:
    """One Anki card (a cloze note has one per deletion) as Anki renders it."""

    card: Card
    ord: int
    front: str
    back: str
    css: str

    @property
    def label(self) -> str:
        names = {
            "concept": "Concept",
            "multiple-choice": "Multiple choice",
            "true-false": "True or false",
            "basic": "Basic",
            "cloze": "Cloze",
        }
        label = names[self.card.kind]
        return f"{label} {self.ord + 1}" if self.card.kind == "cloze" else label


def render_with_anki(
    apkg: Path, cards: Sequence[Card], workdir: Path, media_out: Path
) -> list[CardSide]:
    """Import ``apkg`` into a fresh collection in ``workdir``; render each of ``cards``.

    Media files the deck carries are copied into ``media_out`` (one already there is kept:
    the server may be sending it).
    """
    require("anki", "flashgen preview")
    from anki.collection import (
        Collection,
        ImportAnkiPackageOptions,
        ImportAnkiPackageRequest,
    )

    col = Collection(str(workdir / "preview.anki2"))
    try:
        request = ImportAnkiPackageRequest(
            package_path=str(apkg), options=ImportAnkiPackageOptions()
        )
        col.import_anki_package(request)
        col.models._clear_cache()  # the Python-side note-type cache is not told about imports
        note_ids = dict(col.db.all("select guid, id from notes"))
        sides: list[CardSide] = []
        styles: dict[str, str] = {}  # one copy of each note type's CSS, not one per card
        for card in cards:
            note = col.get_note(note_ids[card.guid])
            for anki_card in sorted(note.cards(), key=lambda c: c.ord):
                output = anki_card.render_output(reload=True)
                sides.append(
                    CardSide(
                        card=card,
                        ord=anki_card.ord,
                        front=output.question_text,
                        back=output.answer_text,
                        css=styles.setdefault(output.css, output.css),
                    )
                )
        media_out.mkdir(parents=True, exist_ok=True)
        media_dir = Path(col.media.dir())
        for path in sorted(media_dir.iterdir()) if media_dir.is_dir() else ():
            target = media_out / path.name
            # a media name holds a digest of the content: a file already there is this one
            if path.is_file() and not (path.name.startswith("flashgen-") and target.is_file()):
                shutil.copyfile(path, target)
        return sides
    finally:
        col.close()
