"""Markdown with ``$math$``: one parser, rendered to sanitised HTML for Anki.

The same markdown-it token stream feeds the Typst renderer for the PDFs, so both outputs
agree on what a text means. Math becomes MathJax delimiters ``\\(...\\)`` and ``\\[...\\]``,
which every Anki client renders.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flashgen.course.coursefiles import read_media

if TYPE_CHECKING:  # imported where used: a build with nothing to render never loads them
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

#: HTML that may reach a student's Anki: formatting only. No scripts, no event handlers, no
#: styles, no forms, no iframes; links only to http(s) and mailto; images only from media.
ALLOWED_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "div",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    ]
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "div": {"class"},
    "code": {"class"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
#: The only ``class`` values a field may carry: those flashgen's own renderer writes (a display
#: formula's ``<div class="math">``, a fenced block's ``<code class="language-python">``). The
#: ``fg-*`` classes of the card templates (the verdict of a quiz, the choices) never come from
#: course text, so a course cannot forge them.
ALLOWED_CLASSES = {"div": re.compile(r"math"), "code": re.compile(r"language-[A-Za-z0-9_+.#-]+")}

#: The HTML tags a course may write in its text. Everything else that looks like a tag
#: (``<mask>``, ``<eos>``, ``<T>``, ``<title>``, ``<script>``) is text and shown as written.
#: ``<s>`` is left out because it is the start-of-sequence token of many language models
#: (strike through with ``~~text~~`` or ``<del>``); ``<img>`` because images are written in
#: Markdown, so that every output checks, packs and prints them the same way.
RAW_HTML_TAGS = ALLOWED_TAGS - {"s", "img"}

#: Anki's own markup, which Anki would act on wherever it stands in a field: ``[sound:x]``
#: plays a file, ``[latex]``, ``[$]`` and ``[$$]`` run LaTeX on the student's machine.
ANKI_MARKUP = re.compile(r"\[(?=sound:|anki:|/?latex\]|/?\$\$?\])", re.IGNORECASE)

_ANKI_MATH = re.compile(r"\[/?\$\$?\]")
_REMOTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
#: A tag longer than this is not looked for (keeps scanning raw HTML linear).
_MAX_TAG = 4096


#: MathJax commands refused in course text: those that set what MathJax's own safe extension
#: (``ui/safe``) filters (links ``href``/``src``, ``class``, ``style``, ``id``, ``data-``
#: attributes), load code (``\\require``), or set any attribute (``\\mmlToken``), plus the
#: ``action`` extension's tooltips and toggles. ``\\unicode`` is refused only with a font
#: argument, ``\\bbox`` only with a style.
UNSAFE_MATHJAX = (
    "href",
    "url",
    "class",
    "cssId",
    "style",
    "data",
    "html",
    "require",
    "mmlToken",
    "mathtip",
    "texttip",
    "toggle",
    "FormInput",
)
_UNSAFE_MATHJAX = re.compile(
    r"\\(?:(" + "|".join(UNSAFE_MATHJAX) + r")(?![A-Za-z])|(unicode)\s*\[|(bbox)\s*\[[^\]]*style)"
)


def mathjax_refusals(text: str) -> list[tuple[str, int]]:
    """Each refused MathJax command (:data:`UNSAFE_MATHJAX`) in Markdown ``text`` that could
    reach MathJax (anywhere but code), as (name, character offset)."""
    if "\\" not in text or not _UNSAFE_MATHJAX.search(text):
        return []
    seen = []
    stack = list(reversed(parser().parse(text, {})))
    while stack:
        token = stack.pop()
        if token.type in ("code_inline", "code_block", "fence"):
            continue
        if token.children:
            stack.extend(reversed(token.children))
        elif _UNSAFE_MATHJAX.search(token.content):
            seen.append(token.content)
    found: list[tuple[str, int]] = []
    for match in _UNSAFE_MATHJAX.finditer(text):
        name = next(group for group in match.groups() if group)
        if any(match.group() in content for content in seen):
            found.append((name, match.start()))
    return found


_CODE_OR_MATH = re.compile(r"<(code|pre)\b.*?</\1>|\\\(.*?\\\)|\\\[.*?\\\]", re.DOTALL)


def defuse_mathjax(html: str) -> str:
    """``html`` with the backslash of each refused MathJax command in math (outside code)
    removed, so that it prints as letters: what reaches MathJax is never one of them."""
    if "\\" not in html or not _UNSAFE_MATHJAX.search(html):
        return html

    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group()
        return _UNSAFE_MATHJAX.sub(lambda m: m.group()[1:], match.group())

    return _CODE_OR_MATH.sub(one, html)


@cache
def parser() -> MarkdownIt:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    md.enable("table").enable("strikethrough")
    # Let every link through to the renderer: the sanitiser then drops unsafe destinations
    # but keeps the link text, instead of markdown-it printing "[text](javascript:...)".
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    _only_allowed_html(md)
    return md


def raw_tag_allowed(tag: str) -> bool:
    """Whether ``tag`` (one tag, comment, declaration, ... as written) stays HTML.

    Comments stay (the sanitiser removes them: they are notes for authors); a tag stays when
    its name is in :data:`RAW_HTML_TAGS`; all else is text.
    """
    if tag.startswith("<!--"):
        return True
    name = _TAG_NAME.match(tag)
    return name is not None and name.group(2).lower() in RAW_HTML_TAGS


def _only_allowed_html(md: MarkdownIt) -> None:
    """Make every tag outside :data:`RAW_HTML_TAGS` text, in HTML blocks and inline alike.

    A line starting with such a tag (``<title> of a page``) is then an ordinary paragraph, in
    which Markdown works as everywhere else; an inline tag becomes text, in every output.
    """
    from markdown_it.rules_block.html_block import html_block
    from markdown_it.rules_inline.html_inline import html_inline

    def block(state: Any, start: int, end: int, silent: bool) -> bool:
        first = state.src[state.bMarks[start] + state.tShift[start] : state.eMarks[start]]
        if first.startswith("<") and not raw_tag_allowed(first[:_MAX_TAG]):
            return False
        return html_block(state, start, end, silent)

    def inline(state: Any, silent: bool) -> bool:
        if not html_inline(state, silent):
            return False
        if not silent and not raw_tag_allowed(state.tokens[-1].content):
            tag = state.tokens.pop().content
            state.pending += tag
            if "flashgen.text_tags" in state.env:  # recorded for flashgen.render.markup_check
                state.env["flashgen.text_tags"].append(tag)
        return True

    md.block.ruler.at("html_block", block, {"alt": ["paragraph", "reference", "blockquote"]})
    md.inline.ruler.at("html_inline", inline)

    def anki_math(state: Any, silent: bool) -> bool:
        """Anki's ``[$]``, ``[$$]``, ``[/$]``, ``[/$$]`` are text (``$`` would start math)."""
        match = _ANKI_MATH.match(state.src, state.pos)
        if match is None:
            return False
        if not silent:
            state.pending += match.group()
        state.pos = match.end()
        return True

    md.inline.ruler.before("link", "anki_math", anki_math)

    tokenize = md.block.tokenize

    def guarded_tokenize(state: Any, start: int, end: int) -> None:
        """markdown-it stops at ``maxNesting`` and drops the rest of the text: record where."""
        if state.level >= md.options["maxNesting"] and "flashgen.too_deep" in state.env:
            line = state.skipEmptyLines(start)
            if line < end:
                state.env["flashgen.too_deep"].append(line)
        tokenize(state, start, end)

    md.block.tokenize = guarded_tokenize  # type: ignore[method-assign]
    md.core.ruler.after("inline", "unpaired_tags", _unpaired_tags_as_text)


