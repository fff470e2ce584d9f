"""flashgen's Anki card templates, rendered by Anki itself and driven in Chromium.

A small .apkg is built with genanki from :func:`~.notetypes.build_note_types`, imported
into a fresh collection with the official ``anki`` package, and each card's ``question()`` /
``answer()`` is loaded the way the Anki clients load it:

* AnkiDroid-like: the front and the back are two separate pages (navigate front -> back);
* desktop-like: one host page whose ``#qa`` is replaced and whose scripts are re-created,
  so the front's script runs again on the back through ``{{FrontSide}}``;
* JavaScript disabled: the cards must still be readable and the back complete.

Set ``FLASHGEN_SCREENSHOT_DIR`` to also write the documentation screenshots there
(``FLASHGEN_SCREENSHOT_DIR=docs/images pytest tests/browser``); otherwise they go to tmp_path.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import genanki
import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

from flashgen.outputs.notetypes import FIELDS, NOTE_TYPE_NAMES, build_note_types, stable_id
from flashgen.render.templates import template_environment

from .conftest import Harness

DASH = "\u2014"


# ---- building notes exactly as templates/anki/FIELDS.md tells the builder to ------------------


def choices_html(
    choices: list[tuple[str, bool]], *, multiple: bool | None = None
) -> tuple[str, str]:
    """(Choices, Answer) field values for choices already in display order."""
    keys = [chr(ord("A") + i) for i in range(len(choices))]
    answer = " ".join(sorted(k for k, (_, ok) in zip(keys, choices, strict=True) if ok))
    if multiple is None:
        multiple = len(answer.split()) > 1
    select = ' data-select="multiple"' if multiple else ""
    items = "".join(
        f'<li class="fg-choice" data-key="{k}"><span class="fg-key">{k}</span> '
        f'<span class="fg-text">{text}</span></li>'
        for k, (text, _) in zip(keys, choices, strict=True)
    )
    return f'<ol class="fg-choices"{select}>{items}</ol>', answer


def ul(*items: str) -> str:
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


CONTEXT = "Foundations of Large Language Models \u203a Ch.5 Inference \u203a Prefilling"

MCQ1_CHOICES, MCQ1_ANSWER = choices_html(
    [
        ("It decodes one token per step", False),
        ("It processes the whole prompt in one parallel pass", True),
        ("It samples with temperature <code>0</code>", False),
        ("It discards the KV cache", False),
    ]
)
MCQ2_CHOICES, MCQ2_ANSWER = choices_html(
    [("Keys", True), ("Gradients", False), ("Values", True), ("Optimizer state", False)]
)
MCQ3_CHOICES, MCQ3_ANSWER = choices_html([("Memory bandwidth", True), ("Tokenization", False)])

NOTES: dict[str, tuple[str, list[str]]] = {
    "mcq1": (
        "multiple-choice",
        [
            "What does the <b>prefill</b> phase do with the prompt? "
            "(It's \"quoted\" & <i>tricky</i>: '&lt;/script&gt;' isn't code.)",
            MCQ1_CHOICES,
            MCQ1_ANSWER,
            "<p>Prefill runs all prompt tokens through the model at once and fills the KV cache; "
            "decoding then proceeds one token at a time.</p>",
            CONTEXT,
            "FL-3K7Q",
            "",
        ],
    ),
    "mcq2": (
        "multiple-choice",
        [
            "Which tensors are stored in the KV cache?",
            MCQ2_CHOICES,
            MCQ2_ANSWER,
            "<p>Keys and values of past tokens.</p>",
            CONTEXT,
            "FL-9M2C",
            "",
        ],
    ),
    "mcq3": (  # no Context and no CardCode: the pick is keyed by the question text
        "multiple-choice",
        ["What usually limits decoding speed?", MCQ3_CHOICES, MCQ3_ANSWER, "", "", "", ""],
    ),
    "tf1": (
        "true-false",
        [
            "Prefilling is compute-bound.",
            "True",
            "<p>Many tokens per pass: large matrix multiplies.</p>",
            CONTEXT,
            "FL-T1F1",
            "",
        ],
    ),
    "tf2": (
        "true-false",
        [
            "Decoding reads the weights once for the whole answer.",
            "False",
            "<p>Once per generated token.</p>",
            CONTEXT,
            "FL-T2F2",
            "",
        ],
    ),
    "basic1": (
        "basic",
        [
            "What is a KV cache?",
            "Stored keys and values of earlier tokens.",
            "",
            CONTEXT,
            "FL-B001",
            "",
        ],
    ),
    "cloze1": (
        "cloze",
        [
            "Prefill is {{c1::compute}}-bound; decoding is {{c2::memory-bandwidth}}-bound.",
            "<p>Arithmetic intensity differs.</p>",
            CONTEXT,
            "FL-C001",
            "",
        ],
    ),
    "concept1": (
        "concept",
        [
            "Prefilling",
            "<p>The first inference phase: the prompt is processed in parallel.</p>",
            ul("Transformer decoder", "Attention"),
            "",
            ul("Speculative decoding"),
            CONTEXT,
            "FL-K001",
            "",
        ],
    ),
}


@dataclass
class Rendered:
    kind: str
    questions: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    css: str = ""


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """Every test note, rendered by Anki's own engine after a real .apkg import."""
    tmp = tmp_path_factory.mktemp("anki")
    models = build_note_types(template_environment())
    deck = genanki.Deck(stable_id("flashgen-test-deck"), "flashgen::Template tests")
    for key, (kind, fields) in NOTES.items():
        deck.add_note(genanki.Note(model=models[kind], fields=fields, guid=genanki.guid_for(key)))
    apkg = tmp / "cards.apkg"
    genanki.Package(deck).write_to_file(str(apkg), timestamp=1_700_000_000)

    col = Collection(str(tmp / "collection.anki2"))
    try:
        request = ImportAnkiPackageRequest(
            package_path=str(apkg), options=ImportAnkiPackageOptions()
        )
        assert len(col.import_anki_package(request).log.new) == len(NOTES)
        col.models._clear_cache()
        rendered: dict[str, Rendered] = {}
        for key, (kind, _) in NOTES.items():
            nid = col.db.scalar("select id from notes where guid=?", genanki.guid_for(key))
            result = Rendered(kind)
            for card in sorted(col.get_note(nid).cards(), key=lambda c: c.ord):
                result.questions.append(card.question())
                result.answers.append(card.answer())
                result.css = card.note_type()["css"]
            rendered[key] = result
        return rendered
    finally:
        col.close()


