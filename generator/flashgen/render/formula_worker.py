"""Converting LaTeX formulas to Typst math, each on its own, in helper processes.

tex2typst runs a JavaScript engine that takes time superlinear in a formula's length (a
real 3.9 KB formula takes 11 s, a 16 KB one a minute, some nested ``\\sqrt`` of 300
characters never finish), so a formula is converted only in a helper process that is killed
when one formula takes longer than :func:`budget` seconds, and a formula longer than
:data:`MAX_FORMULA_CHARS` is not converted at all. Either becomes a *problem* (the reason the
formula is printed as its LaTeX source), never a hang.

:class:`BackgroundConverter` streams formulas to one helper while the build renders the text;
once the text is done, a second helper takes the formulas the first has not reached, from the
last one back, until the two meet.

Conversion is followed by two fixed passes, measured on the Wikipedia formulas under
``tests/corpora/formulas/``: :func:`prepare` rewrites the few LaTeX spellings tex2typst turns
into wrong text (``\\\\[8pt]``), and :func:`repair` renames the symbols tex2typst names as
older Typst versions did (:data:`RENAMED`) and turns ``X limits_a`` into ``limits(X)_a``.

This module imports only tex2typst, so that a helper starts quickly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

#: A formula longer than this is not converted (printed as LaTeX, with a located warning).
MAX_FORMULA_CHARS = 4000
#: Seconds one formula may take to convert (``$FLASHGEN_FORMULA_SECONDS`` overrides it).
FORMULA_SECONDS = 20.0

#: Seconds a helper may take to start (not counted in any formula's budget).
STARTUP_SECONDS = 60.0

#: (Typst math or None, the problem when None): what converting one formula gives.
Conversion = tuple[str | None, str | None]

#: Symbol names tex2typst writes that this Typst version names otherwise.
RENAMED: dict[str, str] = {
    "alef": "aleph",
    "times.circle": "times.o",
    "times.circle.big": "times.o.big",
    "dot.circle": "dot.o",
    "dot.circle.big": "dot.o.big",
    "minus.circle": "minus.o",
    "plus.circle": "plus.o",
    "plus.circle.big": "plus.o.big",
    "div.circle": "div.o",
    "slash.circle": "slash.o",
    "varkappa": "kappa.alt",
    "lVert": "bar.v.double",
    "rVert": "bar.v.double",
    "lvert": "bar.v",
    "rvert": "bar.v",
    "Box": "square.stroked",
    "blacksquare": "square.filled",
    "amalg": "product.co",
    "smallint": "integral",
}


def budget() -> float:
    value = os.environ.get("FLASHGEN_FORMULA_SECONDS", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return FORMULA_SECONDS
    return seconds if seconds > 0 else FORMULA_SECONDS


def too_long(tex: str) -> str | None:
    """The problem of a formula over the size limit, else None."""
    if len(tex) > MAX_FORMULA_CHARS:
        return (
            f"it is {len(tex):,} characters long, over the limit of {MAX_FORMULA_CHARS:,} "
            "for one formula; split it"
        )
    return None


def timed_out() -> str:
    return f"converting it took longer than {budget():g} s, the limit for one formula; split it"


_ROW_SPACING = re.compile(r"(\\\\)\s*\[[^\[\]{}$]*\]")
#: LaTeX (and Wikipedia's texvc) commands tex2typst does not know, as ones it knows.
ALIASES: dict[str, str] = {
    "mbox": "\\text",
    "hbox": "\\text",
    "textrm": "\\text",
    "textup": "\\text",
    "textnormal": "\\text",
    "cfrac": "\\dfrac",
    "stackrel": "\\overset",
    "dotsb": "\\cdots",
    "dotsm": "\\cdots",
    "dotsi": "\\cdots",
    "dotsc": "\\ldots",
    "dotso": "\\ldots",
    "rang": "\\rangle",
    "lang": "\\langle",
    "rarr": "\\rightarrow",
    "larr": "\\leftarrow",
    "harr": "\\leftrightarrow",
    "rArr": "\\Rightarrow",
    "lArr": "\\Leftarrow",
    "hArr": "\\Leftrightarrow",
    "plusmn": "\\pm",
    "lnot": "\\neg",
    "Bbb": "\\mathbb",
    "sub": "\\subset",
    "sube": "\\subseteq",
    "sgn": "\\operatorname{sgn}",
    "part": "\\partial",
    "exist": "\\exists",
    "reals": "\\mathbb{R}",
    "empty": "\\emptyset",
    "arcsec": "\\operatorname{arcsec}",
    "arccsc": "\\operatorname{arccsc}",
    "arccot": "\\operatorname{arccot}",
    # Delimiter sizes: tex2typst drops \bigl and \bigr itself; these it would print.
    "big": "",
    "Big": "",
    "bigg": "",
    "Bigg": "",
}
_ALIAS = re.compile(r"\\(" + "|".join(ALIASES) + r")(?![A-Za-z])")
#: A row break right before an environment's end (tex2typst would end the math with "\\").
_LAST_ROW_BREAK = re.compile(r"\\\\\s*(\\end\{)")
#: An empty group carrying scripts, as in ``{}^T`` (Typst needs something to attach to).
_EMPTY_BASE = re.compile(r"(?<![A-Za-z])\{\s*\}(?=\s*[_^])")
_EMPTY_TEXT = re.compile(r"\\text\s*\{\s*\}")
_SMALL_MATRIX = re.compile(r"(\\(?:begin|end))\{smallmatrix\}")
_INFIX = re.compile(r"\\(over|choose)(?![A-Za-z])")


def prepare(tex: str) -> str:
    """The LaTeX tex2typst is given: row spacing ``\\\\[8pt]`` dropped (Typst spaces rows on
    its own; tex2typst would print ``[8pt]``), tabs as spaces and a trailing control space
    dropped (tex2typst rejects both), a row break before ``\\end`` dropped, an empty base
    ``{}^T`` as an empty text, ``smallmatrix`` as ``matrix``, :data:`ALIASES` replaced, and the
    infix ``a \\over b`` and ``n \\choose k`` written as ``\\frac`` and ``\\binom``."""
    tex = tex.strip().replace("\t", " ")
    if tex.endswith("\\") and (len(tex) - len(tex.rstrip("\\"))) % 2:
        tex = tex[:-1].rstrip()
    tex = _ROW_SPACING.sub(r"\1 ", tex)
    tex = _LAST_ROW_BREAK.sub(r"\1", tex)
    tex = _SMALL_MATRIX.sub(r"\1{matrix}", tex)
    if "\\" in tex:
        tex = _ALIAS.sub(lambda m: ALIASES[m.group(1)] + " ", tex)
        tex = _EMPTY_TEXT.sub(r"\\text{ }", tex)  # tex2typst reads "\text{}" to the next "}"
    tex = _EMPTY_BASE.sub(r"\\text{ }", tex)
    if "\\" in tex:
        tex = _WRAPPED.sub(_unwrap, tex)
        for _ in range(20):  # one infix command at a time, innermost group last
            match = _INFIX.search(tex)
            if match is None:
                break
            tex = _infix(tex, match)
    return tex


#: Commands with one braced argument written with others tex2typst knows.
_WRAPPED = re.compile(r"\\(textbf|textit|xrightarrow|xleftarrow)\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_WRAPPERS = {
    "textbf": "\\mathbf{\\text{%s}}",
    "textit": "\\mathit{\\text{%s}}",
    "xrightarrow": "\\overset{%s}{\\longrightarrow}",
    "xleftarrow": "\\overset{%s}{\\longleftarrow}",
}


def _unwrap(match: re.Match[str]) -> str:
    return _WRAPPERS[match.group(1)] % match.group(2)


def _infix(tex: str, match: re.Match[str]) -> str:
    """``tex`` with the group around the infix command ``match`` as ``\\frac{..}{..}``."""
    start, depth = match.start(), 0
    while start > 0:
        char = tex[start - 1]
        if char == "}" and not _escaped(tex, start - 1):
            depth += 1
        elif char == "{" and not _escaped(tex, start - 1):
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (char == "&" or tex.startswith("\\\\", start - 2)):
            break
        start -= 1
    end, depth = match.end(), 0
    while end < len(tex):
        char = tex[end]
        if char == "{" and not _escaped(tex, end):
            depth += 1
        elif char == "}" and not _escaped(tex, end):
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (char == "&" or tex.startswith("\\\\", end)):
            break
        end += 1
    command = "\\frac" if match.group(1) == "over" else "\\binom"
    above, below = tex[start : match.start()].strip(), tex[match.end() : end].strip()
    return f"{tex[:start]}{command}{{{above}}}{{{below}}}{tex[end:]}"


def _escaped(tex: str, index: int) -> bool:
    slashes = len(tex[:index]) - len(tex[:index].rstrip("\\"))
    return slashes % 2 == 1


#: Typst math tokens: a string, an escape, embedded code, an identifier path, anything else.
_TOKEN = re.compile(
    r'(?P<string>"(?:[^"\\]|\\.)*"?)'
    r"|(?P<escape>\\(?:u\{[0-9a-fA-F]*\}|.|\n|$))"
    r"|(?P<code>#)"
    r"|(?P<ident>[^\W\d_][^\W_]*(?:\.[^\W\d_][^\W_]*)*)"
    r"|(?P<other>.)",
    re.DOTALL,
)


def tokens(math: str) -> Iterator[re.Match[str]]:
    """The tokens of Typst math, as :data:`_TOKEN` matches (``lastgroup`` is the kind)."""
    return _TOKEN.finditer(math)


_LIMITS = re.compile(r'([^\W_][\w.]*|op\("(?:[^"\\]|\\.)*"\)) (no)?limits(?=[_^ ]|$)')


def repair(math: str) -> str:
    """tex2typst's output with the renamed symbols of :data:`RENAMED` and ``\\limits``."""
    parts = []
    for token in tokens(math):
        text = token.group()
        if token.lastgroup == "ident" and text in RENAMED:
            text = RENAMED[text]
        parts.append(text)
    math = "".join(parts)
    for style, function in (("scriptstyle ", "script"), ("scriptscriptstyle ", "sscript")):
        if math.startswith(style):
            math = f"{function}({math[len(style) :]})"
    if "limits" in math:
        math = _LIMITS.sub(lambda m: f"{'scripts' if m.group(2) else 'limits'}({m.group(1)})", math)
    return math