#: Tags that have no closing tag.
_VOID = frozenset({"br", "hr", "img", "wbr"})


def _unpaired_tags_as_text(state: Any) -> None:
    """An inline tag without its partner in the same paragraph is text: ``Use <b> for bold``
    shows ``<b>`` instead of making the rest of the field bold."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        open_tags: dict[str, list[Token]] = {}
        unpaired: list[Token] = []
        for token in block.children:
            if token.type != "html_inline":
                continue
            name = _TAG_NAME.match(token.content)
            if name is None or name.group(2).lower() in _VOID or token.content.endswith("/>"):
                continue
            key = name.group(2).lower()
            if not name.group(1):
                open_tags.setdefault(key, []).append(token)
            elif open_tags.get(key):
                open_tags[key].pop()
            else:
                unpaired.append(token)
        unpaired.extend(token for tokens in open_tags.values() for token in tokens)
        for token in unpaired:
            token.type = "text"
            if "flashgen.text_tags" in state.env:
                state.env["flashgen.text_tags"].append(token.content)


#: Names of HTML elements (beyond markdown-it's block names) that must not reach a deck name.
_INLINE_ELEMENTS = frozenset({
    "a", "abbr", "audio", "b", "bdi", "bdo", "br", "button", "canvas", "cite", "code", "data",
    "del", "dfn", "em", "embed", "font", "i", "iframe", "img", "image", "input", "ins", "kbd",
    "label", "map", "mark", "marquee", "math", "meter", "object", "output", "picture", "portal",
    "q", "s", "samp", "script", "select", "slot", "small", "source", "span", "strong", "style",
    "sub", "sup", "svg", "template", "textarea", "time", "u", "var", "video", "wbr",
})  # fmt: skip


def deck_name_text(title: str) -> tuple[str, list[tuple[int, str]]]:
    """A course or chapter title as an Anki deck name, and the tags left out of it (offset in
    ``title``, tag): an HTML element or comment, or any tag with attributes. Some Anki versions
    show deck names as HTML, and a name cannot be escaped; ``<T>``-like tokens stay."""
    if "<" not in title:
        return title, []
    from markdown_it.common.html_blocks import block_names

    kept: list[str] = []
    removed: list[tuple[int, str]] = []
    offset = 0
    for is_tag, piece in raw_html_pieces(title):
        name = _TAG_NAME.match(piece)
        if is_tag and (
            name is None
            or name.group(2).lower() in _INLINE_ELEMENTS
            or name.group(2).lower() in block_names
            or re.search(r"\s\S", piece[name.end() :])
        ):
            removed.append((offset, piece))
        else:
            kept.append(piece)
        offset += len(piece)
    return " ".join("".join(kept).split()), removed


def raw_html_pieces(html: str) -> list[tuple[bool, str]]:
    """Raw HTML (an HTML block's content) as ``(is_tag, text)`` pieces, in order."""
    from markdown_it.common.html_re import HTML_TAG_RE

    pieces: list[tuple[bool, str]] = []
    start = 0
    position = html.find("<")
    while position != -1:
        match = HTML_TAG_RE.match(html, position, min(len(html), position + _MAX_TAG))
        if match is None:
            position = html.find("<", position + 1)
            continue
        if match.start() > start:
            pieces.append((False, html[start : match.start()]))
        pieces.append((True, match.group()))
        start = match.end()
        position = html.find("<", start)
    if start < len(html):
        pieces.append((False, html[start:]))
    return pieces


def escape_raw_html(html: str) -> str:
    """An HTML block with every tag outside :data:`RAW_HTML_TAGS`, and every ``<`` that
    starts no tag, turned into text."""
    out = []
    for is_tag, piece in raw_html_pieces(html):
        if is_tag and raw_tag_allowed(piece):
            out.append(piece)
        else:
            out.append(piece.replace("<", "&lt;"))
    return "".join(out)


def is_remote(src: str) -> bool:
    return bool(_REMOTE.match(src)) or src.startswith("//")


def image_path(src: str) -> str:
    """The file path an image token's ``src`` names: markdown-it percent-encodes the path
    written (``<my image.png>`` becomes ``my%20image.png``), and a ``#`` or ``?`` part is no
    part of a file name."""
    from urllib.parse import unquote

    if is_remote(src):
        return src
    return unquote(src.split("#", 1)[0].split("?", 1)[0])


def resolve_image(src: str, base_dir: Path, root: Path) -> Path | None:
    """The file an image reference names, if it exists inside the course folder."""
    if is_remote(src):
        return None
    path = (base_dir / image_path(src)).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path


def media_name(path: Path) -> str:
    """A flat, collision-free name for a media file: Anki keeps all media in one folder."""
    data, suffix = read_media(path)
    digest = hashlib.sha256(data).hexdigest()[:16]
    return f"flashgen-{digest}{suffix}"


@dataclass
class HtmlRenderer:
    """Renders Markdown to sanitised HTML, collecting the media files it references."""

    root: Path
    media: dict[str, Path] = field(default_factory=dict)
    _names: dict[Path, str] = field(default_factory=dict)

    def render(self, text: str, base_dir: Path, inline: bool = False) -> str:
        if not text:
            return ""
        fast = fast_render(text, inline)
        if fast is not None:
            return defuse_mathjax(fast)
        md = parser()
        env = {"base_dir": base_dir}
        if inline:
            tokens = md.parseInline(text, env)
            html = self._render(md, tokens, env)
        else:
            html = self._render(md, md.parse(text, env), env)
        return defuse_mathjax(sanitize(html.strip()))

    def _render(self, md: MarkdownIt, tokens: Sequence[Token], env: dict[str, Any]) -> str:
        renderer = md.renderer
        rules = renderer.rules
        rules["math_inline"] = _math_inline
        rules["math_inline_double"] = _math_block
        rules["math_block"] = _math_block_div
        rules["math_block_label"] = _math_block_div
        rules["image"] = self._image
        rules["html_block"] = _html_block
        return renderer.render(tokens, md.options, env)

    def _image(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        src = str(token.attrs.get("src", ""))
        alt = escape(alt_text(token))
        path = resolve_image(src, env["base_dir"], self.root)
        if path is None:
            return alt
        name = self._names.get(path)
        if name is None:
            name = self._names[path] = media_name(path)
            self.media[name] = path
        title = f' title="{escape(str(token.attrs["title"]))}"' if "title" in token.attrs else ""
        return f'<img src="{escape(name)}" alt="{alt}"{title}>'


def alt_text(image: Token) -> str:
    """An image's description as plain text: what its Markdown shows, without the markup."""
    parts: list[str] = []

    def walk(tokens: Sequence[Token]) -> None:
        for token in tokens:
            if token.type in ("text", "code_inline", "math_inline", "math_inline_double"):
                parts.append(token.content)
            elif token.type in ("softbreak", "hardbreak"):
                parts.append(" ")
            elif token.type == "image":
                walk(token.children or [])
            elif token.type == "html_inline" and not token.content.startswith("<!--"):
                continue
            if token.children and token.type != "image":
                walk(token.children)

    walk(image.children or [])
    return "".join(parts)


def _html_block(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return escape_raw_html(tokens[idx].content)


def _math_inline(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return "\\(" + escape(tokens[idx].content, quote=False) + "\\)"


def _math_block(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return "\\[" + escape(tokens[idx].content.strip(), quote=False) + "\\]"


def _math_block_div(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return '<div class="math">' + _math_block(tokens, idx, options, env) + "</div>\n"


def sanitize(html: str) -> str:
    """Keep formatting, drop anything that could run code or load remote content, and make
    Anki's own markup (``[sound:...]``, ``[latex]``) text."""
    import nh3

    clean = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
        attribute_filter=_attribute_filter,
    )
    return escape_anki_markup(clean)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute != "class":
        return value
    allowed = ALLOWED_CLASSES.get(tag)
    kept = [name for name in value.split() if allowed is not None and allowed.fullmatch(name)]
    return " ".join(kept) or None


def escape_anki_markup(html: str) -> str:
    """``html`` with the ``[`` that would start Anki's own markup written as ``&#91;``:
    the student sees the same text, and Anki neither plays a sound nor runs LaTeX."""
    return ANKI_MARKUP.sub("&#91;", html) if "[" in html else html


def plain_text(html: str) -> str:
    """Text content of sanitised HTML (for sort fields and previews)."""
    import nh3

    return re.sub(r"\s+", " ", nh3.clean(html, tags=set())).strip()


# --- The fast path -------------------------------------------------------------------------
#
# Most course text is prose with a little inline formatting. Parsing it with markdown-it and
# sanitising the result costs ~100 µs a field, which at 50,000 notes (250,000 fields) dominates
# a build. ``fast_render`` handles a deliberately small subset exactly as markdown-it + nh3
# would, and returns ``None`` for anything else, which then takes the full path:
#
# * paragraphs of lines without leading or trailing white space, separated by empty lines;
# * a line starts with a letter, digit (not ``1.``/``1)`` lists), ``(``, a quote, or one of the
#   inline constructs below: never a block construct (heading, list, quote, fence, table, HTML);
# * inline: plain text without ``\\ ` * _ ~ [ ] < & $`` (so no escapes, links, images, HTML,
#   entities or strikethrough); ``*em*``/``_em_``/``**strong**``/``__strong__`` around plain
#   text, opened after a space or ``(`` and closed before a space, end or ``.,;:!?)``;
#   `` `code` `` without a space at either end; ``$math$`` following dollarmath's rules.
#
# tests/test_fast_markdown.py checks it against the full path on generated text.

_PLAIN = re.compile(r"[^\\`*_~\[\]<&$]+")
_ORDERED_LIST = re.compile(r"\d{1,9}[.)](?:\s|$)")
_EMPHASIS_BEFORE = frozenset(" (")
_EMPHASIS_AFTER = frozenset(" .,;:!?)")
_LINE_START = frozenset("(\"'*_`$")


def _escape_text(text: str) -> str:
    """Text as nh3 serialises it (quotes stay as they are)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _html_pieces(pieces: list[tuple[str, str]]) -> str:
    out = []
    for kind, content in pieces:
        if kind == "text":
            out.append(_escape_text(content))
        elif kind == "code":
            out.append(f"<code>{_escape_text(content)}</code>")
        elif kind == "math":
            out.append("\\(" + _escape_text(content) + "\\)")
        else:
            out.append(f"<{kind}>{_escape_text(content)}</{kind}>")
    return "".join(out)


def inline_pieces(
    line: str, first_of_paragraph: bool, last_char: str
) -> list[tuple[str, str]] | None:
    """One line of inline Markdown in the fast subset as (kind, content) pieces, each what
    markdown-it makes one token (or one emphasis around one text token) of: ``text``,
    ``code``, ``math``, ``em`` or ``strong``; ``None`` outside the fast subset."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(line)
    while i < n:
        plain = _PLAIN.match(line, i)
        if plain is not None:
            out.append(("text", plain.group()))
            i = plain.end()
            continue
        char = line[i]
        if char == "`":
            end = line.find("`", i + 1)
            if end <= i + 1 or (end + 1 < n and line[end + 1] == "`"):
                return None
            code = line[i + 1 : end]
            if code[0] == " " or code[-1] == " ":
                return None
            out.append(("code", code))
            i = end + 1
        elif char == "$":
            end = line.find("$", i + 1)
            if end <= i + 1:  # no closing $, or "$$"
                return None
            math = line[i + 1 : end]
            before = line[i - 1] if i else ("" if not first_of_paragraph else last_char)
            after = line[end + 1] if end + 1 < n else ""
            if (
                math[0].isspace()
                or math[-1].isspace()
                or math[-1] == "\\"
                or before.isdigit()
                or after.isdigit()
                or after == "$"
            ):
                return None
            out.append(("math", math))
            i = end + 1
        elif char in "*_":
            size = 2 if line.startswith(char * 2, i) else 1
            start = i + size
            if i and line[i - 1] not in _EMPHASIS_BEFORE:
                return None
            inner = _PLAIN.match(line, start)
            if inner is None:
                return None
            end = inner.end()
            text = inner.group()
            if (
                not line.startswith(char * size, end)
                or (end + size < n and line[end + size] not in _EMPHASIS_AFTER)
                or not text[0].isalnum()
                or not text[-1].isalnum()
            ):
                return None
            tag = "strong" if size == 2 else "em"
            out.append((tag, text))
            i = end + size
        else:
            return None
    return out


def fast_paragraphs(
    text: str, inline: bool = False
) -> list[tuple[int, list[list[tuple[str, str]]]]] | None:
    """``text`` in the fast subset as paragraphs: (the number of its first line, counted from
    0, and each line's :func:`inline_pieces`); ``None`` outside the fast subset."""
    if inline:
        if not text or not text.isprintable() or text != text.strip():
            return None
        pieces = inline_pieces(text, True, text[-1])
        return None if pieces is None else [(0, [pieces])]
    paragraphs: list[tuple[int, list[list[tuple[str, str]]]]] = []
    lines: list[str] = []
    start = 0
    for number, line in enumerate([*text.split("\n"), ""]):
        if line:
            if not line.isprintable() or line != line.strip():
                return None
            first = line[0]
            if not (first.isalnum() or first in _LINE_START):
                return None
            if first.isdigit() and _ORDERED_LIST.match(line):
                return None
            if not lines:
                start = number
            lines.append(line)
        elif lines:
            last_char = lines[-1][-1]
            found = []
            for index, part in enumerate(lines):
                pieces = inline_pieces(part, index == 0, last_char)
                if pieces is None:
                    return None
                found.append(pieces)
            paragraphs.append((start, found))
            lines = []
    return paragraphs if paragraphs else None


def fast_render(text: str, inline: bool = False) -> str | None:
    """``text`` rendered as :meth:`HtmlRenderer.render` would, when it is simple enough.

    ``None`` means "not in the fast subset": render it with the full parser.
    """
    paragraphs = fast_paragraphs(text, inline)
    if paragraphs is None:
        return None
    if inline:
        return _html_pieces(paragraphs[0][1][0])
    return "\n".join(
        "<p>" + "\n".join(_html_pieces(line) for line in lines) + "</p>" for _, lines in paragraphs
    )


def table_columns(tokens: Sequence[Token], start: int) -> int:
    """The number of cells in the first row of the table whose tokens start at ``start``."""
    count = 0
    for token in tokens[start:]:
        if token.type in ("th_open", "td_open"):
            count += 1
        elif token.type == "tr_close":
            break
    return count