# ---- how the clients load a card ---------------------------------------------------------------


def card_page(card_html: str, css: str, body_class: str = "card") -> str:
    """A standalone page as AnkiDroid builds it: the note type's CSS in <head>, card in #qa."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{css}</style></head><body class='{body_class}'><div id='qa'>{card_html}</div>"
        "</body></html>"
    )


DESKTOP_HOST = """<!doctype html><html><head><meta charset='utf-8'></head>
<body class='card'><div id='qa'></div>
<script>
window.showQA = function (html) {
  var qa = document.getElementById("qa");
  qa.innerHTML = html;
  Array.prototype.slice.call(qa.querySelectorAll("script")).forEach(function (old) {
    var fresh = document.createElement("script");
    fresh.text = old.text;
    old.parentNode.replaceChild(fresh, old);
  });
};
</script></body></html>"""


def open_front(h: Harness, card: Rendered, index: int = 0, name: str = "front.html") -> None:
    h.page.goto(h.site.put(name, card_page(card.questions[index], card.css)))


def open_back(h: Harness, card: Rendered, index: int = 0, name: str = "back.html") -> None:
    h.page.goto(h.site.put(name, card_page(card.answers[index], card.css)))


def show_desktop(h: Harness, card_html: str) -> None:
    h.page.evaluate("html => window.showQA(html)", card_html)


def text(h: Harness, selector: str) -> str:
    return h.page.locator(selector).first.inner_text().strip()


def visible_text(h: Harness) -> str:
    return h.page.locator("#qa").inner_text()


def markup(card_html: str) -> str:
    """The card's HTML without its <style> and <script> elements."""
    return re.sub(r"<(script|style)>.*?</\1>", "", card_html, flags=re.S)


def shot_dir(tmp_path: Path) -> Path:
    target = os.environ.get("FLASHGEN_SCREENSHOT_DIR")
    path = Path(target) if target else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---- contract ---------------------------------------------------------------------------------


