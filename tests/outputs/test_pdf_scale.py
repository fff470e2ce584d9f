"""A large course's PDFs: split per chapter (and part), typeset in worker processes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner
from test_pdf import flat, runs, squash

from flashgen.cli import main
from flashgen.outputs import pdf
from flashgen.outputs.cards import study_cards
from flashgen.outputs.folder import MARKER
from flashgen.outputs.pdf import workers
from flashgen.pipeline.build import build
from flashgen.pipeline.load import load_course
from support import TESTS

BENCH = TESTS.parent / "bench"
#: Small enough that the synthetic course below is split, and some chapters cut into parts.
LIMIT = 15


@pytest.fixture(autouse=True)
def epoch(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("FLASHGEN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory) -> Path:
    """The benchmarks' synthetic course of 20 concepts (100 cards) in 4 chapters."""
    root = tmp_path_factory.mktemp("scale") / "course"
    command = [sys.executable, str(BENCH / "gencourse.py"), "20", str(root)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return root


@pytest.fixture(scope="module")
def split_build(course_dir, tmp_path_factory):
    """The course built with the split limit at ``LIMIT`` cards, over the outputs of an older
    unsplit build (and a file of another course that must be left alone)."""
    output = tmp_path_factory.mktemp("split-out")
    course, _ = load_course(course_dir)
    assert course is not None
    old = [output / pdf.cards_pdf_name(course), output / pdf.guide_pdf_name(course)]
    foreign = [output / f"{course.id}-cards-x-guide.pdf", output / "other-cards.pdf"]
    for path in (*old, *foreign):
        path.write_bytes(b"%PDF-old")
    # The older build's files are flashgen's (its marker lists them); the others are not.
    (output / MARKER).write_text(json.dumps({"written": [path.name for path in old]}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        patch.setenv("FLASHGEN_CACHE_DIR", str(output / "cache"))
        patch.setenv("FLASHGEN_PDF_SPLIT_CARDS", str(LIMIT))
        result = build(course_dir, output, only=("pdf",))
    return result, output, old, foreign


def test_parts_are_chapters_cut_at_concept_boundaries(course_dir) -> None:
    course, _ = load_course(course_dir)
    study = study_cards(course)
    assert pdf.pdf_parts(study, len(study.cards)) is None
    parts = pdf.pdf_parts(study, LIMIT)
    assert parts is not None
    # Every card in exactly one part, in study order within each part.
    assert sorted(c.code for p in parts for c in p.cards) == sorted(c.code for c in study.cards)
    position = {card.code: index for index, card in enumerate(study.cards)}
    concept_part: dict[str, str] = {}
    for part in parts:
        indexes = [position[card.code] for card in part.cards]
        assert indexes == sorted(indexes)
        assert len(part.cards) <= LIMIT
        assert {card.chapter.id for card in part.cards} == {part.chapter.id}
        for card in part.cards:
            assert concept_part.setdefault(card.concept.id, part.name) == part.name
    chapters = [part.chapter.id for part in parts]
    assert chapters == sorted(chapters, key=[c.id for c in course.chapters].index)
    for chapter in set(chapters):
        names = [part.name for part in parts if part.chapter.id == chapter]
        if len(names) > 1:
            assert names == [f"{chapter}-{n}" for n in range(1, len(names) + 1)]
        else:
            assert names == [chapter]
    assert any(part.number for part in parts)  # the test exercises numbered parts


def test_split_build_writes_one_cards_and_one_guide_pdf_per_part(split_build) -> None:
    result, output, old, foreign = split_build
    course = result.study.course
    parts = pdf.pdf_parts(result.study, LIMIT)
    assert parts is not None
    expected = [
        f"{course.id}-{kind}-{part.name}.pdf" for part in parts for kind in ("cards", "guide")
    ]
    assert [path.name for path in result.written] == expected
    assert sorted(p.name for p in output.glob("*.pdf")) == sorted(
        [*expected, *(path.name for path in foreign)]
    )
    for path in old:  # the unsplit files of the older build are gone
        assert not path.exists()
    # The build says, in one line, why there are so many files and what they are called.
    assert result.notes == [
        f"{course.id} has {len(result.study.cards)} cards, more than {LIMIT} for one PDF: its "
        f"PDFs are per chapter, {len(expected)} files named {course.id}-cards-<chapter>.pdf and "
        f"{course.id}-guide-<chapter>.pdf ({expected[0]}, ..., {expected[-1]}); see docs/pdf.md"
    ]


def test_every_card_in_exactly_one_cards_pdf_with_its_back_mirrored(split_build) -> None:
    result, output, _, _ = split_build
    course = result.study.course
    layout = pdf.sheet("a4", "eighth")
    parts = pdf.pdf_parts(result.study, LIMIT)
    assert parts is not None
    seen: dict[str, str] = {}
    for part in parts:
        reader = pypdf.PdfReader(output / pdf.pdf_name(course, f"cards-{part.name}"))
        assert len(reader.pages) == pdf.page_count(len(part.cards), layout)
        width = float(reader.pages[0].mediabox.width)
        codes = {text for page in reader.pages for text, _, _ in runs(page)}
        for card in result.study.cards:
            if card.code in codes:
                assert seen.setdefault(card.code, part.name) == part.name
        for index, card in enumerate(part.cards):
            page, slot = divmod(index, layout.per_page)
            front, back = reader.pages[2 * page], reader.pages[2 * page + 1]
            front_code = [(x, y) for text, x, y in runs(front) if text == card.code]
            back_code = [(x, y) for text, x, y in runs(back) if text == card.code]
            assert len(front_code) == 1 and len(back_code) == 1, card.code
            (fx, fy), (bx, by) = front_code[0], back_code[0]
            column, _ = layout.slot(slot, back=False)
            assert int(fx // (width / 2)) == column
            assert int(bx // (width / 2)) == layout.columns - 1 - column
            assert by == pytest.approx(fy, abs=0.5)
    assert sorted(seen) == sorted(card.code for card in result.study.cards)


def test_each_part_has_its_own_guide(split_build) -> None:
    result, output, _, _ = split_build
    course = result.study.course
    parts = pdf.pdf_parts(result.study, LIMIT)
    assert parts is not None
    for part in parts:
        reader = pypdf.PdfReader(output / pdf.pdf_name(course, f"guide-{part.name}"))
        assert part.title in reader.metadata.title
        title_page = flat(reader.pages[0])
        assert part.title in title_page
        concepts = list({card.concept.id: card.concept for card in part.cards}.values())
        assert f"{len(concepts)} concepts" in title_page
        text = squash(" ".join(flat(page) for page in reader.pages))
        for concept in concepts:
            assert squash(concept.title) in text
        for card in part.cards:
            assert squash(card.code) in text


def test_split_results_do_not_depend_on_the_workers(course_dir, tmp_path, monkeypatch) -> None:
    course, _ = load_course(course_dir)
    study = study_cards(course)
    limit = 40  # fewer, larger parts: quicker

    def render() -> dict[str, bytes]:
        pdfs = pdf.render_pdfs(
            study, course_dir, 0, kinds=("cards",), cache_dir=tmp_path, split_cards=limit
        )
        assert len(pdfs.names()) > 1
        files = {key: pdfs.read(key) for key in pdfs.names()}
        pdfs.close()
        return files

    two = render()
    monkeypatch.setattr(workers, "WORKERS", 1)
    monkeypatch.setattr(workers, "PARTS_PER_WORKER", 3)
    assert render() == two


def test_a_course_that_shrinks_below_the_limit_loses_its_chapter_files(
    course_dir, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("FLASHGEN_PDF_SPLIT_CARDS", "60")
    args = ["build", str(course_dir), "-o", str(tmp_path), "--only", "pdf"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    course, _ = load_course(course_dir)
    assert course is not None
    written = [line[len("wrote ") :] for line in first.output.splitlines() if line[:6] == "wrote "]
    assert len(written) > 2 and all(Path(path).exists() for path in written)
    names = f"{Path(written[0]).name}, ..., {Path(written[-1]).name}"  # 8 files: first, last
    assert (
        f"{course.id} has 100 cards, more than 60 for one PDF: its PDFs are per chapter, "
        f"{len(written)} files named {course.id}-cards-<chapter>.pdf and "
        f"{course.id}-guide-<chapter>.pdf ({names}); see docs/pdf.md\n"
    ) in first.output
    monkeypatch.delenv("FLASHGEN_PDF_SPLIT_CARDS")
    second = build(course_dir, tmp_path, only=("pdf",))
    assert second.notes == []
    names = [pdf.cards_pdf_name(course), pdf.guide_pdf_name(course)]
    assert [path.name for path in second.written] == names
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == sorted(names)
    cards = pypdf.PdfReader(io.BytesIO((tmp_path / names[0]).read_bytes()))
    assert len(cards.pages) == pdf.page_count(len(second.study.cards), pdf.sheet())


def test_up_to_20000_cards_a_course_gets_two_pdfs(course_dir, monkeypatch) -> None:
    monkeypatch.delenv("FLASHGEN_PDF_SPLIT_CARDS", raising=False)
    assert pdf.split_limit() == pdf.SPLIT_CARDS == 20_000
    course, _ = load_course(course_dir)
    study = study_cards(course)
    assert pdf.pdf_parts(study, 20_000) is None
    monkeypatch.setenv("FLASHGEN_PDF_SPLIT_CARDS", "99")
    assert pdf.split_limit() == 99


def test_stale_pdfs_only_matches_the_courses_own_names(tmp_path) -> None:
    course, _ = load_course(TESTS.parent / "cards")
    assert course is not None
    chapter = course.chapters[0].id
    mine = [
        f"{course.id}-cards.pdf",
        f"{course.id}-guide.pdf",
        f"{course.id}-cards-{chapter}.pdf",
        f"{course.id}-guide-{chapter}-2.pdf",
        f"{course.id}-cards-old-chapter.pdf",
    ]
    others = [
        f"{course.id}.apkg",
        f"{course.id}-cards-x-guide.pdf",  # course "<id>-cards-x"'s guide
        f"{course.id}-guide-y-cards-z.pdf",
        f"{course.id}-cardsx.pdf",
        "other-cards.pdf",
    ]
    for name in (*mine, *others):
        (tmp_path / name).write_bytes(b"")
    keep = {mine[2]}
    found = pdf.stale_pdfs(tmp_path, course, ("cards", "guide"), keep)
    assert sorted(path.name for path in found) == sorted(set(mine) - keep)


def test_an_unchanged_split_build_prints_its_split_line_again(
    course_dir, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("FLASHGEN_PDF_SPLIT_CARDS", "60")
    args = ["build", str(course_dir), "-o", str(tmp_path), "--only", "pdf"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    (split,) = [line for line in first.output.splitlines() if "more than 60 for one PDF" in line]
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0, second.output
    assert "wrote " not in second.output  # every PDF was kept
    assert second.output.count(" is up to date (nothing changed)") == 8
    assert split in second.output.splitlines()
