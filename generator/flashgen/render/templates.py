"""Find presentation templates: the course's own ``templates/`` first, then flashgen's defaults.

Anki card templates use ``{{Field}}`` themselves, so flashgen's Jinja2 environment uses
``[[ ... ]]`` for expressions and ``[% ... %]`` for statements; Anki's syntax passes through.

A course's templates may come from a stranger, so every template is rendered in Jinja2's
immutable sandbox: no attribute starting with ``_`` (so no ``__globals__``, ``__class__``,
``__subclasses__``), no method that changes a value, ``str.format`` checked like any other
attribute access, ``range`` limited; and a course's template files are read under
:mod:`flashgen.course.coursefiles`' rule (regular files inside the course, under a size limit).
Any error a template raises, a :class:`~jinja2.sandbox.SecurityError` included, becomes a
diagnostic at the template's file and line.
"""

from __future__ import annotations

import functools
import os
import re
import string
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from flashgen.course.coursefiles import MAX_TEMPLATE_BYTES, CourseFileError, read_course_file
from flashgen.diagnostics import Diagnostics, Location

#: The longest string or list a template expression may build with ``*`` (characters/items),
#: and the largest exponent of ``**``: a template cannot fill memory with one expression.
MAX_PRODUCT_LENGTH = 1_000_000
MAX_EXPONENT = 64
#: The most text one template may render (a loop can repeat a bounded string many times).
MAX_TEMPLATE_OUTPUT = 64 * 1024 * 1024


@cache
def default_templates_dir() -> Path:
    """flashgen's own templates: inside the wheel, or the repository's ``templates/``."""
    packaged = Path(__file__).parents[1] / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "templates"


def template_dirs(course_dir: Path | None) -> list[Path]:
    """Search path, most specific first: a course may override any single template file."""
    dirs = []
    if course_dir is not None and (course_dir / "templates").is_dir():
        dirs.append(course_dir / "templates")

    dirs.append(default_templates_dir())
    return dirs


class TemplateFileError(jinja2.TemplateError):
    """A course's template file breaks the course-file rule or is not UTF-8."""

    def __init__(self, path: Path, message: str, line: int = 0):
        super().__init__(message)
        self.filename = str(path)
        self.lineno = line


class CourseTemplateLoader(jinja2.BaseLoader):
    """flashgen's templates, each overridable by a file at the same path in the course's
    ``templates/``, read under the course-file rule."""

    def __init__(self, course_dir: Path | None):
        self.course_dir = course_dir
        self.dirs = template_dirs(course_dir)

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # refuses '..'
        for folder in self.dirs:
            path = folder.joinpath(*pieces)
            if not os.path.lexists(path):
                continue
            if self.course_dir is not None and folder != default_templates_dir():
                try:
                    data = read_course_file(path, self.course_dir, MAX_TEMPLATE_BYTES, "template")
                except CourseFileError as error:
                    raise TemplateFileError(path, error.message) from None
            else:
                data = path.read_bytes()
            try:
                source = data.decode("utf-8")
            except UnicodeDecodeError as error:
                line = data.count(b"\n", 0, error.start) + 1
                raise TemplateFileError(
                    path, f"template is not valid UTF-8 (byte 0x{data[error.start]:02x})", line
                ) from None
            mtime = os.path.getmtime(path)
            return source, str(path), functools.partial(_unchanged, path, mtime)
        raise jinja2.TemplateNotFound(template)


def _unchanged(path: Path, mtime: float) -> bool:
    try:
        return os.path.getmtime(path) == mtime
    except OSError:
        return False


