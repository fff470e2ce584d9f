"""One rule for every file flashgen reads from a course (coursefiles): a regular file inside the
course, no link out of it, no FIFO or device, under a size limit; images told by content.
Each test is an attacker's course; nothing of the machine may reach an output."""

from __future__ import annotations

import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashgen.cli import main
from support import TESTS

DECK_COURSE = TESTS / "courses" / "deck"
SECRET = "s3cret-ssh-key-4b9d"
#: Where tests/courses/deck/basics/tokens.yaml names its image.
IMAGE_FIELD = "basics/tokens.yaml:9:35"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(DECK_COURSE, root)
    return root


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "private" / "id_rsa"
    path.parent.mkdir()
    path.write_text(f"-----BEGIN KEY-----\n{SECRET}\n")
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def output_texts(folder: Path) -> str:
    """Everything a student or reader could see in ``folder``: the deck's database and media,
    the PDFs' extracted text, every other file."""
    texts = []
    for path in folder.rglob("*") if folder.exists() else ():
        if path.suffix == ".apkg":
            with zipfile.ZipFile(path) as archive:
                texts.extend(archive.read(n).decode("latin-1") for n in archive.namelist())
        elif path.suffix == ".pdf":
            texts.append(
                subprocess.run(
                    ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
                ).stdout
            )
            texts.append(path.read_bytes().decode("latin-1"))
        elif path.is_file():
            texts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(texts)


def assert_refused_everywhere(
    course: Path, tmp_path: Path, expected: str, preview_reads_it: bool = True
) -> None:
    """check, build and preview refuse the course with ``expected``; the secret reaches nothing."""
    out = tmp_path / "out"
    commands = [["check", str(course)], ["build", str(course), "-o", str(out)]]
    if preview_reads_it and importlib.util.find_spec("anki") is not None:
        commands.append(["preview", str(course), "-o", str(out / "preview")])
    for args in commands:
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert expected in result.output, result.output
        assert SECRET not in result.output
        assert "Traceback" not in result.output
    assert SECRET not in output_texts(out)
    assert not out.exists() or not any(out.glob("*.apkg"))


def test_a_template_linked_to_a_private_file_is_refused(course, tmp_path, secret):
    link = course / "templates" / "anki" / "_header.html"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    assert_refused_everywhere(
        course, tmp_path, f"{link}: error: symbolic link points outside the course folder"
    )


def test_a_typst_file_linked_out_of_the_course_is_refused(course, tmp_path, secret):
    link = course / "templates" / "typst" / "notes.txt"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    guide = course / "templates" / "typst" / "guide.typ"
    guide.write_text('#read("notes.txt")\n')
    assert_refused_everywhere(
        course,
        tmp_path,
        f"{link}: error: symbolic link points outside the course folder",
        preview_reads_it=False,  # the preview shows the deck only
    )


def test_a_typst_folder_linked_out_of_the_course_is_refused(course, tmp_path, secret):
    link = course / "templates" / "typst"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret.parent, target_is_directory=True)
    result = run("build", str(course), "-o", str(tmp_path / "out"), "--only", "pdf")
    assert result.exit_code == 1, result.output
    assert "symbolic link points outside the course folder" in result.output
    assert SECRET not in output_texts(tmp_path / "out")


def test_a_typst_template_cannot_read_outside_its_scratch_root(course, tmp_path, secret):
    """Typst compiles in a folder holding only what flashgen staged: a path up and out of it
    (relative or absolute) is not found."""
    guide = course / "templates" / "typst" / "guide.typ"
    guide.parent.mkdir(parents=True)
    up = "../" * 30 + str(secret).lstrip("/")
    guide.write_text(f'Key:\n#read("{up}")\n')
    result = run("build", str(course), "-o", str(tmp_path / "out"), "--only", "pdf")
    assert result.exit_code == 1, result.output
    assert f"{guide}:2:" in result.output and "Typst template error" in result.output
    assert SECRET not in result.output + output_texts(tmp_path / "out")


def test_course_yaml_linked_out_of_the_course_is_refused(course, tmp_path, secret):
    (course / "course.yaml").unlink()
    (course / "course.yaml").symlink_to(secret)
    assert_refused_everywhere(
        course, tmp_path, "course.yaml: error: symbolic link points outside the course folder"
    )