def test_note_type_contract(cards: dict[str, Rendered], tmp_path: Path) -> None:
    models = build_note_types(template_environment())
    assert set(models) == set(FIELDS)
    for kind, model in models.items():
        assert model.name == NOTE_TYPE_NAMES[kind] == f"flashgen-{kind}"
        assert [f["name"] for f in model.fields] == list(FIELDS[kind])
        assert model.model_id == stable_id("flashgen-note-type", model.name)
        assert (1 << 40) <= model.model_id < (1 << 52)
        assert "{{Reserved}}" not in model.templates[0]["qfmt"] + model.templates[0]["afmt"]
    assert models["cloze"].model_type == genanki.Model.CLOZE
    assert "{{cloze:Text}}" in models["cloze"].templates[0]["qfmt"]
    assert stable_id("a", "b") == stable_id("a", "b") != stable_id("ab")
    # Anki's own view after import: the same names and fields.
    col = Collection(str(tmp_path / "c.anki2"))
    try:
        deck = genanki.Deck(stable_id("deck"), "d")
        for kind, model in models.items():
            values = ["{{c1::x}}" if kind == "cloze" else "x"] + [""] * (len(FIELDS[kind]) - 1)
            deck.add_note(genanki.Note(model=model, fields=values, guid=genanki.guid_for(kind)))
        genanki.Package(deck).write_to_file(str(tmp_path / "c.apkg"), timestamp=1_700_000_000)
        col.import_anki_package(
            ImportAnkiPackageRequest(
                package_path=str(tmp_path / "c.apkg"), options=ImportAnkiPackageOptions()
            )
        )
        col.models._clear_cache()
        for kind, name in NOTE_TYPE_NAMES.items():
            nt = col.models.by_name(name)
            assert nt is not None and nt["id"] == models[kind].model_id
            assert [f["name"] for f in nt["flds"]] == list(FIELDS[kind])
    finally:
        col.close()


@pytest.mark.parametrize("key", ["mcq1", "mcq2", "mcq3", "tf1", "tf2"])
def test_quiz_front_html_does_not_reveal_the_answer(cards: dict[str, Rendered], key: str) -> None:
    card = cards[key]
    front = markup(card.questions[0])
    for marker in ("data-answer", "fg-answer", "fg-correct", "fg-back", "Answer"):
        assert marker not in front
    # the script is the same on both sides, so it cannot carry the answer either
    scripts = re.findall(r"<script>.*?</script>", card.questions[0], flags=re.S)
    assert scripts and all(script in card.answers[0] for script in scripts)
    answer = NOTES[key][1][2 if cards[key].kind == "multiple-choice" else 1]
    assert f'data-answer="{answer}"' in cards[key].answers[0]


def test_every_card_shows_context_and_code(cards: dict[str, Rendered]) -> None:
    for key, card in cards.items():
        code = NOTES[key][1][FIELDS[card.kind].index("CardCode")]
        for side in card.questions + card.answers:
            if code:
                assert f'<div class="fg-code">{code}</div>' in side
                assert 'class="fg-context">Foundations of Large Language Models' in side
            else:
                assert "fg-code" not in markup(side)


# ---- AnkiDroid-like: a new page for each side -------------------------------------------------

MCQ_CASES = [
    ("mcq1", ["B"], "Correct"),
    ("mcq1", ["A"], f"Incorrect {DASH} the answer is B"),
    ("mcq1", ["C", "B"], "Correct"),  # single choice: the last tap wins
    ("mcq1", ["B", "B"], "No choice selected"),  # tapping again un-selects
    ("mcq1", [], "No choice selected"),
    ("mcq2", ["A", "C"], "Correct"),
    ("mcq2", ["C"], f"Incorrect {DASH} the answers are A and C"),
    ("mcq2", ["A", "B", "C"], f"Incorrect {DASH} the answers are A and C"),
    ("mcq3", ["B"], f"Incorrect {DASH} the answer is A"),
    ("tf1", ["True"], "Correct"),
    ("tf1", ["False"], f"Incorrect {DASH} the answer is True"),
    ("tf2", ["False"], "Correct"),
    ("tf2", ["True"], f"Incorrect {DASH} the answer is False"),
    ("tf2", [], "No choice selected"),
]


