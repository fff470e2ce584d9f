"""The concept map: the prerequisite graph as a layered drawing (foundations on top).

One drawing for every output: the HTML preview inlines :func:`concept_map_svg` and the PDF study
guide embeds the same SVG string. The layout is deterministic and close to linear in the number
of concepts plus links:

* **layers** by longest path: a foundation is in layer 0, any other concept one layer below its
  deepest prerequisite, so every arrow points down;
* **order within a layer** starts from the learning order (chapter, then file order) and is
  refined by a few barycenter sweeps (each concept moves towards the mean position of its
  neighbours), which removes most crossings;
* **wide layers wrap** into several rows of at most ``max_per_row`` boxes, so a course with fifty
  foundations stays a readable page instead of one very long row.

Very large selections are capped (``max_concepts``): the drawing keeps the first concepts in
learning order and says how many it left out; draw one map per chapter instead
(``concepts=...``) to see everything.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from html import escape

from flashgen.course.graph import learning_order
from flashgen.course.model import Concept, Course
from flashgen.outputs.cards import StudySet

#: Above this many concepts the preview's index and the PDF study guide draw one concept map
#: per chapter instead of one of the whole course.
WHOLE_MAP_LIMIT = 150

#: Fonts for the box titles: Latin first, then CJK-capable fallbacks (Noto CJK is what the
#: project installs; the others cover macOS and Windows viewers).
FONT_FAMILY = (
    "'Noto Sans', 'DejaVu Sans', 'Noto Sans CJK SC', 'Noto Sans CJK JP', 'Noto Sans CJK KR', "
    "'Source Han Sans', 'PingFang SC', 'Hiragino Sans', 'Microsoft YaHei', 'Malgun Gothic', "
    "Arial, sans-serif"
)


@dataclass(frozen=True, slots=True)
class MapStyle:
    """Sizes in SVG user units (px)."""

    box_width: float = 168
    line_height: float = 15
    max_lines: int = 3
    #: Width of one narrow character; wide (CJK) characters count twice.
    char_width: float = 6.9
    font_size: float = 12
    padding: float = 8
    column_gap: float = 22
    row_gap: float = 46
    margin: float = 12

    @property
    def box_height(self) -> float:
        return self.max_lines * self.line_height + 2 * self.padding

    @property
    def chars_per_line(self) -> int:
        return max(4, int((self.box_width - 2 * self.padding) / self.char_width))


@dataclass(frozen=True, slots=True)
class Box:
    id: str
    title: str
    #: Title wrapped into at most ``MapStyle.max_lines`` lines.
    lines: tuple[str, ...]
    layer: int
    x: float
    y: float
    width: float
    height: float
    foundation: bool

    @property
    def center_x(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True, slots=True)
class MapLayout:
    boxes: dict[str, Box]
    #: ``(prerequisite, concept)`` pairs, both drawn.
    edges: tuple[tuple[str, str], ...]
    width: float
    height: float
    #: Concepts of the selection left out because of ``max_concepts``.
    omitted: int = 0
    style: MapStyle = field(default_factory=MapStyle)


def _course(source: Course | StudySet) -> Course:
    return source.course if isinstance(source, StudySet) else source


def layout(
    source: Course | StudySet,
    *,
    concepts: Iterable[str] | None = None,
    max_per_row: int = 8,
    max_concepts: int = 400,
    sweeps: int = 4,
    style: MapStyle | None = None,
) -> MapLayout:
    """Place each concept of ``source`` (or of the ids in ``concepts``) in a layered drawing.

    Only links between drawn concepts are drawn. Concepts caught in a prerequisite cycle (an
    error ``flashgen check`` reports) are placed, but their back links are ignored for layering.
    """
    style = style or MapStyle()
    course = _course(source)
    # A study set carries the learning order: a page's small map must not recompute it
    order: list[Concept] = list(
        source.order if isinstance(source, StudySet) else learning_order(course)
    )
    if concepts is not None:
        wanted = set(concepts)
        order = [c for c in order if c.id in wanted]
    omitted = max(0, len(order) - max_concepts)
    order = order[:max_concepts]
    rank = {concept.id: index for index, concept in enumerate(order)}
    prerequisites = {
        c.id: [p for p in dict.fromkeys(c.prerequisite_ids) if p in rank and rank[p] < rank[c.id]]
        for c in order
    }
    dependents: dict[str, list[str]] = {c.id: [] for c in order}
    for cid, prereqs in prerequisites.items():
        for p in prereqs:
            dependents[p].append(cid)

    layer_of: dict[str, int] = {}
    for concept in order:  # learning order: every prerequisite is placed first
        layer_of[concept.id] = 1 + max((layer_of[p] for p in prerequisites[concept.id]), default=-1)
    layers: list[list[str]] = [[] for _ in range(1 + max(layer_of.values(), default=-1))]
    for concept in order:
        layers[layer_of[concept.id]].append(concept.id)

    _reduce_crossings(layers, prerequisites, dependents, sweeps)
    rows: list[tuple[int, list[str]]] = []
    for number, members in enumerate(layers):
        for start in range(0, len(members), max(1, max_per_row)):
            rows.append((number, members[start : start + max(1, max_per_row)]))

    step_x = style.box_width + style.column_gap
    widest = max((len(members) for _, members in rows), default=0)
    width = 2 * style.margin + max(0.0, widest * step_x - style.column_gap)
    boxes: dict[str, Box] = {}
    y = style.margin
    titles = {c.id: c.title or c.id for c in order}
    has_prerequisite = {
        c.id: any(course.concept(p) is not None for p in c.prerequisite_ids) for c in order
    }
    for number, members in rows:
        offset = style.margin + (widest - len(members)) * step_x / 2
        for index, cid in enumerate(members):
            boxes[cid] = Box(
                id=cid,
                title=titles[cid],
                lines=wrap(titles[cid], style.chars_per_line, style.max_lines),
                layer=number,
                x=offset + index * step_x,
                y=y,
                width=style.box_width,
                height=style.box_height,
                foundation=not has_prerequisite[cid],
            )
        y += style.box_height + style.row_gap
    height = (y - style.row_gap + style.margin) if rows else 2 * style.margin
    edges = tuple((p, cid) for cid in rank for p in prerequisites[cid])
    return MapLayout(boxes, edges, width, height, omitted, style)


def _reduce_crossings(
    layers: list[list[str]],
    up: Mapping[str, list[str]],
    down: Mapping[str, list[str]],
    sweeps: int,
) -> None:
    """Barycenter heuristic, alternating downward and upward sweeps; ties keep their order."""
    position: dict[str, float] = {}

    def renumber(members: list[str]) -> None:
        count = len(members)
        for index, cid in enumerate(members):
            # normalised to [0, 1] so layers of different widths compare
            position[cid] = (index + 0.5) / count

    for members in layers:
        renumber(members)
    for sweep in range(sweeps):
        downward = sweep % 2 == 0
        sequence = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        neighbours = up if downward else down
        for number in sequence:
            members = layers[number]

            def key(item: tuple[int, str], neighbours: Mapping[str, list[str]] = neighbours):
                index, cid = item
                linked = neighbours[cid]
                if not linked:
                    return (position[cid], index)
                return (sum(position[n] for n in linked) / len(linked), index)

            members[:] = [cid for _, cid in sorted(enumerate(members), key=key)]
            renumber(members)


def text_width(text: str) -> int:
    """Display width in narrow-character units: East Asian wide characters count as two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, width: int, max_lines: int) -> tuple[str, ...]:
    """Break ``text`` into lines of at most ``width`` display units, at spaces where possible.

    Text without spaces (CJK) breaks between characters. Lines past ``max_lines`` are dropped and
    the last kept line ends with an ellipsis.
    """
    words = " ".join(text.split()).split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if text_width(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for ch in word:  # a word longer than a line: break it anywhere
            if text_width(current + ch) > width:
                lines.append(current)
                current = ""
            current += ch
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        kept = lines[:max_lines]
        last = kept[-1]
        while last and text_width(last) + 1 > width:
            last = last[:-1]
        kept[-1] = last.rstrip() + "…"
        lines = kept
    return tuple(lines) or ("",)


def concept_map_svg(
    source: Course | StudySet,
    *,
    concepts: Iterable[str] | None = None,
    highlight: Iterable[str] = (),
    href: Callable[[str], str | None] | None = None,
    id_prefix: str = "fg-map",
    title: str | None = None,
    max_per_row: int = 8,
    max_concepts: int = 400,
    map_layout: MapLayout | None = None,
    band: tuple[float, float] | None = None,
    box_colours: Mapping[str, tuple[str, str, str]] | None = None,
    box_data: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The concept map as a standalone SVG document (no external resources, text escaped).

    ``concepts`` limits the drawing to some concept ids (e.g. one chapter's); ``highlight``
    marks some boxes (e.g. the concept a page is about); ``href`` makes boxes links (the HTML
    preview uses it; the PDF does not); ``id_prefix`` keeps element ids unique when several maps
    share one HTML page. ``band`` (top, bottom) draws only that horizontal strip of the
    drawing, in the drawing's coordinates, with what crosses its edges cut off: the PDF splits
    a map too tall for a page into strips between rows that, stacked, give the whole drawing.
    ``box_colours`` gives some boxes their own ``(fill, stroke, text)`` colours and
    ``box_data`` extra ``data-*`` attributes (``flashgen progress`` colours concepts by state).
    """
    lay = map_layout or layout(
        source, concepts=concepts, max_per_row=max_per_row, max_concepts=max_concepts
    )
    style = lay.style
    marked = set(highlight)
    note_height = 22 if lay.omitted else 0
    width, height = max(lay.width, 1), lay.height + note_height
    top, bottom = band if band is not None else (0.0, height)

    def shown(y1: float, y2: float) -> bool:
        return band is None or (y1 < bottom and y2 > top)

    label = escape(title or f"Concept map of {_course(source).title}")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width:g}" '
        f'height="{bottom - top:g}" viewBox="0 {top:g} {width:g} {bottom - top:g}" role="img" '
        f'aria-label="{label}" font-family="{escape(FONT_FAMILY)}" '
        f'font-size="{style.font_size:g}">',
        f"<title>{label}</title>",
        f'<defs><marker id="{id_prefix}-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#5b6b7f"/></marker></defs>',
        '<g fill="none" stroke="#8a99ab" stroke-width="1.3">',
    ]
    for source_id, target_id in lay.edges:
        a, b = lay.boxes[source_id], lay.boxes[target_id]
        x1, y1 = a.center_x, a.y + a.height
        x2, y2 = b.center_x, b.y
        if not shown(y1, y2):
            continue
        bend = max(18.0, (y2 - y1) / 2)
        out.append(
            f'<path d="M {x1:.1f} {y1:.1f} C {x1:.1f} {y1 + bend:.1f}, {x2:.1f} '
            f'{y2 - bend:.1f}, {x2:.1f} {y2:.1f}" marker-end="url(#{id_prefix}-arrow)">'
            f"<title>{escape(a.title)} → {escape(b.title)}</title></path>"
        )
    out.append("</g>")
    for box in lay.boxes.values():
        if not shown(box.y, box.y + box.height):
            continue
        if box_colours and box.id in box_colours:
            fill, stroke, ink = box_colours[box.id]
        elif box.id in marked:
            fill, stroke, ink = "#1f5fa8", "#17487f", "#ffffff"
        elif box.foundation:
            fill, stroke, ink = "#e6f2e6", "#5e8f5e", "#1c2a1c"
        else:
            fill, stroke, ink = "#eef3fa", "#6a83a3", "#1b2533"
        link = href(box.id) if href else None
        data = "".join(
            f' data-{escape(name)}="{escape(value)}"'
            for name, value in (box_data or {}).get(box.id, {}).items()
        )
        opening = (
            f'<a href="{escape(link)}" class="fg-map-link" data-concept="{escape(box.id)}"{data}>'
            if link
            else f'<g data-concept="{escape(box.id)}"{data}>'
        )
        out.append(opening)
        out.append(f"<title>{escape(box.title)} ({escape(box.id)})</title>")
        out.append(
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:g}" '
            f'height="{box.height:g}" rx="6" ry="6" fill="{fill}" stroke="{stroke}" '
            'stroke-width="1.2"/>'
        )
        first = box.y + box.height / 2 - (len(box.lines) - 1) * style.line_height / 2
        for number, line in enumerate(box.lines):
            out.append(
                f'<text x="{box.center_x:.1f}" y="{first + number * style.line_height:.1f}" '
                f'text-anchor="middle" dominant-baseline="central" fill="{ink}">'
                f"{escape(line)}</text>"
            )
        out.append("</a>" if link else "</g>")
    if lay.omitted and shown(lay.height, height):
        out.append(
            f'<text x="{style.margin:g}" y="{lay.height + 12:.1f}" fill="#6b6b6b" '
            f'font-style="italic">{lay.omitted} more concepts not drawn; '
            "see the map of each chapter.</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
