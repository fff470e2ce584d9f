"""``flashgen preview``: the site's content and the live server (the browser tests of the
pages and of the card templates inside them are in tests/browser/test_preview.py)."""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashgen.cli import main
from flashgen.diagnostics import CourseError
from flashgen.outputs import preview
from preview_course import write_preview_course

pytest.importorskip("anki", reason="the preview extra (anki) is not installed")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_preview_course(tmp_path_factory.mktemp("course") / "course")
    target = tmp_path_factory.mktemp("site") / "preview"
    result = preview.build_preview(root, target)
    assert result.pages == 4 and result.cards == 8  # 3 concepts + MCQ, TF, 2 cloze, basic
    return target


def frames(page: str) -> list[str]:
    """The documents in the page's card frames (srcdoc attributes, unescaped)."""
    return [html.unescape(doc) for doc in re.findall(r'srcdoc="([^"]*)"', page)]


def card_text(doc: str) -> str:
    """The card's text, without markup, scripts and styles."""
    card = doc.split("<div id='qa'>", 1)[1]
    card = re.sub(r"<(script|style)>.*?</\1>", "", card, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", card))


def test_site_has_an_index_and_a_page_per_concept(site: Path) -> None:
    assert sorted(p.name for p in (site / "concepts").iterdir()) == [
        "alpha.html",
        "beta.html",
        "gamma.html",
    ]
    index = (site / "index.html").read_text()
    # navigation in learning order, by chapter
    positions = [index.index(f'href="concepts/{cid}.html"') for cid in ("alpha", "beta", "gamma")]
    assert positions == sorted(positions)
    assert index.index(">Basics<") < index.index(">More<")
    # the concept map: an inline SVG whose boxes link to the concept pages
    svg = index[index.index("<svg") : index.index("</svg>")]
    assert svg.count("<rect") == 3 and 'href="concepts/beta.html"' in svg
    assert "Alpha &amp; &lt;Omega&gt;" in index and "<Omega>" not in index
    assert (site / "preview.css").is_file() and (site / "preview.js").is_file()


def test_concept_page_links_and_cards(site: Path) -> None:
    page = (site / "concepts" / "beta.html").read_text()
    assert re.search(r'class="pv-learn-before" href="alpha.html"', page)
    assert re.search(r'class="pv-learn-after" href="gamma.html"', page)
    assert 'rel="prev" href="alpha.html"' in page and 'rel="next" href="gamma.html"' in page
    docs = frames(page)
    assert len(docs) == 2 * 4  # concept card + cloze 1 + cloze 2 + basic, front and back
    for doc in docs:
        assert "{{" not in doc  # Anki filled every field
        assert "<style>" in doc and ".fg-card" in doc  # the note type's CSS
        assert "<body class='card card" in doc
    cloze_front = next(d for d in docs if "The hidden word is" in d)
    assert "secret" not in card_text(cloze_front) and "[...]" in card_text(cloze_front)
    gamma = (site / "concepts" / "gamma.html").read_text()
    assert 'class="pv-related" href="alpha.html"' in gamma


def test_quiz_fronts_hold_no_answer_and_media_is_copied(site: Path) -> None:
    docs = frames((site / "concepts" / "alpha.html").read_text())
    mcq_front, mcq_back = (d for d in docs if "Which answer is right?" in d)
    assert "data-answer=" not in mcq_front and "The right one" in card_text(mcq_front)
    assert "data-answer=" in mcq_back
    summary = next(d for d in docs if "The first idea." in d)
    name = re.search(r'<img src="([^"]+)"', summary).group(1)
    assert (site / "media" / name).read_bytes()[:4] == b"\x89PNG"
    assert "<base href='../media/'>" in summary


def test_a_course_with_errors_keeps_the_last_preview(tmp_path: Path) -> None:
    root = write_preview_course(tmp_path / "course")
    target = tmp_path / "preview"
    preview.build_preview(root, target)
    before = (target / "index.html").read_text()
    (root / "one" / "beta.yaml").write_text("id: beta\ntitle: [unclosed\n")
    with pytest.raises(CourseError):
        preview.build_preview(root, target)
    assert (target / "index.html").read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_missing_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "anki" else real(name, *a)
    )
    with pytest.raises(preview.PreviewUnavailable, match=re.escape("pip install '.[preview]'")):
        preview.build_preview(write_preview_course(tmp_path / "c"), tmp_path / "p")
    result = CliRunner().invoke(main, ["preview", str(tmp_path / "c"), "-o", str(tmp_path / "p")])
    assert result.exit_code == 4
    assert "in the flashgen folder, pip install '.[preview]'" in result.output


