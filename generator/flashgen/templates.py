"""Find presentation templates: the course's own ``templates/`` first, then flashgen's defaults.

Anki card templates use ``{{Field}}`` themselves, so flashgen's Jinja2 environment uses
``[[ ... ]]`` for expressions and ``[% ... %]`` for statements; Anki's syntax passes through.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2


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
