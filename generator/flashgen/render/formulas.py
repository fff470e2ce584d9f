"""Checking formulas for the PDFs, each on its own, and where each one was written.

A formula's LaTeX becomes Typst math in a helper process (:mod:`flashgen.render.formula_worker`);
the result is then checked in two steps, neither of which can be changed by another formula:

1. **Math only** (:func:`math_only`): the Typst text may hold strings, escapes, symbols and
   the math functions of Typst's ``math`` module and nothing else: no ``#`` code (but for
   ``#none``, ``#true``, ``#false`` and ``#h(...)`` spacing), no ``std`` (Typst's way from math
   to ``read``, ``image``, ``include``...), no ``$``, no comments, no unterminated string. A
   function name not followed by ``(`` would print as a word (``limits``) and is refused too.
2. **Typst** typesets it (as a displayed formula, with Typst's own fonts), in a compile whose
   root is an empty scratch folder (so no file can be read whatever the formula says):
   formulas go in groups of :data:`GROUP`, a paragraph each; a group that gives any error or
   warning is typeset again formula by formula, so each error and warning belongs to the
   formula that caused it. (Evaluating without layout is ten times faster but misses what
   only layout finds, such as "linebreaks are ignored in branches".)

A formula that fails either step, or cannot be converted, is printed as its LaTeX source with
a warning at the formula's own line and column; Typst's warnings (deprecations) are reported
as warnings and the formula is still printed as math.

Results are kept between builds (:func:`load_formula_cache`), keyed by the LaTeX, with the
versions of tex2typst and Typst and a digest of these rules as the cache's context; a timeout
or a crashed helper is never stored, so a build on a less busy machine tries again.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from flashgen.diagnostics import Diagnostics, Location
from flashgen.render.formula_worker import Conversion, convert_all, timed_out, tokens

#: Formulas checked by Typst in one compile before any is checked alone.
GROUP = 64

#: The checked formulas' file in the cache folder (:func:`default_cache_dir`).
FORMULA_CACHE = "typst-formulas"


def default_cache_dir() -> Path:
    """Where the PDF caches live: ``$FLASHGEN_CACHE_DIR``, else the user's cache folder."""
    configured = os.environ.get("FLASHGEN_CACHE_DIR", "").strip()
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "flashgen"


