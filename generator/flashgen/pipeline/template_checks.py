"""``flashgen check`` for a course's own templates: each file under the course-file rule, each
Jinja2 template compiled and rendered (in the sandbox) with representative data, nothing
written. Typst templates are checked as files here; Typst compiles them at build time."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2

from flashgen.course.coursefiles import MAX_TEMPLATE_BYTES, course_file_problem
from flashgen.course.model import Course
from flashgen.diagnostics import Diagnostics, Location
from flashgen.render.templates import template_environment, template_error

#: Template folders rendered by Jinja2 (``typst/`` holds Typst source, read by Typst).
JINJA_FOLDERS = ("anki", "preview")


def course_template_files(course_dir: Path) -> list[Path]:
    """Every entry below the course's ``templates/``, without following links to folders."""
    folder = course_dir / "templates"
    if not folder.is_dir():
        return []
    found = []
    for here, dirs, files in os.walk(folder):
        dirs.sort()
        base = Path(here)
        found.extend(base / name for name in sorted(files))
        found.extend(base / name for name in dirs if (base / name).is_symlink())
    return found


def check_templates(course_dir: Path, course: Course | None) -> Diagnostics:
    """Problems of the course's own templates. The preview's are rendered with ``course``
    (``None`` when it has errors: those are reported by check, and the preview's templates
    are then only compiled)."""
    diag = Diagnostics()
    files = course_template_files(course_dir)
    if not files:
        return diag
    bad = False
    for path in files:
        problem = course_file_problem(path, course_dir, MAX_TEMPLATE_BYTES, "template")
        if problem:
            diag.error(Location(path), problem)
            bad = True
    if bad:
        return diag
    root = course_dir / "templates"
    env = template_environment(course_dir)
    kinds = {path.relative_to(root).parts[0] for path in files if len(path.relative_to(root).parts)}
    for path in files:
        relative = path.relative_to(root)
        if relative.parts[0] in JINJA_FOLDERS:
            try:
                env.get_template(relative.as_posix())
            except jinja2.TemplateError as error:
                diag.extend(template_error(error))
    if diag.has_errors:
        return diag
    if "anki" in kinds:
        _render_anki(env, diag)
    if "preview" in kinds:
        _render_preview(course_dir, course, diag)
    return diag


def _render_anki(env: jinja2.Environment, diag: Diagnostics) -> None:
    from flashgen.outputs.notetypes import build_note_types

    try:
        build_note_types(env)
    except jinja2.TemplateError as error:
        diag.extend(template_error(error))


def _render_preview(course_dir: Path, course: Course | None, diag: Diagnostics) -> None:
    """The index, one concept page and the assets, as ``flashgen preview`` renders them (with
    no cards: rendering those needs Anki)."""
    from flashgen.outputs.cards import study_cards
    from flashgen.outputs.preview.pages import SiteWriter

    if course is None or not course.concepts:
        return  # the course's own errors are reported by check
    study = study_cards(course)
    writer = SiteWriter(study, [], course_dir)
    try:
        writer.index_html()
        writer.concept_html(study.order[0])
        for asset in ("preview.css", "preview.js"):
            writer.env.get_template(f"preview/{asset}").render()
    except jinja2.TemplateError as error:
        diag.extend(template_error(error))
