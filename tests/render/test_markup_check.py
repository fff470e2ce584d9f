"""Special tokens, HTML and images in course text: what students see in every output, and the
located messages an instructor gets for what the sanitiser changes (render.markup_check)."""

from __future__ import annotations

import html as htmllib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
from anki.collection import Collection

from ankitools import import_apkg
from flashgen.pipeline.build import build
from flashgen.render.markdown import HtmlRenderer
from flashgen.render.markup_check import scan
from support import COURSES, check, concept_yaml, write_course

SPECIAL = COURSES / "special-tokens"
ERRORS = COURSES / "markup-errors"

TOKENS = ["<mask>", "<unk>", "<s>", "</s>", "<|endoftext|>", "<pad>", "<eos>", "<T>", "<title>"]
TOKENS += ["<BOS>", "<textarea>"]

EXPECTED = """\
basics/html.yaml:6:12: warning: attribute 'onclick' of <b> is removed; <b> keeps no attributes
basics/html.yaml:6:49: warning: class 'fg-verdict fg-verdict-right' is removed: course text \
cannot use the classes of flashgen's card templates (they mark a quiz's verdict and choices)
basics/html.yaml:7:6: warning: attribute 'style' of <p> is removed (cards never load anything \
from the internet); <p> keeps no attributes
basics/html.yaml:8:10: warning: attribute 'background' of <table> is removed (cards never load \
anything from the internet); <table> keeps no attributes
basics/html.yaml:10:6: warning: link to 'javascript:alert(1)' is removed (its text stays): links \
may go to http, https, mailto addresses only
basics/html.yaml:10:58: warning: link to 'vbscript:x' is removed (its text stays): links may go \
to http, https, mailto addresses only
basics/html.yaml:11:12: warning: <source srcset="https://tracker.example/p.png"> is not HTML a \
card may hold; it is shown as text (cards keep formatting tags only: see 'Special tokens and \
HTML' in docs/format.md)
basics/images.yaml:8:37: error: image 'missing file.png' not found (looked for basics/missing \
file.png)
basics/images.yaml:9:20: error: image 'https://tracker.example/p.png' is not a file in the \
course; download it into the course folder (cards must work offline)
basics/images.yaml:10:18: error: image '../../secret.png' is outside the course folder
basics/images.yaml:13:12: error: image 'charts/loss.png' not found (looked for \
basics/charts/loss.png)
basics/images.yaml:17:28: error: write images as Markdown, ![description](path/to/image.png), \
not <img src="tokens.png" width="50">: flashgen checks, packs and prints only Markdown images
basics/images.yaml:18:32: warning: <image src=https://tracker.example/p.png> is not HTML a card \
may hold; it is shown as text (cards keep formatting tags only: see 'Special tokens and HTML' \
in docs/format.md)
basics/nesting.yaml:17:21: error: Markdown is nested more than 20 levels deep here (quotes, \
lists and indented blocks inside each other); the text from here on would be lost: nest it less
basics/nesting.yaml:26:7: error: table has 40 columns; the limit is 30: split it, or turn it \
around (rows for columns)"""


def source_line(name: str, number: int) -> str:
    return (ERRORS / "basics" / name).read_text(encoding="utf-8").splitlines()[number - 1]


def at(name: str, line: int, column: int) -> str:
    """The source text a diagnostic at ``line:column`` of ``name`` points at."""
    return source_line(name, line)[column - 1 :]


# -- the messages, each at the line and column of what it is about ------------------------------


def test_markup_errors_course_reports_exactly_these_diagnostics() -> None:
    _, diag, text = check(ERRORS)
    assert text.splitlines() == EXPECTED.splitlines()
    assert (len(diag.errors), len(diag.warnings)) == (7, 8)


def test_special_tokens_need_no_message() -> None:
    _, diag, text = check(SPECIAL)
    assert not diag.items, text
    _, diag, _ = check(ERRORS)
    in_html = [d for d in diag.items if d.location.path.name == "html.yaml"]
    assert not [d for d in in_html if d.location.line in (13, 14)]


def test_removed_attribute_points_at_the_attribute() -> None:
    assert at("html.yaml", 6, 12).startswith('onclick="steal()"')
    assert at("html.yaml", 6, 49).startswith('class="fg-verdict')
    assert at("html.yaml", 7, 6).startswith("style=")
    assert at("html.yaml", 8, 10).startswith("background=")


