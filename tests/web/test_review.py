"""The review panel in a browser's place, on every backend: the verifikator sees the
warnings and, after a return, exactly the cells that changed; returns a part with a
reason and marked cells; the operator sees the return on the stage page and in the task
list; CSRF and scope are checked and a refused return changes nothing."""

from __future__ import annotations

import pytest
from babel.numbers import format_decimal
import time_machine
from sqlalchemy import func, select

from engine.forms import changes
from engine.people import add_user
from engine.runtime import act_on, find_task, save_on, start_year
from engine.store.models import Event, FormPart
from engine.people import actor
from engine.store.library import pinned
from engine.web import create_app
from engine.web.review import review_panel
from forms.test_parts import D1, D2, FORM, KEC, STAGE, UNITS, YEAR, name, part_of
from runtime.conftest import juknis_defs, regions  # noqa: F401
from runtime.support import NOW

from .conftest import PASSWORD, csrf_token, sign_in

PAGE = f"/tugas/{YEAR}/{KEC}/{STAGE}"
SEND_BACK = f"{PAGE}/kembalikan"
OUTSIDER = "operator@19.02.01"
WARNED = changes.cell_key(FORM, "desa", D1, "bayi_baru_lahir_imd")
DOKTER_D2 = changes.cell_key(FORM, "desa", D2, "jumlah_dokter")


@pytest.fixture
def app(regions, juknis_defs):  # noqa: F811
    """The shipped definitions (parts by unit), every unit's part submitted; the Puskesmas
    part with a warning: more newborns given IMD than children 0-5 months in D1."""
    with regions.session() as s:
        start_year(s, juknis_defs, YEAR, province="19", now=NOW)
        for unit in UNITS:
            for role in ("operator", "verifikator"):
                add_user(s, juknis_defs, name(role, unit), role=role, region=KEC, unit=unit,
                         password=PASSWORD, now=NOW)
        add_user(s, juknis_defs, name("approver"), role="approver", region=KEC,
                 password=PASSWORD, now=NOW)
        add_user(s, juknis_defs, OUTSIDER, role="operator", region="19.02.01",
                 password=PASSWORD, now=NOW)
    for unit in UNITS:
        part = part_of(regions, unit)
        if unit == "Puskesmas":
            row = part[FORM]["desa"][D1]
            row["bayi_baru_lahir_imd"] = row["jumlah_anak_0_5_bulan"] + 3
        with regions.session() as s:
            save_on(s, KEC, STAGE, YEAR, name("operator", unit), part, now=NOW)
            act_on(s, KEC, STAGE, YEAR, "submit", name("operator", unit), now=NOW)
    app = create_app({"DATABASE_URL": regions.url, "SECRET_KEY": "test", "TESTING": True})
    with time_machine.travel(NOW, tick=False):
        yield app
    app.extensions["aksi.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def stored(app) -> tuple:
    """The stage, its parts and the event count: what a refused return leaves alone."""
    with app.extensions["aksi.db"].session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        rows = s.execute(select(FormPart.unit, FormPart.state, FormPart.version,
                                FormPart.sent_back).where(FormPart.task_id == task.id)
                         .order_by(FormPart.unit)).all()
        return (task.state, task.version, [tuple(r) for r in rows],
                s.scalar(select(func.count()).select_from(Event)))


def version(app) -> int:
    with app.extensions["aksi.db"].session() as s:
        return find_task(s, KEC, STAGE, YEAR).version


def post_return(client, app, **fields):
    page = client.get(PAGE)
    data = {"csrf_token": csrf_token(page.data), "version": str(version(app)),
            "trigger": "return", "reason": "Periksa data IMD dan jumlah dokter", **fields}
    return client.post(SEND_BACK, data=data, follow_redirects=True)


def test_the_verifikator_sees_the_warnings_and_the_return_form(client):
    sign_in(client, name("verifikator", "Puskesmas"))
    page = client.get(PAGE).get_data(as_text=True)
    assert 'id="tinjauan"' in page and "Pengiriman pertama, belum ada pembanding" in page
    warnings = page.split('class="review-warnings"')[1].split("</div>")[0]
    assert "Peringatan (" in warnings
    imd = next(li for li in warnings.split("<li")[1:] if WARNED in li)  # names its cells
    assert "Kelurahan Sungailiat (19.01.01.1001)" in imd and "inisiasi menyusu dini" in imd
    assert f'action="{SEND_BACK}"' in page
    assert f'name="cell" value="{WARNED}"' in page  # suggested from the warning
    # Their own unit's fields to mark, not another unit's
    assert f'value="{FORM}/desa/jumlah_dokter"' in page
    assert f'value="{FORM}/desa/jumlah_penduduk"' not in page


def test_a_return_with_cells_reaches_the_operator_and_the_changes_reach_the_verifikator(
        app, client):
    sign_in(client, name("verifikator", "Puskesmas"))
    answer = post_return(client, app, cell=[WARNED], baris=[D2],
                         isian=[f"{FORM}/desa/jumlah_dokter"])
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Berhasil" in text and "2 sel ditandai" in text
    with app.extensions["aksi.db"].session() as s:
        part = changes.reviews_of(s, find_task(s, KEC, STAGE, YEAR).id)["Puskesmas"]
    assert part.state == "returned"
    assert part.returned["cells"] == sorted([WARNED, DOKTER_D2])
    assert part.returned["by"] == name("verifikator", "Puskesmas")

    client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})
    sign_in(client, name("operator", "Puskesmas"))
    page = client.get(PAGE).get_data(as_text=True)
    banner = page.split("data-returned")[1].split("</div>")[0]
    assert "Periksa data IMD dan jumlah dokter" in banner
    assert name("verifikator", "Puskesmas") in banner and "bagian Puskesmas" in banner
    assert "Jumlah Dokter" in page.split("data-returned")[1] and "2026" in banner
    listing = client.get("/tugas").get_data(as_text=True)
    assert "Periksa data IMD dan jumlah dokter" in listing  # the task list row says why

    # The operator fixes one cell and submits again: the verifikator sees exactly that cell.
    with app.extensions["aksi.db"].session() as s:
        data = changes.reviews_of(s, find_task(s, KEC, STAGE, YEAR).id)["Puskesmas"].data
    before = data[FORM]["desa"][D2]["jumlah_dokter"]
    with app.extensions["aksi.db"].session() as s:
        save_on(s, KEC, STAGE, YEAR, name("operator", "Puskesmas"),
                {FORM: {"desa": {D2: {"jumlah_dokter": before + 4}}}}, now=NOW)
    live = client.get(PAGE).get_data(as_text=True)  # the operator sees their own change
    assert "belum dikirim ulang" in live and "Jumlah Dokter" in live
    with app.extensions["aksi.db"].session() as s:
        act_on(s, KEC, STAGE, YEAR, "submit", name("operator", "Puskesmas"), now=NOW)
    client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})
    sign_in(client, name("verifikator", "Puskesmas"))
    page = client.get(PAGE).get_data(as_text=True)
    table = page.split('class="changes-table"')[1].split("</table>")[0]
    assert table.count("<tr data-cell-ref=") == 1
    assert f'data-cell-ref="{DOKTER_D2}"' in table
    assert f'<td class="before">{before}</td>' in table
    assert f'<td class="after">{before + 4}</td>' in table
    assert "Menjawab pengembalian" in page and "data-returned" not in page
    with app.test_request_context(), app.extensions["aksi.db"].session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        panel = review_panel(s, task=task, definition=pinned(s, task.definition_hash),
                             actor=actor(s, name("verifikator", "Puskesmas")))
    assert panel["marks"][DOKTER_D2] == [  # what the form draws on the cell
        {"kind": "changed", "note": "pada pengiriman ini",
         "before": format_decimal(before, locale="id")},
        {"kind": "returned", "note": "ditandai saat dikembalikan", "before": None}]
    assert [m["kind"] for m in panel["marks"][WARNED]] == ["returned"]  # marked, unchanged


