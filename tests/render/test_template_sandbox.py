"""A course's templates run in Jinja2's sandbox: no code runs, no file is read, errors are
located (issue: "course templates run arbitrary Python")."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flashgen.cli import main
from flashgen.diagnostics import Location
from flashgen.render.templates import template_environment, template_error
from support import TESTS

DECK_COURSE = TESTS / "courses" / "deck"
SECRET = "s3cret-token-7f1e"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(DECK_COURSE, root)
    return root


def payloads(marker: Path, secret: Path) -> list[str]:
    """The issue's payload and its variants: each tries to run `touch marker` or read `secret`."""
    touch = f"touch {marker}"
    return [
        f"[[ cycler.__init__.__globals__.os.popen('{touch}').read() ]]",
        f"[[ self.__init__.__globals__.__builtins__.__import__('os').system('{touch}') ]]",
        f"[[ lipsum.__globals__['os'].popen('{touch}').read() ]]",
        f"[[ lipsum.__globals__.__builtins__.open('{secret}').read() ]]",
        "[[ range.__class__.__mro__[1].__subclasses__() ]]",
        "[[ ''.__class__.__mro__[1].__subclasses__() ]]",
        f"[% set g = joiner.__init__.__globals__ %][[ g.os.system('{touch}') ]]",
        f"[% set x = namespace() %][% set x.f = cycler.__init__ %][[ x.f('{touch}') ]]",
        "[[ '{0.__class__.__mro__[1].__subclasses__}'.format('') ]]",
        "[[ '{0.__init__.__globals__[os]}'.format(cycler) ]]",
        "[[ '{x.__globals__}'.format_map({'x': lipsum}) ]]",
        "[[ ''|attr('__class__')|attr('__mro__') ]]",
        "[[ '%s'|format(lipsum.__globals__) ]]",
        "[% for c in [].__class__.__base__.__subclasses__() %][[ c ]][% endfor %]",
        "[[ {}.update(a=1) ]][[ [].append(1) ]]",
        "[[ 'x' * 1000000000 ]]",
        "[[ 'x'.ljust(1000000000) ]]",
        "[[ '{:>1000000000}'.format(1) ]]",
        "[[ '%1000000000s' % 1 ]]",
        "[[ 2 ** 1000000000 ]]",
        "[% for i in range(100000) %][[ 'x' * 1000000 ]][% endfor %]",
    ]


def test_every_payload_is_a_located_error_and_runs_nothing(tmp_path):
    marker, secret = tmp_path / "PWNED", tmp_path / "secret.txt"
    secret.write_text(SECRET)
    root = tmp_path / "course"
    template = root / "templates" / "anki" / "style.css"
    template.parent.mkdir(parents=True)
    for payload in payloads(marker, secret):
        template.write_text(f".card {{ color: black; }}\n/* theme */\n{payload}\n")
        env = template_environment(root)
        with pytest.raises(jinja2.TemplateError) as caught:
            env.get_template("anki/style.css").render()
        rendered = template_error(caught.value).render_text()
        assert rendered.startswith(f"{template}:3:1: error: template error: "), payload
        assert not marker.exists(), payload
        assert SECRET not in rendered


def build_everything(course: Path, out: Path) -> list[str]:
    """check, build (deck and PDFs) and preview: the outputs of each run."""
    runner = CliRunner()
    results = [
        runner.invoke(main, ["check", str(course)]),
        runner.invoke(main, ["build", str(course), "-o", str(out)]),
        runner.invoke(main, ["preview", str(course), "-o", str(out / "preview")]),
    ]
    for result in results:
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
    return [result.output for result in results]


def test_the_issues_payload_in_style_css_runs_nothing_in_check_build_or_preview(course, tmp_path):
    marker = tmp_path / "PWNED"
    template = course / "templates" / "anki" / "style.css"
    template.parent.mkdir(parents=True)
    template.write_text(
        ".card { font-family: serif; }\n"
        f"[[ cycler.__init__.__globals__.os.popen('touch {marker}').read() ]]\n"
    )
    out = tmp_path / "out"
    for output in build_everything(course, out):
        assert f"{template}:2:1: error: template error: not allowed in a template" in output
        assert "__init__" in output
    assert not marker.exists()
    assert not out.exists() or not any(out.rglob("*.apkg"))


def test_check_validates_a_preview_override_with_representative_data(course):
    template = course / "templates" / "preview" / "concept.html"
    template.parent.mkdir(parents=True)
    template.write_text("<h1>[[ concept.title ]]</h1>\n<p>[[ concept.no_such_thing.x ]]</p>\n")
    result = CliRunner().invoke(main, ["check", str(course)])
    assert result.exit_code == 1, result.output
    assert f"{template}:2:1: error: template error:" in result.output
    assert "no_such_thing" in result.output


def test_check_reports_a_syntax_error_in_an_unused_override(course):
    template = course / "templates" / "anki" / "_unused.html"
    template.parent.mkdir(parents=True)
    template.write_text("ok\n[% if %]\n")
    result = CliRunner().invoke(main, ["check", str(course)])
    assert result.exit_code == 1
    assert f"{template}:2:1: error: template error:" in result.output


