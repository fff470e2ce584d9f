"""FSRS's forgetting curve and the estimate of a card's memory from its review log."""

from __future__ import annotations

import pytest

from flashgen.student.recall import (
    AGAIN,
    GOOD,
    LEARN,
    MANUAL,
    REVIEW,
    estimate_memory,
    is_lapse,
    retrievability,
)
from flashgen.student.transport import MemoryState, ReviewRecord

DAY_MS = 86_400_000
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z, in review-log milliseconds


def answer(day: float, ease: int, kind: int = REVIEW, interval: int = 1) -> ReviewRecord:
    return ReviewRecord(int(START + day * DAY_MS), 1, ease, interval, 0, 2500, 5000, kind)


@pytest.mark.parametrize("decay", [0.5, 0.1542])
def test_recall_is_90_percent_after_one_stability(decay):
    memory = MemoryState(stability=12.0, difficulty=5.0, decay=decay)
    assert retrievability(memory, 0) == 1.0
    assert retrievability(memory, 12.0) == pytest.approx(0.9)
    assert retrievability(memory, 30.0) < retrievability(memory, 13.0) < 0.9


def test_a_state_without_decay_is_fsrs5():
    assert retrievability(MemoryState(10.0, 5.0), 10.0) == pytest.approx(0.9)
    assert retrievability(MemoryState(10.0, 5.0), 20.0) == pytest.approx(
        retrievability(MemoryState(10.0, 5.0, 0.5), 20.0)
    )


def test_good_answers_grow_stability_and_again_shrinks_it():
    learnt = [answer(0, GOOD, LEARN, -600), answer(0.01, GOOD, LEARN), answer(1, GOOD)]
    grown = estimate_memory([*learnt, answer(4, GOOD)])
    forgotten = estimate_memory([*learnt, answer(4, AGAIN)])
    assert grown is not None and forgotten is not None
    assert forgotten.stability < estimate_memory(learnt).stability < grown.stability
    assert forgotten.difficulty > grown.difficulty


def test_the_log_is_replayed_in_time_order():
    log = [answer(0, GOOD, LEARN), answer(1, GOOD), answer(4, AGAIN)]
    assert estimate_memory(log[::-1]) == estimate_memory(log)


def test_a_reset_starts_the_card_afresh_and_manual_entries_are_skipped():
    before = [answer(0, GOOD, LEARN), answer(1, AGAIN), answer(2, GOOD)]
    reset = ReviewRecord(START + 3 * DAY_MS, 1, 0, 0, 5, 0, 0, MANUAL)
    rescheduled = ReviewRecord(START + 5 * DAY_MS, 1, 0, 9, 5, 2500, 0, MANUAL)
    after = [answer(4, GOOD, LEARN), answer(6, GOOD)]
    assert estimate_memory([*before, reset]) is None
    fresh = [answer(4, GOOD, LEARN), answer(6, GOOD)]
    assert estimate_memory([*before, reset, *after, rescheduled]) == estimate_memory(fresh)


def test_a_lapse_is_again_on_a_card_in_review():
    assert is_lapse(answer(3, AGAIN, REVIEW))
    assert not is_lapse(answer(3, AGAIN, LEARN))
    assert not is_lapse(answer(3, GOOD, REVIEW))