def test_unknown_or_incomplete_cells_are_refused_and_nothing_changes(app, client):
    sign_in(client, name("verifikator", "Puskesmas"))
    before = stored(app)
    answer = post_return(client, app, cell=[f"{FORM}/desa/{D1}/jumlah_penduduk"])
    assert "milik bagian unit Setcam" in answer.get_data(as_text=True)
    answer = post_return(client, app, isian=[f"{FORM}/desa/jumlah_dokter"])  # no desa chosen
    assert "pilih juga desa/wilayah" in answer.get_data(as_text=True)
    answer = post_return(client, app, reason="  ")
    assert "Tulis alasan" in answer.get_data(as_text=True)
    answer = post_return(client, app, trigger="approve")
    assert "bukan pemicu untuk mengembalikan" in answer.get_data(as_text=True)
    assert stored(app) == before


def test_a_stale_version_is_a_conflict_and_changes_nothing(app, client):
    sign_in(client, name("verifikator", "Puskesmas"))
    before = stored(app)
    page = client.get(PAGE)
    answer = client.post(SEND_BACK, data={
        "csrf_token": csrf_token(page.data), "version": str(version(app) - 1),
        "trigger": "return", "reason": "Periksa lagi", "cell": [WARNED]}, follow_redirects=True)
    assert "sudah diubah orang lain" in answer.get_data(as_text=True)
    assert stored(app) == before


def test_a_return_without_csrf_token_is_refused(app, client):
    sign_in(client, name("verifikator", "Puskesmas"))
    before = stored(app)
    answer = client.post(SEND_BACK, data={"version": str(version(app)), "trigger": "return",
                                          "reason": "Periksa lagi"})
    assert answer.status_code == 400
    assert stored(app) == before


def test_another_regions_user_gets_403(app, client):
    sign_in(client, OUTSIDER)
    before = stored(app)
    assert client.get(PAGE).status_code == 403
    page = client.get("/tugas")
    answer = client.post(SEND_BACK, data={"csrf_token": csrf_token(page.data),
                                          "version": str(version(app)), "trigger": "return",
                                          "reason": "x"})
    assert answer.status_code == 403
    assert stored(app) == before


def test_the_camat_returns_one_part_or_every_part(app, client):
    with app.extensions["aksi.db"].session() as s:
        for unit in UNITS:
            act_on(s, KEC, STAGE, YEAR, "verify", name("verifikator", unit), now=NOW)
    sign_in(client, name("approver"))
    page = client.get(PAGE).get_data(as_text=True)
    form = page.split('class="send-back"')[1].split("</form>")[0]
    assert '<option value="">Semua bagian (Setcam, Puskesmas, PLKB)</option>' in form
    assert f'value="{FORM}/desa/jumlah_penduduk"' in form  # every unit's fields
    answer = post_return(client, app, unit="PLKB", baris=[D1],
                         isian=[f"{FORM}/desa/jumlah_calon_pengantin"])
    assert "1 sel ditandai" in answer.get_data(as_text=True)
    with app.extensions["aksi.db"].session() as s:
        got = changes.reviews_of(s, find_task(s, KEC, STAGE, YEAR).id)
    assert got["PLKB"].returned["cells"] == [
        changes.cell_key(FORM, "desa", D1, "jumlah_calon_pengantin")]
    assert got["Setcam"].returned is None and got["Setcam"].state == "verified"
