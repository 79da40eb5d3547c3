"""The browser rules on a page, in Debian's chromium driven by Playwright: typing a served
count above its target shows the server's message under the cell, in the summary with a
link to the input, and marks the inputs invalid; putting it right takes it away, including
the copy the server rendered; other server messages stay.

The page is tests/web/rules_page.html (three desa rows in the stage page's cell-key
contract) with the spec of `rules_for_browser`; /static/ is served from engine/web/static
through Playwright's routing, so no server runs. Runs when ``AKSI_TEST_BROWSER`` names the
browser (``.ci/run`` sets it); then a missing browser or Playwright fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chromium import needs_browser
from engine.definitions import load
from engine.forms import FormContext
from engine.web.client_rules import rules_for_browser

pytestmark = needs_browser

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "engine" / "web" / "static"
PAGE = Path(__file__).resolve().parent / "rules_page.html"
KEC = "19.01.01"
FORM = "kec_analisis_situasi"
ORIGIN = "http://aksi.test"
DESA = {f"{KEC}.2001": "AIR ANYIR", f"{KEC}.1002": "SINAR JAYA", f"{KEC}.2003": "KEMUJA"}


def key(code: str, field: str) -> str:
    return f"{FORM}/desa/{code}/{field}"


SERVED, TARGETED = "bumil_kek_makanan_tambahan", "jumlah_ibu_hamil_kek"


@pytest.fixture(scope="module")
def page_html() -> str:
    kec = load(REPO / "workflows")["kecamatan"]
    ctx = FormContext(KEC, 2027, DESA, tuple(s.id for s in kec.stages), row_kind="desa")
    spec = json.dumps(rules_for_browser(kec, FORM, ctx), ensure_ascii=False)
    return PAGE.read_text().replace("__SPEC__", spec.replace("</", "<\\/"))


@pytest.fixture
def page(browser, page_html):
    context = browser.new_context()
    errors: list[str] = []

    def serve(route):
        url = route.request.url
        if url == f"{ORIGIN}/form":
            return route.fulfill(status=200, content_type="text/html; charset=utf-8",
                                 body=page_html)
        if url.startswith(f"{ORIGIN}/static/"):
            path = (STATIC / url[len(f"{ORIGIN}/static/"):].split("?")[0]).resolve()
            if STATIC in path.parents and path.is_file():
                return route.fulfill(status=200, content_type="text/javascript",
                                     body=path.read_bytes())
        return route.fulfill(status=404, body="")

    context.route("**/*", serve)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # rules.js reports its own faults as "AksiRules: ..." (a missing favicon is no fault)
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "AksiRules" in msg.text else None)
    page.goto(f"{ORIGIN}/form")
    page.wait_for_function("() => document.querySelector('script[data-aksi-attached]') !== null")
    yield page
    context.close()
    assert errors == []


def box(page, code: str, field: str):
    return page.locator(f'[data-problems-for="{key(code, field)}"]')


def test_on_load_the_servers_message_is_taken_not_repeated(page):
    sinar = box(page, f"{KEC}.1002", SERVED)
    assert sinar.locator("span").count() == 2  # the rule's message once, the note untouched
    assert sinar.locator("[data-aksi]").count() == 0
    assert sinar.locator("span:visible").count() == 2
    summary = page.locator(f'[data-aksi-summary="{FORM}"]')
    assert summary.is_visible()
    assert summary.locator("li:visible").count() == 1
    assert box(page, f"{KEC}.2001", SERVED).locator("span").count() == 0


def test_typing_a_served_count_above_its_target_shows_the_message(page):
    served = page.locator(f'input[name="{key(f"{KEC}.2001", SERVED)}"]')
    targeted = page.locator(f'input[name="{key(f"{KEC}.2001", TARGETED)}"]')
    served.fill("1.234")  # typed the Indonesian way: one thousand two hundred thirty-four
    message = (f"Desa Air Anyir ({KEC}.2001): «Jumlah Ibu hamil KEK mendapat Makanan Tambahan» "
               "(1.234) melebihi «Jumlah Ibu Hamil KEK» (4)")
    item = box(page, f"{KEC}.2001", SERVED).locator("[data-aksi]")
    item.wait_for(state="visible", timeout=10_000)
    assert item.inner_text() == message
    assert item.get_attribute("data-aksi") == f"cakupan:{SERVED}"
    assert item.get_attribute("class") == "pe"  # styled as the server's errors
    assert served.get_attribute("aria-invalid") == "true"
    assert targeted.get_attribute("aria-invalid") == "true"
    link = page.locator(f'[data-aksi-summary="{FORM}"] a', has_text="Desa Air Anyir")
    assert link.get_attribute("href") == "#l1-2001"
    count = page.locator(f'[data-aksi-summary="{FORM}"] [data-aksi-count]')
    assert count.inner_text() == "Analisis situasi: 2 kesalahan, 0 peringatan"  # kept current

    # the same message again: the element stays (a live region is not announced anew)
    same = page.evaluate("""(names) => {
        const before = document.querySelector(`[data-problems-for="${names[0]}"] [data-aksi]`);
        const input = document.querySelector(`input[name="${names[1]}"]`);
        input.value = "04";  // still four
        input.dispatchEvent(new Event("change", {bubbles: true}));  // judged at once
        return document.querySelector(`[data-problems-for="${names[0]}"] [data-aksi]`) === before;
    }""", [key(f"{KEC}.2001", SERVED), key(f"{KEC}.2001", TARGETED)])
    assert same

    served.fill("4")
    item.wait_for(state="detached", timeout=10_000)
    assert served.get_attribute("aria-invalid") is None
    assert link.count() == 0
    assert count.inner_text() == "Analisis situasi: 1 kesalahan, 0 peringatan"


def test_putting_a_row_right_hides_the_servers_copy_and_keeps_other_notes(page):
    served = page.locator(f'input[name="{key(f"{KEC}.1002", SERVED)}"]')
    served.fill("2")
    served.dispatch_event("change")
    sinar = box(page, f"{KEC}.1002", SERVED)
    sinar.locator("span", has_text="melebihi").wait_for(state="hidden", timeout=10_000)
    assert sinar.locator("span:visible").all_inner_texts() == [
        "Catatan verifikator: periksa sumber data"]
    # the server's aria-invalid: gone where only the rule's message stood, kept beside the
    # server's note the browser does not judge
    targeted = page.locator(f'input[name="{key(f"{KEC}.1002", TARGETED)}"]')
    assert targeted.get_attribute("aria-invalid") is None
    assert served.get_attribute("aria-invalid") == "true"
    summary = page.locator(f'[data-aksi-summary="{FORM}"]')
    summary.wait_for(state="hidden", timeout=10_000)


def test_a_read_only_cell_of_another_unit_is_read_from_its_data_value(page):
    served = page.locator(f'input[name="{key(f"{KEC}.2003", SERVED)}"]')
    served.fill("13")
    item = box(page, f"{KEC}.2003", SERVED).locator("[data-aksi]")
    item.wait_for(state="visible", timeout=10_000)
    assert item.inner_text() == (
        f"Desa Kemuja ({KEC}.2003): «Jumlah Ibu hamil KEK mendapat Makanan Tambahan» (13) "
        "melebihi «Jumlah Ibu Hamil KEK» (12)")
    served.fill("abc")  # not a number: the schema's message, the rule is not judged
    wrong = box(page, f"{KEC}.2003", SERVED).locator("[data-aksi]")
    wrong.filter(has_text="harus bilangan bulat").wait_for(state="visible", timeout=10_000)
    assert wrong.all_inner_texts() == [
        f"Desa Kemuja ({KEC}.2003): «Jumlah Ibu hamil KEK mendapat Makanan Tambahan»: "
        "harus bilangan bulat, bukan 'abc'"]


def test_a_row_added_by_the_page_is_judged_too(page):
    """forms.js adds (and renumbers) rows: the cells are found again."""
    page.evaluate("""() => {
        const last = document.querySelector('tbody tr:last-child');
        const row = last.cloneNode(true);
        row.querySelectorAll('[name],[data-cell],[data-problems-for],[id]').forEach(el => {
            for (const a of ['name', 'data-cell', 'data-problems-for', 'id']) {
                const v = el.getAttribute(a);
                if (v) el.setAttribute(a, v.replace('19.01.01.2003', '19.01.01.2004'));
            }
        });
        row.querySelector('th').textContent = 'Baru';
        row.querySelector('[data-value]').setAttribute('data-value', '2');
        last.after(row);
    }""")
    served = page.locator(f'input[name="{key(f"{KEC}.2004", SERVED)}"]')
    served.fill("5")
    item = box(page, f"{KEC}.2004", SERVED).locator("[data-aksi]")
    item.wait_for(state="visible", timeout=10_000)
    # a code the kecamatan does not have: named as the server names it
    assert item.inner_text() == (
        f"kode wilayah {KEC}.2004: «Jumlah Ibu hamil KEK mendapat Makanan Tambahan» (5) "
        "melebihi «Jumlah Ibu Hamil KEK» (2)")