@pytest.mark.parametrize(("key", "taps", "verdict"), MCQ_CASES)
def test_ankidroid_like_pick_and_verdict(
    cards: dict[str, Rendered],
    open_harness: Callable[..., Harness],
    key: str,
    taps: list[str],
    verdict: str,
) -> None:
    h = open_harness()
    card = cards[key]
    open_front(h, card)
    for tap in taps:
        h.page.click(f'.fg-choice[data-key="{tap}"]')
    selected = h.page.eval_on_selector_all(
        ".fg-choice.fg-selected", "els => els.map(e => e.dataset.key)"
    )
    assert h.page.locator(".fg-choice.tappable").count() == h.page.locator(".fg-choice").count()

    open_back(h, card)
    assert text(h, ".fg-verdict") == verdict
    answer_field = NOTES[key][1][2 if card.kind == "multiple-choice" else 1]
    assert text(h, ".fg-answer") == f"Answer: {answer_field}"
    for k in selected:
        expected = "fg-right" if k in answer_field.split() else "fg-wrong"
        assert expected in (h.page.get_attribute(f'.fg-choice[data-key="{k}"]', "class") or "")
    explanation = NOTES[key][1][3 if card.kind == "multiple-choice" else 2]
    if explanation:
        assert h.page.locator(".fg-explanation").is_visible()
        assert html.unescape(re.sub("<[^>]+>", "", explanation)) in text(h, ".fg-explanation")
    else:
        assert h.page.locator(".fg-explanation").count() == 0
    assert h.page.locator(".fg-choice.fg-selected").count() == 0  # back is not interactive


def test_mcq_back_alone_without_storage(
    cards: dict[str, Rendered], open_harness: Callable[..., Harness]
) -> None:
    """A previewer shows the back alone; a wiped store must only cost the verdict."""
    h = open_harness()
    open_front(h, cards["mcq1"])
    h.page.click('.fg-choice[data-key="A"]')
    h.page.evaluate("() => sessionStorage.clear()")
    open_back(h, cards["mcq1"])
    assert text(h, ".fg-verdict") == "No choice selected"
    assert "Answer: B" in visible_text(h)


def test_correct_choice_is_marked_on_the_back(
    cards: dict[str, Rendered], open_harness: Callable[..., Harness]
) -> None:
    h = open_harness()
    open_back(h, cards["mcq2"])
    right_bg = h.page.evaluate(
        "() => getComputedStyle(document.querySelector('.fg-choice[data-key=\"A\"]'))"
        ".backgroundColor"
    )
    for key, correct in (("A", True), ("B", False), ("C", True), ("D", False)):
        bg = h.page.eval_on_selector(
            f'.fg-choice[data-key="{key}"]', "e => getComputedStyle(e).backgroundColor"
        )
        assert (bg == right_bg) is correct


# ---- desktop-like: one page, #qa swapped, {{FrontSide}} re-runs the front's script ------------


def test_desktop_like_review_session(
    cards: dict[str, Rendered], open_harness: Callable[..., Harness]
) -> None:
    h = open_harness()
    h.page.goto(h.site.put("reviewer.html", DESKTOP_HOST))
    mcq1, mcq3, tf1 = cards["mcq1"], cards["mcq3"], cards["tf1"]

    show_desktop(h, mcq1.questions[0])
    h.page.click('.fg-choice[data-key="C"]')
    show_desktop(h, mcq1.answers[0])
    assert text(h, ".fg-verdict") == f"Incorrect {DASH} the answer is B"
    assert h.page.locator(".fg-choice.fg-wrong").count() == 1
    assert h.page.locator(".fg-explanation").is_visible()

    # next card: nothing leaks from the previous one
    show_desktop(h, mcq3.questions[0])
    assert h.page.locator(".fg-selected").count() == 0
    show_desktop(h, mcq3.answers[0])
    assert text(h, ".fg-verdict") == "No choice selected"

    # the same card again: each front render resets the stored pick
    show_desktop(h, mcq1.questions[0])
    show_desktop(h, mcq1.answers[0])
    assert text(h, ".fg-verdict") == "No choice selected"

    show_desktop(h, mcq1.questions[0])
    h.page.click('.fg-choice[data-key="B"]')
    show_desktop(h, mcq1.answers[0])
    assert text(h, ".fg-verdict") == "Correct"
    assert h.page.locator(".fg-verdict").count() == 1

    show_desktop(h, tf1.questions[0])
    h.page.click('.fg-choice[data-key="False"]')
    show_desktop(h, tf1.answers[0])
    assert text(h, ".fg-verdict") == f"Incorrect {DASH} the answer is True"

    # the card code printed on the card is the storage key
    show_desktop(h, tf1.questions[0])
    h.page.click('.fg-choice[data-key="True"]')
    assert h.page.evaluate("() => sessionStorage.getItem('flashgen:pick:FL-T1F1')") == "True"


# ---- JavaScript disabled ----------------------------------------------------------------------


