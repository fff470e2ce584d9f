"""`flashgen progress` on real Anki collections: a simulated student studies
tests/courses/progress for 40 days through Anki's own scheduler, with FSRS on and off.

The course and the student's answers are made so that the outcome is known by construction:
counting -> addition -> multiplication is answered Good every time (a mastered chain);
long_division is met only in the last five days (in progress); fractions is forgotten at
every review (struggling, and its one weak prerequisite is long_division); subtraction and
percentages are never shown (not started; subtraction's prerequisite is mastered, so it is
ready to learn, percentages' is not).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("anki")
pytest.importorskip("fsrs")

from flashgen.outputs.cards import study_cards
from flashgen.pipeline.load import load_course
from flashgen.student import progress as model
from flashgen.student.collection_file import CollectionFile
from flashgen.student.progress import assess, read_history, weak_prerequisites
from simulated_student import CHAIN, DAYS, studied_progress_course


@pytest.fixture(scope="module", params=[True, False], ids=["fsrs", "sm2"])
def studied(request, tmp_path_factory):
    """(course folder, collection file, fsrs?) after the simulated 40 days."""
    base = tmp_path_factory.getbasetemp()
    return (*studied_progress_course(base, fsrs=request.param), request.param)


def assessed(course_dir: Path, collection: Path):
    course, diag = load_course(course_dir)
    assert course is not None and not diag.has_errors
    study = study_cards(course)
    anki = CollectionFile(collection)
    try:
        history = read_history(anki, study)
        return assess(study, history, time.time()), anki, history
    except BaseException:
        anki.close()
        raise


@pytest.fixture(scope="module")
def result(studied):
    course_dir, collection, fsrs = studied
    progress, anki, history = assessed(course_dir, collection)
    yield progress, anki, history, fsrs
    anki.close()


def test_states_follow_the_answers(result):
    progress, _, _, _ = result
    states = {c.id: c.state for c in progress.concepts}
    assert states == {
        "counting": model.MASTERED,
        "addition": model.MASTERED,
        "multiplication": model.MASTERED,
        "long_division": model.IN_PROGRESS,
        "fractions": model.STRUGGLING,
        "subtraction": model.NOT_STARTED,
        "percentages": model.NOT_STARTED,
    }


def test_the_fringe_and_what_to_review_first(result):
    progress, _, _, _ = result
    assert progress.ready_to_learn == ("subtraction",)
    assert [(e.concept, e.weak) for e in progress.review_first] == [
        ("fractions", ("long_division",))
    ]
    assert progress.study_next == ("long_division", "fractions", "subtraction")


def test_counts_and_recall_come_from_the_collection(result):
    progress, _, _, fsrs = result
    fractions = progress.concept("fractions")
    assert (fractions.cards, fractions.new, fractions.review) == (3, 0, 3)
    assert fractions.lapses >= 3 * (DAYS // 2) and fractions.recent_lapses >= 2
    subtraction = progress.concept("subtraction")
    assert (subtraction.cards, subtraction.new, subtraction.recall) == (2, 2, None)
    for cid in CHAIN:
        concept = progress.concept(cid)
        assert concept.recall is not None and concept.recall >= model.MASTERED_RECALL
        assert concept.stability is not None
        assert concept.stability >= model.MASTERED_STABILITY_DAYS
        # with FSRS on, Anki's own memory state; off, the estimate from the review log
        assert (concept.recall_from_anki, concept.recall_estimated) == ((2, 0) if fsrs else (0, 2))
    division = progress.concept("long_division")
    assert division.stability is not None and division.stability < 21


def test_each_search_opens_exactly_that_sets_cards(result):
    progress, anki, history, _ = result
    cards_of: dict[str, set[int]] = {}
    for item in history.cards:
        cards_of.setdefault(item.concept, set()).add(item.card.id)
    for concept in progress.concepts:
        search = progress.search([concept.id])
        assert set(anki.find_cards(search)) == cards_of[concept.id], search
    ids = ("long_division", "fractions", "counting")
    expected = set().union(*(cards_of[i] for i in ids))
    assert set(anki.find_cards(progress.search(ids))) == expected
    assert '"deck:Arithmetic\\_101"' in progress.search(ids)
    assert '"tag:concept::long\\_division"' in progress.search(ids)


def test_recall_from_fsrs_state_matches_ankis_own(result):
    """The forgetting curve evaluated here gives what Anki's card info shows."""
    _, anki, history, fsrs = result
    if not fsrs:
        pytest.skip("Anki shows retrievability only with FSRS on")
    from flashgen.student import recall

    item = next(i for i in history.cards if i.concept == "long_division")
    stats = anki.col.card_stats_data(item.card.id)
    last = max(r.id for r in item.reviews)
    ours = recall.retrievability(item.card.memory, recall.elapsed_days(last, time.time()))
    assert ours == pytest.approx(stats.fsrs_retrievability, abs=0.005)


def test_weak_prerequisites_are_nearest_first():
    prerequisites = {"d": ("c", "b"), "c": ("a",), "b": ("a",), "a": ()}
    states = {"a": model.STRUGGLING, "b": model.MASTERED, "c": model.IN_PROGRESS}
    assert weak_prerequisites("d", prerequisites, states) == ("c", "a")
    assert weak_prerequisites("a", prerequisites, states) == ()


def test_the_review_log_estimate_reproduces_ankis_fsrs_state(result):
    """Replayed through the reference implementation, a card's review log gives the memory
    state Anki's FSRS keeps (the simulated student has FSRS's default parameters)."""
    _, _, history, fsrs = result
    if not fsrs:
        pytest.skip("only a collection with FSRS on has Anki's memory states")
    from flashgen.student import recall

    answered = [item for item in history.cards if item.card.memory is not None]
    assert len(answered) == 11
    for item in answered:
        estimate = recall.estimate_memory(item.reviews)
        assert estimate.stability == pytest.approx(item.card.memory.stability, rel=0.01, abs=0.01)
        assert estimate.difficulty == pytest.approx(item.card.memory.difficulty, abs=0.05)
