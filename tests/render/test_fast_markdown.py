"""The fast Markdown path renders exactly what the full parser renders, or declines."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from flashgen.render import markdown
from flashgen.render.fast_markdown import fast_render
from flashgen.render.markdown import HtmlRenderer
from support import TESTS

PIECES = [
    "word", "Word", "x", "42", "1.", "1)", "3.5", " ", " ", "  ", "\n", "\n\n", "\n  ", "*", "**",
    "_", "__", "`", "``", "$", "$$", "\\", "(", ")", ".", ",", ";", ":", "!", "?", '"', "'", "<",
    ">", "&", "&amp;", "#", "# ", "- ", "+ ", "> ", "=", "===", "---", "|", "| a |", "{{c1::",
    "}}", "~", "~~", "[", "]", "![a](b.png)", "[l](https://e.org)", "é", "λ", "中", "\t",
    "\u00a0", "\u200b", "x^2", "\\frac{a}{b}", "a_b", "*em*", "**strong**", "`code`", "$x$",
    "_em_", " *em* ", " `c` ", " $y$ ", "5", "$5", "a*b", "x*", "*x", "(*e*)", "*e*.",
]  # fmt: skip


def full(text: str, inline: bool) -> str:
    """The full path: markdown-it, then nh3."""
    renderer = HtmlRenderer(Path("."))
    md = markdown.parser()
    env = {"base_dir": Path(".")}
    tokens = md.parseInline(text, env) if inline else md.parse(text, env)
    return markdown.sanitize(renderer._render(md, tokens, env).strip())


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=14).map("".join), st.booleans())
def test_fast_path_agrees_with_the_full_parser(text: str, inline: bool) -> None:
    fast = fast_render(text, inline)
    if fast is not None:
        assert fast == full(text, inline), text


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80), st.booleans())
def test_fast_path_agrees_on_any_text(text: str, inline: bool) -> None:
    fast = fast_render(text, inline)
    if fast is not None:
        assert fast == full(text, inline), text


def test_the_fast_path_covers_ordinary_prose() -> None:
    texts = [
        "A *token* is a piece of text, such as `tok_1`, with $p(x) < 1$.",
        "Two lines\nof one paragraph.\n\nAnd a **second** paragraph (_really_).",
        'It\'s "quoted" > and {{c1::hidden}} 3.5 times.',
    ]
    for text in texts:
        for inline in (False, True):
            if inline and "\n" in text:
                continue
            assert fast_render(text, inline) == full(text, inline)


def test_anything_else_takes_the_full_path() -> None:
    for text in ["- a list", "# Heading", "[link](https://e.org)", "a <b>b</b>", "x\\*", "$x$ 5"]:
        assert fast_render(text) is None


COMMONMARK = TESTS / "corpora" / "commonmark" / "spec-0.31.2.json"


def test_fast_path_agrees_on_every_commonmark_example() -> None:
    """All 652 examples of the CommonMark spec, as a field and as a one-line field: what a build
    renders equals markdown-it-py's output, and so does the fast subset wherever it applies."""
    import json

    examples = json.loads(COMMONMARK.read_text(encoding="utf-8"))
    differ = []
    fast_taken = 0
    for example in examples:
        text = example["markdown"]
        for inline in (False, True):
            if inline and "\n" in text.rstrip("\n"):
                continue
            want = markdown.defuse_mathjax(full(text, inline))
            fast = fast_render(text, inline)
            fast_taken += fast is not None
            if fast is not None and fast != full(text, inline):
                differ.append((example["number"], inline, "fast"))
            if HtmlRenderer(Path(".")).render(text, Path("."), inline) != want:
                differ.append((example["number"], inline, "render"))
    assert differ == []
    assert fast_taken >= 17  # the corpus does exercise the fast subset
