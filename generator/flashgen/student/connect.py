"""Open the student's Anki named on the command line: a collection file or AnkiConnect."""

from __future__ import annotations

from flashgen.student.transport import AnkiUnavailable, StudentAnki

#: AnkiConnect's own default address; only this machine, unless the user names another.
DEFAULT_ANKI_CONNECT = "http://127.0.0.1:8765"


def open_student_anki(
    collection: str | None, anki_connect: str | None, *, allow_remote: bool = False
) -> StudentAnki:
    """``--collection PATH|PROFILE`` (``""``: the default profile) or ``--anki-connect URL``
    (on this computer, or another one with ``allow_remote``: ``--anki-connect-remote``).

    Raises :class:`AnkiUnavailable` with a message for the student.
    """
    if collection is not None:
        from flashgen.student.collection_file import CollectionFile

        return CollectionFile.find(collection or None)
    if anki_connect is None:
        raise AnkiUnavailable(
            "say which Anki: --collection PATH (Anki closed) or --anki-connect (Anki open)"
        )
    from flashgen.student.ankiconnect import AnkiConnect

    return AnkiConnect(anki_connect, allow_remote=allow_remote)
