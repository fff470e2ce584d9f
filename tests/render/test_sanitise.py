"""Whatever a course file says, no note field can run code on a student's machine."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flashgen.render.markdown import ALLOWED_TAGS, HtmlRenderer

FRAGMENTS = [
    "<script>alert(1)</script>", "<script src=//x>", "</script>", "<SCRIPT>", "<scr<script>ipt>",
    "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>", "<iframe src=x>", "<style>",
    "<a href='javascript:alert(1)'>", "<a href=\"JaVaScRiPt:x\">", "<a href=' javascript:x'>",
    "<a href='java&#x09;script:x'>", "<a href='data:text/html,x'>", "<a href='vbscript:x'>",
    "[x](javascript:alert(1))", "[x](data:text/html;base64,AA)", "![i](javascript:x)",
    "![i](data:image/png;base64,AA)", "<b onclick=x>", "<p style='x:expression(1)'>",
    "<object data=x>", "<embed src=x>", "<form action=x>", "<input onfocus=x autofocus>",
    "<math><mi xlink:href=x>", "<details open ontoggle=x>", "<body onload=x>", "<a",
    "href=", "onerror=", "=", '"', "'", "<", ">", "/", " ", "\n", "\n\n", "*", "_", "`", "$",
    "x", "<!-- -->", "<![CDATA[", "&lt;script&gt;", "{{c1::", "}}", "<base href=x>",
    "<meta http-equiv=refresh content='0;url=javascript:x'>", "<link rel=import href=x>",
]  # fmt: skip

DANGEROUS_SCHEMES = ("javascript:", "data:", "vbscript:", "file:")


class Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in {"style", "srcdoc", "formaction"}:
                self.problems.append(f"attribute {name}")
            cleaned = "".join((value or "").split()).lower()
            if name in {"href", "src", "action", "data"} and cleaned.startswith(DANGEROUS_SCHEMES):
                self.problems.append(f"{name}={value}")

    handle_startendtag = handle_starttag


def problems(html: str) -> list[str]:
    inspector = Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector.problems


@pytest.fixture(scope="module")
def renderer() -> HtmlRenderer:
    return HtmlRenderer(Path("."))


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=24).map("".join), st.booleans())
def test_rendered_markdown_never_carries_code(text: str, inline: bool) -> None:
    html = HtmlRenderer(Path(".")).render(text, Path("."), inline=inline)
    assert problems(html) == [], (text, html)
    assert "<script" not in html.lower()


@given(st.text(max_size=200), st.booleans())
def test_any_text_renders_without_error(text: str, inline: bool) -> None:
    html = HtmlRenderer(Path(".")).render(text, Path("."), inline=inline)
    assert problems(html) == []


def test_formatting_survives(renderer):
    html = renderer.render("**bold** <sub>2</sub> [site](https://example.org)", Path("."))
    assert "<strong>bold</strong>" in html and "<sub>2</sub>" in html
    assert 'href="https://example.org"' in html
