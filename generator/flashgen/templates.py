"""Find presentation templates: the course's own ``templates/`` first, then flashgen's defaults.

Anki card templates use ``{{Field}}`` themselves, so flashgen's Jinja2 environment uses
``[[ ... ]]`` for expressions and ``[% ... %]`` for statements; Anki's syntax passes through.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from .diagnostics import Diagnostics, Location


@cache
def default_templates_dir() -> Path:
    """flashgen's own templates: inside the wheel, or the repository's ``templates/``."""
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def template_dirs(course_dir: Path | None) -> list[Path]:
    """Search path, most specific first: a course may override any single template file."""
    dirs = []
    if course_dir is not None and (course_dir / "templates").is_dir():
        dirs.append(course_dir / "templates")

    dirs.append(default_templates_dir())
    return dirs


def template_environment(course_dir: Path | None = None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(course_dir)]),
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def template_error(error: jinja2.TemplateError) -> Diagnostics:
    """A template's own error as a located diagnostic (a course's override may be broken)."""
    filename = getattr(error, "filename", None)
    line = getattr(error, "lineno", None) or 0
    if filename is None:
        # Runtime errors (an undefined name, a missing include) carry their position in the
        # traceback, which Jinja2 rewrites to point into the template file.
        frame = error.__traceback__
        while frame is not None:
            name = frame.tb_frame.f_code.co_filename
            if not name.endswith(".py") and not name.startswith("<") and Path(name).is_file():
                filename, line = name, frame.tb_lineno
            frame = frame.tb_next
    if isinstance(error, jinja2.TemplateNotFound):
        message = f"template not found: {error.name}"
    else:
        message = f"template error: {error.message or error}"
    diag = Diagnostics()
    path = Path(filename) if filename else Path("templates")
    diag.error(Location(path, line, 1 if line else 0), message)
    return diag