class BoundedTemplate(jinja2.Template):
    """A template whose output stops at :data:`MAX_TEMPLATE_OUTPUT` characters."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        parts: list[str] = []
        total = 0
        generator = self.generate(*args, **kwargs)
        for part in generator:
            total += len(part)
            parts.append(part)
            if total > MAX_TEMPLATE_OUTPUT:
                # Raised inside the template, so that the error points at the line producing it.
                error = SecurityError(
                    f"the template renders more than {MAX_TEMPLATE_OUTPUT // 1024 // 1024} MiB"
                )
                generator.throw(error)
        return "".join(parts)


class CourseSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, with ``*`` and ``**`` bounded and every error a template
    error (so that callers catch one exception type and locate it)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters = {name: _bounded(f) for name, f in self.filters.items()}
        self.filters["format"] = _bounded_printf(self.filters["format"])

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_sizes(args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(value.__self__)
        return wrapped

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is over the limit of {MAX_EXPONENT}")
            return left**right
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, (str, list, tuple))
                    and isinstance(count, int)
                    and len(sequence) * count > MAX_PRODUCT_LENGTH
                ):
                    raise SecurityError(
                        f"repeating a value {count} times is over the limit of "
                        f"{MAX_PRODUCT_LENGTH:,} characters or items"
                    )
            return left * right
        if operator == "%" and isinstance(left, str):
            _check_printf(left)
        return super().call_binop(context, operator, left, right)

    def handle_exception(self, source: str | None = None) -> Any:
        error = sys.exc_info()[1]
        if error is None or isinstance(error, jinja2.TemplateError):
            return super().handle_exception(source)
        try:
            return super().handle_exception(source)
        except Exception as rewritten:  # the traceback now runs through the template's lines
            wrapped = jinja2.TemplateRuntimeError(f"{type(rewritten).__name__}: {rewritten}")
            raise wrapped.with_traceback(rewritten.__traceback__) from None


def _check_sizes(args: Any, kwargs: dict[str, Any]) -> None:
    """Refuse a whole-number argument over the limit: widths, paddings, counts and batch sizes
    are how a call (``'x'.ljust(N)``, ``|center(N)``, ``|batch(N, 'x')``) fills memory."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and abs(value) > MAX_PRODUCT_LENGTH:
            raise SecurityError(f"the number {value} is over the limit of {MAX_PRODUCT_LENGTH:,}")


def _check_format(text: str) -> None:
    """Refuse widths and precisions over the limit in a ``str.format`` string."""
    for _, _, spec, _ in string.Formatter().parse(text):
        if not spec:
            continue
        if "{" in spec:
            raise SecurityError("a format spec may not hold replacement fields")
        for number in re.findall(r"\d+", spec):
            if int(number) > MAX_PRODUCT_LENGTH:
                raise SecurityError(f"format width {number} is over the limit")


def _check_printf(text: str) -> None:
    """Refuse ``%``-format widths over the limit, and widths taken from arguments (``%*s``)."""
    for spec in re.findall(r"%[^a-zA-Z%]*", text):
        if "*" in spec:
            raise SecurityError("'*' widths are not allowed in a template")
        for number in re.findall(r"\d+", spec):
            if int(number) > MAX_PRODUCT_LENGTH:
                raise SecurityError(f"format width {number} is over the limit")


def _bounded(function: Callable[..., Any]) -> Callable[..., Any]:
    skip = 2 if hasattr(function, "jinja_pass_arg") else 1  # the context, then the value

    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_sizes(args[skip:], kwargs)
        return function(*args, **kwargs)

    if skip == 2:
        bounded.jinja_pass_arg = function.jinja_pass_arg  # type: ignore[attr-defined]
    return bounded


def _bounded_printf(function: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            _check_printf(value)
        return function(value, *args, **kwargs)

    return bounded


def template_environment(course_dir: Path | None = None) -> jinja2.Environment:
    env = CourseSandbox(
        loader=CourseTemplateLoader(course_dir),
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
    env.template_class = BoundedTemplate
    return env


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
    elif isinstance(error, TemplateFileError):
        message = str(error)
    elif isinstance(error, SecurityError):
        message = f"template error: not allowed in a template: {error.message or error}"
    else:
        message = f"template error: {error.message or error}"
    diag = Diagnostics()
    path = Path(filename) if filename else Path("templates")
    diag.error(Location(path, line, 1 if line else 0), message)
    return diag
