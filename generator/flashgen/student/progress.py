"""Where a student stands in the prerequisite graph, from their review history.

:func:`assess` takes the course and, for each of its cards in the student's collection, the
card's scheduling and review log (:func:`read_history` gets them through any
:class:`~flashgen.student.transport.StudentAnki`), and gives each concept a state:

* **mastered**: every card of the concept has been learnt (none new or in learning), the
  average probability of recalling them now is at least :data:`MASTERED_RECALL` and even the
  weakest card's memory lasts :data:`MASTERED_STABILITY_DAYS` (Anki calls a card with an
  interval that long "mature");
* **struggling**: started, and the average recall is below :data:`STRUGGLING_RECALL`, or one
  card lapsed (Again on a card in review) :data:`STRUGGLING_LAPSES` times or more in the last
  :data:`RECENT_DAYS` days;
* **in progress**: started, neither of the above;
* **not started**: no card of the concept answered yet (suspended cards do not count).

Then along the graph: **ready to learn** (not started, every prerequisite mastered: the outer
fringe of what the student knows) and **review first** (for each struggling concept, the
prerequisites, direct or not, that are not mastered, nearest first). Each set comes with an
Anki search that opens exactly its cards (:mod:`flashgen.student.search`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from flashgen.course.graph import prerequisite_map
from flashgen.outputs.cards import StudySet
from flashgen.student import recall
from flashgen.student.search import concepts_search, quote
from flashgen.student.transport import (
    CARD_NEW,
    CARD_REVIEW,
    CardRecord,
    MemoryState,
    ReviewRecord,
    StudentAnki,
)

#: Average probability of recalling a concept's cards now, at or above which (with every card
#: learnt and stable) the concept is mastered.
MASTERED_RECALL = 0.85
#: Days after which even the concept's weakest card would still be recalled 90 % of the time:
#: 21, the interval at which Anki calls a card mature.
MASTERED_STABILITY_DAYS = 21.0
#: Average recall below which a started concept is struggling: FSRS schedules for 90 %, so
#: 70 % means the student is well past due or keeps forgetting.
STRUGGLING_RECALL = 0.70
#: Lapses of one card within :data:`RECENT_DAYS` that make its concept struggling.
STRUGGLING_LAPSES = 2
RECENT_DAYS = 30

MASTERED, IN_PROGRESS, STRUGGLING, NOT_STARTED = (
    "mastered",
    "in-progress",
    "struggling",
    "not-started",
)
STATES = (MASTERED, IN_PROGRESS, STRUGGLING, NOT_STARTED)


@dataclass(frozen=True)
class CardHistory:
    """One card of the course in the student's collection, with its review log."""

    concept: str
    card: CardRecord
    reviews: tuple[ReviewRecord, ...] = ()


@dataclass(frozen=True)
class StudentHistory:
    """Every card of one course in one student's collection."""

    cards: tuple[CardHistory, ...]
    #: The course's top-level deck as the student's collection names it (``None``: no card).
    deck: str | None
    #: Where the history came from, for the report (``collection …``).
    source: str = ""


@dataclass(frozen=True)
class ConceptProgress:
    id: str
    title: str
    chapter: str
    prerequisites: tuple[str, ...]
    state: str
    cards: int
    new: int
    learning: int
    review: int
    suspended: int
    lapses: int
    #: The most lapses of one card within :data:`RECENT_DAYS`.
    recent_lapses: int
    #: Average probability of recalling the concept's answered cards now (``None``: none).
    recall: float | None
    #: The weakest answered card's stability in days (``None``: none).
    stability: float | None
    #: Cards whose recall came from Anki's FSRS memory state / from replaying their review log.
    recall_from_anki: int = 0
    recall_estimated: int = 0


@dataclass(frozen=True)
class ReviewFirst:
    concept: str
    #: Prerequisites (direct or not) that are not mastered, nearest first.
    weak: tuple[str, ...]