def test_without_javascript(
    cards: dict[str, Rendered], open_harness: Callable[..., Harness]
) -> None:
    h = open_harness(java_script_enabled=False)
    open_front(h, cards["mcq1"])
    front = visible_text(h)
    choices = h.page.locator(".fg-choice").all_inner_texts()
    assert [c[0] for c in choices] == ["A", "B", "C", "D"]
    assert all(re.match(r"^[A-D]\s+\S", c) for c in choices)
    assert all(h.page.locator(".fg-key").nth(i).is_visible() for i in range(4))
    assert "It processes the whole prompt in one parallel pass" in front
    assert "FL-3K7Q" in front

    open_back(h, cards["mcq1"])
    back = visible_text(h)
    assert "Answer: B" in back
    assert "Prefill runs all prompt tokens" in back
    assert "It processes the whole prompt in one parallel pass" in back
    assert not h.page.locator(".fg-verdict").is_visible()
    marked = h.page.locator('.fg-choice[data-key="B"]')
    other = h.page.locator('.fg-choice[data-key="A"]')
    style = "e => getComputedStyle(e).borderColor"
    assert marked.evaluate(style) != other.evaluate(style)

    open_front(h, cards["mcq2"], name="front2.html")
    assert "Select all that apply" in h.page.locator(".fg-choices").evaluate(
        "e => getComputedStyle(e, '::before').content"
    )

    open_back(h, cards["tf2"], name="back-tf.html")
    assert "Answer: False" in visible_text(h)
    assert "Once per generated token." in visible_text(h)


# ---- cloze, basic, concept --------------------------------------------------------------------


def test_cloze_hides_and_reveals(
    cards: dict[str, Rendered], open_harness: Callable[..., Harness]
) -> None:
    h = open_harness()
    cloze = cards["cloze1"]
    assert len(cloze.questions) == 2
    for index, (hidden, shown) in enumerate(
        [("compute", "memory-bandwidth"), ("memory-bandwidth", "compute")]
    ):
        open_front(h, cloze, index, name=f"cloze{index}-front.html")
        front = visible_text(h)
        assert hidden not in front and shown in front and "[...]" in front
        assert "Arithmetic intensity" not in front
        open_back(h, cloze, index, name=f"cloze{index}-back.html")
        back = visible_text(h)
        assert hidden in back and "Arithmetic intensity differs." in back
        assert "FL-C001" in back


def test_basic_and_concept(
    cards: dict[str, Rendered], open_harness: Callable[..., Harness]
) -> None:
    h = open_harness()
    open_front(h, cards["basic1"])
    assert "What is a KV cache?" in visible_text(h)
    assert "Stored keys" not in visible_text(h)
    open_back(h, cards["basic1"])
    assert "Stored keys and values" in visible_text(h)
    assert h.page.locator(".fg-explanation").count() == 0  # empty field: no empty box

    open_front(h, cards["concept1"], name="concept-front.html")
    assert text(h, ".fg-title") == "Prefilling"
    assert "first inference phase" not in visible_text(h)
    open_back(h, cards["concept1"], name="concept-back.html")
    labels = h.page.locator(".fg-section .fg-label").all_inner_texts()
    assert [label.lower() for label in labels] == ["learn before", "related"]
    assert "Speculative decoding" in visible_text(h)


@pytest.mark.parametrize("night", ["card nightMode", "card night_mode"])
def test_night_mode(
    cards: dict[str, Rendered], open_harness: Callable[..., Harness], night: str
) -> None:
    h = open_harness()
    card = cards["mcq1"]
    background = "() => getComputedStyle(document.body).backgroundColor"
    h.page.goto(h.site.put("day.html", card_page(card.answers[0], card.css)))
    day = h.page.evaluate(background)
    h.page.goto(h.site.put("night.html", card_page(card.answers[0], card.css, night)))
    dark = h.page.evaluate(background)
    assert day != dark
    channels = [int(x) for x in re.findall(r"\d+", dark)[:3]]
    assert max(channels) < 80


# ---- screenshots -------------------------------------------------------------------------------


def test_screenshots(
    cards: dict[str, Rendered], open_harness: Callable[..., Harness], tmp_path: Path
) -> None:
    h = open_harness(viewport={"width": 560, "height": 700}, device_scale_factor=1)
    out = shot_dir(tmp_path)
    open_front(h, cards["mcq1"])
    h.page.click('.fg-choice[data-key="C"]')
    h.page.screenshot(path=str(out / "mcq-front.png"), full_page=True)
    open_back(h, cards["mcq1"])
    h.page.screenshot(path=str(out / "mcq-back.png"), full_page=True)
    assert (out / "mcq-front.png").stat().st_size > 1000
    assert (out / "mcq-back.png").stat().st_size > 1000
