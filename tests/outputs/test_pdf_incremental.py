"""A PDF is typeset again only when what it prints changed (flashgen/outputs/pdf/memo.py), and
the PDFs are the same whichever process typeset them (flashgen/outputs/pdf/driver.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pypdf
import pytest
from test_pdf import flat

from flashgen.diagnostics import CourseError
from flashgen.outputs import pdf
from flashgen.outputs.cards import study_cards
from flashgen.outputs.pdf import driver
from flashgen.pipeline.build import build
from flashgen.pipeline.load import load_course
from support import COURSES

#: Math, an image, a card that does not fit (a warning), Chinese text.
SPECIAL_COURSE = COURSES / "pdf-special"
NAMES = ("pdf-special-cards.pdf", "pdf-special-guide.pdf")


@pytest.fixture(autouse=True)
def epoch(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("FLASHGEN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def course(tmp_path) -> Path:
    return shutil.copytree(SPECIAL_COURSE, tmp_path / "course")


def snapshot(output: Path) -> dict[str, tuple[bytes, int, int]]:
    """Each PDF's bytes, inode and modification time."""
    found = {}
    for name in NAMES:
        stat = (output / name).stat()
        found[name] = ((output / name).read_bytes(), stat.st_ino, stat.st_mtime_ns)
    return found


def pdf_bytes(output: Path) -> dict[str, bytes]:
    return {name: (output / name).read_bytes() for name in NAMES}


def test_an_unchanged_course_is_not_typeset_again_and_still_warns(course, tmp_path) -> None:
    output = tmp_path / "out"
    first = build(course, output, only=("pdf",))
    before = snapshot(output)
    second = build(course, output, only=("pdf",))
    assert [path.name for path in second.written] == list(NAMES)
    assert second.unchanged == second.written
    assert snapshot(output) == before  # the same files, not rewritten
    # The card cut off on the printed card is reported again, at its own line.
    warnings = second.diagnostics.render_text(relative_to=course)
    assert warnings == first.diagnostics.render_text(relative_to=course)
    assert "basics/symbols.yaml:1:5: warning: the concept card" in warnings
    assert "the back does not fit on the printed card" in warnings


def test_a_changed_concept_gives_the_pdfs_of_a_clean_build(course, tmp_path) -> None:
    output = tmp_path / "out"
    build(course, output, only=("pdf",))
    concept = course / "basics" / "after.yaml"
    text = concept.read_text(encoding="utf-8")
    concept.write_text(text.replace("summary: ", "summary: Freshly edited. ", 1), "utf-8")
    again = build(course, output, only=("pdf",))
    assert again.unchanged == []
    clean = tmp_path / "clean"
    build(course, clean, only=("pdf",))
    assert pdf_bytes(output) == pdf_bytes(clean)
    for name in NAMES:
        pages = pypdf.PdfReader(output / name).pages
        assert "Freshly edited" in " ".join(flat(page) for page in pages), name


def test_a_pdf_changed_or_removed_in_the_output_folder_is_typeset_again(course, tmp_path) -> None:
    output = tmp_path / "out"
    build(course, output, only=("pdf",))
    expected = pdf_bytes(output)
    (output / NAMES[0]).unlink()
    (output / NAMES[1]).write_bytes(b"%PDF-1.7 edited by hand")
    again = build(course, output, only=("pdf",))
    assert again.unchanged == []
    assert pdf_bytes(output) == expected


def test_a_new_source_date_epoch_typesets_again(course, tmp_path, monkeypatch) -> None:
    output = tmp_path / "out"
    build(course, output, only=("pdf",))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    assert build(course, output, only=("pdf",)).unchanged == []


def test_without_source_date_epoch_an_unchanged_pdf_is_kept(course, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    output = tmp_path / "out"
    build(course, output, only=("pdf",))
    before = snapshot(output)
    assert len(build(course, output, only=("pdf",)).unchanged) == 2
    assert snapshot(output) == before  # and it keeps the date it was typeset


def typeset_into(output: Path, memo_path: Path) -> pdf.Pdfs:
    """:func:`render_pdfs` with a memo of ``output``, writing what it typeset there."""
    course, _ = load_course(SPECIAL_COURSE)
    study = study_cards(course)
    memo = pdf.PdfMemo(memo_path, output, reproducible=True)
    result = pdf.render_pdfs(study, SPECIAL_COURSE, 1_700_000_000, memo=memo)
    output.mkdir(exist_ok=True)
    for key in result.spooled:
        name = pdf.pdf_name(study.course, key)
        result.write(key, output / name)
        memo.record(name, result.inputs[key], result.overflow[key])
    memo.save()
    result.close()
    return result


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: b"",
        lambda data: data[:-40] + b"x" * 40,
        lambda data: b"not a memo at all\n" + data,
    ],
    ids=["truncated", "empty", "corrupted", "foreign"],
)
def test_a_corrupt_pdf_memo_is_ignored_and_rewritten(tmp_path, damage) -> None:
    output, memo = tmp_path / "out", tmp_path / "pdf-memo"
    assert typeset_into(output, memo).kept == []
    expected = pdf_bytes(output)
    assert typeset_into(output, memo).kept == ["cards", "guide"]  # nothing changed
    memo.write_bytes(damage(memo.read_bytes()))
    assert typeset_into(output, memo).kept == []  # nothing trusted: both typeset again
    assert pdf_bytes(output) == expected
    assert typeset_into(output, memo).kept == ["cards", "guide"]  # the memo was rewritten


def test_pdfs_typeset_in_worker_processes_are_those_typeset_in_the_build(
    tmp_path, monkeypatch
) -> None:
    """A course over ``IN_PROCESS_CARDS`` cards has its PDFs typeset in worker processes (one
    at a time, so that the build needs the memory of one PDF): the same bytes, the same
    warnings, still exactly two files."""
    course, _ = load_course(SPECIAL_COURSE)
    study = study_cards(course)

    def render() -> tuple[dict[str, bytes], str]:
        result = pdf.render_pdfs(study, SPECIAL_COURSE, 0, cache_dir=tmp_path)
        return result.take(), result.diagnostics.render_text(relative_to=SPECIAL_COURSE)

    here = render()
    monkeypatch.setattr(driver, "IN_PROCESS_CARDS", 0)
    assert render() == here
    assert sorted(here[0]) == ["cards", "guide"]


def test_a_template_error_in_a_worker_is_reported_at_its_line(course, monkeypatch) -> None:
    override = course / "templates" / "typst" / "guide.typ"
    override.parent.mkdir(parents=True)
    override.write_text('#import "common.typ": *\n\n#undefined-thing(1)\n', encoding="utf-8")
    studied, _ = load_course(course)

    def error() -> str:
        with pytest.raises(CourseError) as raised:
            pdf.render_pdfs(study_cards(studied), course, 0, kinds=("guide",))
        return raised.value.diagnostics.render_text(relative_to=course)

    here = error()
    assert here.startswith("templates/typst/guide.typ:3:")
    assert "error: Typst template error: unknown variable: undefined-thing" in here
    monkeypatch.setattr(driver, "IN_PROCESS_CARDS", 0)
    assert error() == here
