"""End to end in a real browser: `aksi demo` and `aksi serve` as a user would start them,
Debian's chromium driven by Playwright over loopback HTTP.

Runs when ``AKSI_TEST_BROWSER`` names the browser (``.ci/run`` sets it); then a missing
browser or Playwright fails the test instead of skipping it.
"""

from __future__ import annotations

import time

import pytest

from chromium import demo_served, needs_browser

pytestmark = needs_browser
KEC = "19.01.01"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A demo store (province 19, its year, a user per role and unit with password ``demo``,
    drafts in the kecamatan stages open from January) served by ``aksi serve`` on a free
    loopback port; the uploaded files in the test's own directory."""
    year = str(time.gmtime().tm_year)
    with demo_served(tmp_path_factory.mktemp("e2e"), year) as base:
        yield base, year


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill("demo")
    page.get_by_role("button", name="Masuk").click()


# A stage filled as one document (the demo saved a draft of it): one submission moves it.
WHOLE = "Penandaan Program/Kegiatan APBD Kabupaten/Kota Tahun Berjalan"


def test_submit_then_return_with_a_reason_in_the_browser(server, browser):
    base, year = server
    page = browser.new_page()
    page.goto(f"{base}/tugas")
    assert "/masuk" in page.url  # signed out: sent to sign in
    _sign_in(page, base, f"operator-{KEC}")
    assert page.get_by_role("heading", name=f"Tugas saya · {year}").is_visible()
    page.get_by_role("row").filter(has_text=KEC).get_by_role(
        "link", name=WHOLE, exact=True).click()
    assert page.url.endswith(f"/{KEC}/penandaan_apbd_berjalan")
    assert page.locator("dd.state").inner_text() == "Siap diisi"
    page.get_by_role("button", name="Simpan & kirim").click()  # saves, then submits
    assert "Tersimpan dan terkirim" in page.get_by_role("status").first.inner_text()
    assert page.locator("dd.state").inner_text() == "Menunggu verifikasi"
    stage_url = page.url
    page.get_by_role("button", name="Keluar").click()

    _sign_in(page, base, f"verifikator-{KEC}")
    page.goto(stage_url)
    returning = page.locator("form").filter(has=page.get_by_role("button", name="Kembalikan")).first
    returning.get_by_role("button", name="Kembalikan").click()
    # The reason is required: the browser does not send the form, nothing changes.
    assert page.locator("dd.state").inner_text() == "Menunggu verifikasi"
    returning.get_by_label("Alasan (wajib)").fill("Data desa belum lengkap")
    returning.get_by_role("button", name="Kembalikan").click()
    assert page.locator("dd.state").inner_text() == "Dikembalikan"
    assert "Data desa belum lengkap" in page.locator("section.history").inner_text()
    page.context.close()  # never page.close(): see tests/chromium.py


def test_one_unit_submitting_its_part_leaves_the_stage_open(server, browser):
    """Analisis situasi is filled in parts (Setcam, Puskesmas, PLKB): the Setcam operator's
    submission moves the Setcam part only; the stage waits for the other units."""
    base, year = server
    page = browser.new_page()
    _sign_in(page, base, f"operator-{KEC}")  # the demo's Setcam operator
    page.goto(f"{base}/tugas/{year}/{KEC}/analisis_situasi")
    assert page.locator("dd.state").inner_text() == "Siap diisi"
    page.get_by_role("button", name="Simpan & kirim").click()  # saves, then submits
    assert "Tersimpan dan terkirim" in page.get_by_role("status").first.inner_text()
    assert page.locator("dd.state").inner_text() == "Siap diisi"
    assert f"Kirim untuk verifikasi oleh operator-{KEC}" in page.locator("section.history").inner_text()
    page.context.close()  # never page.close(): see tests/chromium.py


def test_another_kecamatan_is_forbidden_in_the_browser(server, browser):
    base, year = server
    page = browser.new_page()
    _sign_in(page, base, "operator-19.01.02")  # a neighbouring kecamatan
    answer = page.goto(f"{base}/tugas/{year}/{KEC}/analisis_situasi")
    assert answer.status == 403
    assert page.get_by_role("heading", name="Tidak diizinkan").is_visible()
    page.context.close()  # never page.close(): see tests/chromium.py
