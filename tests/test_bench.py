"""The benchmark harness of issue 14's targets (bench/targets.py) runs end to end.

At a tiny size and one round: it proves every stage runs and reports, not how fast anything is
(timings live in docs/performance.md, never in tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict]:
    work = tmp_path_factory.mktemp("bench")
    command = [sys.executable, str(ROOT / "bench" / "run.py"), "targets", "--rounds", "1"]
    command += ["--sizes", "build=6,apkg=12", "--only", "build,preview,apkg"]
    command += ["--work", str(work), "--json", str(work / "runs.json")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return work, done.stdout, json.loads((work / "runs.json").read_text())


def test_every_target_has_a_row_with_a_verdict(harness: tuple[Path, str, dict]) -> None:
    _, table, _ = harness
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    for what in (
        "default build, 6 concepts, cold |",
        "default build, 6 concepts, cold: peak memory",
        "default build, 6 concepts, cold: PDF files",
        "build, one concept file changed",
        "build, nothing changed",
        "preview --serve, one-file edit shown",
        "build --only apkg, 12 concepts, cold |",
        "build --only apkg, 12 concepts, cold: peak memory",
    ):
        [row] = [row for row in rows if what in row]
        assert row.rstrip(" |").endswith(("met", "**not met**")), row


def test_every_stage_ran_each_command(harness: tuple[Path, str, dict]) -> None:
    _, _, runs = harness
    assert set(runs["build"]["runs"]) == {"floor", "full", "unchanged", "one_file"}
    assert runs["build"]["counts"]["pdfs"] == [2]
    assert set(runs["preview"]["runs"]) == {"preview_full", "serve_edit"}
    assert set(runs["apkg"]["runs"]) >= {"floor", "apkg"}
    for stage in runs.values():
        for samples in stage["runs"].values():
            assert all(sample["seconds"] > 0 for sample in samples)


def test_the_floor_typesets_the_documents_flashgen_gave_typst(
    harness: tuple[Path, str, dict],
) -> None:
    work, _, runs = harness
    assert runs["build"]["counts"]["recorded_documents"] == [2]
    floor = {path.name.split("-", 2)[2]: path for path in (work / "floor-6").glob("typst-*")}
    assert sorted(floor) == ["cards.pdf", "guide.pdf"]
    assert (work / "floor-6" / "floor.apkg").is_file()
    assert "Leitner" in pdf_text(floor["guide.pdf"])
    assert "Leitner" not in pdf_text(floor["cards.pdf"])
    for kind in ("cards", "guide"):
        built = PdfReader(work / "build-6" / f"bench-6-{kind}.pdf")
        assert len(PdfReader(floor[f"{kind}.pdf"]).pages) == len(built.pages)