def test_cli_writes_the_site(tmp_path: Path) -> None:
    root = write_preview_course(tmp_path / "c")
    result = CliRunner().invoke(main, ["preview", str(root), "-o", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    assert "3 concept pages, 8 cards" in result.output
    assert "\r" not in result.output  # no progress bar when not on a terminal
    assert (tmp_path / "site" / "concepts" / "gamma.html").is_file()


# ---- serve -----------------------------------------------------------------------------------


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def wait_for(condition, timeout: float = 30.0):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail("timed out waiting for the preview server")


def test_serve_rebuilds_and_survives_errors(tmp_path: Path) -> None:
    pytest.importorskip("watchfiles")
    root = write_preview_course(tmp_path / "course")
    lines: list[str] = []
    server = preview.PreviewServer(root, tmp_path / "site", port=0, log=lines.append)
    assert server.httpd.server_address[0] == "127.0.0.1"
    with server:
        server.start()
        status = lambda: json.loads(get(server.url + "__flashgen__/status")[1])  # noqa: E731
        assert status() == {"version": 1, "error": None}
        code, index = get(server.url)
        assert code == 200 and "Alpha &amp; &lt;Omega&gt;" in index
        assert '<script src="/__flashgen__/live.js" data-version="1">' in index
        assert get(server.url + "__flashgen__/live.js")[0] == 200
        assert get(server.url + "concepts/nope.html")[0] == 404

        time.sleep(0.3)  # let the watcher settle before the first edit
        beta = root / "one" / "beta.yaml"
        beta.write_text(beta.read_text().replace("title: Beta", "title: Beta Edited"))
        wait_for(lambda: status()["version"] >= 2)
        assert "Beta Edited" in get(server.url + "concepts/beta.html")[1]

        beta.write_text("id: beta\ntitle: [unclosed\n")
        broken = wait_for(lambda: (s := status())["error"] and s)
        assert "beta.yaml" in broken["error"]
        assert "Beta Edited" in get(server.url + "concepts/beta.html")[1]  # last good site
        assert any("last good preview" in line for line in lines)

        beta.write_text(beta.read_text().replace("[unclosed", "Beta Fixed") + BETA_REST)
        wait_for(lambda: status()["error"] is None)
        assert "Beta Fixed" in get(server.url + "concepts/beta.html")[1]
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url, timeout=2)


BETA_REST = "chapter: basics\nprerequisites: [alpha]\nsummary: Back again.\n"


def test_site_can_be_copied_to_a_web_server(site: Path) -> None:
    """Folders and files get the usual permissions (readable by all, less the umask), not the
    private 0700 of a temporary folder: a web server copying the site must be able to read it."""
    umask = os.umask(0)
    os.umask(umask)
    for path in (site, *site.rglob("*")):
        usual = (0o777 if path.is_dir() else 0o666) & ~umask
        assert path.stat().st_mode & 0o777 == usual, path


COURSES = Path(__file__).resolve().parents[1] / "courses"


@pytest.mark.parametrize(
    "course",
    [*sorted((COURSES / "bad").iterdir()), COURSES / "quality", COURSES / "markup-errors"],
    ids=lambda path: path.name,
)
def test_the_preview_reports_what_check_reports(course: Path, tmp_path: Path) -> None:
    """The preview reads and checks the course itself (reusing unchanged files between
    rebuilds): its messages are those of ``flashgen check``, on the first build and on the
    next one from its memo."""
    import shutil

    from flashgen.pipeline.load import load_course

    root = shutil.copytree(course, tmp_path / "course")
    _, expected = load_course(root)
    memo = preview.PreviewMemo()
    for _ in range(2):
        try:
            result = preview.build_preview(root, tmp_path / "site", memo=memo)
            got = result.diagnostics
        except CourseError as error:
            got = error.diagnostics
        assert got.render_text() == expected.render_text()
