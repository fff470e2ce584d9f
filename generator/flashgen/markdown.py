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
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

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


@cache
def parser() -> MarkdownIt:
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
        md = parser()
        env = {"base_dir": base_dir}
        if inline:
            tokens = md.parseInline(text, env)
            html = self._render(md, tokens, env)
        else:
            html = self._render(md, md.parse(text, env), env)
        return sanitize(html.strip())

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
    return re.sub(r"\s+", " ", nh3.clean(html, tags=set())).strip()
