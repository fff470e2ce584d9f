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
    "span": {"class"},
    "div": {"class"},
    "code": {"class"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_IMAGE = re.compile(r"!\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)")
_HTML_IMAGE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)
_REMOTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


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
    return md


def image_references(text: str) -> list[str]:
    """Every image source written in ``text`` (Markdown or HTML), without parsing it fully."""
    if "![" not in text and "<img" not in text.lower():
        return []
    return [*_IMAGE.findall(text), *_HTML_IMAGE.findall(text)]


def is_remote(src: str) -> bool:
    return bool(_REMOTE.match(src)) or src.startswith("//")


def resolve_image(src: str, base_dir: Path, root: Path) -> Path | None:
    """The file an image reference names, if it exists inside the course folder."""
    if is_remote(src):
        return None
    path = (base_dir / src.split("#", 1)[0].split("?", 1)[0]).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path


def media_name(path: Path) -> str:
    """A flat, collision-free name for a media file: Anki keeps all media in one folder."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"flashgen-{digest}{path.suffix.lower()}"


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
        return renderer.render(tokens, md.options, env)

    def _image(self, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        src = str(token.attrs.get("src", ""))
        alt = escape(token.content or "")
        path = resolve_image(src, env["base_dir"], self.root)
        if path is None:
            return alt
        name = self._names.get(path)
        if name is None:
            name = self._names[path] = media_name(path)
            self.media[name] = path
        title = f' title="{escape(str(token.attrs["title"]))}"' if "title" in token.attrs else ""
        return f'<img src="{escape(name)}" alt="{alt}"{title}>'


def _math_inline(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return "\\(" + escape(tokens[idx].content, quote=False) + "\\)"


def _math_block(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return "\\[" + escape(tokens[idx].content.strip(), quote=False) + "\\]"


def _math_block_div(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return '<div class="math">' + _math_block(tokens, idx, options, env) + "</div>\n"


def sanitize(html: str) -> str:
    """Keep formatting, drop anything that could run code or load remote content."""
    import nh3

    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


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
