"""The printable PDFs, read back with pypdf: what is on which page, and where."""

from __future__ import annotations

import io
import itertools
import math
import re
import shutil
import unicodedata

import pypdf
import pytest
from click.testing import CliRunner

from flashgen.cli import main
from flashgen.course.graph import prerequisite_map
from flashgen.course.model import MultipleChoice, TrueFalse
from flashgen.diagnostics import CourseError
from flashgen.outputs import concept_map, pdf
from flashgen.outputs.cards import study_cards
from flashgen.outputs.folder import MARKER
from flashgen.pipeline.build import build
from flashgen.pipeline.load import load_course
from flashgen.render.typst_markup import ResultCache, load_formula_cache
from support import TESTS, concept_yaml, require_cjk_font, write_course

HERE = TESTS
SEED_COURSE = HERE.parent / "cards"
SPECIAL_COURSE = HERE / "courses" / "pdf-special"
MM = 72 / 25.4


@pytest.fixture(autouse=True)
def epoch(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("FLASHGEN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def seed_build(tmp_path_factory):
    output = tmp_path_factory.mktemp("seed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        patch.setenv("FLASHGEN_CACHE_DIR", str(output / "cache"))
        result = build(SEED_COURSE, output, only=("pdf",))
    course = result.study.course
    return result, output / pdf.cards_pdf_name(course), output / pdf.guide_pdf_name(course)


def normal(text: str) -> str:
    """Text for comparison: typographic quotes straightened, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = text.translate({0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"', 0xAD: None})
    return re.sub(r"\s+", " ", text).strip()


def words(markdown: str, count: int = 4) -> str:
    """A few plain words of a Markdown text (from its longest stretch without math, code or
    cloze syntax): enough to find the text in a page's text."""
    stretches = re.split(r"\$[^$]*\$|`[^`]*`|\{\{c\d+::|::[^}]*\}\}|\}\}|[*_]", markdown)
    plain = max(stretches, key=lambda part: len(re.findall(r"[A-Za-z]+", part)))
    return " ".join(re.findall(r"[A-Za-z][A-Za-z'’-]*", plain)[:count])


def runs(page: pypdf.PageObject) -> list[tuple[str, float, float]]:
    """Every text run on a page with its start position (points, origin bottom left)."""
    found: list[tuple[str, float, float]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            found.append((text.strip(), cm[4] + tm[4], cm[5] + tm[5]))

    page.extract_text(visitor_text=visit)
    return found


def flat(page: pypdf.PageObject) -> str:
    return normal(page.extract_text())


def squash(text: str) -> str:
    """Letters and digits only: hyphenation and line breaks do not matter."""
    return re.sub(r"[\W_]+", "", normal(text))


def test_cards_pdf_has_a_front_and_a_back_page_per_eight_cards(seed_build) -> None:
    result, cards_pdf, _ = seed_build
    reader = pypdf.PdfReader(cards_pdf)
    count = len(result.study.cards)
    assert len(reader.pages) == 2 * math.ceil(count / 8)
    for page in reader.pages:
        box = page.mediabox
        assert (round(float(box.width) / MM), round(float(box.height) / MM)) == (210, 297)


def test_every_card_on_its_page_and_its_back_mirrored_behind_it(seed_build) -> None:
    result, cards_pdf, _ = seed_build
    reader = pypdf.PdfReader(cards_pdf)
    layout = pdf.sheet("a4", "eighth")
    width = float(reader.pages[0].mediabox.width)
    study = result.study
    for index, card in enumerate(study.cards):
        front_page, slot = divmod(index, layout.per_page)
        front, back = reader.pages[2 * front_page], reader.pages[2 * front_page + 1]
        front_code = [(x, y) for text, x, y in runs(front) if text == card.code]
        back_code = [(x, y) for text, x, y in runs(back) if text == card.code]
        assert len(front_code) == 1 and len(back_code) == 1, card.code
        (fx, fy), (bx, by) = front_code[0], back_code[0]
        column, _ = layout.slot(slot, back=False)
        assert int(fx // (width / 2)) == column
        # Long-edge duplex: the back is the front mirrored left to right, same row.
        assert int(bx // (width / 2)) == layout.columns - 1 - column
        assert by == pytest.approx(fy, abs=0.5)
        front_text, back_text = squash(flat(front)), squash(flat(back))
        question = card.question
        if question is None:
            assert squash(card.concept.title) in front_text
            assert squash(words(card.concept.summary)) in back_text
        elif isinstance(question, MultipleChoice):
            assert squash(words(question.question)) in front_text
            keys = dict(zip(study.choice_order(card), "ABCDEFGH", strict=False))
            answer = "".join(sorted(keys[i] for i in range(len(question.correct))))
            assert f"Answer{answer}" in back_text
            assert squash(words(question.explanation)) in back_text
        elif isinstance(question, TrueFalse):
            assert squash(words(question.statement)) in front_text
            assert ("True" if question.answer else "False") in back_text
        else:
            prompt = getattr(question, "front", None) or getattr(question, "text", "")
            assert squash(words(prompt)) in front_text
            assert squash(words(question.explanation)) in back_text


def test_text_stays_5_mm_inside_every_cut(seed_build) -> None:
    _, cards_pdf, _ = seed_build
    reader = pypdf.PdfReader(cards_pdf)
    layout = pdf.sheet("a4", "eighth")
    left, top = layout.margin
    height = float(reader.pages[0].mediabox.height)
    for page in reader.pages:
        for text, x, y in runs(page):
            x_mm, y_mm = x / MM, (height - y) / MM
            column_x = (x_mm - left) % layout.card[0]
            assert column_x >= 5 - 0.01, (text, x_mm)
            row_y = (y_mm - top) % layout.card[1]
            assert row_y >= 5, (text, y_mm)
            assert layout.card[1] - row_y >= 5 - 0.01, (text, y_mm)


def test_guide_follows_prerequisites_and_has_contents_and_page_numbers(seed_build) -> None:
    result, _, guide_pdf = seed_build
    reader = pypdf.PdfReader(guide_pdf)
    texts = [flat(page) for page in reader.pages]
    assert "Contents" in texts[1] and "Concept map" in texts[1] and "Answer key" in texts[1]
    assert any("Leitner" in text for text in texts)
    # Each concept's section is where its card code is printed ("Card XXXX-XXX").
    where: dict[str, tuple[int, int]] = {}
    for card in result.study.cards:
        if card.question is None:
            marker = f"Card {card.code}"
            page = next(i for i, text in enumerate(texts) if marker in text)
            where[card.concept.id] = (page, texts[page].index(marker))
    course = result.study.course
    for concept, prerequisites in prerequisite_map(course).items():
        for prerequisite in prerequisites:
            assert where[prerequisite] < where[concept], (prerequisite, concept)
    # Page numbers: the second page (contents) is page 1.
    assert texts[1].rstrip().endswith("1")
    # The answer key follows the last concept section, however many pages it takes.
    answer_key = [i for i, text in enumerate(texts) if i > 1 and "Answer key" in text]
    assert answer_key and answer_key[0] >= max(page for page, _ in where.values())


def test_special_characters_math_code_and_non_latin_text(tmp_path) -> None:
    require_cjk_font()
    result = build(SPECIAL_COURSE, tmp_path, only=("pdf",))
    cards = " ".join(flat(p) for p in pypdf.PdfReader(tmp_path / "pdf-special-cards.pdf").pages)
    guide = " ".join(flat(p) for p in pypdf.PdfReader(tmp_path / "pdf-special-guide.pdf").pages)
    for text in (cards, guide):
        for expected in ("#hash", "$5", "*not bold*", "under_score", "@mention", "less < more >",
                         "[x]", "中文字符", "αβγ", "Ωμέγα", "Zoë", "Müller", "Ångström",
                         "<eos>", 'print("#$*_@<>")', "\\undefinedmacro{x}"):  # fmt: skip
            assert expected in text, expected
    messages = result.diagnostics.render_text(relative_to=SPECIAL_COURSE)
    assert "basics/symbols.yaml:33:21: warning: formula $\\undefinedmacro{x}$" in messages
    # The concept's back (lists, a table, an image, displayed math) cannot fit on a card:
    # reported with the card's code, not silently cut.
    code = next(c.code for c in result.study.cards if c.concept.id == "symbols" and not c.question)
    assert f"card {code} (symbols): the back does not fit" in messages


def test_mcq_choices_in_the_same_order_as_anki(tmp_path) -> None:
    result = build(SPECIAL_COURSE, tmp_path, only=("pdf",))
    study = result.study
    card = next(c for c in study.cards if isinstance(c.question, MultipleChoice))
    reader = pypdf.PdfReader(tmp_path / "pdf-special-cards.pdf")
    text = flat(reader.pages[0])
    order = [card.question.choices[i] for i in study.choice_order(card)]
    letters = "ABCD"
    expected = " ".join(f"{letters[i]}. {choice.strip('`')}" for i, choice in enumerate(order))
    assert expected in text


def test_reproducible_with_source_date_epoch(tmp_path) -> None:
    build(SPECIAL_COURSE, tmp_path / "a", only=("pdf",))
    build(SPECIAL_COURSE, tmp_path / "b", only=("pdf",))
    for name in ("pdf-special-cards.pdf", "pdf-special-guide.pdf"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    info = pypdf.PdfReader(tmp_path / "a" / "pdf-special-guide.pdf").metadata
    assert info.creation_date.year == 2023  # 1700000000 is 2023-11-14


@pytest.mark.parametrize(
    ("paper", "card_size", "size_mm", "per_page"),
    [
        ("letter", "eighth", (216, 279), 8),
        ("a4", "index", (210, 297), 3),
        ("a4", "business", (210, 297), 10),
        ("letter", "business", (216, 279), 8),
    ],
)
def test_paper_and_card_sizes(tmp_path, paper, card_size, size_mm, per_page) -> None:
    layout = pdf.sheet(paper, card_size)
    assert layout.per_page == per_page
    course, _ = load_course(SPECIAL_COURSE)
    study = study_cards(course)
    files = pdf.render_pdfs(study, SPECIAL_COURSE, 0, paper, card_size, kinds=("cards",)).take()
    reader = pypdf.PdfReader(io.BytesIO(files["cards"]))
    assert len(reader.pages) == pdf.page_count(len(study.cards), layout)
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / MM), round(float(box.height) / MM)) == size_mm


def test_template_error_in_a_course_override_names_its_file_and_line(tmp_path) -> None:
    course = tmp_path / "course"
    shutil.copytree(SPECIAL_COURSE, course)
    override = course / "templates" / "typst" / "guide.typ"
    override.parent.mkdir(parents=True)
    override.write_text('#import "common.typ": *\n\n#undefined-thing(1)\n', encoding="utf-8")
    output = tmp_path / "out"
    with pytest.raises(CourseError) as caught:
        build(course, output, only=("pdf",))
    [error] = caught.value.diagnostics.errors
    assert error.location.path == override and error.location.line == 3
    assert "unknown variable" in error.message
    assert not output.exists() or not any(output.iterdir())  # nothing written


def test_cli_only_pdf_and_only_apkg(tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    args = ["build", str(SPECIAL_COURSE), "-o", str(out), "--only", "pdf", "--paper", "letter"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir() if p.name != MARKER) == [
        "pdf-special-cards.pdf",
        "pdf-special-guide.pdf",
    ]
    course = shutil.copytree(SPECIAL_COURSE, tmp_path / "course")  # the build keeps a ledger
    result = runner.invoke(main, ["build", str(course), "-o", str(out), "--only", "apkg"])
    assert result.exit_code == 0, result.output
    assert (out / "pdf-special.apkg").exists()
    bad = runner.invoke(main, ["build", str(SPECIAL_COURSE), "--card-size", "huge"])
    assert bad.exit_code == 2


# -- the concept map ----------------------------------------------------------------------------


def map_pages(reader: pypdf.PdfReader) -> list[pypdf.PageObject]:
    """The pages of the guide's concept-map section (up to the first concept's section)."""
    texts = [flat(page) for page in reader.pages]
    start = next(i for i, text in enumerate(texts) if text.startswith("Concept map Foundations"))
    end = next(i for i in range(start + 1, len(texts)) if "Card " in texts[i])
    return reader.pages[start:end]


def drawn_lines(page: pypdf.PageObject) -> list[tuple[str, float, float]]:
    """Lines of text drawn glyph by glyph (as Typst prints SVG text), with their start: the
    glyphs at one height, split where they are further apart than within a line."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for text, x, y in runs(page):
        rows.setdefault(round(y, 1), []).append((x, text))
    found = []
    for y, glyphs in rows.items():
        glyphs.sort()
        start, last, text = glyphs[0][0], glyphs[0][0], ""
        for x, glyph in glyphs:
            if x - last > 20:
                found.append((squash(text), start, y))
                start, text = x, ""
            text, last = text + glyph, x
        found.append((squash(text), start, y))
    return found


def test_guide_draws_the_previews_concept_map(seed_build) -> None:
    result, _, guide_pdf = seed_build
    reader = pypdf.PdfReader(guide_pdf)
    [page] = map_pages(reader)
    drawing = concept_map.layout(result.study)
    found = drawn_lines(page)
    # Every title, wrapped into the lines of concept_map's boxes, is on the page as text...
    first_line: dict[str, tuple[float, float]] = {}
    for box in drawing.boxes.values():
        for number, line in enumerate(box.lines):
            spots = [(x, y) for text, x, y in found if text == squash(line)]
            assert spots, line
            if number == 0:
                first_line[box.id] = spots[0]
    # ... where concept_map placed the box: above and left of each other in the same order.
    boxes = list(drawing.boxes.values())
    for a in boxes:
        for b in boxes:
            if a.y < b.y:
                assert first_line[a.id][1] > first_line[b.id][1], (a.id, b.id)
            if a.y == b.y and a.x < b.x:
                assert first_line[a.id][0] < first_line[b.id][0], (a.id, b.id)
    # Every box is a link to its concept's section.
    annotations = [a.get_object() for a in page.get("/Annots", [])]
    links = [a for a in annotations if a["/Subtype"] == "/Link"]
    assert len(links) == len(drawing.boxes)


def test_concept_map_with_a_chinese_title(tmp_path) -> None:
    require_cjk_font()
    course = tmp_path / "course"
    shutil.copytree(SPECIAL_COURSE, course)
    after = course / "basics" / "after.yaml"
    text = after.read_text(encoding="utf-8")
    after.write_text(text.replace("title: After the symbols", "title: 符号之后的概念"), "utf-8")
    build(course, tmp_path / "out", only=("pdf",))
    [page] = map_pages(pypdf.PdfReader(tmp_path / "out" / "pdf-special-guide.pdf"))
    text = flat(page)
    assert "符号之后的概念" in text and "Symbols: # $ * _ @ < >" in text


def test_a_tall_concept_map_is_cut_between_rows_onto_several_pages(tmp_path) -> None:
    # 160 concepts (more than the preview draws in one map): one map per chapter, each a
    # chain far too tall for a page.
    concepts = {}
    for n in range(160):
        chapter = "one" if n < 80 else "two"
        before = (f"k{n - 1:03d}",) if n % 80 else ()
        concepts[f"{chapter}/k{n:03d}.yaml"] = concept_yaml(f"k{n:03d}", before, chapter)
    root = write_course(tmp_path / "course", concepts, ("one", "two"))
    course, diag = load_course(root)
    assert course is not None and not diag.has_errors
    study = study_cards(course)
    pictures = pdf.concept_maps(study)
    assert [p.title for p in pictures] == ["One", "Two"]
    for picture in pictures:
        # The strips cover the drawing, each box in exactly one strip.
        edges = [(top, bottom) for _, top, bottom in picture.strips]
        assert edges[0][0] == 0 and edges[-1][1] == picture.height
        assert all(a[1] == b[0] for a, b in itertools.pairwise(edges))
        for box in picture.boxes:
            inside = [s for s in edges if s[0] <= box["y"] and box["y"] + box["h"] <= s[1]]
            assert len(inside) == 1
    files = pdf.render_pdfs(study, root, 0, kinds=("guide",)).take()
    pages = map_pages(pypdf.PdfReader(io.BytesIO(files["guide"])))
    assert len(pages) > 4
    titles = [text for page in pages for text, _, _ in drawn_lines(page) if text[:1] == "K"]
    assert sorted(titles) == [f"K{n:03d}" for n in range(160)]


# -- caches between builds ----------------------------------------------------------------------


def test_cached_builds_are_identical_and_a_corrupt_cache_is_ignored(tmp_path) -> None:
    course, _ = load_course(SEED_COURSE)
    study = study_cards(course)
    cache = tmp_path / "cache"

    def render() -> dict[str, bytes]:
        return pdf.render_pdfs(study, SEED_COURSE, 0, cache_dir=cache).take()

    first = render()
    fits = ResultCache.load(cache / pdf.FIT_CACHE, ("?",), lambda v: True)
    assert (cache / pdf.FORMULA_CACHE).is_file() and (cache / pdf.FIT_CACHE).is_file()
    assert render() == first  # every formula and measured side from the cache
    for name in (pdf.FORMULA_CACHE, pdf.FIT_CACHE):
        data = (cache / name).read_bytes()
        (cache / name).write_bytes(data[: len(data) // 2] + b"garbage")
    assert render() == first
    assert fits.results == {}  # a cache from another context is not read
    assert ResultCache.load(cache / pdf.FIT_CACHE, ("?",), lambda v: True).results == {}


def test_formula_cache_is_trusted_and_rejected_formulas_still_warn(tmp_path) -> None:
    course, _ = load_course(SPECIAL_COURSE)
    study = study_cards(course)
    cache = tmp_path / "cache"
    for _ in range(2):  # a first build, then one from the cache: the same warning
        result = pdf.render_pdfs(study, SPECIAL_COURSE, 0, kinds=("cards",), cache_dir=cache)
        result.close()
        messages = result.diagnostics.render_text(relative_to=SPECIAL_COURSE)
        assert "symbols.yaml:33:21: warning: formula $\\undefinedmacro{x}$" in messages
    formulas = load_formula_cache(cache / pdf.FORMULA_CACHE)
    assert formulas.results["\\undefinedmacro{x}"][0] is None
    [tex] = [t for t, v in formulas.results.items() if v[0] and t != "\\undefinedmacro{x}"][:1]
    formulas.add(tex, ['"CACHEDMATH"', None, []])
    formulas.save(cache / pdf.FORMULA_CACHE)
    result = pdf.render_pdfs(study, SPECIAL_COURSE, 0, kinds=("cards",), cache_dir=cache)
    text = " ".join(flat(p) for p in pypdf.PdfReader(io.BytesIO(result.take()["cards"])).pages)
    assert "CACHEDMATH" in text


STUDY_AIDS_COURSE = HERE / "courses" / "pdf-study-aids"


@pytest.fixture(scope="module")
def study_aids(tmp_path_factory) -> dict[str, str]:
    """The text of both PDFs of the pdf-study-aids course, page breaks kept as line breaks."""
    output = tmp_path_factory.mktemp("aids")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        patch.setenv("FLASHGEN_CACHE_DIR", str(output / "cache"))
        build(STUDY_AIDS_COURSE, output, only=("pdf",))
    return {
        kind: "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
        for kind, path in (
            ("cards", output / "pdf-study-aids-cards.pdf"),
            ("guide", output / "pdf-study-aids-guide.pdf"),
        )
    }


@pytest.mark.parametrize("kind", ["cards", "guide"])
def test_several_right_answers_say_select_all_that_apply(study_aids, kind) -> None:
    text = normal(study_aids[kind])
    # Only the question with two right answers says it, right under the question (as Anki).
    assert text.count("Select all that apply") == 1
    assert "Which of these show a frequency distribution? Select all that apply A." in text


def test_related_concepts_are_on_the_card_and_in_the_guide(study_aids) -> None:
    assert "Related: Sampling" in normal(study_aids["cards"])
    assert re.search(r"Related: Sampling \(p\. \d+\)", normal(study_aids["guide"]))


@pytest.mark.parametrize("kind", ["cards", "guide"])
def test_numbered_lists_keep_the_numbers_the_instructor_wrote(study_aids, kind) -> None:
    text = normal(study_aids[kind])
    assert "0. nothing counted yet 1. one value 2. two values" in text
    assert "3. sort the values 4. count equal neighbours" in text


@pytest.mark.parametrize("kind", ["cards", "guide"])
def test_titles_and_cloze_answers_are_never_hyphenated(study_aids, kind) -> None:
    course, _ = load_course(STUDY_AIDS_COURSE)
    whole = {word for concept in course.concepts for word in re.findall(r"\w+", concept.title)}
    cloze = (STUDY_AIDS_COURSE / "basics" / "frequencies.yaml").read_text()
    whole |= {word for answer in re.findall(r"::([^}]+)}}", cloze) for word in answer.split()}
    broken = {a + b for a, b in re.findall(r"(\w+)[\u00ad-]\s*\n\s*(\w+)", study_aids[kind])}
    assert broken & whole == set()
    # The course is written so that they would be: its long words do break in running text.
    assert kind == "guide" or "divided" in broken


def test_the_guide_opens_with_the_leitner_page_as_the_readme_says(seed_build) -> None:
    _, _, guide_pdf = seed_build
    pages = [flat(page) for page in pypdf.PdfReader(guide_pdf).pages]
    assert pages[2].startswith("Studying the printed cards with a Leitner box")
    readme = normal((HERE.parent / "README.md").read_text(encoding="utf-8"))
    assert "The study guide opens, after its contents, with a page on reviewing" in readme