def test_unsafe_link_points_at_its_target() -> None:
    assert at("html.yaml", 10, 6).startswith('href="javascript:')
    assert at("html.yaml", 10, 58).startswith("vbscript:x)")


def test_missing_images_of_every_form_point_at_their_path() -> None:
    assert at("images.yaml", 8, 37).startswith("missing file.png>")  # ![x](<missing file.png>)
    assert at("images.yaml", 13, 12).startswith("charts/loss.png")  # ![a chart][chart]
    assert at("images.yaml", 9, 20).startswith("https://tracker")
    assert at("images.yaml", 10, 18).startswith("../../secret.png")


def test_html_image_is_an_error_at_the_tag() -> None:
    assert at("images.yaml", 17, 28).startswith('<img src="tokens.png"')
    assert at("images.yaml", 18, 32).startswith("<image src=https://")


def test_lost_nesting_and_wide_tables_point_at_their_line() -> None:
    assert source_line("nesting.yaml", 17).strip() == "- level"
    assert source_line("nesting.yaml", 26).strip().startswith("| c0 | c1")


def test_reference_style_and_bracketed_images_that_exist_pass() -> None:
    findings, images = scan('![a [b] c](x.png "t") ![r][ref] ![y](<a b.png>)\n\n[ref]: <r s.png>\n')
    assert findings == []
    assert [image.src for image in images] == ["x.png", "r s.png", "a b.png"]


# -- what every output shows ---------------------------------------------------------------------


def test_tokens_are_text_in_anki_html() -> None:
    html = HtmlRenderer(Path(".")).render(" ".join(TOKENS), Path("."))
    for token in TOKENS:
        assert token.replace("<", "&lt;").replace(">", "&gt;") in html
    assert "<s>" not in html and "<title>" not in html


@pytest.mark.parametrize(
    ("written", "html"),
    [
        ("[sound:bell.mp3]", "&#91;sound:bell.mp3]"),
        ("[latex]x^2[/latex]", "&#91;latex]x^2&#91;/latex]"),
        ("[LaTeX]x[/LaTeX]", "&#91;LaTeX]x&#91;/LaTeX]"),
        ("[$$]x[/$$] [$]y[/$]", "&#91;$$]x&#91;/$$] &#91;$]y&#91;/$]"),
        ("[anki:tts]y[/anki:tts]", "&#91;anki:tts]y[/anki:tts]"),
    ],
)
def test_anki_markup_is_escaped(written: str, html: str) -> None:
    assert HtmlRenderer(Path(".")).render(written, Path(".")) == f"<p>{html}</p>"


def test_only_flashgen_classes_survive() -> None:
    html = HtmlRenderer(Path(".")).render(
        '<div class="math fg-verdict">a</div>\n\n<span class="fg-choice">b</span>\n\n'
        "```python\nx\n```",
        Path("."),
    )
    assert "fg-" not in html
    assert '<div class="math">' in html and '<code class="language-python">' in html


def test_alt_text_is_plain_text() -> None:
    html = HtmlRenderer(Path(".")).render("![The **token** `ids`](missing.png)", Path("."))
    assert html == "<p>The token ids</p>"


@pytest.fixture(scope="module")
def special_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("special")
    course = shutil.copytree(SPECIAL, output / "course")  # a build writes the course's ledger
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        patch.setenv("FLASHGEN_CACHE_DIR", str(output / "cache"))
        result = build(course, output / "out")
    assert not result.diagnostics.has_errors
    return output / "out"


def test_tokens_reach_a_students_anki_as_text(special_build: Path, tmp_path: Path) -> None:
    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        import_apkg(col, special_build / "special-tokens.apkg")
        rendered = []
        for card_id in col.find_cards(""):
            card = col.get_card(card_id)
            rendered.append(card.question() + card.answer())
            assert card.question_av_tags() == [] and card.answer_av_tags() == []
        html = "".join(rendered)
    finally:
        col.close()
    for token in TOKENS:
        assert token.replace("<", "&lt;").replace(">", "&gt;") in html, token
    assert "&#91;sound:bell.mp3]" in html and "&#91;latex]x^2&#91;/latex]" in html
    assert "latex-" not in html  # Anki made no LaTeX image
    tags = " ".join(re.findall(r"<[^>]*>", html)).lower()
    assert "<s>" not in tags and "<title" not in tags and "<textarea" not in tags
    assert 'alt="The token ids"' in html and 'alt="two [words]"' in html