@dataclass(frozen=True)
class Progress:
    course_id: str
    course_title: str
    deck: str
    #: The time (epoch seconds) the recall probabilities are for.
    as_of: float
    #: In learning order.
    concepts: tuple[ConceptProgress, ...]
    ready_to_learn: tuple[str, ...]
    review_first: tuple[ReviewFirst, ...]
    source: str = ""
    _by_id: dict[str, ConceptProgress] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {c.id: c for c in self.concepts})

    def concept(self, concept_id: str) -> ConceptProgress:
        return self._by_id[concept_id]

    def in_state(self, state: str) -> tuple[str, ...]:
        return tuple(c.id for c in self.concepts if c.state == state)

    def search(self, concept_ids: Iterable[str]) -> str | None:
        """The Anki search for these concepts' cards (``None`` for no concept)."""
        return concepts_search(self.deck, concept_ids)

    @property
    def study_next(self) -> tuple[str, ...]:
        """What to study next: the weak prerequisites of struggling concepts, the struggling
        concepts themselves, then the fringe, each without repeats."""
        items: list[str] = []
        for entry in self.review_first:
            items.extend(entry.weak)
        items.extend(entry.concept for entry in self.review_first)
        items.extend(self.ready_to_learn)
        return tuple(dict.fromkeys(items))


# --- Reading the history ----------------------------------------------------------------------


def read_history(anki: StudentAnki, study: StudySet) -> StudentHistory:
    """The course's cards in the student's collection, found by their notes' GUIDs (or card
    codes, where the GUIDs cannot be seen).

    Notes are looked for under the course tag and in the course's deck (a student may have
    removed the tag or moved cards); cards of retired notes and of other courses are left out.
    """
    concept_of = {card.guid: card.concept.id for card in study.cards}
    # AnkiConnect shows no GUIDs: there a note is known by its card code
    guid_of_code = {card.code: card.guid for card in study.cards}
    course = study.course
    parent = _parent_deck_name(study)
    query = f"{quote('tag:course::' + course.id)} OR {quote('deck:' + parent)}"
    note_ids = anki.find_notes(query)
    notes = {}
    for note in anki.notes(note_ids):
        guid = note.guid or guid_of_code.get(note.fields.get("CardCode", ""), "")
        if guid in concept_of:
            notes[note.id] = replace(note, guid=guid)
    card_ids = anki.find_cards("nid:" + ",".join(map(str, notes))) if notes else []
    cards = [card for card in anki.cards(card_ids) if card.note_id in notes]
    reviews: dict[int, list[ReviewRecord]] = {card.id: [] for card in cards}
    for review in anki.reviews([card.id for card in cards]):
        reviews.setdefault(review.card_id, []).append(review)
    history = tuple(
        CardHistory(
            concept_of[notes[card.note_id].guid],
            card,
            tuple(sorted(reviews[card.id], key=lambda r: r.id)),
        )
        for card in cards
    )
    tops = Counter(card.deck.split("::", 1)[0] for card in cards)
    deck = tops.most_common(1)[0][0] if tops else None
    return StudentHistory(history, deck, anki.describe())


def _parent_deck_name(study: StudySet) -> str:
    from flashgen.outputs.package import deck_name

    return deck_name(study.course.title)


# --- Assessing --------------------------------------------------------------------------------


def assess(study: StudySet, history: StudentHistory, now: float) -> Progress:
    """Each concept's state at time ``now`` (epoch seconds), then the sets along the graph."""
    course = study.course
    by_concept: dict[str, list[CardHistory]] = {c.id: [] for c in study.order}
    for item in history.cards:
        by_concept.setdefault(item.concept, []).append(item)
    prerequisites = prerequisite_map(course)
    concepts = tuple(
        _concept_progress(concept.id, concept.title, concept.chapter,
                          prerequisites.get(concept.id, ()), by_concept[concept.id], now)
        for concept in study.order
    )  # fmt: skip
    states = {c.id: c.state for c in concepts}
    ready = tuple(
        c.id
        for c in concepts
        if c.state == NOT_STARTED and all(states[p] == MASTERED for p in c.prerequisites)
    )
    review_first = tuple(
        ReviewFirst(c.id, weak_prerequisites(c.id, prerequisites, states))
        for c in concepts
        if c.state == STRUGGLING
    )
    deck = history.deck or _parent_deck_name(study)
    return Progress(
        course.id, course.title, deck, now, concepts, ready, review_first, history.source
    )


