"""The stage page's form kept per stamp of the stage's data (engine/web/page_cache.py,
engine/forms/stamp.py) and served compressed around it (engine/web/fragments.py): the
gzip stream is exact, a kept form is used again, and every change of what the form shows
- a save, a state change, last year's stage reopened, a kecamatan's approval rolled up
into its kabupaten, a change made by another process - is on the very next page."""

from __future__ import annotations

import gzip
import os
import random
import re
import zlib

import pytest

from engine.definitions.forms.rules import rules_of
from engine.runtime import act_on, save_on
from engine.web import create_app
from engine.web.fragments import Fragment, crc32_combine, gzip_around, shift_matrix
from forms.walk import fill_and_approve, person

from .form_page_support import cell_html, page_form, signed_in
from runtime.conftest import juknis_defs, regions  # noqa: F401

from .test_form_page import FORM, KAB, KEC, PAGE, YEAR, _post, app  # noqa: F401

D1 = f"{KEC}.1001"
CELL = f"{FORM}/desa/{D1}/jumlah_ibu_hamil"
GZIP = {"Accept-Encoding": "gzip, deflate, br, zstd"}
PLAIN = {"Accept-Encoding": "identity"}


def cache_of(app):  # noqa: F811
    return app.extensions["aksi.page_cache"]


@pytest.mark.parametrize("length", [0, 1, 2, 3, 7, 8, 255, 4096, 65537, 300_001])
def test_crc32_combine_is_zlibs(length):
    rng = random.Random(length)
    a, b = os.urandom(rng.randrange(0, 99)), os.urandom(length)
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), shift_matrix(length)) == zlib.crc32(a + b)


@pytest.mark.parametrize("sizes", [(0, 0, 0), (10, 0, 5), (0, 70_000, 0), (3_000, 250_000, 900)])
def test_a_page_around_a_fragment_decompresses_to_the_page(sizes):
    rng = random.Random(sum(sizes))
    text = lambda n: "".join(rng.choice("<td>1.234 Desa ñ </td>\n") for _ in range(n))  # noqa: E731
    before, middle, after = (text(n) for n in sizes)
    fragment = Fragment.of(middle)
    body = gzip_around(before.encode(), fragment, after.encode())
    assert gzip.decompress(body) == (before + middle + after).encode()
    assert zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body) == (before + middle + after).encode()


def test_the_stage_page_is_gzip_around_its_kept_form_and_equals_the_plain_page(app):  # noqa: F811
    client = signed_in(app, person("operator", KEC, "Puskesmas"))
    hits = cache_of(app).hits
    zipped = client.get(PAGE, headers=GZIP)
    plain = client.get(PAGE, headers=PLAIN)
    assert zipped.status_code == plain.status_code == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(zipped.data) == plain.data
    assert cache_of(app).hits == hits + 1  # the second page used the first one's form
    assert f'name="{CELL}"' in plain.get_data(as_text=True)


def _value_shown(page: str, key: str) -> str:
    cell = cell_html(page, key)
    found = re.search(r'value="([^"]*)"', cell) or re.search(r">([\d.]*)<", cell)
    return found.group(1) if found else ""


def test_a_save_is_on_the_next_page_for_its_unit_and_the_others(app):  # noqa: F811
    puskesmas = signed_in(app, person("operator", KEC, "Puskesmas"))
    setcam = signed_in(app, person("operator", KEC, "Setcam"))
    first = puskesmas.get(PAGE).get_data(as_text=True)
    other = setcam.get(PAGE).get_data(as_text=True)
    assert f'name="{CELL}"' in first and f'name="{CELL}"' not in other  # each unit's own inputs
    fields = page_form(first)
    fields[CELL] = ["1234"]
    assert _post(puskesmas, PAGE, fields, aksi="simpan").status_code == 302
    assert _value_shown(puskesmas.get(PAGE).get_data(as_text=True), CELL) == "1.234"
    row = re.search(rf'<tr data-row="{re.escape(D1)}".*?</tr>',
                    setcam.get(PAGE).get_data(as_text=True), flags=re.S).group(0)
    assert ">1.234<" in row and ">1.234<" not in re.search(
        rf'<tr data-row="{re.escape(D1)}".*?</tr>', other, flags=re.S).group(0)