#: The only code a formula may hold (tex2typst writes it for ``\\hspace`` and ``\\!``).
_SAFE_CODE = re.compile(
    r"#(?:none|true|false|left|center|right|start|end)\b|#\d+\b"
    r"|#h\(-?(?:\d+(?:\.\d+)?(?:pt|em|cm|mm|in|%)|math\.(?:thin|med|thick)\.amount)\)"
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
#: Names in Typst's math scope a formula may not use.
_REFUSED = frozenset({"std", "equation"})


@dataclass(frozen=True, slots=True)
class Checked:
    """A formula's final Typst math, or None and the problem; plus Typst's warnings."""

    math: str | None
    problem: str | None = None
    warnings: tuple[str, ...] = ()

    def value(self) -> list[Any]:
        return [self.math, self.problem, list(self.warnings)]


@dataclass(frozen=True, slots=True)
class _Names:
    symbols: frozenset[str]
    functions: frozenset[str]


@cache
def _scratch() -> Path:
    """An empty folder: the root of every Typst compile that checks formulas."""
    folder = Path(tempfile.mkdtemp(prefix="flashgen-formulas-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@cache
def _compiler() -> Any:
    import typst

    return typst.Compiler(root=_scratch(), ignore_system_fonts=True)


@cache
def _names() -> _Names:
    """What Typst's math scope holds, by kind (from this Typst version itself)."""
    import json

    import typst

    source = b"#metadata(dictionary(math).pairs().map(((k, v)) => (k, str(type(v))))) <names>"
    compiler = typst.Compiler(source, root=_scratch(), ignore_system_fonts=True)
    [pairs] = json.loads(compiler.query("<names>", field="value", format="json"))
    functions = {name for name, kind in pairs if kind == "function"} - _REFUSED
    symbols = {name for name, kind in pairs if kind in ("symbol", "content")} - _REFUSED
    return _Names(frozenset(symbols), frozenset(functions))


def math_only(math: str) -> str | None:
    """Why ``math`` is not plain Typst math, or None when it is (see the module docstring)."""
    names = _names()
    calls: list[bool] = []  # for each open "(": whether it opened a function's arguments
    found = list(tokens(math))
    skip_to = 0
    for index, token in enumerate(found):
        if token.start() < skip_to:
            continue
        kind, text = token.lastgroup, token.group()
        after = math[token.end() : token.end() + 1]
        if kind == "string":
            if not _STRING.fullmatch(text):
                return "the converted formula has an unterminated string"
        elif kind == "code":
            code = _SAFE_CODE.match(math, token.start())
            if not code:
                return "the converted formula holds Typst code (#), which formulas may not"
            skip_to = code.end()
        elif kind == "ident":
            head = text.split(".")[0]
            if len(head) < 2:
                continue
            if after == ":" and calls and calls[-1]:
                continue  # a named argument, such as delim:
            if head in names.functions:
                if after != "(":
                    return f"'{head}' would print as a word"
            elif head not in names.symbols:
                return f"Typst has no math symbol or function '{head}'"
        elif kind == "other":
            if text == "$":
                return "the converted formula holds a $"
            if text == "/" and after in ("/", "*"):
                return "the converted formula holds a Typst comment"
            if text == "(":
                previous = found[index - 1] if index else None
                calls.append(
                    previous is not None
                    and previous.lastgroup == "ident"
                    and previous.end() == token.start()
                )
            elif text == ")" and calls:
                calls.pop()
    return None


def _typst_check(math: list[str]) -> list[tuple[str | None, tuple[str, ...]]]:
    """For each formula: Typst's error (None when it typesets) and its warnings."""
    results: list[tuple[str | None, tuple[str, ...]]] = []
    for start in range(0, len(math), GROUP):
        group = math[start : start + GROUP]
        outcome = _evaluate(group) if len(group) > 1 else None
        if outcome is not None and outcome == (None, ()):
            results.extend((None, ()) for _ in group)
        else:
            results.extend(_evaluate([one]) for one in group)
    return results


def _evaluate(math: list[str]) -> tuple[str | None, tuple[str, ...]]:
    import typst

    source = "".join(f"$ {one} $\n\n" for one in math)
    try:
        _, warnings = _compiler().compile_with_warnings(input=source.encode(), format="pdf")
    except typst.TypstError as error:
        return str(getattr(error, "message", "") or error).strip(), ()
    return None, tuple(str(getattr(w, "message", "") or w).strip() for w in warnings)


def check_formulas(
    texts: Sequence[str],
    formula_cache: Any = None,
    converted: dict[str, Conversion] | None = None,
) -> list[Checked]:
    """The :class:`Checked` result of each LaTeX formula of ``texts``.

    ``formula_cache`` (a :class:`flashgen.render.typst_markup.ResultCache`) supplies results of
    earlier builds and receives the new ones; ``converted`` holds conversions already made
    (by a :class:`flashgen.render.formula_worker.BackgroundConverter`)."""
    results: dict[str, Checked] = {}
    todo: list[str] = []
    for tex in dict.fromkeys(texts):
        found, value = formula_cache.get(tex) if formula_cache is not None else (False, None)
        if found:
            results[tex] = Checked(value[0], value[1], tuple(value[2]))
        else:
            todo.append(tex)
    conversions = dict(converted or {})
    missing = [tex for tex in todo if tex not in conversions]
    conversions.update(zip(missing, convert_all(missing), strict=True))
    to_typst: list[str] = []
    for tex in todo:
        math, problem = conversions[tex]
        if math is not None:
            problem = math_only(math)
            if problem is None:
                to_typst.append(tex)
                continue
        results[tex] = Checked(None, problem)
    outcomes = _typst_check([conversions[tex][0] or "" for tex in to_typst])
    for tex, (error, warnings) in zip(to_typst, outcomes, strict=True):
        if error is None:
            results[tex] = Checked(conversions[tex][0], None, warnings)
        else:
            results[tex] = Checked(None, f"Typst rejects the converted formula ({error})")
    if formula_cache is not None:
        transient = (timed_out(), "the converter (tex2typst) stopped while converting it")
        for tex in todo:
            if results[tex].problem not in transient:
                formula_cache.add(tex, results[tex].value())
    return [results[tex] for tex in texts]


def rules_digest() -> str:
    """A digest of the code that converts and checks formulas (part of the cache's context)."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in ("formula_worker.py", "formulas.py"):
        try:
            digest.update((here / name).read_bytes())
        except OSError:
            digest.update(name.encode())
    return digest.hexdigest()[:16]


def valid_cached(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 3
        and (value[0] is None or isinstance(value[0], str))
        and (value[1] is None or isinstance(value[1], str))
        and (value[0] is None) != (value[1] is None)
        and isinstance(value[2], list)
        and all(isinstance(w, str) for w in value[2])
    )


# -- messages and locations -------------------------------------------------------------------


def shown(tex: str) -> str:
    """A formula as messages quote it (long ones shortened)."""
    tex = " ".join(tex.split())
    return f"${tex}$" if len(tex) <= 80 else f"${tex[:77]}…$"


def messages(tex: str, checked: Checked) -> list[str]:
    """The warnings an instructor sees for one formula (none when it prints as math)."""
    found = []
    if checked.math is None:
        found.append(f"formula {shown(tex)} is printed as LaTeX source: {checked.problem}")
    found.extend(f"formula {shown(tex)}: Typst warns: {warning}" for warning in checked.warnings)
    return found


def report(
    uses: Iterable[tuple[str, Location]], results: dict[str, Checked], diag: Diagnostics
) -> None:
    """Warnings for each (LaTeX, location) use of a formula."""
    for tex, location in uses:
        checked = results.get(tex)
        if checked is not None:
            for message in messages(tex, checked):
                diag.warning(location, message)


def _source_lines(path: Path) -> tuple[str, ...]:
    try:
        stat = path.stat()
    except OSError:
        return ()
    return _read_lines(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _read_lines(path: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    try:
        return tuple(path.read_text("utf-8").split("\n"))
    except (OSError, UnicodeDecodeError):
        return ()


def locate(where: Location, text: str, offset: int) -> Location:
    """The file position of character ``offset`` of ``text``, a YAML value written at ``where``.

    Found by looking for the characters from ``offset`` on in the source lines where the value
    is (block scalars start on the next line); when they are spelled otherwise there (escapes
    in a double-quoted string), the value's own position."""
    lines = _source_lines(where.path)
    if not lines or where.line < 1:
        return where
    before = text[:offset]
    line_in_text = before.count("\n")
    snippet = text[offset:].split("\n", 1)[0][:40]
    first = where.line - 1
    head = lines[first][max(where.column - 1, 0) :] if first < len(lines) else ""
    block = head.lstrip()[:1] in ("|", ">")
    guess = first + line_in_text + (1 if block else 0)
    spellings = dict.fromkeys([snippet, snippet.replace("\\", "\\\\").replace('"', '\\"')])
    for number in (guess, *range(first, min(first + line_in_text + 30, len(lines)))):
        if not (0 <= number < len(lines) and snippet):
            continue
        line = lines[number]
        start = max(where.column - 1, 0) if number == first and not block else 0
        for spelling in spellings:
            column = line.find(spelling, start)
            if column >= 0:
                return Location(where.path, number + 1, column + 1)
    return where


def formula_offsets(text: str) -> list[tuple[str, int]]:
    """Each formula of Markdown ``text`` as (LaTeX, character offset where it is written)."""
    if "$" not in text:
        return []
    from flashgen.render.markdown import parser

    found: list[tuple[str, int]] = []
    cursor = 0
    for content in _math_contents(parser().parse(text, {})):
        tex = content.strip()
        if not tex:
            continue
        first = tex.split("\n", 1)[0]
        at = text.find(first, cursor)
        if at < 0:
            at = text.find(first)
        if at < 0:
            continue
        opening = text.rfind("$", 0, at)
        while opening > 0 and text[opening - 1] == "$":
            opening -= 1
        between = text[opening:at] if opening >= 0 else "x"
        found.append((tex, opening if not between.strip("$ \n") else at))
        cursor = at + len(first)
    return found


def _math_contents(tokens: Sequence[Any]) -> list[str]:
    contents = []
    for token in tokens:
        if token.type.startswith("math_"):
            contents.append(token.content)
        if token.children:
            contents.extend(_math_contents(token.children))
    return contents


def concept_texts(concept: Any) -> Iterator[tuple[str, Callable[[int], Location]]]:
    """Each Markdown text of a concept, with the function that locates a character of it."""
    from flashgen.course.checks import MARKDOWN_KEYS
    from flashgen.course.model import MultipleChoice

    yield concept.title, functools.partial(concept.where, "title")
    yield concept.summary, functools.partial(concept.where, "summary")
    for question in concept.questions:
        for key in MARKDOWN_KEYS:
            text = getattr(question, key, None)
            if isinstance(text, str):
                yield text, functools.partial(question.where, key)
        if isinstance(question, MultipleChoice):
            for key in ("correct", "distractors"):
                for index, text in enumerate(getattr(question, key)):
                    yield text, functools.partial(_item_where, question, key, index)


def _item_where(question: Any, key: str, index: int, offset: int) -> Location:
    return question.where(key, offset, index)


def concept_formulas(concept: Any) -> list[tuple[str, Location]]:
    """Every formula written in a concept, with its own location."""
    found = []
    for text, where in concept_texts(concept):
        for tex, offset in formula_offsets(text):
            found.append((tex, where(offset)))
    return found


def check_course_formulas(
    uses: Sequence[tuple[str, Location]], diag: Diagnostics, cache_dir: Path | None = None
) -> None:
    """``flashgen check``'s formula warnings: the PDF build's, without building."""
    if not uses:
        return
    from flashgen.render.typst_markup import load_formula_cache

    path = (cache_dir or default_cache_dir()) / FORMULA_CACHE
    formula_cache = load_formula_cache(path)
    texts = list(dict.fromkeys(tex for tex, _ in uses))
    results = dict(zip(texts, check_formulas(texts, formula_cache), strict=True))
    formula_cache.save(path)
    report(uses, results, diag)


_CONTROL_SPACE_END = re.compile(r"(?<![\\$])\$(?=[^\s$])[^$\n]*?\\ \$")
_LIST_LINE = re.compile(r"[ \t]*(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_DOLLAR = re.compile(r"(?<!\\)\$")


def math_text_slips(text: str) -> list[tuple[int, str]]:
    """Formulas Markdown does not read as formulas (shown as text with their dollars), as
    (character offset, message): one ending in a control space, one cut by a list line."""
    if "$" not in text:
        return []
    found = []
    for match in _CONTROL_SPACE_END.finditer(text):
        found.append(
            (
                match.start(),
                "this formula ends in a control space '\\ ' before its closing '$', so "
                "Markdown shows it as text; remove the '\\ ' (or write '\\,' for a space)",
            )
        )
    offset = 0
    lines = text.split("\n")
    for number, line in enumerate(lines[:-1]):
        following = lines[number + 1]
        offset += len(line) + 1
        if (
            _LIST_LINE.match(following)
            and len(_DOLLAR.findall(line)) % 2 == 1
            and len(_DOLLAR.findall(following)) % 2 == 1
        ):
            marker = following.lstrip()[:1]
            found.append(
                (
                    offset + len(following) - len(following.lstrip()),
                    f"this line starts with '{marker}', which Markdown reads as a list item, "
                    "so the formula that spans it is shown as text; keep the formula on one "
                    "line or start the line with something else",
                )
            )
    return sorted(found)