def weak_prerequisites(
    concept_id: str, prerequisites: Mapping[str, Sequence[str]], states: Mapping[str, str]
) -> tuple[str, ...]:
    """The prerequisites of ``concept_id``, direct or not, that are not mastered, nearest first
    (breadth first; ties in the order the concept files list them)."""
    seen = {concept_id}
    queue = [concept_id]
    weak: list[str] = []
    for current in queue:
        for prerequisite in prerequisites.get(current, ()):
            if prerequisite in seen:
                continue
            seen.add(prerequisite)
            queue.append(prerequisite)
            if states.get(prerequisite) != MASTERED:
                weak.append(prerequisite)
    return tuple(weak)


def _concept_progress(
    concept_id: str,
    title: str,
    chapter: str,
    prerequisites: Sequence[str],
    cards: Sequence[CardHistory],
    now: float,
) -> ConceptProgress:
    active = [item for item in cards if not item.card.is_suspended]
    started = [item for item in active if item.card.type != CARD_NEW]
    recent_since_ms = (now - RECENT_DAYS * recall.SECONDS_PER_DAY) * 1000
    recent_lapses = max(
        (
            sum(1 for r in item.reviews if recall.is_lapse(r) and r.id >= recent_since_ms)
            for item in started
        ),
        default=0,
    )
    recalls: list[float] = []
    stabilities: list[float] = []
    from_anki = estimated = 0
    for item in started:
        memory, own = _memory(item)
        answers = [r for r in item.reviews if recall.is_answer(r)]
        if memory is None or not answers:
            continue
        from_anki += own
        estimated += not own
        recalls.append(recall.retrievability(memory, recall.elapsed_days(answers[-1].id, now)))
        stabilities.append(memory.stability)
    average = sum(recalls) / len(recalls) if recalls else None
    weakest = min(stabilities) if stabilities else None
    if not started:
        state = NOT_STARTED
    elif (average is not None and average < STRUGGLING_RECALL) or (
        recent_lapses >= STRUGGLING_LAPSES
    ):
        state = STRUGGLING
    elif (
        all(item.card.type == CARD_REVIEW for item in active)
        and average is not None
        and average >= MASTERED_RECALL
        and weakest is not None
        and weakest >= MASTERED_STABILITY_DAYS
        and len(recalls) == len(active)
    ):
        state = MASTERED
    else:
        state = IN_PROGRESS
    return ConceptProgress(
        id=concept_id,
        title=title,
        chapter=chapter,
        prerequisites=tuple(prerequisites),
        state=state,
        cards=len(cards),
        new=sum(1 for item in active if item.card.type == CARD_NEW),
        learning=sum(1 for item in active if item.card.type not in (CARD_NEW, CARD_REVIEW)),
        review=sum(1 for item in active if item.card.type == CARD_REVIEW),
        suspended=len(cards) - len(active),
        lapses=sum(item.card.lapses for item in cards),
        recent_lapses=recent_lapses,
        recall=average,
        stability=weakest,
        recall_from_anki=from_anki,
        recall_estimated=estimated,
    )


def _memory(item: CardHistory) -> tuple[MemoryState | None, bool]:
    """Anki's FSRS memory state when the card has one (an answer without FSRS clears it), else
    the estimate from the review log; and whether it was Anki's."""
    if item.card.memory is not None:
        return item.card.memory, True
    return recall.estimate_memory(item.reviews), False
