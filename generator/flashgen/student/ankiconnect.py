"""A student's Anki while Anki is open: the AnkiConnect add-on's HTTP API (version 6).

AnkiConnect (add-on code 2055492159) hands whoever reaches its port the whole collection, so
this transport talks only to this computer unless told otherwise (``allow_remote``). Every
request is one JSON POST with the standard library; a failure becomes
:class:`~flashgen.student.transport.AnkiUnavailable` with a message for the student.

Anki's editor keeps its own copy of a note: a field update to a note open in the browser or
the editor is silently overwritten, and AnkiConnect still answers "done". So every write is
read back, and what did not apply is reported by name.

Limits of the API, which the records say rather than hide:

* AnkiConnect shows no note GUIDs and cannot set one: :attr:`NoteRecord.guid` is ``""`` and an
  added note gets Anki's own GUID (``sync`` finds flashgen's notes by their ``CardCode`` field).
* It shows no FSRS memory state: :attr:`CardRecord.memory` is ``None`` (``progress`` then
  estimates recall from the review log).
* It has no backup action: :meth:`AnkiConnect.backup` exports every top-level deck with its
  scheduling into the profile's ``backups`` folder (File > Import restores it), beside the
  backups Anki makes by itself.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from flashgen.student.transport import (
    CARD_NEW,
    QUEUE_SUSPENDED,
    AnkiUnavailable,
    CardRecord,
    NewNote,
    NoteRecord,
    NoteTypeSpec,
    ReviewRecord,
)

DEFAULT_URL = "http://127.0.0.1:8765"
#: The API version flashgen speaks; AnkiConnect answers older clients differently.
API_VERSION = 6
#: Seconds to wait for one answer; a large collection's export can take a while.
TIMEOUT = 60.0
ADDON = "the AnkiConnect add-on (code 2055492159)"


def is_loopback(host: str) -> bool:
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_url(url: str, allow_remote: bool = False) -> str:
    """``url`` with ``http://`` added when missing; refuse another computer unless allowed."""
    full = url if "://" in url else f"http://{url}"
    parts = urllib.parse.urlsplit(full)
    if parts.scheme not in ("http", "https"):
        raise AnkiUnavailable(f"{url}: AnkiConnect is reached over http://, not {parts.scheme}://")
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        host = None
    if not host:
        raise AnkiUnavailable(f"{url}: not an address AnkiConnect can be reached at")
    if not allow_remote and not is_loopback(host):
        raise AnkiUnavailable(
            f"{url}: {host} is not this computer; AnkiConnect gives whoever reaches it the whole "
            "collection, so flashgen talks only to localhost unless --anki-connect-remote "
            "allows another host"
        )
    return full


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class AnkiConnect:
    """:class:`~flashgen.student.transport.StudentAnki` over AnkiConnect's HTTP API."""

    def __init__(
        self, url: str = DEFAULT_URL, *, allow_remote: bool = False, timeout: float = TIMEOUT
    ) -> None:
        self.url = checked_url(url or DEFAULT_URL, allow_remote)
        self.timeout = timeout
        # AnkiConnect is local: a proxy from the environment must never see the collection.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        version = self._call("version")
        if not isinstance(version, int) or version < API_VERSION:
            raise AnkiUnavailable(
                f"{self.url} speaks AnkiConnect API version {version}; flashgen needs "
                f"{API_VERSION} or newer: update {ADDON}"
            )

    # --- the wire -------------------------------------------------------------------------
    def _call(self, action: str, **params: Any) -> Any:
        body = json.dumps({"action": action, "version": API_VERSION, "params": params})
        request = urllib.request.Request(
            self.url,
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            said = _error_in(error.read())
            raise AnkiUnavailable(
                f"AnkiConnect at {self.url} failed on {action}: {said}"
                if said
                else f"{self.url} answered HTTP {error.code} to {action}: is it {ADDON}?"
            ) from None
        except urllib.error.URLError as error:
            raise AnkiUnavailable(self._unreachable(error.reason)) from None
        except (TimeoutError, ConnectionError) as error:
            raise AnkiUnavailable(self._unreachable(error)) from None
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not {"result", "error"} <= answer.keys():
            raise AnkiUnavailable(
                f"{self.url} did not answer {action} as AnkiConnect does: is it {ADDON}?"
            )
        if answer["error"] is not None:
            raise AnkiUnavailable(f"AnkiConnect at {self.url} refused {action}: {answer['error']}")
        return answer["result"]

    def _unreachable(self, reason: object) -> str:
        if isinstance(reason, TimeoutError):
            return (
                f"{self.url} gave no answer within {self.timeout:g} s: is Anki busy "
                "(a dialog open, a sync running)?"
            )
        if isinstance(reason, ConnectionRefusedError):
            return (
                f"nothing answers at {self.url}: start Anki with {ADDON} installed, "
                "or close Anki and use --collection"
            )
        return f"cannot reach AnkiConnect at {self.url}: {reason}"

    # --- reading --------------------------------------------------------------------------
    def describe(self) -> str:
        return f"AnkiConnect at {self.url}"

    def find_notes(self, query: str) -> list[int]:
        return [int(i) for i in self._call("findNotes", query=query)]

    def find_cards(self, query: str) -> list[int]:
        return [int(i) for i in self._call("findCards", query=query)]

    def _notes_info(self, note_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        if not note_ids:
            return {}
        infos = self._call("notesInfo", notes=list(note_ids))
        # A note that is gone answers {} (AnkiConnect) or is left out (some servers).
        return {int(info["noteId"]): info for info in infos if info and "noteId" in info}

    def notes(self, note_ids: Sequence[int]) -> list[NoteRecord]:
        infos = self._notes_info(note_ids)
        records = []
        for note_id in note_ids:
            info = infos.get(note_id)
            if info is None:
                continue
            fields = sorted(info["fields"].items(), key=lambda item: item[1]["order"])
            records.append(
                NoteRecord(
                    id=note_id,
                    guid="",
                    notetype=info["modelName"],
                    fields={name: field["value"] for name, field in fields},
                    tags=tuple(info["tags"]),
                    mod=int(info.get("mod", 0)),
                )
            )
        return records

    def cards(self, card_ids: Sequence[int]) -> list[CardRecord]:
        if not card_ids:
            return []
        infos = self._call("cardsInfo", cards=list(card_ids))
        by_id = {int(info["cardId"]): info for info in infos if info and "cardId" in info}
        return [
            CardRecord(
                id=card_id,
                note_id=int(info["note"]),
                ord=int(info["ord"]),
                deck=info["deckName"],
                type=int(info["type"]),
                queue=int(info["queue"]),
                due=int(info["due"]),
                interval=int(info["interval"]),
                factor=int(info["factor"]),
                reps=int(info["reps"]),
                lapses=int(info["lapses"]),
            )
            for card_id in card_ids
            if (info := by_id.get(card_id)) is not None
        ]

    def reviews(self, card_ids: Sequence[int]) -> list[ReviewRecord]:
        if not card_ids:
            return []
        by_card = self._call("getReviewsOfCards", cards=list(card_ids))
        rows = [
            ReviewRecord(
                id=int(row["id"]),
                card_id=int(card_id),
                ease=int(row["ease"]),
                interval=int(row["ivl"]),
                last_interval=int(row["lastIvl"]),
                factor=int(row["factor"]),
                time=int(row["time"]),
                type=int(row["type"]),
            )
            for card_id, card_rows in by_card.items()
            for row in card_rows
        ]
        return sorted(rows, key=lambda row: (row.id, row.card_id))

    def note_type_names(self) -> list[str]:
        return list(self._call("modelNames"))

    def note_type(self, name: str) -> NoteTypeSpec | None:
        if name not in self.note_type_names():
            return None
        fields = tuple(self._call("modelFieldNames", modelName=name))
        templates = tuple(
            (template, sides["Front"], sides["Back"])
            for template, sides in self._call("modelTemplates", modelName=name).items()
        )
        css = self._call("modelStyling", modelName=name)["css"]
        # AnkiConnect does not say a note type's kind; a cloze type's front asks for a cloze.
        cloze = any("{{cloze:" in front for _, front, _ in templates)
        return NoteTypeSpec(name, fields, templates, css, cloze)

    # --- writing --------------------------------------------------------------------------
    def backup(self) -> None:
        media = str(self._call("getMediaDirPath"))
        # the path is Anki's, on Anki's system (another one with --anki-connect-remote)
        is_windows = len(media) > 2 and media[1] == ":" and media[2] in "\\/"
        profile = (PureWindowsPath if is_windows else PurePosixPath)(media).parent
        folder = profile / "backups"
        stamp = time.strftime("%Y-%m-%d-%H.%M.%S", time.gmtime())
        for deck in self._call("deckNames"):
            if "::" in deck or not self.find_cards(f'"deck:{_search_text(deck)}"'):
                continue
            path = folder / f"flashgen-{stamp}-{_file_name(deck)}.apkg"
            try:
                done = self._call("exportPackage", deck=deck, path=str(path), includeSched=True)
            except AnkiUnavailable as error:
                done, why = False, f" ({error})"
            else:
                why = ""
            if done is False:
                raise AnkiUnavailable(
                    f"no backup: AnkiConnect could not export deck '{deck}' with its scheduling "
                    f"to {path}{why}; nothing changed"
                )

    def create_deck(self, name: str) -> None:
        self._call("createDeck", deck=name)

    def put_note_type(self, spec: NoteTypeSpec) -> None:
        have = self.note_type(spec.name)
        if have is None:
            self._call(
                "createModel",
                modelName=spec.name,
                inOrderFields=list(spec.fields),
                css=spec.css,
                isCloze=spec.cloze,
                cardTemplates=[
                    {"Name": name, "Front": front, "Back": back}
                    for name, front, back in spec.templates
                ],
            )
        else:
            present = {name for name, _, _ in have.templates}
            for name, front, back in spec.templates:
                template = {"Name": name, "Front": front, "Back": back}
                if name not in present:
                    self._call("modelTemplateAdd", modelName=spec.name, template=template)
            self._call(
                "updateModelTemplates",
                model={
                    "name": spec.name,
                    "templates": {n: {"Front": f, "Back": b} for n, f, b in spec.templates},
                },
            )
            self._call("updateModelStyling", model={"name": spec.name, "css": spec.css})
        after = self.note_type(spec.name)
        templates = {name: (front, back) for name, front, back in after.templates} if after else {}
        wrong = [
            name for name, front, back in spec.templates if templates.get(name) != (front, back)
        ]
        if after is None or after.css != spec.css or wrong:
            what = ", ".join([f"template '{name}'" for name in wrong] or ["style"])
            raise AnkiUnavailable(
                f"note type '{spec.name}': Anki did not take the course's {what}; "
                "close Anki's note type windows and sync again"
            )

    def store_media(self, name: str, data: bytes) -> None:
        if self._call("retrieveMediaFile", filename=name):
            return
        # No file of that name (checked above): AnkiConnect's deleteExisting has nothing to do.
        stored = self._call(
            "storeMediaFile", filename=name, data=base64.b64encode(data).decode("ascii")
        )
        if isinstance(stored, str) and stored != name:
            raise AnkiUnavailable(f"media file {name}: Anki stored it as {stored}")

    def add_notes(self, notes: Sequence[NewNote]) -> list[int]:
        if not notes:
            return []
        for deck in sorted({note.deck for note in notes}):
            self.create_deck(deck)
        payload = [
            {
                "deckName": note.deck,
                "modelName": note.notetype,
                "fields": dict(note.fields),
                "tags": list(note.tags),
                # flashgen knows its notes apart; Anki's duplicate check looks at the first field
                "options": {"allowDuplicate": True},
            }
            for note in notes
        ]
        ids = self._call("addNotes", notes=payload)
        failed = [note.guid for note, note_id in zip(notes, ids, strict=True) if not note_id]
        if failed:
            raise AnkiUnavailable(
                f"Anki did not add {len(failed)} of {len(notes)} notes (first: {failed[0]})"
            )
        return [int(note_id) for note_id in ids]

    def update_fields(self, note_id: int, fields: Mapping[str, str]) -> None:
        if not fields:
            return
        self._call("updateNoteFields", note={"id": note_id, "fields": dict(fields)})
        info = self._notes_info([note_id]).get(note_id)
        if info is None:
            raise AnkiUnavailable(f"note {note_id} is gone from the collection")
        have = {name: field["value"] for name, field in info["fields"].items()}
        stale = [name for name, value in fields.items() if _nfc(have.get(name, "")) != _nfc(value)]
        if stale:
            raise AnkiUnavailable(
                f"note {note_id}: Anki did not take the new {', '.join(stale)} (a note open in "
                "Anki's browser or editor keeps its old text); close it and sync again"
            )

    def _check_tags(self, note_ids: Sequence[int], tags: Sequence[str], present: bool) -> None:
        infos = self._notes_info(note_ids)
        wanted = {tag.casefold() for tag in tags}
        wrong = []
        for note_id, info in infos.items():
            have = {tag.casefold() for tag in info["tags"]}
            if (wanted <= have) if present else wanted.isdisjoint(have):
                continue
            wrong.append(note_id)
        if wrong:
            verb = "add" if present else "remove"
            raise AnkiUnavailable(
                f"Anki did not {verb} the tags {' '.join(tags)} on {len(wrong)} notes "
                f"(first: note {wrong[0]}); close Anki's browser and sync again"
            )

    def add_tags(self, note_ids: Sequence[int], tags: Sequence[str]) -> None:
        if note_ids and tags:
            self._call("addTags", notes=list(note_ids), tags=" ".join(tags))
            self._check_tags(note_ids, tags, present=True)

    def remove_tags(self, note_ids: Sequence[int], tags: Sequence[str]) -> None:
        if note_ids and tags:
            self._call("removeTags", notes=list(note_ids), tags=" ".join(tags))
            self._check_tags(note_ids, tags, present=False)

    def _cards_where(self, card_ids: Sequence[int], wrong: Any, what: str) -> None:
        missed = [card.id for card in self.cards(card_ids) if wrong(card)]
        if missed:
            raise AnkiUnavailable(
                f"Anki did not {what} {len(missed)} of {len(card_ids)} cards "
                f"(first: card {missed[0]}); close Anki's browser and sync again"
            )

    def set_deck(self, card_ids: Sequence[int], deck: str) -> None:
        if card_ids:
            self._call("changeDeck", cards=list(card_ids), deck=deck)
            self._cards_where(card_ids, lambda card: card.deck != deck, f"move into '{deck}'")

    def suspend(self, card_ids: Sequence[int]) -> None:
        if card_ids:
            self._call("suspend", cards=list(card_ids))
            self._cards_where(card_ids, lambda card: card.queue != QUEUE_SUSPENDED, "suspend")

    def delete_notes(self, note_ids: Sequence[int]) -> None:
        if note_ids:
            self._call("deleteNotes", notes=list(note_ids))
            left = self._notes_info(note_ids)
            if left:
                raise AnkiUnavailable(
                    f"Anki did not delete {len(left)} of {len(note_ids)} notes "
                    f"(first: note {next(iter(left))})"
                )

    def reposition_new(self, card_ids: Sequence[int], start: int) -> None:
        new = {card.id for card in self.cards(card_ids) if card.type == CARD_NEW}
        due = {card_id: start + i for i, card_id in enumerate(card_ids) if card_id in new}
        if not due:
            return
        # A new card's position is its `due`; AnkiConnect sets it one card at a time.
        actions = [
            {
                "action": "setSpecificValueOfCard",
                "params": {"card": card_id, "keys": ["due"], "newValues": [position]},
            }
            for card_id, position in due.items()
        ]
        self._call("multi", actions=actions)
        self._cards_where(
            list(due), lambda card: card.due != due[card.id], "give the new position to"
        )

    def close(self) -> None:
        """Nothing to release: Anki keeps the collection open and saves it itself."""


def _error_in(body: bytes) -> str | None:
    """The ``error`` of an AnkiConnect-shaped body, if the body is one."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    error = answer.get("error") if isinstance(answer, dict) else None
    return str(error) if error else None


def _search_text(text: str) -> str:
    """``text`` matched literally inside a quoted Anki search term."""
    for char in '\\"*_':
        text = text.replace(char, "\\" + char)
    return text


def _file_name(deck: str) -> str:
    """A deck name as part of a file name on any system."""
    return "".join(c if c.isalnum() or c in " -_." else "_" for c in deck).strip() or "deck"
