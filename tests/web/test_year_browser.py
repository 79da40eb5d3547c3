"""In a real browser (Debian's chromium), at 390 and 1280 px: the vendored Mermaid draws
the calendar, the stage graph and the lifecycle under the pages' Content-Security-Policy
(no violation reported), no page is wider than the window, and the inbox marks read.
Screenshots go to $AKSI_SHOTS (default tmp/artifacts/year) to look at."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from chromium import needs_browser, served
from engine.worker.tick import tick

from runtime.support import WORKFLOWS, user
from .conftest import KEC, PASSWORD

pytestmark = needs_browser
REPO = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("AKSI_SHOTS", REPO / "tmp" / "artifacts" / "year"))
PREFIX = os.environ.get("AKSI_SHOTS_PREFIX", "")
PAGES = (("kalender", "/kalender/2026", 1), ("definisi-kecamatan", "/definisi/kecamatan", 2),
         ("definisi", "/definisi", 0))


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/masuk")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/masuk" not in url)


def _shot(page, name: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{PREFIX}{name}-{width}.png"), full_page=True)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{name} at {width} px is {wide} px wide"


@pytest.mark.parametrize("width", (390, 1280))
def test_mermaid_draws_the_diagrams_under_the_policy(app, browser, width):
    app.config["WORKFLOWS"] = str(WORKFLOWS)
    tick(app.extensions["aksi.db"], dt.datetime(2026, 1, 8, 2, tzinfo=dt.timezone.utc))
    with served(app) as base:
        context = browser.new_context(viewport={"width": width, "height": 900})
        try:
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            _sign_in(page, base, user("supervisor", "19.01"))
            for name, path, diagrams in PAGES:
                page.goto(base + path)
                if diagrams:
                    page.wait_for_selector("html[data-diagrams=drawn]", timeout=60_000)
                    drawn = page.locator("figure.diagram pre.mermaid svg")
                    assert drawn.count() == diagrams, name
                    assert page.locator("svg[aria-roledescription=error]").count() == 0, name
                    # Drawn with its styles: a node's fill is not the black of no style.
                    fill = page.evaluate(
                        "getComputedStyle(document.querySelector("
                        "'figure.diagram svg rect, figure.diagram svg path')).fill")
                    assert fill not in ("rgb(0, 0, 0)", ""), (name, fill)
                _shot(page, name, width)
            assert not [p for p in problems if "Content Security Policy" in p], problems
            # The inbox: the count in the menu, marking one read.
            page.goto(base + "/kotak-masuk")
            _shot(page, "kotak-masuk", width)
        finally:
            context.close()


def test_the_inbox_marks_read_in_the_browser(app, browser):
    tick(app.extensions["aksi.db"], dt.datetime(2026, 1, 8, 2, tzinfo=dt.timezone.utc))
    with served(app) as base:
        context = browser.new_context(viewport={"width": 390, "height": 900})
        try:
            page = context.new_page()
            _sign_in(page, base, user("operator", KEC))
            page.goto(base + "/kotak-masuk")
            before = page.locator("header .badge.count [aria-hidden=true]").inner_text()
            _shot(page, "kotak-masuk-operator", 390)
            page.locator("button", has_text="Tandai dibaca").first.click()
            page.wait_for_load_state()
            after = page.locator("header .badge.count [aria-hidden=true]")
            if before == "1":
                assert after.count() == 0
            else:
                assert after.inner_text() == str(int(before) - 1)
            assert page.locator("td span.muted", has_text="Sudah dibaca").count() == 1
        finally:
            context.close()
