"""The AnkiConnect transport against a real AnkiConnect (``anki-connect-server``, headless).

A student's collection is made with the official ``anki`` package: the built course
``tests/courses/valid`` imported, two cards studied with the real scheduler. The collection is
read once through the collection-file transport while closed; then the server opens it and
every :class:`StudentAnki` operation goes over HTTP; after the server has stopped, the file is
read again with the ``anki`` library to see what was really written.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from anki.collection import Collection

from ankiconnect_server import ankiconnect_server, free_port
from ankitools import answer_cards, import_apkg
from flashgen.pipeline.build import build
from flashgen.student.ankiconnect import AnkiConnect, checked_url
from flashgen.student.collection_file import CollectionFile
from flashgen.student.transport import (
    CARD_NEW,
    AnkiUnavailable,
    NewNote,
    NoteTypeSpec,
    StudentAnki,
)
from support import COURSES

QUERY = "tag:course::tiny-course"
BASICS = "A Tiny Course::01 Basics"


@dataclass(frozen=True)
class Student:
    collection: Path  #: closed; copy it before serving it
    reviewed: tuple[int, ...]


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> Student:
    root = tmp_path_factory.mktemp("student")
    shutil.copytree(COURSES / "valid", root / "course")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        (deck,) = build(root / "course", root / "out", only=("apkg",)).written
    (root / "profile").mkdir()
    col = Collection(str(root / "profile" / "collection.anki2"))
    try:
        import_apkg(col, deck)
        reviewed = answer_cards(col, BASICS, [3, 1])
    finally:
        col.close()
    return Student(root / "profile" / "collection.anki2", tuple(reviewed))


def copied(student: Student, tmp_path: Path) -> Path:
    """A fresh copy of the student's profile folder; its collection file."""
    shutil.copytree(student.collection.parent, tmp_path / "profile")
    return tmp_path / "profile" / "collection.anki2"