def test_tokens_print_as_written_in_both_pdfs(special_build: Path) -> None:
    for name in ("special-tokens-cards.pdf", "special-tokens-guide.pdf"):
        reader = pypdf.PdfReader(special_build / name)
        text = " ".join(page.extract_text() for page in reader.pages)
        text = " ".join(re.sub("\u00ad\\s*", "", text).split())  # undo hyphenation
        for token in TOKENS:
            assert token in text, (name, token)
        assert "[sound:bell.mp3]" in text and "[latex]x^2[/latex]" in text


# -- bounded time and memory ---------------------------------------------------------------------

LIMITED = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_CPU, ({cpu}, {cpu}))
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
from flashgen.pipeline.load import load_course
course, diag = load_course(Path(sys.argv[1]))
print(len(diag.errors))
"""

PATHOLOGICAL = {
    "images": "![",
    "brackets": "[",
    "open-attributes": '<a b="',
    "lt": "<",
    "comments": "<!--",
    "processing": "<?",
    "image-links": "![a](",
    "links": "[a](",
    "quotes": "> ",
    "emphasis": "*a ",
    "cloze": "{{c1::",
}


@pytest.mark.parametrize("unit", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_checking_pathological_markdown_is_bounded(tmp_path: Path, unit: str) -> None:
    """Five fields of 19,999 characters of pathological Markdown (just inside the limit of a
    field) are checked within 20 CPU seconds and 1 GiB: a few seconds when scanning is linear;
    the quadratic image scan this replaced took 12 s for each such field."""
    text = (unit * (19_999 // len(unit) + 1))[:19_999]
    field = json.dumps(text)
    questions = "".join(
        f"  - id: q{n}\n    type: basic\n    front: {field}\n    back: {field}\n" for n in range(2)
    )
    concept = concept_yaml("a").replace("About a.", field) + "questions:\n" + questions
    root = write_course(tmp_path, {"a.yaml": concept})
    script = LIMITED.format(cpu=20, memory=1 << 30)
    result = subprocess.run(
        [sys.executable, "-c", script, str(root)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_field_past_the_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    summary = json.dumps("![" * 50_000)
    root = write_course(tmp_path, {"a.yaml": concept_yaml("a").replace("About a.", summary)})
    _, _, text = check(root)
    assert text.splitlines() == [
        "a.yaml:5:10: error: text is 100,000 characters long; the limit is 20,000 a field: a card "
        "shows far less (split it into several questions or concepts)"
    ]


# -- limits: each a located error that names it ------------------------------------------------


def nested_emphasis(levels: int) -> str:
    opening = "".join("*a " if i % 2 else "_a " for i in range(levels))
    closing = "".join(" a*" if i % 2 else " a_" for i in reversed(range(levels)))
    return opening + "x" + closing


@pytest.mark.parametrize(
    ("summary", "message", "line"),
    [
        ("x" * 20_001, "text is 20,001 characters long; the limit is 20,000 a field", 5),
        ("|\n  Fine.\n\n  " + "> " * 11 + "deep", "quotes are nested more than 10 deep here", 8),
        ("|\n  Fine.\n  " + nested_emphasis(25), "formatting is nested more than 20 levels", 6),
    ],
    ids=["length", "quotes", "emphasis"],
)
def test_limits_are_located_errors(tmp_path: Path, summary: str, message: str, line: int) -> None:
    root = write_course(tmp_path, {"a.yaml": concept_yaml("a").replace("About a.", summary)})
    _, diag, _ = check(root)
    [error] = diag.errors
    assert message in error.message
    assert (error.location.path.name, error.location.line) == ("a.yaml", line)


BUILD_LIMITED = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_CPU, ({cpu}, {cpu}))
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
from flashgen.pipeline.build import build
result = build(Path(sys.argv[1]), Path(sys.argv[2]), only=("pdf",))
print(len(result.written))
"""


