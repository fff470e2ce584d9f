"""The preview site in a real (Debian) Chromium: navigation, and the Anki note-type templates'
own JavaScript running inside it, front then back, as in a review.

The cards on these pages are the note types of templates/anki/ rendered by the official Anki
library after importing the built deck, so these tests exercise the real templates, not a copy.
Set ``FLASHGEN_SCREENSHOT_DIR=docs/images`` to refresh the documentation screenshots.
"""

from __future__ import annotations

import mimetypes
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flashgen.outputs.preview import PreviewServer, build_preview
from preview_course import write_preview_course

from .conftest import ORIGIN, Harness

pytest.importorskip("anki", reason="the preview extra (anki) is not installed")
expect = pytest.importorskip("playwright.sync_api").expect

DASH = "\u2014"
SEED_COURSE = Path(__file__).resolve().parents[2] / "cards"


class SiteFolder:
    """Serves a folder on the fake origin; anything else is refused (pages are self-contained)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def handle(self, route: Any) -> None:
        url: str = route.request.url
        path = url.removeprefix(ORIGIN + "/").split("?", 1)[0].split("#", 1)[0]
        from urllib.parse import unquote

        file = (self.root / unquote(path or "index.html")).resolve()
        if url.startswith(ORIGIN + "/") and file.is_relative_to(self.root) and file.is_file():
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            route.fulfill(status=200, content_type=kind, body=file.read_bytes())
        else:
            route.abort()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_preview_course(tmp_path_factory.mktemp("course") / "course")
    target = tmp_path_factory.mktemp("site") / "preview"
    build_preview(root, target)
    return target


@pytest.fixture
def open_site(open_harness: Callable[..., Harness]) -> Callable[..., Harness]:
    def opener(root: Path, page: str, **options: Any) -> Harness:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        h = open_harness(**options)
        h.context.unroute("**/*")
        h.context.route("**/*", SiteFolder(root).handle)
        h.page.goto(f"{ORIGIN}/{page}")
        return h

    return opener


def card(h: Harness, kind: str, number: int = 0) -> Any:
    return h.page.locator(f'.pv-card[data-kind="{kind}"]').nth(number)


def front(h: Harness, kind: str, number: int = 0) -> Any:
    return h.page.frame_locator(f'.pv-card[data-kind="{kind}"] >> nth={number} >> .pv-front')


def back(h: Harness, kind: str, number: int = 0) -> Any:
    return h.page.frame_locator(f'.pv-card[data-kind="{kind}"] >> nth={number} >> .pv-back')


def key_of(frame: Any, text: str) -> str:
    return frame.locator(".fg-choice", has_text=text).get_attribute("data-key")


def test_multiple_choice_front_then_back(site: Path, open_site) -> None:
    h = open_site(site, "concepts/alpha.html")
    mcq_front, mcq_back = front(h, "multiple-choice"), back(h, "multiple-choice")
    right = key_of(mcq_front, "The right one")

    mcq_front.locator(".fg-choice", has_text="The right one").click()
    expect(mcq_front.locator(".fg-choice.fg-selected")).to_have_count(1)
    card(h, "multiple-choice").locator(".pv-show").click()
    expect(mcq_back.locator(".fg-verdict")).to_have_text("Correct")
    expect(mcq_back.locator(".fg-explanation")).to_contain_text("Because it is the right one.")
    picked = mcq_back.locator(f'.fg-choice[data-key="{right}"]').get_attribute("class") or ""
    assert {"fg-picked", "fg-right"} <= set(picked.split())

    card(h, "multiple-choice").locator(".pv-reset").click()
    expect(mcq_back.locator(".fg-verdict")).to_have_text("No choice selected")
    wrong = key_of(mcq_front, "Another wrong one")
    mcq_front.locator(f'.fg-choice[data-key="{wrong}"]').click()
    card(h, "multiple-choice").locator(".pv-show").click()
    expect(mcq_back.locator(".fg-verdict")).to_have_text(f"Incorrect {DASH} the answer is {right}")
    assert "fg-wrong" in (
        mcq_back.locator(f'.fg-choice[data-key="{wrong}"]').get_attribute("class") or ""
    )
    expect(mcq_back.locator(".fg-answer")).to_have_text(f"Answer: {right}")


def test_true_false_front_then_back(site: Path, open_site) -> None:
    h = open_site(site, "concepts/alpha.html")
    tf_front, tf_back = front(h, "true-false"), back(h, "true-false")
    tf_front.locator('.fg-choice[data-key="False"]').click()
    card(h, "true-false").locator(".pv-show").click()
    expect(tf_back.locator(".fg-verdict")).to_have_text(f"Incorrect {DASH} the answer is True")
    expect(tf_back.locator(".fg-explanation")).to_contain_text("Nothing comes before it.")
    card(h, "true-false").locator(".pv-reset").click()
    tf_front.locator('.fg-choice[data-key="True"]').click()
    card(h, "true-false").locator(".pv-show").click()
    expect(tf_back.locator(".fg-verdict")).to_have_text("Correct")


def test_cloze_front_hides_its_answer(site: Path, open_site) -> None:
    h = open_site(site, "concepts/beta.html")
    expect(h.page.locator('.pv-card[data-kind="cloze"]')).to_have_count(2)
    for number, (hidden, shown) in enumerate([("secret", "other"), ("other", "secret")]):
        qa = front(h, "cloze", number).locator("#qa")
        expect(qa).to_contain_text("[...]")
        expect(qa).to_contain_text(shown)
        assert hidden not in qa.inner_text()
        answer = back(h, "cloze", number).locator("#qa")
        expect(answer).to_contain_text(hidden)
        expect(answer).to_contain_text("Clozes hide words.")


def test_images_load_and_frames_fit_their_card(site: Path, open_site) -> None:
    h = open_site(site, "concepts/alpha.html")
    image = front(h, "concept").locator("img")
    expect(back(h, "concept").locator("img")).to_have_count(1)
    assert image.count() == 0  # the summary is on the back of a concept card
    loaded = back(h, "concept").locator("img").evaluate("img => img.complete && img.naturalWidth")
    assert loaded == 4
    height = h.page.locator('.pv-card[data-kind="concept"] .pv-back').evaluate(
        "f => f.getBoundingClientRect().height"
    )
    inner = back(h, "concept").locator("html").evaluate("e => e.scrollHeight")
    assert abs(height - inner) <= 2


def test_navigation_in_learning_order(site: Path, open_site) -> None:
    h = open_site(site, "index.html")
    chapters = h.page.locator(".pv-nav .pv-chapter h3").all_inner_texts()
    assert chapters == ["Basics", "More"]
    assert h.page.locator(".pv-nav li a").all_inner_texts() == ["Alpha & <Omega>", "Beta", "Gamma"]
    h.page.locator('.pv-map a[data-concept="beta"]').click()
    expect(h.page.locator("h1")).to_have_text("Beta")
    h.page.locator("a.pv-learn-after", has_text="Gamma").click()
    expect(h.page.locator("h1")).to_have_text("Gamma")
    h.page.locator("a.pv-learn-before", has_text="Beta").click()
    h.page.locator("a.pv-learn-before", has_text="Alpha").click()
    expect(h.page.locator("h1")).to_have_text("Alpha & <Omega>")
    expect(h.page.locator("a.pv-next")).to_have_text("Beta →")
    h.page.locator(".pv-home").click()
    expect(h.page.locator("h1")).to_have_text("Tiny Course")


def test_night_mode_reaches_the_cards(site: Path, open_site) -> None:
    h = open_site(site, "concepts/alpha.html")
    body = front(h, "true-false").locator("body")
    h.page.locator("#pv-night").check()
    expect(body).to_have_class("card card1 nightMode night_mode")
    h.page.reload()
    expect(front(h, "true-false").locator("body")).to_have_class("card card1 nightMode night_mode")


# ---- live reload, served for real on 127.0.0.1 -----------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[PreviewServer, Path]]:
    pytest.importorskip("watchfiles")
    root = write_preview_course(tmp_path / "course")
    server = PreviewServer(root, tmp_path / "site", port=0, log=lambda line: None)
    with server:
        server.start()
        time.sleep(0.3)  # let the watcher settle before the first edit
        yield server, root


def test_editing_a_file_reloads_the_open_page(served, browser: Any) -> None:
    server, root = served
    context = browser.new_context()
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "concepts/beta.html")
        expect(page.locator("h1")).to_have_text("Beta")
        beta = root / "one" / "beta.yaml"
        good = beta.read_text()
        beta.write_text(good.replace("title: Beta", "title: Beta Renamed"))
        expect(page.locator("h1")).to_have_text("Beta Renamed", timeout=30_000)

        beta.write_text(good.replace("prerequisites: [alpha]", "prerequisites: [alpah]"))
        banner = page.locator("#flashgen-error")
        expect(banner).to_contain_text("unknown prerequisite concept 'alpah'", timeout=30_000)
        expect(page.locator("h1")).to_have_text("Beta Renamed")  # the last good page

        beta.write_text(good)
        expect(page.locator("h1")).to_have_text("Beta", timeout=30_000)
        expect(banner).to_have_count(0)
    finally:
        context.close()
    assert not errors


def site_files(site: Path) -> dict[str, tuple[int, bytes]]:
    """Each file of the site: its modification time (ns) and content."""
    return {
        path.relative_to(site).as_posix(): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(site.rglob("*"))
        if path.is_file()
    }


def test_an_edit_rewrites_only_its_page_and_the_open_page_shows_it(
    tmp_path: Path, browser: Any
) -> None:
    """The server's rebuild after a summary edit writes one page (tests/outputs/
    test_preview_server.py has the other edits); the open page reloads and shows the card."""
    root = write_preview_course(tmp_path / "course")
    site = tmp_path / "site"
    with PreviewServer(root, site, port=0, log=lambda line: None) as server:
        server.start(watch=False)
        context = browser.new_context()
        errors: list[str] = []
        try:
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(server.url + "concepts/beta.html")
            summary = page.frame_locator(
                '.pv-card[data-kind="concept"] >> nth=0 >> .pv-back'
            ).locator("body")
            expect(summary).to_contain_text("Builds on alpha.")
            before = site_files(site)
            beta = root / "one" / "beta.yaml"
            beta.write_text(beta.read_text().replace("Builds on alpha.", "Edited."))
            assert server.rebuild()
            expect(summary).to_contain_text("Edited.", timeout=30_000)
            expect(summary).not_to_contain_text("Builds on alpha.")
            after = site_files(site)
            assert [name for name in after if after[name] != before.get(name)] == [
                "concepts/beta.html"
            ]
        finally:
            context.close()
    assert not errors


# ---- screenshots for the docs ------------------------------------------------------------------


def test_screenshots(open_site, tmp_path_factory: pytest.TempPathFactory) -> None:
    target = tmp_path_factory.mktemp("seed") / "preview"
    result = build_preview(SEED_COURSE, target)
    out = Path(os.environ.get("FLASHGEN_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    out.mkdir(parents=True, exist_ok=True)
    concept = next(
        c for c in result.study.order if any(q.kind == "multiple-choice" for q in c.questions)
    )
    h = open_site(
        target,
        f"concepts/{concept.id}.html",
        device_scale_factor=1,
        viewport={"width": 1100, "height": 1500},
    )
    mcq = card(h, "multiple-choice")
    # below the sticky top bar, so the element screenshot shows the card's own header
    mcq.evaluate("e => window.scrollTo(0, e.getBoundingClientRect().top + scrollY - 60)")
    mcq_front = front(h, "multiple-choice")
    answer = back(h, "multiple-choice").locator(".fg-back").get_attribute("data-answer")
    wrong = next(
        k
        for k in mcq_front.locator(".fg-choice").evaluate_all("e => e.map(c => c.dataset.key)")
        if k not in answer.split()
    )
    mcq_front.locator(f'.fg-choice[data-key="{wrong}"]').click()
    mcq.locator(".pv-show").click()
    expect(back(h, "multiple-choice").locator(".fg-verdict")).to_contain_text("Incorrect")
    h.page.wait_for_timeout(300)  # frames resize after the reload
    mcq.screenshot(path=str(out / "preview-mcq.png"))
    h.page.set_viewport_size({"width": 1280, "height": 900})
    h.page.goto(f"{ORIGIN}/index.html")
    h.page.screenshot(path=str(out / "preview-index.png"))
    for name in ("preview-mcq.png", "preview-index.png"):
        assert (out / name).stat().st_size > 5000


def test_math_is_typeset_by_mathjax_shipped_with_the_site(site: Path, open_site) -> None:
    """MathJax comes from the site's own folder (the test origin serves nothing else)."""
    assert (site / "mathjax" / "tex-chtml.js").is_file() and (
        site / "mathjax" / "LICENSE"
    ).is_file()
    h = open_site(site, "concepts/gamma.html")
    summary = back(h, "concept")
    expect(summary.locator("mjx-container")).to_have_count(2, timeout=20_000)
    text = summary.locator("#qa").inner_text()
    assert "\\(" not in text and "\\[" not in text and "\\nu" not in text
    assert summary.locator("mjx-container[display='true']").count() == 1
