"""The probability that a student recalls a card now: FSRS's retrievability.

Two sources, one model. When the student's collection uses FSRS, Anki keeps a memory state on
every card it schedules (stability in days, difficulty 1-10 and, since FSRS-6, the decay of the
forgetting curve); :func:`retrievability` evaluates that curve at the time elapsed since the
card's last answer. When a card has none (the collection uses Anki's older SM-2 scheduler: an
answer without FSRS clears the state), :func:`estimate_memory` replays the card's review log
through the reference implementation, the ``fsrs`` package, with its default parameters. That
gives the same kind of memory state from the same answers, but not the student's own
parameters: see docs/progress.md (The estimate and its limits).

The forgetting curve of FSRS-6 (FSRS-4.5 and FSRS-5 are the case ``decay = 0.5``)::

    R(t, S) = (1 + factor * t / S) ** -decay,   factor = 0.9 ** (-1 / decay) - 1

so that R is 90 % when the elapsed time ``t`` equals the stability ``S``. Time is counted in
fractional days, as Anki does now that it records the time of each card's last answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from flashgen.student.transport import MemoryState, ReviewRecord

#: The decay of FSRS-4.5 and FSRS-5, for a memory state that carries none.
FSRS5_DECAY = 0.5
SECONDS_PER_DAY = 86400.0

#: Anki's answer buttons, as the review log's ``ease`` column writes them.
AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4
#: The review log's ``type`` column.
LEARN, REVIEW, RELEARN, FILTERED, MANUAL, RESCHEDULED = 0, 1, 2, 3, 4, 5


def is_answer(review: ReviewRecord) -> bool:
    """A real answer: manual entries (rescheduled, reset) and filtered-deck previews are not."""
    return AGAIN <= review.ease <= EASY and review.type in (LEARN, REVIEW, RELEARN, FILTERED)


def is_reset(review: ReviewRecord) -> bool:
    """Anki's "Forget" (reset to new): a manual entry that leaves no interval."""
    return review.ease == 0 and review.type == MANUAL and review.interval == 0


def is_lapse(review: ReviewRecord) -> bool:
    """Again on a card in review: what Anki counts as a lapse."""
    return review.ease == AGAIN and review.type == REVIEW


def retrievability(memory: MemoryState, elapsed_days: float) -> float:
    """FSRS's forgetting curve: the probability of recall ``elapsed_days`` after an answer."""
    if memory.stability <= 0:
        return 0.0
    decay = abs(memory.decay or FSRS5_DECAY)
    factor = 0.9 ** (-1 / decay) - 1
    return (1 + factor * max(0.0, elapsed_days) / memory.stability) ** -decay


def elapsed_days(since_ms: int, now: float) -> float:
    """Days from a review id (epoch milliseconds) to ``now`` (epoch seconds)."""
    return max(0.0, (now - since_ms / 1000) / SECONDS_PER_DAY)


def estimate_memory(reviews: Iterable[ReviewRecord]) -> MemoryState | None:
    """Replay a card's answers, oldest first, through the reference FSRS scheduler.

    Default parameters, no interval fuzz: the same log always gives the same state. ``None``
    when the card has no answer since it was last reset.
    """
    from fsrs import Card, Rating

    scheduler = _scheduler()
    card: Any = None
    for review in sorted(reviews, key=lambda r: r.id):
        if is_reset(review):
            card = None
        elif is_answer(review):
            when = datetime.fromtimestamp(review.id / 1000, tz=timezone.utc)
            card, _ = scheduler.review_card(card or Card(), Rating(review.ease), when)
    if card is None or card.stability is None or card.difficulty is None:
        return None
    return MemoryState(card.stability, card.difficulty, abs(scheduler.parameters[20]))


_SCHEDULER: Any = None


def _scheduler() -> Any:
    global _SCHEDULER
    if _SCHEDULER is None:
        from fsrs import Scheduler

        _SCHEDULER = Scheduler(enable_fuzzing=False)
    return _SCHEDULER