def test_pdf_build_of_text_at_every_limit_is_bounded(tmp_path: Path) -> None:
    """Text just inside each limit (10 quotes deep, formatting 19 levels deep, a 30-column
    table, a field of 19,000 brackets) typesets within 4 CPU minutes and 4 GiB."""
    table = "|" + " a |" * 30 + "\n  |" + "---|" * 30 + "\n  |" + " x |" * 30
    summary = "|\n  " + "> " * 10 + "quoted\n\n  " + nested_emphasis(19) + "\n\n  " + table + "\n"
    concepts = {
        "a.yaml": concept_yaml("a").replace("About a.", summary),
        "b.yaml": concept_yaml("b").replace("About b.", "'" + "[" * 9_500 + "]" * 9_500 + "'"),
    }
    root = write_course(tmp_path / "course", concepts)
    _, diag, text = check(root)
    assert not diag.has_errors, text
    script = BUILD_LIMITED.format(cpu=240, memory=4 << 30)
    result = subprocess.run(
        [sys.executable, "-c", script, str(root), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "FLASHGEN_CACHE_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "2"


def test_a_tag_cannot_hold_html(tmp_path: Path) -> None:
    extra = "tags: [ok, <b>x</b>]\n"
    root = write_course(tmp_path, {"a.yaml": concept_yaml("a", extra=extra)})
    _, diag, _ = check(root)
    [error] = diag.errors
    assert "'<b>x</b>' cannot contain <, > or &" in error.message
    assert (error.location.line, error.location.column) == (6, 12)


def test_html_is_left_out_of_deck_names_with_a_warning(tmp_path: Path) -> None:
    root = write_course(tmp_path / "course", {"a.yaml": concept_yaml("a")})
    (root / "course.yaml").write_text(
        'id: tiny\ntitle: "<b>Tiny</b> <T> course"\nchapters:\n  - id: basics\n'
        "    title: Basics <img src=x onerror=alert(1)>\n"
    )
    _, _, text = check(root)
    assert text.splitlines() == [
        "course.yaml:2:9: warning: <b> is left out of the Anki deck name this title gives (deck "
        "names are plain text); cards and PDFs show the title as written",
        "course.yaml:2:16: warning: </b> is left out of the Anki deck name this title gives "
        "(deck names are plain text); cards and PDFs show the title as written",
        "course.yaml:5:19: warning: <img src=x onerror=alert(1)> is left out of the Anki deck "
        "name this title gives (deck names are plain text); cards and PDFs show the title as "
        "written",
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        patch.setenv("FLASHGEN_CACHE_DIR", str(tmp_path / "cache"))
        (deck,) = build(root, tmp_path / "out", only=("apkg",)).written
    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        import_apkg(col, deck)
        names = {d.name for d in col.decks.all_names_and_ids()}
    finally:
        col.close()
    assert "Tiny <T> course" in names
    assert next(n for n in names if n.startswith("Tiny <T> course::")).endswith("Basics")
    assert not [name for name in names if "<b>" in name or "<img" in name]


def test_a_tag_without_its_partner_is_text_in_every_output() -> None:
    from flashgen.diagnostics import Location
    from flashgen.render.typst_markup import TypstRenderer

    text = "Use <b> for bold, <i>this</i> is italic, and </span> closes nothing."
    html = HtmlRenderer(Path(".")).render(text, Path("."))
    assert html == (
        "<p>Use &lt;b&gt; for bold, <i>this</i> is italic, and &lt;/span&gt; closes nothing.</p>"
    )
    markup = TypstRenderer(Path(".")).render_now(text, Path("."), Location(Path("a.yaml"), 1, 1))
    assert "\\<b\\>" in markup and "\\</span\\>" in markup and "\\<i\\>" not in markup


def test_tokens_are_text_in_the_preview(tmp_path: Path) -> None:
    from flashgen.outputs import preview

    site = tmp_path / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        patch.setenv("FLASHGEN_CACHE_DIR", str(tmp_path / "cache"))
        preview.build_preview(shutil.copytree(SPECIAL, tmp_path / "course"), site)
    page = (site / "concepts" / "masking.html").read_text(encoding="utf-8")
    cards = " ".join(htmllib.unescape(doc) for doc in re.findall(r'srcdoc="([^"]*)"', page))
    for token in TOKENS:
        assert token.replace("<", "&lt;").replace(">", "&gt;") in cards, token
    tags = " ".join(re.findall(r"<[^>]*>", cards)).lower()
    assert "<s>" not in tags and "<title>" not in tags and "<textarea>" not in tags
    assert "Masking with &lt;mask&gt;" in page  # the page's own title, escaped


def test_a_missing_image_written_percent_encoded_points_at_its_path(tmp_path: Path) -> None:
    summary = "'See ![chart](my%20chart.png) here.'"
    root = write_course(tmp_path, {"a.yaml": concept_yaml("a").replace("About a.", summary)})
    _, _, text = check(root)
    assert text.splitlines() == [
        "a.yaml:5:24: error: image 'my chart.png' not found (looked for my chart.png)"
    ]
