"""Each rule of the states, on made-up review histories of tests/courses/progress.

The simulated student (test_progress.py) shows the rules at work in real collections; here each
threshold is met and missed by one card history at a time.
"""

from __future__ import annotations

import pytest

from flashgen.student import progress as model
from flashgen.student.progress import CardHistory, StudentHistory, assess
from flashgen.student.progress_report import load_study
from flashgen.student.recall import AGAIN, GOOD, REVIEW
from flashgen.student.transport import (
    CARD_NEW,
    CARD_REVIEW,
    QUEUE_SUSPENDED,
    CardRecord,
    MemoryState,
    ReviewRecord,
)
from support import COURSES

NOW = 1_780_000_000.0
DAY = 86_400


@pytest.fixture(scope="module")
def study():
    return load_study(COURSES / "progress")


def card(concept: str, number: int, *, stability: float = 40.0, days_ago: float = 1.0,
         lapses_days_ago: tuple[float, ...] = (), new: bool = False,
         suspended: bool = False) -> CardHistory:  # fmt: skip
    """A card in review (or new), last answered Good ``days_ago``, with lapses at those days."""
    reviews = [
        ReviewRecord(int((NOW - ago * DAY) * 1000), number, AGAIN, 1, 5, 2500, 5000, REVIEW)
        for ago in sorted(lapses_days_ago, reverse=True)
    ]
    if not new:
        when = int((NOW - days_ago * DAY) * 1000)
        reviews.append(ReviewRecord(when, number, GOOD, 30, 10, 2500, 5000, REVIEW))
    record = CardRecord(
        id=number, note_id=number, ord=0, deck="Arithmetic_101::01 Numbers",
        type=CARD_NEW if new else CARD_REVIEW, queue=QUEUE_SUSPENDED if suspended else 0,
        due=0, interval=0, factor=0, reps=len(reviews), lapses=len(lapses_days_ago),
        memory=None if new else MemoryState(stability, 5.0, 0.5),
    )  # fmt: skip
    return CardHistory(concept, record, tuple(reviews))


def state(study, *cards: CardHistory, concept: str = "counting") -> str:
    progress = assess(study, StudentHistory(cards, "Arithmetic_101"), NOW)
    return progress.concept(concept).state


def test_mastered_needs_recall_stability_and_every_card_learnt(study):
    assert state(study, card("counting", 1), card("counting", 2)) == model.MASTERED
    # recall 90 % after 21 days of a 21-day stability: still above MASTERED_RECALL
    assert state(study, card("counting", 1, stability=21.0, days_ago=21)) == model.MASTERED
    assert state(study, card("counting", 1, stability=20.0)) == model.IN_PROGRESS
    assert state(study, card("counting", 1), card("counting", 2, new=True)) == model.IN_PROGRESS


def test_recall_below_70_percent_is_struggling(study):
    # FSRS-5 curve: R(t=3S) = (1 + 19/81 * 3) ** -0.5 = 0.77; R(t=4S) = 0.72; R(t=5S) = 0.68
    assert state(study, card("counting", 1, stability=2.0, days_ago=8)) == model.IN_PROGRESS
    assert state(study, card("counting", 1, stability=2.0, days_ago=10)) == model.STRUGGLING


def test_repeated_recent_lapses_of_one_card_are_struggling(study):
    twice = card("counting", 1, lapses_days_ago=(20, 5))
    assert state(study, twice) == model.STRUGGLING
    long_ago = card("counting", 1, lapses_days_ago=(60, 45))
    assert state(study, long_ago) == model.MASTERED
    once_each = (
        card("counting", 1, lapses_days_ago=(5,)),
        card("counting", 2, lapses_days_ago=(6,)),
    )
    assert state(study, *once_each) == model.MASTERED


def test_suspended_and_new_cards_are_not_a_start(study):
    assert state(study, card("counting", 1, suspended=True)) == model.NOT_STARTED
    assert state(study, card("counting", 1, new=True)) == model.NOT_STARTED
    progress = assess(study, StudentHistory((card("counting", 1, suspended=True),), None), NOW)
    assert (progress.concept("counting").cards, progress.concept("counting").suspended) == (1, 1)


def test_ready_to_learn_needs_every_prerequisite_mastered(study):
    mastered = [card(cid, n) for n, cid in enumerate(("counting", "addition"), 1)]
    progress = assess(study, StudentHistory(tuple(mastered), "Arithmetic_101"), NOW)
    # multiplication and subtraction need only addition; long_division needs multiplication
    assert progress.ready_to_learn == ("multiplication", "subtraction")
    weak = card("addition", 2, stability=5.0)
    progress = assess(study, StudentHistory((mastered[0], weak), "Arithmetic_101"), NOW)
    assert progress.ready_to_learn == ()


def test_the_table_ends_with_what_to_study_next(study):
    from flashgen.student.progress_report import render_table

    ids = [concept.id for concept in study.order]
    for stability, last in ((40.0, "every concept is mastered"), (5.0, "keep up with the reviews")):
        cards = tuple(card(cid, n, stability=stability) for n, cid in enumerate(ids, 1))
        progress = assess(study, StudentHistory(cards, "Arithmetic_101"), NOW)
        assert last in render_table(progress).splitlines()[-1]
