"""/kejar in a real browser (Debian's chromium, Playwright): a kab/kota supervisor finds
the late kecamatan, presses "Ingatkan", and the reminder reaches that kecamatan's inbox;
the pages fit 1280 px and 390 px. Screenshots go to AKSI_SHOTS (e.g. /work/notes/shots)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import time_machine

from chromium import chromium, needs_browser, served
from engine.people import add_user
from runtime.support import YEAR, user
from web.conftest import PASSWORD

MAR_5 = dt.datetime(2026, 3, 5, 3, 0, tzinfo=dt.timezone.utc)
SHOTS = os.environ.get("AKSI_SHOTS")


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
        page.screenshot(path=str(Path(SHOTS) / f"h3-{name}.png"), full_page=True)


@needs_browser
def test_supervisor_reminds_the_late_kecamatan_from_the_browser(app, defs):
    with time_machine.travel(MAR_5, tick=False), served(app) as base, chromium() as browser:
        for width in (1280, 390):
            context = browser.new_context(viewport={"width": width, "height": 900})
            try:
                page = _sign_in(context, base, user("supervisor", "19.01"))
                page.click("text=Siapa dikejar")
                assert page.locator("table.chase tbody tr").count() > 0
                _fits(page, width)
                _shot(page, f"kejar-{width}")
                if width == 1280:
                    row = page.locator("table.chase tbody tr", has_text="19.01.01").first
                    row.locator("button", has_text="Ingatkan").click()
                    page.wait_for_load_state()
                    assert "Sungailiat terkirim" in page.locator(".flash.success").inner_text()
                    _shot(page, "ingatkan-1280")
                page.goto(f"{base}/kejar?jenis=terkunci")
                _fits(page, width)
                _shot(page, f"terkunci-{width}")
                page.goto(f"{base}/kejar/penghambat/{YEAR}/19.01/analisis_situasi")
                assert page.locator("a[href$='/19.01.01/analisis_situasi']").count() == 1
                _fits(page, width)
                _shot(page, f"penghambat-{width}")
                page.goto(f"{base}/kejar/perpanjang/{YEAR}/19.01.01/analisis_situasi")
                _fits(page, width)
                _shot(page, f"perpanjang-{width}")
                page.fill("input[name=until]", "2026-03-20")
                page.select_option("select[name=area]", "19.01")
                page.fill("textarea[name=reason]", "Banjir menutup akses ke kantor kecamatan")
                page.click("button:text('Periksa')")
                page.wait_for_load_state()
                assert "20 Maret 2026" in page.locator(".flash.info").inner_text()
                _fits(page, width)
                _shot(page, f"perpanjang-periksa-{width}")
            finally:
                context.close()
        # A provinsi approver drills down from the provinsi stage to the kecamatan behind
        # the kabupaten, and reminds one of them from there.
        with app.extensions["aksi.db"].session() as s:
            add_user(s, defs, "camat-prov", role="approver", region="19", password=PASSWORD)
            add_user(s, defs, user("operator", "19.01.02"), password=PASSWORD)
        context = browser.new_context(viewport={"width": 390, "height": 900})
        try:
            page = _sign_in(context, base, "camat-prov")
            page.goto(f"{base}/kejar/penghambat/{YEAR}/19/analisis_situasi")
            page.get_by_role("button", name="Ingatkan: Analisis Situasi, Belinyu").click()
            page.wait_for_load_state()
            assert "Belinyu terkirim" in page.locator(".flash.success").inner_text()
            assert "/kejar/penghambat/" in page.url
            _fits(page, 390)
            _shot(page, "penghambat-ingatkan-390")
        finally:
            context.close()
        context = browser.new_context(viewport={"width": 390, "height": 900})
        try:
            page = _sign_in(context, base, user("operator", "19.01.02"))
            page.goto(f"{base}/kotak-masuk")
            assert page.locator("a[href$='/19.01.02/analisis_situasi']").count() >= 1
        finally:
            context.close()
        context = browser.new_context(viewport={"width": 390, "height": 900})
        try:
            page = _sign_in(context, base, user("operator", "19.01.01"))
            assert "Siapa dikejar" not in page.content()
            page.goto(f"{base}/kotak-masuk")
            assert page.locator("a[href$='/19.01.01/analisis_situasi']").count() >= 1
            _shot(page, "kotak-masuk-operator-390")
        finally:
            context.close()
