"""`flashgen progress --html FILE`: the course's concept map coloured by the student's states,
beside the list of what to study next (each item with the Anki search that opens its cards).

One self-contained page: inline SVG (:func:`flashgen.concept_map.concept_map_svg`) and CSS,
no script, nothing fetched.
"""

from __future__ import annotations

from html import escape

from flashgen.outputs.cards import StudySet
from flashgen.outputs.concept_map import concept_map_svg
from flashgen.student.progress import IN_PROGRESS, MASTERED, NOT_STARTED, STRUGGLING, Progress
from flashgen.student.progress_json import iso_time
from flashgen.student.progress_report import STATE_LABELS, percent

READY = "ready-to-learn"
#: (fill, stroke, text) of each state's boxes; "ready to learn" is a not-started concept
#: whose prerequisites are all mastered.
COLOURS = {
    MASTERED: ("#cdebd0", "#2e7d32", "#12361a"),
    IN_PROGRESS: ("#d6e6fa", "#2f67b1", "#122845"),
    STRUGGLING: ("#f9d3cc", "#c0392b", "#4a1009"),
    READY: ("#fff1b8", "#a07800", "#3b2e00"),
    NOT_STARTED: ("#f1f1f1", "#a0a0a0", "#4d4d4d"),
}
LABELS = {**STATE_LABELS, READY: "ready to learn"}

_CSS = """
body { font-family: 'Noto Sans', 'DejaVu Sans', Arial, sans-serif; margin: 0; color: #1b2533; }
header { padding: 14px 20px 6px; }
h1 { font-size: 20px; margin: 0 0 4px; }
.as-of { color: #5b6b7f; font-size: 13px; margin: 0; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; list-style: none; padding: 0;
  margin: 10px 0 0; font-size: 13px; }
.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { width: 16px; height: 12px; border-radius: 3px; border: 1.5px solid; }
main { display: flex; gap: 18px; padding: 8px 20px 20px; align-items: flex-start; }
.map { flex: 0 1 auto; overflow: auto; border: 1px solid #d5dce5; border-radius: 6px;
  background: #fff; }
aside { flex: 0 0 320px; }
aside h2, section h2 { font-size: 16px; margin: 6px 0 8px; }
aside ol { padding-left: 20px; margin: 0; }
aside li { margin-bottom: 10px; font-size: 14px; }
.why { color: #5b6b7f; font-size: 12px; }
code { display: block; font-size: 11px; background: #f4f6f9; padding: 3px 5px; margin-top: 3px;
  border-radius: 3px; word-break: break-all; user-select: all; }
section { padding: 0 20px 20px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e3e8ee; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
"""


def _state_of(progress: Progress, concept_id: str) -> str:
    state = progress.concept(concept_id).state
    return READY if concept_id in progress.ready_to_learn else state


def progress_page(study: StudySet, progress: Progress) -> str:
    states = {c.id: _state_of(progress, c.id) for c in progress.concepts}
    svg = concept_map_svg(
        study,
        title=f"Concept map of {study.course.title}, coloured by state",
        id_prefix="fg-progress",
        box_colours={cid: COLOURS[state] for cid, state in states.items()},
        box_data={cid: {"state": state} for cid, state in states.items()},
    )
    titles = {c.id: c.title or c.id for c in progress.concepts}
    legend = "".join(
        f'<li><span class="swatch" style="background:{fill};border-color:{stroke}"></span>'
        f"{LABELS[state]} ({sum(1 for s in states.values() if s == state)})</li>"
        for state, (fill, stroke, _) in COLOURS.items()
    )
    items = []
    for entry in progress.review_first:
        for weak in entry.weak:
            items.append(
                (weak, f"a weak prerequisite of {titles[entry.concept]}, which you struggle with")
            )
    for entry in progress.review_first:
        items.append((entry.concept, "struggling: review it once its prerequisites hold"))
    for cid in progress.ready_to_learn:
        items.append((cid, "ready to learn: every prerequisite is mastered"))
    seen: set[str] = set()
    study_next = []
    for cid, why in items:
        if cid in seen:
            continue
        seen.add(cid)
        study_next.append(
            f'<li data-concept="{escape(cid)}"><strong>{escape(titles[cid])}</strong> '
            f'<span class="why">{escape(why)}</span>'
            f"<code>{escape(progress.search([cid]) or '')}</code></li>"
        )
    if not study_next:
        study_next.append("<li>Nothing new: keep up with the reviews Anki schedules.</li>")
    rows = "".join(
        f'<tr data-state="{c.state}"><td>{escape(titles[c.id])}</td><td>{LABELS[c.state]}</td>'
        f"<td>{c.cards}</td><td>{c.new}</td><td>{c.learning}</td><td>{c.review}</td>"
        f"<td>{c.lapses}</td><td>{percent(c.recall)}</td></tr>"
        for c in progress.concepts
    )
    title = escape(progress.course_title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: where I stand</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>{title}: where I stand</h1>
<p class="as-of">Recall as of {iso_time(progress.as_of)}; states and thresholds:
flashgen's docs/progress.md.</p>
<ul class="legend">{legend}</ul>
</header>
<main>
<div class="map">{svg}</div>
<aside>
<h2>Study next</h2>
<ol class="study-next">{"".join(study_next)}</ol>
</aside>
</main>
<section>
<h2>Every concept</h2>
<table>
<thead><tr><th>concept</th><th>state</th><th>cards</th><th>new</th><th>learning</th>
<th>review</th><th>lapses</th><th>recall now</th></tr></thead>
<tbody>{rows}</tbody>
</table>
</section>
</body>
</html>
"""
