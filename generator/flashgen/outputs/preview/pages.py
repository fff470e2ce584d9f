"""The preview's pages: the index (chapters and concept maps) and one page per concept with
its cards, each card side in its own frame, rendered with the templates in
``templates/preview/``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from flashgen.course.coursefiles import size_text
from flashgen.course.model import Concept
from flashgen.diagnostics import CourseError, Diagnostics, display_path
from flashgen.outputs.cards import StudySet
from flashgen.outputs.concept_map import WHOLE_MAP_LIMIT, concept_map_svg
from flashgen.outputs.preview.anki_render import CardSide
from flashgen.render.mathjax import FOLDER as MATHJAX_FOLDER
from flashgen.render.mathjax import copy_to as copy_mathjax
from flashgen.render.templates import template_environment

if TYPE_CHECKING:
    import jinja2


def page_name(concept_id: str) -> str:
    """A concept page's file name inside ``concepts/`` (ids are safe in file names)."""
    return f"{concept_id}.html"


def card_document(
    html: str, css: str, ord_: int, media_base: str, mathjax_base: str | None = None
) -> str:
    """A card side as an Anki client's page: the note type's CSS, the card in ``#qa``, and
    MathJax from ``mathjax_base`` (relative to ``media_base``) when the side has math."""
    scripts = ""
    if mathjax_base is not None and ("\\(" in html or "\\[" in html):
        from flashgen.render.mathjax import script_tags

        scripts = script_tags(mathjax_base)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<base href='{media_base}'><style>{css}</style>"
        f"<style>html,body{{margin:0}}</style>{scripts}</head>"
        f"<body class='card card{ord_ + 1}'><div id='qa'>{html}</div></body></html>"
    )


#: The most card text (each side with its CSS) one concept page may hold: a concept of 30,000
#: questions would make a page of about a gigabyte that no browser opens. About 300 questions
#: fit; escaped into the page, it stays under the template output limit (64 MiB).
MAX_PAGE_CHARS = 12 * 1024 * 1024


def _page_too_large(concept: Concept, cards: int) -> Diagnostics:
    diag = Diagnostics()
    diag.error(
        concept.location,
        f"the preview page of concept '{concept.id}' ({cards:,} cards) would be over the limit "
        f"of {size_text(MAX_PAGE_CHARS)}; split the concept into smaller ones",
    )
    return diag


def page_environment(course_dir: Path) -> jinja2.Environment:
    """The templates of the pages: the course's, else flashgen's; every value is escaped
    unless marked :class:`~markupsafe.Markup`."""
    env = template_environment(course_dir)
    env.autoescape = True
    return env


