"""The dashboard in a real browser (Debian's chromium, Playwright): a provinsi supervisor
opens the dashboard, drills down to the kabupaten whose stage is late, follows "Siapa yang
menahan?" to the kecamatan holding it, presses "Ingatkan", and the reminder reaches that
kecamatan's inbox. The pages fit 1280 px and 390 px; screenshots go to AKSI_SHOTS."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import time_machine

from chromium import chromium, needs_browser, served
from engine.people import add_user
from runtime.support import YEAR, user
from web.conftest import PASSWORD

MAR_5 = dt.datetime(2026, 3, 5, 3, 0, tzinfo=dt.timezone.utc)
SHOTS = os.environ.get("AKSI_SHOTS")
SUPERVISOR = "pemantau-provinsi"
HOLDER = "19.01.02"  # Belinyu: its situation analysis is late, the kabupaten's waits for it


def _sign_in(context, base, username):
    page = context.new_page()
    page.goto(f"{base}/masuk")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"dashboard-{name}.png"), full_page=True)


@needs_browser
def test_a_provinsi_supervisor_finds_who_holds_a_kabupaten_and_reminds_them(app, defs):
    with app.extensions["aksi.db"].session() as s:
        add_user(s, defs, SUPERVISOR, role="supervisor", region="19", password=PASSWORD)
        add_user(s, defs, user("operator", HOLDER), password=PASSWORD)
    with time_machine.travel(MAR_5, tick=False), served(app) as base, chromium() as browser:
        for width in (390, 1280):
            context = browser.new_context(viewport={"width": width, "height": 900})
            try:
                page = _sign_in(context, base, SUPERVISOR)
                page.click("nav >> text=Pantauan")
                page.wait_for_load_state()
                # The only province loaded: its supervisor watches the whole country.
                assert "Pantauan Nasional" in page.locator("h1").inner_text()
                _fits(page, width)
                _shot(page, f"nasional-{width}")
                page.get_by_role("link", name="Kepulauan Bangka Belitung", exact=True).first.click()
                page.wait_for_load_state()
                assert "Pantauan Kepulauan Bangka Belitung" in page.locator("h1").inner_text()
                _fits(page, width)
                _shot(page, f"provinsi-{width}")
                page.get_by_role("link", name=re.compile(r"^(Kabupaten )?Bangka$")).first.click()
                page.wait_for_load_state()
                assert "Pantauan Kabupaten Bangka" in page.locator("h1").inner_text()
                _fits(page, width)
                _shot(page, f"kabupaten-{width}")
                page.get_by_role("link", name="Siapa yang menahan? Analisis Situasi").first.click()
                page.wait_for_load_state()
                assert f"/kejar/penghambat/{YEAR}/19.01/" in page.url
                _fits(page, width)
                _shot(page, f"penghambat-{width}")
                if width == 1280:
                    page.get_by_role("button", name="Ingatkan: Analisis Situasi, Belinyu").click()
                    page.wait_for_load_state()
                    assert "Belinyu terkirim" in page.locator(".flash.success").inner_text()
            finally:
                context.close()
        context = browser.new_context(viewport={"width": 390, "height": 900})
        try:
            page = _sign_in(context, base, user("operator", HOLDER))
            page.goto(f"{base}/kotak-masuk")
            item = page.locator("tr", has=page.locator(f"a[href$='/{HOLDER}/analisis_situasi']"))
            assert item.count() == 1 and "Diingatkan" in item.inner_text()
            assert SUPERVISOR in item.inner_text()
            _fits(page, 390)
            _shot(page, "kotak-masuk-390")
        finally:
            context.close()
