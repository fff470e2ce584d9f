"""Markdown with ``$math$`` rendered to Typst markup, for the printed cards and study guide.

The text goes through the same markdown-it parser as the Anki HTML (:func:`flashgen.render.markdown.
parser`), so both outputs agree on what a text means. Every character of the course's text that
Typst markup gives a meaning (``#``, ``$``, ``*``, ``_``, ``@``, ``<``, ...) is escaped; the only
Typst code in the output is what this module writes itself: a handful of standard functions
(``emph``, ``strong``, ``raw``, ``list``, ...) plus four hooks every template defines and
passes to ``eval`` as its scope:

``fg-image(path, alt)``  an image from the course folder (``path`` is root-relative);
``fg-blank(hint)``       a cloze deletion on the front of a card (``hint`` may be empty);
``fg-answer(body)``      revealed cloze text on the back of a card;
``fg-tex(source, block)`` a formula that could not be converted, shown as its LaTeX source.

LaTeX math becomes Typst math with ``tex2typst`` (see docs/pdf.md for why not pandoc), each
formula converted and checked on its own by :mod:`flashgen.render.formulas`; any formula that fails
prints as its LaTeX source in monospace, with a warning at the formula's own line and column.

Rendering writes placeholders for formulas; :meth:`TypstRenderer.finish` checks them all and
returns the function that substitutes the final markup. Callers may apply it to each string or
to a whole JSON document at once (placeholders are private-use characters that never survive
:func:`escape`).

Conversions are the slow part, so a cache (:func:`load_formula_cache`) keeps each formula's
checked result between builds: a build whose formulas are all cached converts and checks
nothing. (Converting in a background thread while the text is rendered was measured and is
slower: tex2typst holds the GIL; :attr:`TypstRenderer.background` converts in helper processes
instead.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it.token import Token

from flashgen.diagnostics import Location
from flashgen.render.fast_markdown import fast_paragraphs
from flashgen.render.formula_worker import BackgroundConverter
from flashgen.render.formulas import check_formulas, formula_offsets, locate, messages, rules_digest
from flashgen.render.formulas import valid_cached as _valid_cached
from flashgen.render.markdown import (
    alt_text,
    media_name,
    parser,
    raw_html_pieces,
    raw_tag_allowed,
    resolve_image,
    table_columns,
)

#: Characters that mean something to Typst markup wherever they stand (always escaped), and
#: those that mean something only before certain others: ``--`` and ``-?`` (dashes, soft
#: hyphen), ``-1`` (minus sign), ``...`` (ellipsis), ``//`` and ``/*`` (comments).
_SYNTAX = re.compile(r"[\\#$*_@<>\[\]`~]|-(?=[-?0-9])|\.(?=\.)|/(?=[/*])")
#: At the start of a line (any text may start one): ``- `` and ``+ `` lists, ``1.`` numbered
#: lists, ``=`` headings, ``/ term:`` term lists.
_LEAD = re.compile(r"^(\s*)(\d+(?=\.)|)([-+=/.])")
_ESCAPES: dict[int, str] = {}
# Private-use characters the renderer uses as markers inside text. Course text containing them
# is escaped (never mistaken for a marker).
_ANSWER_OPEN, _ANSWER_CLOSE, _BLANK_OPEN, _BLANK_CLOSE = "\ue000", "\ue001", "\ue002", "\ue003"
_MATH_OPEN, _MATH_CLOSE = "\ue010", "\ue011"
_MARKERS = re.compile("[\ue000-\ue01f]")
for _marker in range(0xE000, 0xE020):
    _ESCAPES[_marker] = f'#"\\u{{{_marker:x}}}";'
_PLACEHOLDER = re.compile(f"{_MATH_OPEN}([0-9]+){_MATH_CLOSE}")
_CLOZE_MARKER = re.compile(f"({_ANSWER_OPEN}|{_ANSWER_CLOSE}|{_BLANK_OPEN}[0-9]+{_BLANK_CLOSE})")

#: A cloze deletion as Anki writes it (the same pattern the checker uses).
CLOZE = re.compile(r"\{\{c(\d+)::(.*?)\}\}", re.DOTALL)

#: Image formats Typst can typeset.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"})
_BREAK_TAG = re.compile(r"^<br\s*/?>$", re.IGNORECASE)


def escape(text: str) -> str:
    """``text`` as Typst markup that prints exactly ``text``.

    Escapes only where Typst would read syntax, so that most text needs no escape at all
    (templates skip evaluating such text, which makes typesetting a large deck faster).
    """
    # A line break or tab inside text is just a space; only the renderer decides on breaks.
    text = text.replace("\n", " ").replace("\t", " ")
    text = _SYNTAX.sub(r"\\\g<0>", text)
    text = _LEAD.sub(r"\1\2\\\3", text, count=1)
    return text.translate(_ESCAPES) if _MARKERS.search(text) else text


def string(text: str) -> str:
    """``text`` as a Typst string literal (for code arguments such as link targets)."""
    return json.dumps(text, ensure_ascii=False)


# Every code expression this module writes (``#emph[...]``, ``#raw(...)``) ends with ``;``:
# otherwise text that follows, such as "(s)" or ".", would continue the expression.


@dataclass(frozen=True, slots=True)
class Formula:
    tex: str
    block: bool


@dataclass
class ResultCache:
    """Results by key, kept between builds in one file (least recently used dropped first).

    ``context`` names everything the results depend on besides their key (versions, fonts):
    :meth:`load` ignores a missing, corrupt or foreign file, one with another context, and
    one holding a value ``valid`` rejects; writing it can fail without harm.
    """

    context: tuple[str, ...]
    results: dict[str, Any] = field(default_factory=dict)
    #: Entries kept at most.
    limit: int = 50_000
    changed: bool = False

    @classmethod
    def load(
        cls, path: Path, context: tuple[str, ...], valid: Callable[[Any], bool]
    ) -> ResultCache:
        from flashgen.atomic import read_sealed

        blob = read_sealed(path)
        ok = (
            isinstance(blob, dict)
            and blob.get("context") == context
            and isinstance(blob.get("results"), dict)
            and all(isinstance(k, str) and valid(v) for k, v in blob["results"].items())
        )
        return cls(context, dict(blob["results"]) if ok else {})

    def save(self, path: Path) -> None:
        """Write the file if anything was added; failing to write only costs speed."""
        from flashgen.atomic import OutputError, write_sealed

        if not self.changed:
            return
        results = dict(list(self.results.items())[-self.limit :])
        try:
            write_sealed(path, {"context": self.context, "results": results})
        except (OSError, OutputError):
            return
        self.changed = False

    def get(self, key: str) -> tuple[bool, Any]:
        """(found, result); a found entry becomes the most recently used."""
        if key not in self.results:
            return False, None
        result = self.results.pop(key)
        self.results[key] = result
        return True, result

    def add(self, key: str, result: Any) -> None:
        if key not in self.results or self.results[key] != result:
            self.changed = True
        self.results.pop(key, None)
        self.results[key] = result


def versions(*names: str) -> tuple[str, ...]:
    """flashgen's version and those of the packages ``names``, for a cache's context."""
    from importlib import metadata

    from flashgen import __version__

    found = [f"flashgen={__version__}"]
    for name in names:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=?")
    return tuple(found)


def load_formula_cache(path: Path) -> ResultCache:
    """Checked formulas by LaTeX source (see :mod:`flashgen.render.formulas`): for each, its Typst
    math or the problem that makes it print as LaTeX, and Typst's warnings. Only checked
    results are stored, so a cached formula needs neither converting nor checking."""
    context = (*versions("tex2typst", "typst"), f"rules={rules_digest()}")
    return ResultCache.load(path, context, _valid_cached)


@dataclass
class TypstRenderer:
    """Renders Markdown to Typst markup, collecting images and formulas.

    ``media_prefix`` is the root-relative folder the caller copies :attr:`media` into.
    """

    root: Path
    media_prefix: str = "/media"
    #: Checked conversions from earlier builds (see :func:`load_formula_cache`); updated by
    #: :meth:`finish`, which does not write it.
    formula_cache: ResultCache | None = None
    #: file name under ``media_prefix`` -> image file in the course.
    media: dict[str, Path] = field(default_factory=dict)
    #: (location, message) pairs for the caller's diagnostics.
    warnings: list[tuple[Location, str]] = field(default_factory=list)
    formulas: list[Formula] = field(default_factory=list)
    _formula_ids: dict[Formula, int] = field(default_factory=dict)
    #: Where each formula is written: (the text's location, the text, line within the text).
    _formula_uses: dict[int, list[tuple[Location, str, int]]] = field(default_factory=dict)
    _names: dict[Path, str] = field(default_factory=dict)
    #: Texts with characters beyond Latin, by where they are written (for :meth:`finish`).
    _wide_texts: dict[tuple[Location, str], None] = field(default_factory=dict)
    #: Converts new formulas in a helper process as they are found (see :meth:`finish`).
    background: BackgroundConverter | None = None

    # -- public API ------------------------------------------------------------------------

    def render(
        self,
        text: str,
        base_dir: Path,
        where: Location,
        inline: bool = False,
        cloze: str | None = None,
    ) -> str:
        """Typst markup for Markdown ``text`` written at ``where``, in a file in ``base_dir``.

        ``cloze`` is None for ordinary text, ``"front"`` to replace every deletion by a blank
        (or its hint) and ``"back"`` to show the deleted text marked as the answer.
        """
        if not text:
            return ""
        if not text.isascii():
            self._wide_texts.setdefault((where, text), None)
        if cloze is None and _is_plain(text):
            return escape(text.strip())
        hints: list[str] = []
        written = text
        if cloze is not None:
            text = _prepare_cloze(text, cloze == "front", hints)
        state = _State(base_dir=base_dir, where=where, hints=hints, text=written)
        fast = self._fast(text, inline, state, cloze is not None)
        if fast is not None:
            return fast
        md = parser()
        if inline:
            tokens = md.parseInline(text, {})
            return self._inline(tokens[0].children or [], state, 0).strip()
        return self._blocks(md.parse(text, {}), state).strip()

    def finish(self, fonts: object = None) -> Callable[..., str]:
        """Check every formula once; return the function that puts the final math in place.

        ``fonts`` is a ``typst.Fonts`` to reuse (finding the system's fonts takes a while).
        """
        if fonts is not None:
            self._check_glyphs(fonts)
        converted = self.background.results() if self.background is not None else {}
        texts = [formula.tex for formula in self.formulas]
        final = check_formulas(texts, self.formula_cache, converted)
        for number, checked in enumerate(final):
            formula = self.formulas[number]
            found = messages(formula.tex, checked)
            for where, text, line in self._formula_uses.get(number, []) if found else []:
                location = _formula_location(where, text, formula.tex, line)
                self.warnings.extend((location, message) for message in found)
        replacements = [
            _math_markup(formula, checked.math)
            for formula, checked in zip(self.formulas, final, strict=True)
        ]

        def substitute(text: str, json_string: bool = False) -> str:
            def one(match: re.Match[str]) -> str:
                value = replacements[int(match.group(1))]
                return json.dumps(value, ensure_ascii=False)[1:-1] if json_string else value

            return _PLACEHOLDER.sub(one, text)

        return substitute

    def _check_glyphs(self, fonts: object) -> None:
        """A warning for each character no font can draw (Typst prints an empty box)."""
        from flashgen.render.glyphs import Coverage, describe

        coverage = Coverage(fonts)
        for where, text in self._wide_texts:
            missing = coverage.missing(text)
            if not missing:
                continue
            shown = ", ".join(describe(char) for _, char in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            self.warnings.append(
                (
                    locate(where, text, missing[0][0]),
                    f"no font for the PDFs has {shown}{more}: the PDFs print an empty box "
                    "instead (Anki shows the text with the student's fonts); install a font "
                    "that has them, or write them otherwise",
                )
            )

    def render_now(self, text: str, base_dir: Path, where: Location, **options: object) -> str:
        """:meth:`render` and :meth:`finish` in one go (for tests and one-off texts)."""
        markup = self.render(text, base_dir, where, **options)  # type: ignore[arg-type]
        return self.finish()(markup)

    def _fast(self, text: str, inline: bool, state: _State, cloze: bool = False) -> str | None:
        """What the token renderer makes of ``text`` in the fast subset of
        :func:`flashgen.render.fast_markdown.fast_paragraphs`, without markdown-it; ``None``
        outside it.

        Cloze text (its deletions already markers) takes it only when it is one plain line:
        markdown-it reads a marker as it reads a letter, so the text is one text token.
        """
        if cloze:
            proxy = _MARKERS.sub("x", text)
            if proxy != proxy.strip() or not proxy.isprintable() or not _is_plain(proxy):
                return None
            return self._text(text, state).strip()
        paragraphs = fast_paragraphs(text, inline)
        if paragraphs is None:
            return None
        out: list[str] = []
        for start, lines in paragraphs:
            state.line = start
            for index, pieces in enumerate(lines):
                if index:
                    out.append(" ")  # a soft line break
                for kind, content in pieces:
                    if kind == "text":
                        out.append(self._text(content, state))
                    elif kind == "code":
                        out.append(state.leaf(f"#raw({string(content)});"))
                    elif kind == "math":
                        out.append(state.leaf(self._math(content, False, state)))
                    else:
                        name = "emph" if kind == "em" else "strong"
                        out.append(f"#{name}[{self._text(content, state)}];")
            if not inline:
                out.append("\n\n")
        return "".join(out).strip()

    # -- blocks ------------------------------------------------------------------------------

    def _blocks(self, tokens: Sequence[Token], state: _State) -> str:
        out: list[str] = []
        for index, token in enumerate(tokens):
            kind = token.type
            if token.map:
                state.line = token.map[0]
            if kind == "inline":
                out.append(self._inline(token.children or [], state, state.line))
            elif kind == "paragraph_open":
                continue
            elif kind == "paragraph_close":
                out.append("" if token.hidden else "\n\n")
            elif kind == "heading_open":
                out.append("#block(above: 0.8em, below: 0.5em, strong[")
            elif kind == "heading_close":
                out.append("])\n\n")
            elif kind in ("bullet_list_open", "ordered_list_open"):
                first = next((t for t in tokens[index:] if t.type == "paragraph_open"), None)
                tight = first is not None and first.hidden
                if kind == "bullet_list_open":
                    out.append(f"#list(tight: {str(tight).lower()}, ")
                else:
                    start = int(token.attrs.get("start", 1))
                    out.append(f"#enum(tight: {str(tight).lower()}, start: {start}, ")
            elif kind in ("bullet_list_close", "ordered_list_close"):
                out.append(")\n\n")
            elif kind == "list_item_open":
                out.append("[")
            elif kind == "list_item_close":
                out.append("], ")
            elif kind == "blockquote_open":
                out.append("#quote(block: true)[")
            elif kind == "blockquote_close":
                out.append("]\n\n")
            elif kind in ("code_block", "fence"):
                lang = token.info.strip().split(" ", 1)[0] if token.info else ""
                language = f"lang: {string(lang)}, " if lang else ""
                out.append(f"#raw(block: true, {language}{string(token.content.rstrip())})\n\n")
            elif kind in ("math_block", "math_block_label"):
                out.append(self._math(token.content, True, state) + "\n\n")
            elif kind == "hr":
                out.append("#line(length: 100%, stroke: 0.5pt)\n\n")
            elif kind == "html_block":
                text = _html_block_text(token.content)
                if text:
                    out.append(escape(text) + "\n\n")
            elif kind == "table_open":
                columns = max(table_columns(tokens, index), 1)
                out.append(f"#table(columns: {columns}, ")
            elif kind == "table_close":
                out.append(")\n\n")
            elif kind in ("th_open", "td_open"):
                out.append("strong[" if kind == "th_open" else "[")
            elif kind in ("th_close", "td_close"):
                out.append("], ")
            # thead/tbody/tr open and close carry nothing in Typst's flat cell list.
        return "".join(out)

    # -- inline ------------------------------------------------------------------------------

    def _inline(self, tokens: Sequence[Token], state: _State, line: int) -> str:
        out: list[str] = []
        for token in tokens:
            kind = token.type
            if kind == "text":
                out.append(self._text(token.content, state))
            elif kind == "softbreak":
                out.append(" ")
            elif kind == "hardbreak":
                out.append("#linebreak();")
            elif kind in ("em_open", "strong_open", "s_open"):
                name = {"em_open": "emph", "strong_open": "strong", "s_open": "strike"}[kind]
                out.append(f"#{name}[")
            elif kind in ("em_close", "strong_close", "s_close"):
                out.append("];")
            elif kind == "code_inline":
                out.append(state.leaf(f"#raw({string(token.content)});"))
            elif kind in ("math_inline", "math_inline_double"):
                out.append(state.leaf(self._math(token.content, kind != "math_inline", state)))
            elif kind == "link_open":
                href = str(token.attrs.get("href", ""))
                state.links.append(_safe_url(href))
                out.append(f"#link({string(href)})[" if state.links[-1] else "")
            elif kind == "link_close":
                out.append("];" if state.links.pop() else "")
            elif kind == "image":
                out.append(self._image(token, state))
            elif kind == "html_inline":
                out.append(_html_inline(token.content))
            elif token.children:
                out.append(self._inline(token.children, state, line))
            else:
                out.append(self._text(token.content, state))
        return "".join(out)

    def _text(self, text: str, state: _State) -> str:
        if not _MARKERS.search(text):
            return state.leaf(escape(text))
        out = []
        for part in _CLOZE_MARKER.split(text):
            if part == _ANSWER_OPEN:
                state.answer += 1
            elif part == _ANSWER_CLOSE:
                state.answer = max(0, state.answer - 1)
            elif part.startswith(_BLANK_OPEN):
                hint = state.hints[int(part[1:-1])]
                out.append(f"#fg-blank({string(hint)});")
            elif part:
                out.append(state.leaf(escape(part)))
        return "".join(out)

    def _math(self, tex: str, block: bool, state: _State) -> str:
        formula = Formula(tex.strip(), block)
        number = self._formula_ids.get(formula)
        if number is None:
            number = self._formula_ids[formula] = len(self.formulas)
            self.formulas.append(formula)
            cached = self.formula_cache is not None and formula.tex in self.formula_cache.results
            if self.background is not None and not cached:
                self.background.submit(formula.tex)
        # The location is worked out only for a warning (it may read the source line).
        self._formula_uses.setdefault(number, []).append((state.where, state.text, state.line))
        return f"{_MATH_OPEN}{number}{_MATH_CLOSE}"

    def _image(self, token: Token, state: _State) -> str:
        src = str(token.attrs.get("src", ""))
        alt = alt_text(token)
        path = resolve_image(src, state.base_dir, self.root)
        if path is None or path.suffix.lower() not in IMAGE_SUFFIXES:
            if path is not None:
                self.warnings.append(
                    (state.where, f"image {src} is not a format Typst can print; showing its text")
                )
            return escape(alt)
        name = self._names.get(path)
        if name is None:
            name = self._names[path] = media_name(path)
            self.media[name] = path
        return f"#fg-image({string(self.media_prefix + '/' + name)}, {string(alt)});"


@dataclass
class _State:
    base_dir: Path
    where: Location
    hints: list[str]
    line: int = 0
    answer: int = 0
    #: The text as written (for the location of a formula's warning).
    text: str = ""
    links: list[bool] = field(default_factory=list)

    def leaf(self, markup: str) -> str:
        """Wrap a piece of text, code or math as cloze answer while inside a deletion."""
        return f"#fg-answer[{markup}];" if self.answer and markup.strip() else markup


#: Text with none of these, on one line, means the same in Markdown as in plain text.
_MARKDOWN_SYNTAX = re.compile(r"[\\`*_\[\]<>!$&{}#~|\n\ue000-\ue01f]|^\s*(?:[-+=]|\d+[.)])")


def _is_plain(text: str) -> bool:
    """True when ``text`` needs no Markdown parsing (most titles and choices): a fast path
    that skips markdown-it, and gives the same result as parsing it would."""
    return _MARKDOWN_SYNTAX.search(text.strip()) is None


def _formula_location(where: Location, text: str, tex: str, line: int) -> Location:
    """Where the formula ``tex``, on ``line`` of the Markdown ``text`` written at ``where``,
    is in its file: its own line and column."""
    start = sum(len(part) + 1 for part in text.split("\n")[:line])
    offsets = [offset for found, offset in formula_offsets(text) if found == tex]
    offset = next((o for o in offsets if o >= start), offsets[0] if offsets else start)
    return locate(where, text, offset)


def _prepare_cloze(text: str, front: bool, hints: list[str]) -> str:
    """Replace ``{{cN::text::hint}}`` by marker characters the Markdown parser passes through."""
    text = _MARKERS.sub("", text)

    def one(match: re.Match[str]) -> str:
        body, _, hint = match.group(2).partition("::")
        if front:
            hints.append(hint.strip())
            return f"{_BLANK_OPEN}{len(hints) - 1}{_BLANK_CLOSE}"
        return f"{_ANSWER_OPEN}{body}{_ANSWER_CLOSE}"

    # Deletions end at or before the last "}}": matching only up to it keeps the scan linear
    # (an opening "{{c1::" with no "}}" after it would otherwise scan to the end, each time).
    end = text.rfind("}}") + 2
    return CLOZE.sub(one, text[:end]) + text[end:] if end > 1 else text


def _html_inline(tag: str) -> str:
    """A line break for ``<br>``; nothing for the formatting tags a card keeps (their text is
    kept) and comments; anything else, such as ``<eos>`` written in running text, is printed as
    the text it is (the parser already makes those text: see :func:`~.markdown.parser`)."""
    if _BREAK_TAG.match(tag.strip()):
        return "#linebreak();"
    return "" if raw_tag_allowed(tag) else escape(tag)


def _html_block_text(html: str) -> str:
    """The text an HTML block shows: its tags dropped (formatting is not carried over to the
    PDF), the text of every tag a card shows as text (``<mask>``) kept, entities decoded."""
    from html import unescape

    parts = []
    for is_tag, piece in raw_html_pieces(html):
        if not is_tag:
            parts.append(unescape(piece))
        elif not raw_tag_allowed(piece):
            parts.append(piece)
        else:
            parts.append(" ")
    return " ".join("".join(parts).split())


def _safe_url(href: str) -> bool:
    return href.lower().startswith(("http://", "https://", "mailto:"))


def _math_markup(formula: Formula, typst_math: str | None) -> str:
    if typst_math is None:
        block = "true" if formula.block else "false"
        return f"#fg-tex({string(formula.tex)}, {block});"
    return f"$ {typst_math} $" if formula.block else f"${typst_math}$"
