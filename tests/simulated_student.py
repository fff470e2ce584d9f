"""A student who studies a course in a real Anki collection over simulated days.

Anki's scheduler (the Rust backend of the official ``anki`` package) reads the real clock and
offers no way to set it. A simulated day therefore passes the other way round: every time
stored in the collection moves one day into the past (the collection's creation time, which
fixes what day it is for Anki, the review log, the due times of cards in learning and each
card's last-answer time), and the collection is reopened so that the backend forgets the day
it had cached. Every answer goes through the scheduler (``get_scheduling_states`` then
``answer_card``), so intervals, lapses and FSRS memory states are Anki's own; the day rollover
is put twelve hours away from the current hour so that a run never crosses it.

The history is the same on every run (card ids come from the deck, and the scheduler's fuzz
from the card ids), up to where "now" falls within the day.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anki.collection import Collection
from anki.scheduler_pb2 import CardAnswer

from ankitools import import_apkg
from flashgen.pipeline.build import build

if TYPE_CHECKING:
    from anki.cards import Card

DAY = 86400
AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4
_RATINGS = {AGAIN: CardAnswer.AGAIN, HARD: CardAnswer.HARD, GOOD: CardAnswer.GOOD,
            EASY: CardAnswer.EASY}  # fmt: skip
#: Anki shows learning cards due within this many seconds without waiting (its default).
LEARN_AHEAD = 20 * 60

#: ``rate(concept id, card, day)``: the button the student presses, or ``None`` to leave the
#: card alone that day (a new card stays new).
Rater = Callable[[str, Any, int], "int | None"]


class SimulatedStudent:
    def __init__(self, path: Path, deck: Path, *, fsrs: bool):
        self.path = path
        self.col = Collection(str(path))
        import_apkg(self.col, deck)
        self.col.set_config("fsrs", fsrs)
        self.col.set_config("rollover", (time.localtime().tm_hour + 12) % 24)
        self.day = 0
        self._reopen()

    def concept_of(self, card: Card) -> str:
        tags = card.note().tags
        return next(tag.split("::", 1)[1] for tag in tags if tag.startswith("concept::"))

    def answer(self, card: Card, button: int) -> None:
        states = self.col._backend.get_scheduling_states(card.id)
        card.start_timer()
        answer = self.col.sched.build_answer(card=card, states=states, rating=_RATINGS[button])
        answer.milliseconds_taken = 6000
        self.col.sched.answer_card(answer)

    def study(self, rate: Rater) -> int:
        """One day's session: every card that is due (or new, if ``rate`` introduces it) is
        answered, learning steps included, until nothing is due within the learn-ahead time."""
        answered = 0
        for _ in range(20):  # learning steps: a card comes back a few times in a session
            due = [card for card in self._cards() if self._is_due(card)]
            todo = [(card, rate(self.concept_of(card), card, self.day)) for card in due]
            todo = [(card, button) for card, button in todo if button is not None]
            if not todo:
                return answered
            for card, button in todo:
                self.answer(card, button)
                answered += 1
        raise AssertionError("a card is still in learning after 20 rounds")

    def next_day(self) -> None:
        col = self.col
        col.db.execute("update revlog set id = id - ?", DAY * 1000)
        col.db.execute("update col set crt = crt - ?", DAY)
        for card_id in col.find_cards("-is:new"):
            card = col.get_card(card_id)
            if card.queue == 1:  # in learning: due is a time, not a day number
                card.due -= DAY
            if card.last_review_time:
                card.last_review_time -= DAY
            col.update_card(card)
        self.day += 1
        self._reopen()

    def study_days(self, days: int, rate: Rater) -> None:
        for _ in range(days):
            self.study(rate)
            self.next_day()

    def close(self) -> None:
        self.col.close()

    def _reopen(self) -> None:
        self.col.close()
        self.col = Collection(str(self.path))

    def _cards(self) -> list[Card]:
        return [self.col.get_card(cid) for cid in sorted(self.col.find_cards("-is:suspended"))]

    def _is_due(self, card: Card) -> bool:
        today = self.col.sched.today
        if card.queue == 0:
            return True
        if card.queue == 1:
            return card.due <= time.time() + LEARN_AHEAD
        if card.queue in (2, 3):
            return card.due <= today
        return False


# ---- the student of tests/courses/progress -----------------------------------------------------

PROGRESS_COURSE = Path(__file__).parent / "courses" / "progress"
DAYS = 40
CHAIN = ("counting", "addition", "multiplication")


def rate_progress_course(concept: str, card: Any, day: int) -> int | None:
    """The answers that make the outcome known by construction (see the course's course.yaml):
    the chain always Good, long_division met in the last five days, fractions forgotten at
    every review, subtraction and percentages never shown."""
    if concept in CHAIN:
        return GOOD
    if concept == "long_division":
        return GOOD if day >= DAYS - 5 else None
    if concept == "fractions":
        return AGAIN if card.queue == 2 else GOOD
    return None


def studied_progress_course(base: Path, *, fsrs: bool) -> tuple[Path, Path]:
    """(course folder, collection file) after the student's 40 days; made once per ``base``
    folder and mode (the simulation takes a few seconds), then reused."""
    folder = base / ("progress-student-fsrs" if fsrs else "progress-student-sm2")
    collection = folder / "collection.anki2"
    if not (folder / "done").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copytree(PROGRESS_COURSE, folder / "course")
        (deck,) = build(folder / "course", folder / "out", only=("apkg",)).written
        student = SimulatedStudent(collection, deck, fsrs=fsrs)
        student.study_days(DAYS, rate_progress_course)
        student.close()
        (folder / "done").write_text("")
    return folder / "course", collection