@pytest.fixture
def served(student: Student, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A fresh copy of the student's collection, served over AnkiConnect: (file, URL)."""
    collection = copied(student, tmp_path)
    with ankiconnect_server(collection) as url:
        yield collection, url


def read_all(anki: StudentAnki) -> dict[str, object]:
    notes = anki.find_notes(QUERY)
    cards = anki.find_cards(QUERY)
    return {
        "notes": sorted(notes),
        "cards": sorted(cards),
        # AnkiConnect shows no GUIDs; modification times are the file's own business
        "records": [replace(note, guid="", mod=0) for note in anki.notes(sorted(notes))],
        "card_records": anki.cards(sorted(cards)),
        "reviews": anki.reviews(sorted(cards)),
        "types": sorted(anki.note_type_names()),
        "specs": [anki.note_type(name) for name in sorted(anki.note_type_names())],
    }


def test_reads_over_ankiconnect_match_the_collection_file(student: Student, tmp_path: Path):
    collection = copied(student, tmp_path)
    on_file = CollectionFile(collection)
    try:
        expected = read_all(on_file)
    finally:
        on_file.close()
    with ankiconnect_server(collection) as url:
        anki = AnkiConnect(url)
        assert isinstance(anki, StudentAnki)
        assert anki.describe() == f"AnkiConnect at {url}"
        got = read_all(anki)
        assert anki.note_type("no such type") is None
        assert anki.notes([1]) == [] and anki.cards([1]) == []
    assert len(got["notes"]) > 3  # the course really is there
    assert len(got["reviews"]) == 2
    assert {review.card_id for review in got["reviews"]} == set(student.reviewed)
    # spec.sort_field: AnkiConnect does not say; flashgen's note types sort on field 0
    assert got == expected


def write_everything(anki: AnkiConnect) -> tuple:
    """Every write of the protocol, each checked over HTTP right after it."""
    notes = anki.notes(anki.find_notes(QUERY))
    first, second, third = notes[0], notes[1], notes[2]
    cards_before = {card.id: card for card in anki.cards(anki.find_cards(QUERY))}
    reviewed = {card.id for card in cards_before.values() if not card.is_new}
    assert len(anki.reviews(sorted(cards_before))) == 2

    anki.create_deck("A Tiny Course::Extra")
    spec = NoteTypeSpec(
        name="flashgen-test (tiny-course)",
        fields=("Front", "Back", "CardCode"),
        templates=(("Card 1", "{{Front}}", "{{FrontSide}}<hr id=answer>{{Back}}"),),
        css=".card { color: black; }",
        cloze=False,
    )
    anki.put_note_type(spec)
    assert anki.note_type(spec.name) == spec
    restyled = replace(
        spec, css=".card { color: navy; }", templates=(("Card 1", "<b>{{Front}}</b>", "{{Back}}"),)
    )
    anki.put_note_type(restyled)
    assert anki.note_type(spec.name) == restyled

    anki.store_media("flashgen-test.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    anki.store_media("flashgen-test.svg", b"another content: the file is kept as it is")

    added = anki.add_notes(
        [
            NewNote("g1", spec.name, "A Tiny Course::Extra", {"Front": "one", "Back": "1"}, ("a",)),
            NewNote("g2", spec.name, "A Tiny Course::Extra", {"Front": "two", "Back": "2"}, ()),
        ]
    )
    assert [note.fields["Front"] for note in anki.notes(added)] == ["one", "two"]
    assert anki.notes(added)[0].tags == ("a",)

    kept, changed = list(first.fields)[:2]
    anki.update_fields(first.id, {changed: "rewritten <b>text</b>"})
    anki.add_tags([first.id, second.id], ["mine::kept", "course::tiny-course"])
    anki.remove_tags([second.id], ["mine::kept"])
    (first_now, second_now) = anki.notes([first.id, second.id])
    assert first_now.fields[changed] == "rewritten <b>text</b>"
    assert first_now.fields[kept] == first.fields[kept]
    assert "mine::kept" in first_now.tags and set(first.tags) <= set(first_now.tags)
    assert "mine::kept" not in second_now.tags and set(second.tags) <= set(second_now.tags)

    moved = sorted(card.id for card in cards_before.values() if card.note_id == second.id)
    anki.set_deck(moved, "A Tiny Course::Renamed")
    assert {card.deck for card in anki.cards(moved)} == {"A Tiny Course::Renamed"}
    anki.suspend(moved)
    assert all(card.is_suspended for card in anki.cards(moved))

    new_cards = sorted(
        card.id
        for card in cards_before.values()
        if card.is_new and card.note_id not in (second.id, third.id)
    )[:3]
    anki.reposition_new([*new_cards, *sorted(reviewed)], 500)
    assert [card.due for card in anki.cards(new_cards)] == [500, 501, 502]

    anki.delete_notes([third.id])
    assert anki.notes([third.id]) == []
    anki.close()
    return first, changed, third, new_cards, reviewed, cards_before


def test_every_write_round_trips(student: Student, tmp_path: Path):
    collection = copied(student, tmp_path)
    with ankiconnect_server(collection) as url:
        written = write_everything(AnkiConnect(url))
    first, changed, third, new_cards, reviewed, cards_before = written
    col = Collection(str(collection))
    try:
        # what the server wrote is in the file, read with the anki library
        assert col.get_note(first.id)[changed] == "rewritten <b>text</b>"
        assert "mine::kept" in col.get_note(first.id).tags
        assert col.find_notes(f"nid:{third.id}") == []
        assert [col.get_card(card_id).due for card_id in new_cards] == [500, 501, 502]
        assert col.decks.by_name("A Tiny Course::Renamed") is not None
        # reviewed cards keep their schedule and history
        for card_id in reviewed:
            card, before = col.get_card(card_id), cards_before[card_id]
            assert (card.type, card.due, card.ivl, card.reps, card.lapses) == (
                before.type,
                before.due,
                before.interval,
                before.reps,
                before.lapses,
            )
            assert card.type != CARD_NEW
        media = Path(col.media.dir()) / "flashgen-test.svg"
        assert media.read_bytes() == b"<svg xmlns='http://www.w3.org/2000/svg'/>"
    finally:
        col.close()
    assert revlog(collection) == revlog(student.collection)


def revlog(collection: Path) -> list[tuple]:
    with closing(sqlite3.connect(collection)) as db:
        return db.execute("select * from revlog order by id").fetchall()


def test_the_backup_names_the_deck_it_could_not_export(served: tuple[Path, str]):
    # anki-connect-server 0.5.0's exportPackage calls the anki 26 library the old way
    # (TypeError): the backup before sync's writes fails, and says so. Real AnkiConnect exports.
    collection, url = served
    with pytest.raises(AnkiUnavailable) as raised:
        AnkiConnect(url).backup()
    message = str(raised.value)
    assert message.startswith(
        "no backup: AnkiConnect could not export deck 'A Tiny Course' with its scheduling to "
        f"{collection.parent / 'backups'}/flashgen-"
    )
    assert "export_anki_package" in message and message.endswith("; nothing changed")


def test_a_write_anki_refuses_is_reported(served: tuple[Path, str]):
    _, url = served
    anki = AnkiConnect(url)
    with pytest.raises(AnkiUnavailable, match=r"refused updateNoteFields: .*\b1\b"):
        anki.update_fields(1, {"Front": "x"})


@pytest.mark.parametrize(
    "url",
    ["http://192.0.2.7:8765", "example.org:8765", "http://10.0.0.2", "http://[2001:db8::1]:8765"],
)
def test_another_computer_is_refused_before_any_request(url: str):
    with pytest.raises(AnkiUnavailable, match=r"is not this computer.*--anki-connect-remote"):
        AnkiConnect(url)


@pytest.mark.parametrize(
    ("url", "full"),
    [
        ("localhost:8765", "http://localhost:8765"),
        ("http://127.0.0.2:9000", "http://127.0.0.2:9000"),
        ("http://[::1]:8765", "http://[::1]:8765"),
    ],
)
def test_this_computer_is_accepted(url: str, full: str):
    assert checked_url(url) == full


def test_another_computer_is_accepted_only_when_allowed():
    assert checked_url("http://192.0.2.7:8765", allow_remote=True) == "http://192.0.2.7:8765"
    with pytest.raises(AnkiUnavailable, match="not ftp://"):
        checked_url("ftp://127.0.0.1", allow_remote=True)


def test_nothing_listening_says_to_start_anki_with_the_add_on():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(AnkiUnavailable) as raised:
        AnkiConnect(url)
    assert str(raised.value) == (
        f"nothing answers at {url}: start Anki with the AnkiConnect add-on "
        "(code 2055492159) installed, or close Anki and use --collection"
    )


class _PlainPage(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>a web page</html>")

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_that_is_not_ankiconnect_is_named():
    server = http.server.HTTPServer(("127.0.0.1", 0), _PlainPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        with pytest.raises(AnkiUnavailable, match=f"{url} did not answer version as AnkiConnect"):
            AnkiConnect(url)
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_never_answers_is_a_timeout_not_a_hang():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(1)  # connections wait in the backlog, never accepted or answered
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        with pytest.raises(AnkiUnavailable) as raised:
            AnkiConnect(url, timeout=0.5)
    assert str(raised.value) == (
        f"{url} gave no answer within 0.5 s: is Anki busy (a dialog open, a sync running)?"
    )