def convert(tex: str) -> Conversion:
    """Typst math for a LaTeX formula (not yet checked by Typst), or None and the problem.

    Call it only in a helper process (see the module's docstring): it may not return."""
    import tex2typst

    problem = too_long(tex)
    if problem:
        return None, problem
    try:
        result = tex2typst.tex2typst(prepare(tex))
    except (ValueError, RuntimeError) as error:
        reason = str(error).splitlines()[0].removeprefix("Conversion failed: ").strip()
        return None, f"the converter (tex2typst) cannot read it ({reason[:120]})"
    if not result or not result.strip():
        return None, "the converter (tex2typst) gives nothing for it"
    return repair(result), None


# -- helper processes ---------------------------------------------------------------------------


class _Helper:
    """One helper process converting the formulas (numbers into ``texts``) sent to it, in order.

    A thread reads its results; :attr:`started` is when it began the formula it is on."""

    def __init__(self, texts: list[str], order: list[int], more: bool = False):
        self.texts = texts
        self.order = list(order)
        self.got: list[Conversion] = []
        self.started = time.monotonic()
        self.failed = False
        #: Whether the helper has started (its start-up is not part of any formula's budget).
        self.ready = False
        self.process = _start()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        for number in self.order:
            self._write(number)
        self.flush()
        if not more:
            self.close_input()

    def _write(self, number: int) -> None:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(self.texts[number]).encode() + b"\n")
        except (OSError, ValueError):
            self.failed = True

    def send(self, number: int) -> None:
        if len(self.got) == len(self.order):  # idle until now
            self.started = time.monotonic()
        self.order.append(number)
        self._write(number)
        if len(self.order) % 32 == 0:
            self.flush()

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.flush()

    def close_input(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.close()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if not self.ready:
                self.ready = line.strip() == b'"ready"'
                self.started = time.monotonic()
                if self.ready:
                    continue
                break
            try:
                value = json.loads(line)
                typst, problem = value
            except (ValueError, TypeError):
                break
            if not (typst is None or isinstance(typst, str)):
                break
            self.got.append((typst, problem if isinstance(problem, str) else None))
            self.started = time.monotonic()
        self.failed = True

    def done(self) -> dict[int, Conversion]:
        return dict(zip(self.order, list(self.got), strict=False))

    def current(self) -> int | None:
        index = len(self.got)
        return self.order[index] if index < len(self.order) else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()


class BackgroundConverter:
    """Converts formulas in helper processes while the caller goes on working.

    :meth:`submit` each formula's LaTeX as it is found; :meth:`results` returns every
    submitted formula's :data:`Conversion`. A formula that takes longer than :func:`budget`
    seconds gets the problem :func:`timed_out` (its helper is replaced by a new one for the
    formulas after it); one over :data:`MAX_FORMULA_CHARS` is never sent.
    """

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._front: _Helper | None = None
        self._early: dict[int, Conversion] = {}

    def submit(self, tex: str) -> None:
        number = len(self.sent)
        self.sent.append(tex)
        problem = too_long(tex)
        if problem:
            self._early[number] = (None, problem)
            return
        if self._front is None or self._front.failed:
            self._front = _Helper(self.sent, [number], more=True)
        else:
            self._front.send(number)

    def results(self) -> dict[str, Conversion]:
        """Each submitted formula's conversion, by its LaTeX."""
        found = dict(self._early)
        helpers: list[_Helper] = []
        if self._front is not None:
            self._front.flush()
            self._front.close_input()
            helpers.append(self._front)
            self._front = None
        try:
            found = _run(self.sent, found, helpers)
        finally:
            for helper in helpers:
                helper.stop()
        return {self.sent[number]: value for number, value in sorted(found.items())}


def convert_all(texts: list[str]) -> list[Conversion]:
    """:func:`convert` of each of ``texts``, in helper processes with the time budget."""
    converter = BackgroundConverter()
    for tex in dict.fromkeys(texts):
        converter.submit(tex)
    found = converter.results()
    return [found[tex] for tex in texts]


#: Fewer formulas left than this are not worth starting a second helper for.
_SECOND_HELPER_MIN = 16


def _run(
    texts: list[str], found: dict[int, Conversion], helpers: list[_Helper]
) -> dict[int, Conversion]:
    """Wait for ``helpers`` (and start more) until every formula of ``texts`` has a result."""
    seconds = budget()

    def gather() -> None:
        for helper in helpers:
            for number, value in helper.done().items():
                found.setdefault(number, value)

    gather()
    left = [n for n in range(len(texts)) if n not in found]
    queued = {n for helper in helpers for n in helper.order[len(helper.got) :]}
    unsent = [n for n in left if n not in queued]
    if unsent:
        helpers.append(_Helper(texts, unsent))
    elif len(left) >= _SECOND_HELPER_MIN:
        helpers.append(_Helper(texts, list(reversed(left))))  # meets the first in the middle
    while True:
        gather()
        if len(found) >= len(texts):
            return found
        for index, helper in enumerate(helpers):
            if helper.current() is None:
                continue
            limit = seconds if helper.ready else max(seconds, STARTUP_SECONDS)
            stuck = time.monotonic() - helper.started > limit
            dead = helper.process.poll() is not None
            if dead:
                helper.stop()  # the reader has read every line it wrote
                gather()
            current = helper.current()
            if current is None or not (stuck or dead):
                continue
            found.setdefault(current, (None, timed_out() if stuck else _crashed()))
            helper.stop()
            rest = [n for n in helper.order[len(helper.got) + 1 :] if n not in found]
            helper.order = helper.order[: len(helper.got)]  # retired
            if rest:
                helpers[index] = _Helper(texts, rest)
                gather()
        time.sleep(0.005)


def _crashed() -> str:
    return "the converter (tex2typst) stopped while converting it"


def _start() -> subprocess.Popen[bytes]:
    package_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [package_parent, *filter(None, [env.get("PYTHONPATH", "")])]
    )
    return subprocess.Popen(
        [sys.executable, "-c", "from flashgen.render.formula_worker import main; main()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=os.path.dirname(os.path.abspath(__file__)),
    )


def main() -> None:
    """The helper: ``"ready"`` once started, then a JSON string a line in, its
    :data:`Conversion` as a JSON line out."""
    import tex2typst

    tex2typst.tex2typst("x")
    sys.stdout.write('"ready"\n')
    sys.stdout.flush()
    for line in sys.stdin.buffer:
        sys.stdout.write(json.dumps(convert(json.loads(line))) + "\n")
        sys.stdout.flush()