def run_limited(args: list[str], cwd: Path, memory_mb: int = 0) -> subprocess.CompletedProcess:
    """flashgen in a child process; with ``memory_mb``, under that address-space limit. The
    timeout only keeps a regression from hanging the suite; nothing asserts on time."""

    def limit() -> None:
        if memory_mb:
            size = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    return subprocess.run(
        [sys.executable, "-m", "flashgen", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit,
    )


@pytest.mark.parametrize("name", ["evil.yaml", "course.yaml", "templates/anki/style.css"])
def test_a_fifo_is_refused_without_opening_it(course, tmp_path, name):
    fifo = course / name
    fifo.parent.mkdir(parents=True, exist_ok=True)
    fifo.unlink(missing_ok=True)
    os.mkfifo(fifo)
    result = run_limited(["check", str(course)], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"course/{name}: error: " in result.stdout  # relative to the working directory
    assert "is a FIFO (named pipe): flashgen reads only regular files" in result.stdout


def test_a_template_over_the_size_limit_is_refused(course, tmp_path):
    big = course / "templates" / "anki" / "style.css"
    big.parent.mkdir(parents=True)
    big.write_text("/* x */\n" * 200_000)
    result = run("check", str(course))
    assert result.exit_code == 1
    assert f"{big}: error: template is too large (1.5 MiB; the limit for templates is 1.0 MiB)" in (
        result.output
    )


# --- images ----------------------------------------------------------------------------------


def test_a_sparse_image_of_2_5_gb_is_refused_without_reading_it(course, tmp_path):
    image = course / "images" / "tokens.png"
    with image.open("r+b") as handle:
        handle.truncate(2500 * 1024 * 1024)
    result = run_limited(["check", str(course)], tmp_path, memory_mb=1024)
    assert result.returncode == 1, result.stderr
    assert (
        f"{IMAGE_FIELD}: error: image '../images/tokens.png' is too large "
        "(2500.0 MiB; the limit for images is 10.0 MiB)"
    ) in result.stdout.replace("course/", "")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html><script>alert(document.cookie)</script>", "is not a PNG, JPEG, GIF, WebP or SVG"),
        (b"#!/bin/sh\nrm -rf ~\n", "is not a PNG, JPEG, GIF, WebP or SVG"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "is an SVG image holding '<script'",
        ),
        (b'<svg onload="alert(1)"></svg>', "is an SVG image holding 'onload='"),
        (
            b'<svg><x:script xmlns:x="http://www.w3.org/2000/svg">alert(1)</x:script></svg>',
            "is an SVG image holding '<x:script'",
        ),
        (
            b'<svg><set attributeName="href" to="javascript:alert(1)"/></svg>',
            "is an SVG image holding 'javascript:'",
        ),
        (
            b'<svg><image href="https://tracker.example/p.png"/></svg>',
            "is an SVG image holding 'href=\"h'",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg/>',
            "is not a PNG",
        ),
    ],
)
def test_an_image_that_is_not_a_safe_image_is_refused(course, tmp_path, content, message):
    (course / "images" / "tokens.png").write_bytes(content)
    result = run("check", str(course))
    assert result.exit_code == 1
    assert f"tokens.yaml:9:35: error: image '../images/tokens.png' {message}" in result.output


def test_an_image_is_packed_under_the_suffix_of_its_content(course, tmp_path):
    """A real PNG named .html is packed as .png; a plain SVG is accepted as .svg."""
    png = (course / "images" / "tokens.png").read_bytes()
    (course / "images" / "tokens.png").unlink()
    (course / "images" / "tokens.html").write_bytes(png)
    (course / "images" / "plain.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
        '<rect width="4" height="4" fill="#0a0"/></svg>'
    )
    concept = course / "basics" / "tokens.yaml"
    concept.write_text(
        concept.read_text().replace(
            "images/tokens.png)", "images/tokens.html) ![s](../images/plain.svg)"
        )
    )
    result = run("build", str(course), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "out" / "deck-demo.apkg") as archive:
        names = archive.read("media").decode()
    assert ".png" in names and ".svg" in names and ".html" not in names


def test_an_image_linked_out_of_the_course_is_refused(course, tmp_path, secret):
    image = course / "images" / "tokens.png"
    image.unlink()
    image.symlink_to(secret)
    result = run("check", str(course))
    assert result.exit_code == 1
    assert "image '../images/tokens.png' is outside the course folder" in result.output
