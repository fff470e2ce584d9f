"""The shipped course in cards/: sound, connected, and holding every seed item verbatim."""

from __future__ import annotations

import pytest

from flashgen.course.graph import find_cycles, learning_order, prerequisite_map
from flashgen.course.model import Course, MultipleChoice, TrueFalse
from support import SEED_COURSE, check

# The seed items, copied from the course's source notes (the tests must not read shared/).
SEED_SUMMARY = (
    "The prefilling phase is analogous to BERT's encoding process in that both convert an input "
    "sequence into contextualized token representations. However, they differ fundamentally in "
    "their operational mode: prefilling is unidirectional, consistent with standard "
    "autoregressive language modeling, whereas BERT employs a bidirectional approach to "
    "generate its representations."
)
SEED_MCQ_STEMS = (
    "A machine learning engineer observes that the initial processing of a user's prompt in a "
    "large language model takes a significant amount of time, but subsequent token generation is "
    "much faster per token. Based on this observation, which statement best analyzes the primary "
    "function of this initial processing phase (prefilling)?",
    "Consider two different methods for creating contextualized numerical representations of "
    "words in a sentence. Method 1 generates a representation for each word based only on the "
    "words that precede it. Method 2 generates a representation for each word based on all "
    "other words in the sentence, both preceding and succeeding it. Which statement accurately "
    "compares these two methods to the processes found in large-scale language models?",
)
SEED_TRUE_FALSE = (
    "The main goal of the prefilling phase in a generative language model is to generate the "
    "first token of the model's response, while the computation of the input sequence's "
    "contextual representation is a secondary effect of this process.",
    "The primary functional difference between the prefilling phase in an autoregressive model "
    "and the encoding process in a model like BERT is the specific mathematical operations used "
    "to create token representations; their approach to incorporating contextual information "
    "from the input sequence is fundamentally identical.",
)


@pytest.fixture(scope="module")
def seed() -> Course:
    course, _, text = check(SEED_COURSE)
    assert course is not None, text
    return course


def test_seed_course_has_no_errors_and_no_warnings() -> None:
    _, diag, text = check(SEED_COURSE)
    assert [d for d in diag.items if not d.rule] == [], text


def test_seed_course_passes_the_quality_rules() -> None:
    _, diag, text = check(SEED_COURSE)
    assert len(diag) == 0, text


def test_every_prerequisite_and_related_concept_exists(seed: Course) -> None:
    known = {c.id for c in seed.concepts}
    assert len(known) == len(seed.concepts), "duplicate concept ids"
    for concept in seed.concepts:
        assert set(concept.prerequisite_ids) <= known, concept.id
        assert set(concept.related_ids) <= known, concept.id


def test_prerequisite_graph_is_acyclic(seed: Course) -> None:
    assert find_cycles(prerequisite_map(seed)) == []
    order = [c.id for c in learning_order(seed)]
    position = {cid: i for i, cid in enumerate(order)}
    for concept in seed.concepts:
        for prerequisite in concept.prerequisite_ids:
            assert position[prerequisite] < position[concept.id]


def test_at_least_18_concepts_and_60_questions_each_concept_with_two(seed: Course) -> None:
    assert len(seed.concepts) >= 18
    assert sum(len(c.questions) for c in seed.concepts) >= 60
    for concept in seed.concepts:
        assert concept.summary.strip(), concept.id
        assert len(concept.questions) >= 2, concept.id


#: The concepts that start the course; every other concept must name its prerequisites.
FOUNDATIONS = {"autoregressive-generation", "self-attention"}


def test_every_concept_except_the_foundations_has_prerequisites(seed: Course) -> None:
    assert {c.id for c in seed.concepts if c.is_foundation} == FOUNDATIONS
    # ...and each foundation is built upon.
    needed = {p for c in seed.concepts for p in c.prerequisite_ids}
    assert needed >= FOUNDATIONS


def test_every_question_type_is_used(seed: Course) -> None:
    kinds = {q.kind for c in seed.concepts for q in c.questions}
    assert kinds == {"multiple-choice", "true-false", "basic", "cloze"}


def test_seed_summary_is_present_verbatim(seed: Course) -> None:
    summaries = [c.summary for c in seed.concepts]
    assert SEED_SUMMARY in summaries


@pytest.mark.parametrize("stem", SEED_MCQ_STEMS, ids=["engineer-observes", "two-methods"])
def test_seed_multiple_choice_questions_are_present_verbatim(seed: Course, stem: str) -> None:
    found = [
        q for c in seed.concepts for q in c.questions
        if isinstance(q, MultipleChoice) and q.question == stem
    ]  # fmt: skip
    assert len(found) == 1
    [question] = found
    assert question.correct and len(question.distractors) >= 2


@pytest.mark.parametrize("statement", SEED_TRUE_FALSE, ids=["main-goal", "functional-difference"])
def test_seed_true_false_statements_are_present_verbatim(seed: Course, statement: str) -> None:
    found = [
        q for c in seed.concepts for q in c.questions
        if isinstance(q, TrueFalse) and q.statement == statement
    ]  # fmt: skip
    assert len(found) == 1
    assert found[0].answer is False  # both seed statements are false


def test_seed_links_are_kept(seed: Course) -> None:
    """The seed card's links: related to the phases' objectives, learnt before directionality."""
    [comparison] = [c for c in seed.concepts if c.summary == SEED_SUMMARY]
    assert comparison.id == "prefilling-vs-bert-encoding"
    assert {"prefilling", "bert-encoding"} <= set(comparison.prerequisite_ids)
    assert "objectives-of-inference-phases" in comparison.related_ids
    directionality = seed.concept("directionality-in-contextual-representations")
    assert directionality is not None
    assert comparison.id in directionality.prerequisite_ids


def test_seed_course_files_point_editors_at_the_current_schema() -> None:
    import json

    import jsonschema
    import yaml

    from flashgen.course import jsonschema as flashgen_schema

    shipped = SEED_COURSE / ".flashgen"
    for kind, current in flashgen_schema.schemas().items():
        written = json.loads((shipped / f"{kind}.schema.json").read_text(encoding="utf-8"))
        assert written == current, f"run `flashgen schema cards`: {kind} schema is out of date"
    course_schema = json.loads((shipped / "course.schema.json").read_text(encoding="utf-8"))
    concept_schema = json.loads((shipped / "concept.schema.json").read_text(encoding="utf-8"))
    course_file = SEED_COURSE / "course.yaml"
    assert course_file.read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=.flashgen/course.schema.json\n"
    )
    jsonschema.validate(yaml.safe_load(course_file.read_text(encoding="utf-8")), course_schema)
    for path in sorted(SEED_COURSE.glob("*/*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# yaml-language-server: $schema=../.flashgen/concept.schema.json")
        jsonschema.validate(yaml.safe_load(text), concept_schema)
