"""Open the student's Anki named on the command line: a collection file or AnkiConnect."""

from __future__ import annotations

from flashgen.student.transport import AnkiUnavailable, StudentAnki

#: AnkiConnect's own default address; only this machine, unless the user names another.
DEFAULT_ANKI_CONNECT = "http://127.0.0.1:8765"


def open_student_anki(collection: str | None, anki_connect: str | None) -> StudentAnki:
    """``--collection PATH|PROFILE`` (``""``: the default profile) or ``--anki-connect URL``.

    Raises :class:`AnkiUnavailable` with a message for the student.
    """
    if collection is not None:
        from flashgen.student.collection_file import CollectionFile

        return CollectionFile.find(collection or None)
    if anki_connect is None:
        raise AnkiUnavailable(
            "say which Anki: --collection PATH (Anki closed) or --anki-connect (Anki open)"
        )
    try:
        from flashgen.student.ankiconnect import AnkiConnect  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise AnkiUnavailable(
            "this flashgen cannot talk to AnkiConnect yet: close Anki and use --collection"
        ) from None
    return AnkiConnect(anki_connect)  # type: ignore[no-any-return, unused-ignore]
