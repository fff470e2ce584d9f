"""Conformance on 2,500 real formulas from Wikipedia (tests/corpora/formulas/README.md).

Every formula is printed as math or reported at its own line and column; no LaTeX command name
is printed as text; the converted formulas typeset; a broken formula changes no other.
"""

from __future__ import annotations

import json
import re

import pytest
import typst

from flashgen.diagnostics import Diagnostics
from flashgen.outputs.pdf import FORMULA_CACHE
from flashgen.pipeline.load import load_course
from flashgen.render import formulas
from flashgen.render.formula_worker import tokens
from flashgen.render.formulas import Checked, check_formulas
from flashgen.render.typst_markup import load_formula_cache
from support import TESTS

CORPUS = json.loads((TESTS / "corpora" / "formulas" / "wikipedia-formulas.json").read_text("utf-8"))
#: Share of the corpus printed as LaTeX source (measured: 38 of 2,500).
MOST_FALLBACKS = 0.03
_CONTROL_WORD = re.compile(r"\\([A-Za-z]{2,})")
_ROW_SPACING_TEXT = re.compile(r"\[\s*-?\d+(?:\.\d+)?\s*(?:p t|e m|e x|m m|c m)\s*\]")


@pytest.fixture(scope="module")
def results() -> list[Checked]:
    return check_formulas(CORPUS)


def test_the_corpus_has_2000_formulas_with_multi_line_ones() -> None:
    assert len(CORPUS) >= 2000
    assert sum("\\\\" in tex or "\\begin" in tex for tex in CORPUS) >= 400


def test_nearly_every_formula_prints_as_math(results) -> None:
    fallbacks = [tex for tex, result in zip(CORPUS, results, strict=True) if result.math is None]
    assert len(fallbacks) <= MOST_FALLBACKS * len(CORPUS), fallbacks[:20]
    assert all(result.problem for result in results if result.math is None)


def test_no_command_name_is_printed_as_text(results) -> None:
    names = formulas._names()
    known = names.symbols | names.functions
    for tex, result in zip(CORPUS, results, strict=True):
        if result.math is None:
            continue
        math = re.sub(r"#\w+|\w+:", "", result.math)  # code values and argument names
        words = {t.group() for t in tokens(math) if t.lastgroup == "ident"}
        for name in set(_CONTROL_WORD.findall(tex)) - known:
            assert name not in words, (tex, result.math)
            spaced = re.compile(rf"(?<!\w)(?<!\w ){re.escape(' '.join(name))}(?! \w)(?!\w)")
            assert not spaced.search(result.math), (tex, result.math)
        assert not _ROW_SPACING_TEXT.search(result.math), (tex, result.math)
        assert formulas.math_only(result.math) is None


def test_the_converted_formulas_typeset(results, tmp_path) -> None:
    body = "\n\n".join(f"$ {result.math} $" for result in results if result.math)
    compiler = typst.Compiler(body.encode(), root=tmp_path)
    pdf, warnings = compiler.compile_with_warnings(format="pdf")
    reported = {warning for result in results for warning in result.warnings}
    assert pdf and {str(w.message).strip() for w in warnings} <= reported


def test_a_broken_formula_changes_nothing_else(results) -> None:
    picked = list(range(0, len(CORPUS), 10))  # 250 formulas, a fifth of them multi-line
    subset = [CORPUS[index] for index in picked]
    broken = ["\\begin{aligned} a &= \\undefinedmacro \\\\ b", '\\text{" #x "}', "\\frac{"]
    spoiled = check_formulas([broken[0], *subset[:125], broken[1], *subset[125:], broken[2]])
    others = spoiled[1:126] + spoiled[127:-1]
    assert others == [results[index] for index in picked]
    assert spoiled[0].math is None and spoiled[126].math is None and spoiled[-1].math is None


def test_each_fallback_is_reported_at_its_own_line(results, tmp_path) -> None:
    """The corpus as a course: every formula in a block of its own; a warning for each formula
    printed as LaTeX, at the line and column where its ``$$`` is."""
    course = tmp_path / "course"
    (course / "wiki").mkdir(parents=True)
    (course / "course.yaml").write_text(
        "id: wiki\ntitle: Wikipedia\nchapters:\n  - id: wiki\n    title: Wiki\n"
    )
    chosen = [
        tex
        for tex in CORPUS
        if "$" not in tex and "\n\n" not in tex and tex.strip() and len(tex) < 4000
    ]
    paths = []
    for number, start in enumerate(range(0, len(chosen), 60)):  # fields stay short
        lines = [f"id: part-{number}", f"title: Part {number}", "chapter: wiki"]
        lines += ["prerequisites: []", "summary: |"]
        for tex in chosen[start : start + 60]:
            lines.append("  $$")
            lines.extend(f"  {line}" if line.strip() else "" for line in tex.strip().split("\n"))
            lines.extend(["  $$", ""])
        paths.append(course / "wiki" / f"part-{number}.yaml")
        paths[-1].write_text("\n".join(lines) + "\n", "utf-8")
    loaded, diag = load_course(course)
    assert loaded is not None and not diag.has_errors, diag.render_text()[:2000]
    uses = [use for concept in loaded.concepts for use in formulas.concept_formulas(concept)]
    assert len(uses) == len(chosen)
    cache = load_formula_cache(tmp_path / "cache" / FORMULA_CACHE)
    for tex, result in zip(CORPUS, results, strict=True):
        cache.add(tex.strip(), result.value())
    cache.save(tmp_path / "cache" / FORMULA_CACHE)
    found = Diagnostics()
    formulas.check_course_formulas(uses, found, cache_dir=tmp_path / "cache")
    sources = {path: path.read_text("utf-8").split("\n") for path in paths}
    bad = {tex.strip() for tex, result in zip(CORPUS, results, strict=True) if not result.math}
    expected = sum(1 for tex, _ in uses if tex in bad)
    printed_as_latex = [d for d in found.warnings if "printed as LaTeX source" in d.message]
    assert len(printed_as_latex) == expected
    for diagnostic in printed_as_latex:
        line = sources[diagnostic.location.path][diagnostic.location.line - 1]
        assert line[diagnostic.location.column - 1 :].startswith("$$"), diagnostic
