"""Formulas: each converted and checked on its own, never Typst code, located when refused."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pypdf
import pytest

from flashgen.diagnostics import Diagnostics, Location
from flashgen.pipeline.load import load_course
from flashgen.render import formula_worker, formulas
from flashgen.render.formula_worker import MAX_FORMULA_CHARS, convert_all
from flashgen.render.formulas import check_formulas, math_only
from flashgen.render.markdown import HtmlRenderer, mathjax_refusals
from flashgen.render.typst_markup import ResultCache, load_formula_cache
from support import TESTS

COURSES = TESTS / "courses"
MATH_COURSE = COURSES / "math"
SUMS = MATH_COURSE / "algebra" / "sums.yaml"


def checked(*texts: str) -> list[formulas.Checked]:
    return check_formulas(list(texts))


def test_each_formula_is_checked_on_its_own() -> None:
    aligned = "\\begin{aligned}\na &= b \\\\\nc &= d\n\\end{aligned}"
    good = ["\\frac{a}{b}", "x^2", "\\alpha + \\beta"]
    alone = checked(*good)
    together = checked(aligned, "\\undefinedmacro{x}", *good, '\\text{" #x "}')
    assert together[0].math is not None  # a multi-line formula is math, not a spoiler
    assert together[1].math is None and together[-1].math is None
    assert [c.math for c in together[2:-1]] == [c.math for c in alone]
    assert all(c.math for c in alone)


@pytest.mark.parametrize(
    ("tex", "wrong"),
    [
        ("\\sum\\limits_{k=1}^n k", "limits_"),
        ("\\int\\nolimits_0^1 f", "nolimits"),
        ("\\begin{aligned} a &= b \\\\[8pt] c &= d \\end{aligned}", "8 p t"),
        ("a \\otimes b \\odot c \\ominus d", "circle"),
        ("\\aleph_0", "alef"),
    ],
)
def test_converter_slips_are_repaired(tex: str, wrong: str) -> None:
    [result] = checked(tex)
    assert result.math is not None and result.problem is None, result.problem
    assert wrong not in result.math


def test_limits_become_typst_limits() -> None:
    [result] = checked("\\sum\\limits_{k=1}^n k")
    assert result.math is not None and result.math.startswith("limits(sum)_")


@pytest.mark.parametrize(
    ("math", "problem"),
    [
        ('"" #read("/etc/passwd") ""', "Typst code"),
        ('std.read("x")', "'std'"),
        ('read("x")', "'read'"),
        ('"unterminated', "unterminated string"),
        ("a // comment", "comment"),
        ("a $ b", "$"),
        ("sum limits_(k = 1)^n", "'limits' would print as a word"),
        ("#text(fill: red)[x]", "Typst code"),
    ],
)
def test_converted_math_must_be_math_only(math: str, problem: str) -> None:
    found = math_only(math)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "math",
    [
        "a/b",
        'op("argmax", limits: #true)_x f',
        "mat(delim: #none, a, b; c, d)",
        "quad a thin b #h(1cm) c #h(-math.thin.amount)",
        'cases(1 & x > 0, 0 & "else")',
        '"a \\"quoted\\" text"',
    ],
)
def test_plain_math_passes(math: str) -> None:
    assert math_only(math) is None


def test_a_formula_cannot_read_files_or_run_code(tmp_path, monkeypatch) -> None:
    (tmp_path / "secret.txt").write_text("TOP-SECRET", "utf-8")
    monkeypatch.chdir(tmp_path)
    results = checked('\\text{" #read("secret.txt") "}', "\\read(\\text{secret.txt})", "\\std.read")
    assert all(result.math is None for result in results)


def test_typst_warnings_are_kept_apart_from_errors(monkeypatch) -> None:
    monkeypatch.setattr(
        formulas, "_evaluate", lambda math: (None, ("deprecated",) if "x" in math[0] else ())
    )
    [with_warning, without] = checked("x", "y")
    assert with_warning.math == "x" and with_warning.warnings == ("deprecated",)
    assert without.math == "y" and without.warnings == ()
    assert formulas.messages("x", with_warning) == ["formula $x$: Typst warns: deprecated"]


def test_a_formula_over_the_size_limit_is_refused_with_the_limit() -> None:
    [result] = checked("x" * (MAX_FORMULA_CHARS + 1))
    assert result.math is None and f"limit of {MAX_FORMULA_CHARS:,}" in str(result.problem)


def test_a_formula_that_takes_too_long_is_stopped_and_not_cached(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FLASHGEN_FORMULA_SECONDS", "3")
    nested = "\\sqrt{" * 30 + "x" + "}" * 30  # tex2typst: 16 s at depth 18, twice per level
    cache = load_formula_cache(tmp_path / "formulas")
    results = check_formulas([nested, "\\frac{a}{b}", "y^2"], cache)
    assert results[0].math is None and "longer than 3 s" in str(results[0].problem)
    assert results[1].math == "a/b" and results[2].math == "y^2"
    assert nested not in cache.results and "\\frac{a}{b}" in cache.results


def test_conversion_runs_under_a_cpu_limit() -> None:
    """A pathological formula costs the build its budget, not its CPU limit (no timing:
    the build process is limited to 60 s of CPU time and must end on its own)."""
    script = textwrap.dedent(
        """
        import resource, sys
        resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
        from flashgen.render.formula_worker import convert_all
        [(math, problem)] = convert_all(["\\\\sqrt{" * 30 + "x" + "}" * 30])
        print(problem)
        """
    )
    env = {**os.environ, "FLASHGEN_FORMULA_SECONDS": "2"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "the limit for one formula" in done.stdout


def test_results_are_cached_by_formula_and_versions(tmp_path) -> None:
    path = tmp_path / "formulas"
    cache = load_formula_cache(path)
    check_formulas(["\\frac{a}{b}", "\\undefinedmacro"], cache)
    cache.save(path)
    again = load_formula_cache(path)
    assert again.results["\\frac{a}{b}"] == ["a/b", None, []]
    assert again.results["\\undefinedmacro"][0] is None
    assert any(part.startswith("rules=") for part in again.context)
    assert any(part.startswith("tex2typst=") for part in again.context)
    assert ResultCache.load(path, ("other",), formulas.valid_cached).results == {}


def test_conversions_in_helpers_keep_order() -> None:
    texts = [f"x_{{{n}a}}" for n in range(40)]
    assert [math for math, _ in convert_all(texts)] == [f"x_({n} a)" for n in range(40)]
    assert formula_worker.convert_all([]) == []


# -- where formulas are reported --------------------------------------------------------------


def run_check(course: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flashgen", "check", str(course)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=course,
    )


def test_check_reports_each_formula_at_its_own_line_and_column() -> None:
    done = run_check(MATH_COURSE)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout
    assert (
        "algebra/sums.yaml:19:21: warning: formula $\\undefinedmacro{x}$ is printed as LaTeX "
        "source: Typst has no math symbol or function 'undefinedmacro'"
    ) in lines
    assert any(
        line.startswith("algebra/sums.yaml:21:42: warning: formula $\\text{") for line in lines
    )
    assert any(
        line.startswith("algebra/sums.yaml:22:34: warning: formula $\\read") for line in lines
    )
    assert "3 warnings" in lines[-1]  # the aligned block, \limits and \otimes print as math


def test_pdf_warns_at_the_same_places_and_prints_the_rest(tmp_path) -> None:
    from flashgen.outputs import pdf
    from flashgen.outputs.cards import study_cards

    course, _ = load_course(MATH_COURSE)
    assert course is not None
    result = pdf.render_pdfs(study_cards(course), MATH_COURSE, 0, kinds=("guide",),
                             cache_dir=tmp_path)  # fmt: skip
    messages = result.diagnostics.render_text(relative_to=MATH_COURSE)
    assert "algebra/sums.yaml:19:21: warning: formula $\\undefinedmacro{x}$" in messages
    assert "algebra/sums.yaml:21:42: warning" in messages
    assert (
        "algebra/sums.yaml:23:45: warning: no font for the PDFs has '🙂' (U+1F642 SLIGHTLY "
        "SMILING FACE): the PDFs print an empty box instead"
    ) in messages
    text = " ".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(result.take()["guide"])).pages
    )
    assert "limits" not in text and "8pt" not in text.replace(" ", "")
    assert "ℵ" in text and "⊗" in text
    assert "\\undefinedmacro{x}" in text  # printed as its LaTeX source


def test_formula_location_in_block_scalars_and_quotes(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text('a: "x $\\\\beta$"\nb: |\n  line one\n  two $\\gamma$ and $\\delta$\n')
    inline = formulas.locate(Location(path, 1, 4), "x $\\beta$", 2)
    assert (inline.line, inline.column) == (1, 7)
    text = "line one\ntwo $\\gamma$ and $\\delta$\n"
    offsets = formulas.formula_offsets(text)
    assert [tex for tex, _ in offsets] == ["\\gamma", "\\delta"]
    where = [formulas.locate(Location(path, 2, 4), text, offset) for _, offset in offsets]
    assert [(w.line, w.column) for w in where] == [(4, 7), (4, 20)]


# -- MathJax on cards ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tex", "name"),
    [
        ("\\href{javascript:alert(1)}{x}", "href"),
        ("\\style{background:url(https://x.org/t.png)}{x}", "style"),
        ("\\class{fg-correct}{x}", "class"),
        ("\\cssId{verdict}{x}", "cssId"),
        ("\\unicode[https://x.org/f.woff]{x41}", "unicode"),
        ("\\require{html}", "require"),
        ("\\data{x=1}{y}", "data"),
        ("\\mmlToken{mi}[href='javascript:1']{x}", "mmlToken"),
        ("\\def\\h{\\href} \\h{javascript:1}{x}", "href"),
    ],
)
def test_unsafe_mathjax_never_reaches_a_card(tex: str, name: str) -> None:
    text = f"See ${tex}$ here."
    assert [found for found, _ in mathjax_refusals(text)] == [name]
    html = HtmlRenderer(Path.cwd()).render(text, Path.cwd())
    assert f"\\{name}" not in html


def test_safe_mathjax_and_code_are_left_alone() -> None:
    text = "Use `\\href{x}{y}` in LaTeX; $\\unicode{x41} + \\bbox[red]{x}$ is fine."
    assert mathjax_refusals(text) == []
    html = HtmlRenderer(Path.cwd()).render(text, Path.cwd())
    assert "<code>\\href{x}{y}</code>" in html and "\\unicode{x41}" in html


def test_unsafe_mathjax_is_a_located_error(tmp_path) -> None:
    course = tmp_path / "course"
    (course / "basics").mkdir(parents=True)
    (course / "course.yaml").write_text(
        "id: c\ntitle: C\nchapters:\n  - id: basics\n    title: Basics\n"
    )
    (course / "basics" / "links.yaml").write_text(
        "id: links\ntitle: Links\nchapter: basics\nprerequisites: []\nsummary: |\n"
        "  A link in math:\n  $\\href{javascript:alert(1)}{click}$ here.\n"
    )
    done = run_check(course)
    assert done.returncode == 1
    assert "basics/links.yaml:7:4: error: formula command \\href is not allowed" in done.stdout, (
        done.stdout
    )
    _, diag = load_course(course)
    assert [(d.location.line, d.location.column) for d in diag.errors] == [(7, 4)]


def test_report_uses_every_location() -> None:
    diag = Diagnostics()
    where = [Location(Path("a.yaml"), 3, 5), Location(Path("b.yaml"), 7, 9)]
    bad = formulas.Checked(None, "why")
    formulas.report([("x", where[0]), ("x", where[1])], {"x": bad}, diag)
    assert [d.location for d in diag.warnings] == where


def test_formulas_markdown_shows_as_text_are_located_warnings(tmp_path) -> None:
    course = tmp_path / "course"
    (course / "basics").mkdir(parents=True)
    (course / "course.yaml").write_text(
        "id: c\ntitle: C\nchapters:\n  - id: basics\n    title: Basics\n"
    )
    (course / "basics" / "slips.yaml").write_text(
        "id: slips\ntitle: Slips\nchapter: basics\nprerequisites: []\nsummary: |\n"
        "  A space at the end: $a + b\\ $ stays text.\n"
        "  A formula over two lines $a\n"
        "  - b$ becomes a list.\n"
        "  Prices like $5 and $6 are fine.\n"
    )
    _, diag = load_course(course)
    found = [(d.location.line, d.location.column, d.message) for d in diag.warnings]
    assert found[0][:2] == (6, 23) and "ends in a control space" in found[0][2]
    assert found[1][:2] == (8, 3) and "starts with '-'" in found[1][2]
    assert len(found) == 2