def test_a_harmless_override_still_builds(course, tmp_path):
    template = course / "templates" / "anki" / "style.css"
    template.parent.mkdir(parents=True)
    template.write_text(
        "[% for size in [1, 2] %].s[[ size ]] { margin: [[ size * 4 ]]px; }\n[% endfor %]"
        "[[ '%02d'|format(7) ]] [[ '{:>3}'.format('a') ]]\n"
    )
    assert CliRunner().invoke(main, ["check", str(course)]).exit_code == 0
    result = CliRunner().invoke(main, ["build", str(course), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "o" / "deck-demo.apkg") as archive:
        database = archive.read("collection.anki2")
    assert b".s2 { margin: 8px; }" in database and b"07   a" in database


# --- fuzz ------------------------------------------------------------------------------------

_ROOTS = [
    "cycler",
    "joiner",
    "namespace",
    "lipsum",
    "range",
    "dict",
    "self",
    "''",
    "[]",
    "{}",
    "0",
    "loop",
    "caller",
    "varargs",
    "kwargs",
    "x",
]
_ATTRS = [
    "__class__",
    "__init__",
    "__globals__",
    "__mro__",
    "__subclasses__",
    "__base__",
    "__bases__",
    "__builtins__",
    "__import__",
    "__dict__",
    "__getattribute__",
    "__call__",
    "__self__",
    "__func__",
    "__code__",
    "__reduce__",
    "__reduce_ex__",
    "gi_frame",
    "f_globals",
    "f_back",
    "func_globals",
    "mro",
    "os",
    "sys",
    "popen",
    "system",
    "read",
    "open",
    "eval",
    "exec",
    "format",
    "format_map",
    "get",
    "items",
    "values",
    "pop",
    "update",
    "append",
    "copy",
    "modules",
    "environment",
    "_TemplateReference__context",
    "parent",
    "vars",
    "exported_vars",
    "tb_frame",
    "f_locals",
    "jinja_pass_arg",
]


@st.composite
def expressions(draw: st.DrawFn, marker: str, secret: str) -> str:
    expression = draw(st.sampled_from(_ROOTS))
    for _ in range(draw(st.integers(1, 6))):
        step = draw(st.sampled_from(["attr", "item", "call", "filter", "format"]))
        name = draw(st.sampled_from(_ATTRS))
        if step == "attr":
            expression += f".{name}"
        elif step == "item":
            key = draw(st.sampled_from([repr(name), "0", "1", "-1"]))
            expression += f"[{key}]"
        elif step == "call":
            arg = draw(st.sampled_from(["", f"'touch {marker}'", f"'{secret}'", "'os'", "1"]))
            expression += f"({arg})"
        elif step == "filter":
            expression += f"|attr('{name}')"
        else:
            expression = f"'{{0.{name}}}'.format({expression})"
    statement = draw(
        st.sampled_from(
            [
                "[[ {e} ]]",
                "[% set v = {e} %][[ v ]]",
                "[% for v in {e} %][[ v ]][% endfor %]",
                "[% if {e} %]y[% endif %]",
            ]
        )
    )
    return statement.format(e=expression)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_attribute_chains_never_run_code_or_read_files(tmp_path, data):
    marker, secret = tmp_path / "PWNED", tmp_path / "secret.txt"
    secret.write_text(SECRET)
    source = data.draw(expressions(str(marker), str(secret)))
    root = tmp_path / "course"
    template = root / "templates" / "anki" / "style.css"
    template.parent.mkdir(parents=True, exist_ok=True)
    template.write_text(f"/* fuzz */\n{source}\n")
    env = template_environment(root)
    try:
        output = env.get_template("anki/style.css").render()
    except jinja2.TemplateError as error:  # every failure is a template error, located
        diagnostic = template_error(error).items[0]
        assert diagnostic.location == Location(template, 2, 1), diagnostic
        output = diagnostic.message
    assert not marker.exists(), source
    assert SECRET not in output, source
    assert "<module 'os'" not in output and "<built-in function" not in output, source


MEMORY_BOMBS = [
    "[[ 'x' * 1000000000 ]]",
    "[[ 'x'.ljust(1000000000) ]]",
    "[[ 'x'|center(1000000000) ]]",
    "[[ '{:>1000000000}'.format(1) ]]",
    "[[ '%1000000000s' % 1 ]]",
    "[[ 9 ** 999999999 ]]",
    "[[ [1]|batch(1000000000, 'x')|list ]]",
    "[% for i in range(100000) %][[ 'x' * 1000000 ]][% endfor %]",
]


@pytest.mark.parametrize("bomb", MEMORY_BOMBS)
def test_a_template_cannot_fill_memory(course, tmp_path, bomb):
    """`flashgen check` under a 1 GiB address-space limit: the bomb is a located error, not a
    MemoryError or a killed process."""
    import resource
    import subprocess
    import sys

    template = course / "templates" / "anki" / "style.css"
    template.parent.mkdir(parents=True)
    template.write_text(f".card {{}}\n{bomb}\n")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1024**3, 1024**3))

    result = subprocess.run(
        [sys.executable, "-m", "flashgen", "check", str(course)],
        capture_output=True,
        text=True,
        timeout=600,  # a guard against a hang, not a measurement
        preexec_fn=limit,
    )
    assert result.returncode == 1, result.stderr
    assert f"{template}:2:1: error: template error: not allowed in a template" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
