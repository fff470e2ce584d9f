"""Fixtures for driving Anki-rendered cards in a real (Debian) Chromium through Playwright.

Pages are served from a fake origin with ``context.route`` (no network, no server process) so
that ``sessionStorage`` behaves as on a real origin. Nothing else is ever fetched.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if importlib.util.find_spec("flashgen") is None:  # running from a checkout, not installed
    sys.path.insert(0, str(ROOT / "generator"))

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ORIGIN = "https://cards.flashgen.test"


class CardSite:
    """An in-memory website on :data:`ORIGIN`: ``put(path, html)`` then ``page.goto(url(path))``."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}

    def put(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.url(path)

    @staticmethod
    def url(path: str) -> str:
        return f"{ORIGIN}/{path}"

    def handle(self, route: Any) -> None:
        url: str = route.request.url
        path = url.removeprefix(ORIGIN + "/").split("?", 1)[0]
        if url.startswith(ORIGIN + "/") and path in self.pages:
            route.fulfill(
                status=200,
                content_type="text/html; charset=utf-8",
                body=self.pages[path],
            )
        else:  # cards must be self-contained: any other request is a bug
            route.abort()


class Harness:
    """A browser context + page on the fake origin that records uncaught page errors."""

    def __init__(self, context: Any, site: CardSite) -> None:
        self.context = context
        self.site = site
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def open_harness(browser: Any) -> Iterator[Callable[..., Harness]]:
    """Factory: ``open_harness(java_script_enabled=..., viewport=...)``; fails on page errors."""
    harnesses: list[Harness] = []

    def factory(**context_options: Any) -> Harness:
        context_options.setdefault("viewport", {"width": 520, "height": 860})
        context = browser.new_context(**context_options)
        site = CardSite()
        context.route("**/*", site.handle)
        harness = Harness(context, site)
        harnesses.append(harness)
        return harness

    yield factory
    errors = [error for harness in harnesses for error in harness.errors]
    for harness in harnesses:
        harness.context.close()
    assert not errors, f"uncaught errors in card JavaScript: {errors}"
