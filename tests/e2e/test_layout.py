"""The pages at a phone's width (390 px) and a desktop's (1280 px) in a real browser: no
page is wider than the window (wide tables scroll inside their own box), no raw state or
trigger id in what a person reads, and a screenshot of each page kept as a test artifact
(``$AKSI_TEST_ARTIFACTS``, default ``tmp/artifacts`` in the repository) to look at.

`aksi demo` and `aksi serve` as a user starts them, with one `aksi tick` (at 24 December)
so the inbox has reminders; Debian's chromium driven by Playwright (see test_browser.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from chromium import AKSI, demo_served, needs_browser

from .test_browser import KEC, _sign_in

pytestmark = needs_browser
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("AKSI_TEST_ARTIFACTS", REPO / "tmp" / "artifacts")) / "layout"
WIDTHS = (390, 1280)
# The juknis lifecycle's ids, and level and stage ids: never in visible text.
RAW_IDS = re.compile(r"\b(locked|ready|submitted|verified|approved|returned|reopened|submit|"
                     r"verify|approve|reopen|kabkota|analisis_situasi|penandaan_apbd_berjalan)\b")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("layout")
    year = str(time.gmtime().tm_year)
    # The reminders of the stages due on 31 December fire a week before: the inbox has some.
    tick = ["tick", "--now", f"{year}-12-24T02:00:00+00:00"]
    with demo_served(root, year, then=(tick,)) as base:
        yield base, year, f"sqlite:///{root / 'demo.db'}"

def _check(page, name: str, width: int) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{name} at {width} px is {wide} px wide"
    text = page.inner_text("body")
    found = sorted(set(RAW_IDS.findall(text)))
    assert not found, f"{name} at {width} px shows ids {found}"


@pytest.mark.parametrize("width", WIDTHS)
def test_pages_fit_the_window_and_speak_in_names(server, browser, width):  # noqa: F811
    base, year, _db = server
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/masuk")
    _check(page, "masuk", width)
    _sign_in(page, base, f"operator-{KEC}")
    for name, path in (("tugas", "/tugas"), ("semua", "/tugas?lingkup=semua"),
                       ("tahap", f"/tugas/{year}/{KEC}/analisis_situasi"),
                       ("tahap-utuh", f"/tugas/{year}/{KEC}/penandaan_apbd_berjalan"),
                       ("pantau", "/pantau"), ("kotak-masuk", "/kotak-masuk"),
                       ("405", f"/tugas/{year}/{KEC}/analisis_situasi/submit")):
        answer = page.goto(base + path)
        # /pantau is the supervisors' and approvers' dashboard: an operator gets its 403 page.
        assert answer.status == {"405": 405, "pantau": 403}.get(name, 200), path
        if name == "kotak-masuk":
            assert page.locator("table.inbox tbody tr").count() > 0
        _check(page, name, width)
    assert page.get_by_role("link", name="Langsung ke isi halaman").count() == 1
    context.close()


def test_the_navigation_wraps_and_keeps_its_targets_large_enough(server, browser):  # noqa: F811
    base, _year, _db = server
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    _sign_in(page, base, f"supervisor-{KEC[:5]}")
    page.goto(f"{base}/tugas")
    for link in page.locator("header nav a").all():
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, link.inner_text()
        assert box["height"] >= 24, f"{link.inner_text()} is {box['height']} px high"
    current = page.locator('header nav a[aria-current="page"]')
    assert current.count() == 1 and current.inner_text() == "Tugas saya"
    page.keyboard.press("Tab")  # the first stop is the skip link, and it shows
    skip = page.get_by_role("link", name="Langsung ke isi halaman")
    assert skip.evaluate("e => e === document.activeElement")
    assert skip.bounding_box()["y"] >= 0
    context.close()


def test_an_ended_session_brings_the_person_back_with_their_input(server, browser):  # noqa: F811
    """The verifikator signs out in one tab; the reason typed in the other is not lost:
    after signing in again the browser is on the stage page with the reason back."""
    base, year, db = server
    context = browser.new_context(viewport={"width": 390, "height": 900})
    page = context.new_page()
    stage = f"{base}/tugas/{year}/{KEC}/penandaan_apbd_berjalan"
    subprocess.run([*AKSI, "--db", db, "task", "act", KEC, "penandaan_apbd_berjalan", "submit",
                    "--year", year, "--as", f"operator-{KEC}"], check=True, capture_output=True,
                   timeout=120)
    _sign_in(page, base, f"verifikator-{KEC}")
    page.goto(stage)
    other = context.new_page()
    other.goto(f"{base}/tugas")
    other.get_by_role("button", name="Keluar").click()  # the session ends in another tab
    returning = page.locator("form").filter(has=page.get_by_role("button", name="Kembalikan")).first
    returning.get_by_label("Alasan (wajib)").fill("Lampiran SK belum ada")
    returning.get_by_role("button", name="Kembalikan").click()
    assert "/masuk" in page.url
    assert "Sesi Anda telah berakhir" in page.get_by_role("status").first.inner_text()
    page.get_by_label("Nama pengguna").fill(f"verifikator-{KEC}")
    page.get_by_label("Kata sandi").fill("demo")
    page.get_by_role("button", name="Masuk").click()
    assert page.url == stage
    assert page.locator("dd.state").inner_text() == "Menunggu verifikasi"  # nothing was sent
    page.locator("[data-aksi-kept-note]").wait_for(state="visible")  # restore.js has run
    returning = page.locator("form").filter(has=page.get_by_role("button", name="Kembalikan")).first
    assert returning.get_by_label("Alasan (wajib)").input_value() == "Lampiran SK belum ada"
    returning.get_by_role("button", name="Kembalikan").click()
    assert page.locator("dd.state").inner_text() == "Dikembalikan"
    context.close()


def test_a_long_form_comes_back_from_the_browsers_copy(server, browser):  # noqa: F811
    """The whole form is too much for the session cookie: the server remembers which post
    to give back, the tab's own copy (restore.js) has the fields."""
    base, year, _db = server
    kec = "19.01.05"  # a kecamatan the other tests leave alone
    context = browser.new_context(viewport={"width": 390, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # 'leave with unsaved changes?'
    stage = f"{base}/tugas/{year}/{kec}/penandaan_apbd_berjalan"
    _sign_in(page, base, f"operator-{kec}")
    page.goto(stage)
    field = page.locator("form textarea:not([readonly])").first
    name = field.get_attribute("name")
    field.fill("Isian yang tidak boleh hilang")
    other = context.new_page()
    other.goto(f"{base}/tugas")
    other.get_by_role("button", name="Keluar").click()  # the tab stays: see tests/chromium.py
    page.get_by_role("button", name="Simpan draf").click(no_wait_after=True)
    page.wait_for_url(re.compile(r"/masuk"))
    page.get_by_label("Nama pengguna").fill(f"operator-{kec}")
    page.get_by_label("Kata sandi").fill("demo")
    page.get_by_role("button", name="Masuk").click()
    assert page.url == stage
    page.locator("[data-aksi-kept-note]").wait_for(state="visible")  # restore.js has run
    assert page.locator(f'[name="{name}"]').input_value() == "Isian yang tidak boleh hilang"
    again = context.new_page()  # given back once: the page opened anew shows what is saved
    again.goto(stage)
    assert again.locator(f'[name="{name}"]').input_value() != "Isian yang tidak boleh hilang"
    context.close()
