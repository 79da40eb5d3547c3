"""Returning a part with the cells concerned from the command line (``aksi task act ...
return --mark FORM.SECTION.FIELD@ROW``) and the JSON API (``marks`` in the trigger's
body): the same `engine.runtime.send_back.send_back` the stage page's return runs, so the
operator sees the same marks; a bad mark (no such field, a desa of another kecamatan, a
row the section does not have, not a return) is refused in Bahasa and changes nothing.
On every backend (the review tests' fixture: every unit's part submitted)."""

from __future__ import annotations

from click.testing import CliRunner

from engine.cli import main
from engine.forms import changes
from engine.people import issue_token
from engine.runtime import find_task
from forms.test_parts import D1, D2, FORM, KEC, STAGE, YEAR, name
from runtime.conftest import juknis_defs, regions  # noqa: F401

from .test_review import DOKTER_D2, WARNED, app, stored  # noqa: F401

REASON = "Periksa data IMD dan jumlah dokter"
MARKS = [f"{FORM}.desa.bayi_baru_lahir_imd@{D1}", f"{FORM}.desa.jumlah_dokter@{D2}"]
ELSEWHERE = "19.02.01.2001"  # a desa of another kecamatan


def returned(app) -> tuple[str, list[str], str]:
    with app.extensions["aksi.db"].session() as s:
        part = changes.reviews_of(s, find_task(s, KEC, STAGE, YEAR).id)["Puskesmas"]
        return part.state, part.returned["cells"], part.returned["reason"]


def cli(app, *args: str):
    return CliRunner().invoke(main, ["--db", app.config["DATABASE_URL"], "task", "act", KEC,
                                     STAGE, "return", "--year", str(YEAR),
                                     "--as", name("verifikator", "Puskesmas"), *args])


def test_the_cli_returns_with_marked_cells_as_the_page_does(app):  # noqa: F811
    done = cli(app, "--reason", REASON, *[a for m in MARKS for a in ("--mark", m)])
    assert done.exit_code == 0, done.output
    assert returned(app) == ("returned", sorted([WARNED, DOKTER_D2]), REASON)


def test_the_cli_refuses_a_bad_mark_in_bahasa_and_changes_nothing(app):  # noqa: F811
    before = stored(app)
    for mark, said in ((f"{FORM}.desa.no_such_field@{D1}", "tidak dikenal"),
                       (f"{FORM}.desa.jumlah_dokter@{ELSEWHERE}", "tidak termasuk"),
                       (f"{FORM}.desa.jumlah_dokter", "pilih juga desa/wilayah"),
                       (f"{FORM}.desa.jumlah_penduduk@{D1}", "milik bagian unit Setcam"),
                       ("jumlah_dokter", "tidak sah")):
        done = cli(app, "--reason", REASON, "--mark", mark)
        assert done.exit_code != 0, mark
        assert said in done.output, (mark, done.output)
        assert "Traceback" not in done.output
    assert stored(app) == before


def _token(app) -> dict:
    with app.extensions["aksi.db"].session() as s:
        return {"Authorization": "Bearer " + issue_token(s, name("verifikator", "Puskesmas"),
                                                         "sistem-uji")}


URL = f"/api/v1/tasks/{YEAR}/{KEC}/{STAGE}/return"


def test_the_api_returns_with_marks_as_the_page_does(app):  # noqa: F811
    answer = app.test_client().post(URL, json={"reason": REASON, "marks": MARKS},
                                    headers=_token(app))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["to_state"]
    assert returned(app) == ("returned", sorted([WARNED, DOKTER_D2]), REASON)


def test_the_api_refuses_bad_marks_and_changes_nothing(app):  # noqa: F811
    client, headers = app.test_client(), _token(app)
    before = stored(app)
    answer = client.post(URL, json={"reason": REASON,
                                    "marks": [MARKS[0], f"{FORM}.desa.jumlah_dokter@{ELSEWHERE}"]},
                         headers=headers)
    assert answer.status_code == 422
    body = answer.get_json()
    assert "tidak ada yang diubah" in str(body)
    assert ELSEWHERE in str(body) and "tidak termasuk" in str(body)
    for bad in ("satu", [1], {"a": 1}):
        assert client.post(URL, json={"reason": REASON, "marks": bad},
                           headers=headers).status_code == 400
    assert client.post(URL, json={"reason": REASON, "marks": MARKS, "data": {FORM: {}}},
                       headers=headers).status_code == 400
    approve = f"/api/v1/tasks/{YEAR}/{KEC}/{STAGE}/approve"
    answer = client.post(approve, json={"marks": MARKS}, headers=headers)
    assert answer.status_code == 422
    assert "bukan pemicu untuk mengembalikan" in str(answer.get_json())
    assert stored(app) == before
