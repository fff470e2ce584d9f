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
from flashgen.course.html_text import MAX_TAG, TAG_NAME, raw_html_pieces
from flashgen.render.fast_markdown import fast_render

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
    name = TAG_NAME.match(tag)
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
        if first.startswith("<") and not raw_tag_allowed(first[:MAX_TAG]):
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
            name = TAG_NAME.match(token.content)
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


def table_columns(tokens: Sequence[Token], start: int) -> int:
    """The number of cells in the first row of the table whose tokens start at ``start``."""
    count = 0
    for token in tokens[start:]:
        if token.type in ("th_open", "td_open"):
            count += 1
        elif token.type == "tr_close":
            break
    return count
