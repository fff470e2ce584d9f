"""Markdown to Typst markup: escaping, structure, cloze, math fallback; typeset for real."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
import typst

from flashgen.diagnostics import Location
from flashgen.render.typst_markup import TypstRenderer, escape
from support import require_cjk_font

HOOKS = """
#let fg-blank(hint) = [(BLANK:#hint)]
#let fg-answer(body) = [(ANSWER:#body)]
#let fg-tex(source, display) = raw(source)
#let fg-image(path, alt) = [(IMAGE:#alt)]
"""
WHERE = Location(Path("course/concept.yaml"), 10, 3)


def typeset_text(markup: str) -> str:
    """Typeset ``markup`` (as a template would, with ``eval``) and extract its text."""
    source = (
        HOOKS + '#eval(sys.inputs.markup, mode: "markup", scope: (fg-blank: fg-blank, '
        "fg-answer: fg-answer, fg-tex: fg-tex, fg-image: fg-image))"
    )
    pdf = typst.compile(source.encode(), sys_inputs={"markup": markup}, format="pdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def render(text: str, **options: object) -> tuple[str, TypstRenderer]:
    renderer = TypstRenderer(Path.cwd())
    return renderer.render_now(text, Path.cwd(), WHERE, **options), renderer


@pytest.mark.parametrize(
    "text",
    [
        "# $ * _ @ < > [ ] ` ~ \\",
        "- not a list",
        "+ not a list either",
        "1. not numbered",
        "= not a heading",
        "/ not: a term",
        "x--y and a-?b and -1 and ... and // no comment /* none */",
        "Zoë Müller 中文字符 αβγ Ωμέγα",
        "https://example.org/path",
    ],
)
def test_escaped_text_prints_exactly(text: str) -> None:
    if "中" in text:
        require_cjk_font()
    markup = escape(text)
    assert typeset_text(markup).replace("\n", " ").strip() == text


def test_text_after_a_function_does_not_continue_it() -> None:
    markup, _ = render("`f`(x) and *a*.b and [link](https://x.org)(s)")
    text = typeset_text(markup)
    assert "f(x)" in text and "a.b" in text and "link(s)" in text


def test_markdown_structure() -> None:
    markup, _ = render("Intro **bold**.\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "#strong[bold];" in markup and "#list(" in markup and "#table(columns: 2" in markup
    text = typeset_text(markup)
    for word in ("Intro", "bold", "one", "two", "a", "b", "1", "2"):
        assert word in text


def test_html_formatting_tags_drop_but_unknown_tags_print() -> None:
    markup, _ = render("a <b>bold</b> <eos> token<br>next")
    text = typeset_text(markup)
    assert "<eos>" in text and "<b>" not in text and "bold" in text and "next" in text


def test_math_converts_and_unconvertible_math_falls_back_with_a_warning() -> None:
    markup, renderer = render("Fine $\\frac{a}{b}$, bad $\\undefinedmacro{x}$.")
    assert "#fg-tex(" in markup and "$a/b$" in markup.replace(" ", "")
    [(location, message)] = renderer.warnings
    assert location.path == WHERE.path and location.line == WHERE.line
    assert "\\undefinedmacro{x}" in message
    assert "\\undefinedmacro{x}" in typeset_text(markup)


def test_cloze_front_blanks_and_back_fills() -> None:
    text = "A {{c1::*big* model}} reads {{c2::tokens::what?}}."
    front, _ = render(text, cloze="front")
    back, _ = render(text, cloze="back")
    assert "model" not in typeset_text(front) and "BLANK:what?" in typeset_text(front)
    filled = typeset_text(back)
    assert "ANSWER:big" in filled and "ANSWER: model" in filled and "ANSWER:tokens" in filled


def test_plain_text_needs_no_escape() -> None:
    assert escape("The one that is true, for concept 3.5 - really: yes.") == (
        "The one that is true, for concept 3.5 - really: yes."
    )


def _both_paths(
    text: str, inline: bool, cloze: str | None = None
) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """Typst markup, formulas and formula uses from the fast path and from markdown-it."""
    where = Location(Path("x.yaml"), 3, 5)
    results = []
    for fast in (True, False):
        renderer = TypstRenderer(Path.cwd())
        if not fast:
            renderer._fast = lambda *args: None  # type: ignore[method-assign]
        markup = renderer.render(text, Path.cwd(), where, inline=inline, cloze=cloze)
        results.append((markup, renderer.formulas, renderer._formula_uses, renderer.warnings))
    return tuple(results[0]), tuple(results[1])


def test_fast_path_agrees_with_markdown_it() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from test_fast_markdown import PIECES

    @settings(max_examples=3000, deadline=None)
    @given(
        st.lists(st.sampled_from(PIECES), min_size=1, max_size=14).map("".join),
        st.booleans(),
        st.sampled_from([None, None, "front", "back"]),
    )
    def agree(text: str, inline: bool, cloze: str | None) -> None:
        fast, full = _both_paths(text, inline, cloze)
        assert fast == full, (text, cloze)

    agree()
    texts = [
        "A *token* is a piece of text, such as `tok_1`, with $p(x) < 1$.",
        "Two lines\nof one paragraph.\n\n\nAnd a **second** $x$ paragraph (_really_).",
        "- 1. not a list after `code` - 2 -- 3 // 4 ... $a$ 1. b",
        "Concept 7 is {{c1::synthetic}} and has {{c2::four::how many?}} questions.",
        "{{c1::1.}} - {{c2::- x::h}}",
    ]
    for text in texts:
        for inline in (False, True):
            for cloze in (None, "front", "back"):
                fast, full = _both_paths(text, inline, cloze)
                assert fast == full, (text, cloze)


@pytest.mark.parametrize("start", [0, 1, 7])
def test_a_numbered_list_starts_where_the_instructor_started_it(start: int) -> None:
    markup, _ = render(f"{start}. first\n{start + 1}. second\n")
    assert f"start: {start}," in markup
    assert typeset_text(markup).split() == [f"{start}.", "first", f"{start + 1}.", "second"]