def test_a_change_by_another_process_is_on_the_next_page(app, juknis_defs):  # noqa: F811
    client = signed_in(app, person("operator", KEC, "Puskesmas"))
    assert _value_shown(client.get(PAGE).get_data(as_text=True), CELL) == ""
    # Another web process or the CLI: its own cache, the same database.
    with app.extensions["aksi.db"].session() as s:
        save_on(s, KEC, "analisis_situasi", YEAR, person("operator", KEC, "Puskesmas"),
                {FORM: {"desa": {D1: {"jumlah_ibu_hamil": 4321}}}})
    assert _value_shown(client.get(PAGE).get_data(as_text=True), CELL) == "4.321"


def test_reopening_last_years_stage_takes_its_values_off_the_page(app, juknis_defs):  # noqa: F811
    import datetime as dt
    from engine.runtime import start_year
    db = app.extensions["aksi.db"]
    before = dt.datetime(2025, 1, 5, 3, 0, tzinfo=dt.timezone.utc)
    with db.session() as s:
        start_year(s, juknis_defs, YEAR - 1, province="19", now=before)
    fill_and_approve(db, KEC, "analisis_situasi", YEAR - 1, now=before)
    client = signed_in(app, person("operator", KEC, "Puskesmas"))
    assert f"nilai yang disetujui tahun {YEAR - 1}" in client.get(PAGE).get_data(as_text=True)
    reopen = next(t.id for t in juknis_defs["kecamatan"].lifecycle.triggers.values()
                  if juknis_defs["kecamatan"].lifecycle.done in t.sources and not t.by_system)
    with db.session() as s:
        act_on(s, KEC, "analisis_situasi", YEAR - 1, reopen, person("approver", KEC),
               reason="salah hitung", now=before)
    assert f"nilai yang disetujui tahun {YEAR - 1}" not in client.get(PAGE).get_data(as_text=True)


def test_a_kecamatans_approval_is_rolled_up_into_the_kabupatens_next_page(app, juknis_defs):  # noqa: F811
    db = app.extensions["aksi.db"]
    rollup = rules_of(juknis_defs["kabkota"], "kab_analisis_situasi").rollup[0]
    field = rollup.sum[0]
    page = f"/tugas/{YEAR}/{KAB}/analisis_situasi"
    client = signed_in(app, person("operator", KAB))
    def row() -> str:
        found = re.search(rf'<tr data-row="{re.escape(KEC)}".*?</tr>',
                          client.get(page).get_data(as_text=True), flags=re.S)
        return found.group(0)
    before = row()
    approved = fill_and_approve(db, KEC, "analisis_situasi", YEAR)
    rows = approved[FORM][rollup.from_section].values()
    expected = f"{sum(int(r[field]) for r in rows if field in r):,}".replace(",", ".")
    after = row()
    assert f">{expected}<" not in before and f">{expected}<" in after


def test_without_a_cache_the_page_is_the_same(app, juknis_defs, regions):  # noqa: F811
    other = create_app({"DATABASE_URL": regions.url, "SECRET_KEY": "test", "TESTING": True,
                        "PAGE_CACHE_BYTES": 0})
    try:
        client = signed_in(other, person("operator", KEC, "Puskesmas"))
        first = client.get(PAGE, headers=GZIP)
        second = client.get(PAGE, headers=GZIP)
        assert len(cache_of(other)) == 0 and cache_of(other).hits == 0
        assert gzip.decompress(first.data) == gzip.decompress(second.data)
        kept = signed_in(app, person("operator", KEC, "Puskesmas")).get(PAGE, headers=PLAIN)
        strip = lambda b: re.sub(rb'name="csrf_token" value="[^"]*"', b"", b)  # noqa: E731
        assert strip(gzip.decompress(first.data)) == strip(kept.data)
    finally:
        other.extensions["aksi.db"].dispose()