class SiteWriter:
    """Renders the pages with the Jinja2 templates in ``templates/preview/``."""

    def __init__(
        self,
        study: StudySet,
        sides: Sequence[CardSide],
        course_dir: Path,
        env: jinja2.Environment | None = None,
    ) -> None:
        self.study = study
        self.course = study.course
        self.sides = sides
        self.course_dir = course_dir
        #: ``env`` is one :func:`page_environment` made earlier (its compiled templates kept).
        self.env = env or page_environment(course_dir)
        self.order = list(study.order)
        self.index_of = {concept.id: i for i, concept in enumerate(self.order)}
        #: Whether MathJax was copied into the site (see :mod:`flashgen.render.mathjax`).
        self.mathjax = False
        self.by_concept: dict[str, list[CardSide]] = {}
        for side in sides:
            self.by_concept.setdefault(side.card.concept.id, []).append(side)

    def chapters(self) -> list[dict[str, Any]]:
        """Chapters in course order, each with its concepts in learning order."""
        result = []
        for chapter in self.course.chapters:
            concepts = [c for c in self.order if c.chapter == chapter.id]
            result.append({"chapter": chapter, "concepts": concepts})
        return result

    def link(self, concept_id: str, prefix: str) -> dict[str, str] | None:
        concept = self.course.concept(concept_id)
        if concept is None:
            return None
        return {"id": concept.id, "title": concept.title, "href": prefix + page_name(concept.id)}

    def links(self, ids: Iterable[str], prefix: str) -> list[dict[str, str]]:
        found = (self.link(cid, prefix) for cid in dict.fromkeys(ids))
        return [link for link in found if link is not None]

    def common(self, root: str) -> dict[str, Any]:
        return {
            "course": self.course,
            "root": root,
            "concept_count": len(self.order),
            "card_count": len(self.sides),
            "question_count": self.course.question_count,
        }

    def index_html(self) -> str:
        maps = []
        if len(self.order) <= WHOLE_MAP_LIMIT:
            svg = concept_map_svg(
                self.study,
                href=lambda cid: "concepts/" + page_name(cid),
                id_prefix="fg-map-all",
            )
            maps.append({"title": None, "svg": Markup(svg)})
        else:
            for number, chapter in enumerate(self.course.chapters):
                ids = [c.id for c in self.order if c.chapter == chapter.id]
                if not ids:
                    continue
                svg = concept_map_svg(
                    self.study,
                    concepts=ids,
                    href=lambda cid: "concepts/" + page_name(cid),
                    id_prefix=f"fg-map-{number}",
                    title=f"Concept map of {chapter.title}",
                )
                maps.append({"title": chapter.title, "svg": Markup(svg)})
        template = self.env.get_template("preview/index.html")
        return template.render(
            **self.common(""),
            chapters=self.chapters(),
            maps=maps,
            cards_of={cid: len(sides) for cid, sides in self.by_concept.items()},
        )

    def concept_html(self, concept: Concept) -> str:
        position = self.index_of[concept.id]
        before = self.order[position - 1] if position > 0 else None
        after = self.order[position + 1] if position + 1 < len(self.order) else None
        learn_after = self.study.learn_after.get(concept.id, ())
        neighbourhood = [*concept.prerequisite_ids, concept.id, *learn_after]
        svg = concept_map_svg(
            self.study,
            concepts=neighbourhood,
            highlight=[concept.id],
            href=lambda cid: page_name(cid),
            id_prefix="fg-map-local",
            title=f"{concept.title}: what comes before and after",
        )
        chapter = self.course.chapter(concept.chapter)
        mathjax = f"../{MATHJAX_FOLDER}/" if self.mathjax else None
        cards = []
        size = 0
        for side in self.by_concept.get(concept.id, []):
            front = card_document(side.front, side.css, side.ord, "../media/", mathjax)
            back = card_document(side.back, side.css, side.ord, "../media/", mathjax)
            size += len(front) + len(back)
            if size > MAX_PAGE_CHARS:
                raise CourseError(_page_too_large(concept, len(self.by_concept[concept.id])))
            cards.append(
                {
                    "label": side.label,
                    "kind": side.card.kind,
                    "question_id": side.card.question.id if side.card.question else "",
                    "code": side.card.code,
                    "front": front,
                    "back": back,
                }
            )
        template = self.env.get_template("preview/concept.html")
        return template.render(
            **self.common("../"),
            concept=concept,
            chapter=chapter,
            chapter_concepts=[c for c in self.order if c.chapter == concept.chapter],
            source=display_path(concept.path, self.course_dir).as_posix(),
            previous=self.link(before.id, "") if before else None,
            next=self.link(after.id, "") if after else None,
            learn_before=self.links(concept.prerequisite_ids, ""),
            learn_after=self.links(learn_after, ""),
            related=self.links(concept.related_ids, ""),
            map_svg=Markup(svg),
            cards=cards,
        )

    def write(self, target: Path) -> list[Path]:
        written = []
        (target / "concepts").mkdir(parents=True, exist_ok=True)
        for asset in ("preview.css", "preview.js"):
            source = self.env.get_template(f"preview/{asset}").render()
            (target / asset).write_text(source, encoding="utf-8")
        self.mathjax = copy_mathjax(target)
        index = target / "index.html"
        index.write_text(self.index_html(), encoding="utf-8")
        written.append(index)
        for concept in self.order:
            page = target / "concepts" / page_name(concept.id)
            page.write_text(self.concept_html(concept), encoding="utf-8")
            written.append(page)
        return written
