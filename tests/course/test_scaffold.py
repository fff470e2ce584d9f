"""``flashgen init`` and ``flashgen new concept``: what they write checks, builds and helps."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashgen.cli import main
from flashgen.course.jsonschema import schemas
from flashgen.course.loader import load_yaml
from flashgen.course.scaffold import ScaffoldError, init_course, new_concept, quote
from flashgen.course.schema import QUESTION_TYPES
from flashgen.diagnostics import Diagnostics
from flashgen.pipeline.build import build
from flashgen.pipeline.load import load_course

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)\n")


def assert_modeline(path: Path, kind: str) -> None:
    match = MODELINE.match(path.read_text(encoding="utf-8"))
    assert match, f"{path} does not start with the yaml-language-server line"
    target = (path.parent / match.group(1)).resolve()
    assert target.name == f"{kind}.schema.json" and target.is_file()


def validate(path: Path, kind: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    diag = Diagnostics()
    data = load_yaml(path, diag)
    assert not diag.has_errors
    jsonschema.Draft7Validator(schemas()[kind]).validate(data)


@pytest.fixture
def course_dir(tmp_path: Path) -> Path:
    root = tmp_path / "my-course"
    init_course(root, rng=random.Random(1))
    return root


def test_init_writes_a_course_that_checks_and_builds(course_dir: Path, tmp_path: Path) -> None:
    course, diag = load_course(course_dir)
    assert course is not None and len(diag) == 0, diag.render_text()
    assert (course.id, course.title) == ("my-course", "My course")
    assert len(course.chapters) == 1
    (concept,) = course.concepts
    assert sorted(q.kind for q in concept.questions) == sorted(QUESTION_TYPES)
    assert concept.is_foundation
    assert (course_dir / "README.md").read_text().startswith("# My course")
    assert_modeline(course_dir / "course.yaml", "course")
    assert_modeline(concept.path, "concept")
    validate(course_dir / "course.yaml", "course")
    validate(concept.path, "concept")
    result = build(course_dir, tmp_path / "out", only=("apkg",))
    assert [p.name for p in result.written] == ["my-course.apkg"]


def test_init_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="not empty"):
        init_course(tmp_path / "x")
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["notes.txt"]
    init_course(tmp_path / "empty-is-fine")


def test_new_concept(course_dir: Path) -> None:
    path = new_concept(
        course_dir, "forgetting-curve", "ch1", after=["spaced-repetition"], rng=random.Random(2)
    )
    assert path == course_dir / "ch1" / "forgetting-curve.yaml"
    assert_modeline(path, "concept")
    validate(path, "concept")
    course, diag = load_course(course_dir)
    assert course is not None and not diag.has_errors, diag.render_text()
    concept = course.concept("forgetting-curve")
    assert concept is not None
    assert concept.prerequisite_ids == ("spaced-repetition",)
    assert concept.chapter == "ch1" and concept.title == "Forgetting curve"
    ids = [q.id for q in concept.questions]
    assert [q.kind for q in concept.questions] == list(QUESTION_TYPES)
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[a-z]+-[a-z0-9]{4}", i) for i in ids)
    assert "TODO" in path.read_text()


def test_new_concept_goes_where_the_chapter_lives(course_dir: Path) -> None:
    (course_dir / "ch1").rename(course_dir / "first")
    path = new_concept(course_dir, "other", "ch1", kinds=())
    assert path.parent == course_dir / "first"
    course, diag = load_course(course_dir)
    assert not diag.has_errors and course is not None
    assert course.concept("other").questions == ()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("spaced-repetition", "ch1"), "already exists"),
        (("new-one", "ch2"), "unknown chapter 'ch2'; did you mean 'ch1'"),
        (("Bad Id", "ch1"), "cannot contain spaces"),
    ],
)
def test_new_concept_refuses(course_dir: Path, args: tuple[str, str], message: str) -> None:
    before = sorted(course_dir.rglob("*"))
    with pytest.raises(ScaffoldError, match=re.escape(message)):
        new_concept(course_dir, *args)
    assert sorted(course_dir.rglob("*")) == before


def test_new_concept_refuses_unknown_prerequisites(course_dir: Path) -> None:
    with pytest.raises(ScaffoldError, match="did you mean 'spaced-repetition'"):
        new_concept(course_dir, "x", "ch1", after=["spaced-repetitio"])


def test_awkward_titles_stay_valid_yaml(course_dir: Path) -> None:
    new_concept(course_dir, "tricky", "ch1", title='KV cache: "why" #1 {x}')
    course, diag = load_course(course_dir)
    assert not diag.has_errors, diag.render_text()
    assert course.concept("tricky").title == 'KV cache: "why" #1 {x}'
    assert quote("No") == "'No'" and quote("Plain words") == "Plain words"


def test_scaffolding_never_writes_double_quotes(course_dir: Path) -> None:
    """In double quotes \\t, \\f, \\b are escapes: `$\\times$` added to a stub would break."""
    path = new_concept(
        course_dir, "math-stub", "ch1", title=r'Why "6 \times 7"? It\'s $\frac{1}{2}$'
    )
    text = path.read_text(encoding="utf-8")
    assert not [line for line in text.splitlines() if ': "' in line or '- "' in line], text
    course, diag = load_course(course_dir)
    assert not diag.has_errors, diag.render_text()
    assert course.concept("math-stub").title == r'Why "6 \times 7"? It\'s $\frac{1}{2}$'


def test_cli_init_new_and_schema(tmp_path: Path) -> None:
    runner = CliRunner()
    root = tmp_path / "course"
    result = runner.invoke(main, ["init", str(root), "--title", "Linear Algebra"])
    assert result.exit_code == 0, result.output
    assert "course.yaml" in result.output and "flashgen preview --serve" in result.output
    result = runner.invoke(
        main,
        ["new", "concept", "vectors", "--chapter", "ch1", "--course", str(root),
         "--after", "spaced-repetition", "-t", "basic"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = (root / "ch1" / "vectors.yaml").read_text()
    assert "type: basic" in text and "type: cloze" not in text
    again = runner.invoke(main, ["new", "concept", "vectors", "-c", "ch1", "--course", str(root)])
    assert again.exit_code == 1 and "already exists" in again.output
    assert runner.invoke(main, ["check", str(root)]).exit_code == 0
    (root / ".flashgen" / "course.schema.json").unlink()
    result = runner.invoke(main, ["schema", str(root)])
    assert result.exit_code == 0 and "course.schema.json" in result.output
    assert (root / ".flashgen" / "course.schema.json").is_file()
    printed = runner.invoke(main, ["schema", "--print", "concept"])
    assert '"additionalProperties": false' in printed.output
    assert runner.invoke(main, ["init", str(root)]).exit_code == 1


def test_stubs_that_are_still_placeholders_are_flagged(tmp_path) -> None:
    from click.testing import CliRunner

    from flashgen.cli import main

    runner = CliRunner()
    course = tmp_path / "course"
    assert runner.invoke(main, ["init", str(course)]).exit_code == 0
    chapter = next(line.split(":")[1].strip() for line in (course / "course.yaml").read_text()
                   .splitlines() if line.strip().startswith("- id:"))  # fmt: skip
    new = runner.invoke(main, ["new", "concept", "stub", "--chapter", chapter, "--course",
                               str(course)])  # fmt: skip
    assert new.exit_code == 0, new.output
    result = runner.invoke(main, ["check", str(course)])
    assert result.exit_code == 0  # a warning, not an error
    lines = [ln for ln in result.output.splitlines() if "TODO placeholder" in ln]
    stub = (course / chapter / "stub.yaml").read_text().splitlines()
    todos = [number for number, text in enumerate(stub, 1) if "TODO" in text]
    # One warning per placeholder, each at the line it is written on.
    assert len(lines) == len(todos) > 1
    assert [int(ln.split(":")[1]) for ln in lines] == todos
    assert any("warning: 'summary' is still a TODO placeholder" in ln for ln in lines)
