"""The authorization matrix of the supervisors' pages, their exports and their API twins,
through the Flask client on every backend: for every role at every level (provinsi 19,
kab/kota 19.01, kecamatan 19.01.01) and for users of another region (19.02), every
dashboard, overdue list, blocker tree, export and API list about every region of the
test province is either refused (403, or 404 for what does not exist) or answered with
nothing outside the user's scope: no region code of another subtree appears in it, shown,
counted or exported. Operators and verifikators get 403 on all of them.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from engine.people import add_user, issue_token
from runtime.support import YEAR
from web.conftest import PASSWORD, sign_in

# 5 March 2026: kecamatan stages are late and kab/kota ones locked behind them.
LATE = dt.datetime(2026, 3, 5, 3, 0, tzinfo=dt.timezone.utc)
STAGE = "analisis_situasi"
REGIONS = ("19", "19.01", "19.01.01", "19.02", "19.02.01")
# (role, region) -> the area whose subtree the person may watch (None: no supervisor pages)
PEOPLE = {
    ("supervisor", "19"): "19", ("approver", "19"): "19", ("operator", "19"): None,
    ("supervisor", "19.01"): "19.01", ("approver", "19.01"): "19.01",
    ("operator", "19.01"): None,
    ("approver", "19.01.01"): "19.01.01", ("operator", "19.01.01"): None,
    ("verifikator", "19.01.01"): None,
    ("supervisor", "19.02"): "19.02", ("operator", "19.02.01"): None,
}
UNITS = {("supervisor", "19"): "Bappeda", ("supervisor", "19.01"): "Bappeda",
         ("supervisor", "19.02"): "Bappeda"}
CODE = re.compile(r"(?<![\d.])19\.\d{2}(?:\.\d{2}(?:\.\d{4})?)?(?![\d.])(?! WI)")


def pages(region: str) -> list[str]:
    """Every supervisors' page, export and API list about ``region``."""
    return [f"/pantau/{YEAR}/{region}", f"/pantau/{YEAR}/{region}.json",
            f"/pantau/{YEAR}/{region}/unduh/anak.csv", f"/pantau/{YEAR}/{region}/unduh/matriks.csv",
            f"/kejar?wilayah={region}", f"/kejar?wilayah={region}&jenis=terkunci",
            f"/kejar/unduh.csv?wilayah={region}",
            f"/kejar/penghambat/{YEAR}/{region}/{STAGE}"]


def api_lists(region: str) -> list[str]:
    return [f"/api/v1/dashboard?region={region}&year={YEAR}",
            f"/api/v1/overdue?region={region}&year={YEAR}"]


def within(code: str, area: str) -> bool:
    return code == area or code.startswith(area + ".")


def foreign(text: str, area: str) -> set[str]:
    """Region codes in ``text`` neither in ``area``'s subtree nor above it (its trail)."""
    return {c for c in CODE.findall(text) if not within(c, area) and not within(area, c)}


def _add_people(app, defs) -> dict[tuple[str, str], str]:
    names = {}
    with app.extensions["aksi.db"].session() as s:
        for role, region in PEOPLE:
            name = f"matriks-{role}-{region}"
            add_user(s, defs, name, role=role, region=region, unit=UNITS.get((role, region)),
                     password=PASSWORD)
            names[role, region] = name
    return names


@pytest.mark.parametrize("who", sorted(PEOPLE), ids=lambda w: f"{w[0]}@{w[1]}")
def test_every_supervisors_page_export_and_list_keeps_to_the_users_scope(app, defs, who):
    names = _add_people(app, defs)
    area = PEOPLE[who]
    with time_machine.travel(LATE, tick=False):
        client = app.test_client()
        assert sign_in(client, names[who]).status_code == 302
        with app.extensions["aksi.db"].session() as s:
            bearer = {"Authorization": f"Bearer {issue_token(s, names[who], 'matriks')}"}
        for region in REGIONS:
            allowed = area is not None and within(region, area)
            for path in pages(region):
                answer = client.get(path)
                body = answer.get_data(as_text=True)
                if not allowed:
                    assert answer.status_code in (403, 404), (who, path, answer.status_code)
                    assert not foreign(body, who[1]) or answer.status_code == 404, (who, path)
                    continue
                assert answer.status_code == 200, (who, path, answer.status_code)
                assert not foreign(body, area), (who, path, foreign(body, area))
                if path.endswith(".json") and region.count(".") < 2:  # its children are counted
                    assert any(within(c, region) and c != region for c in CODE.findall(body))
            for path in api_lists(region):
                answer = client.get(path, headers=bearer)
                if not allowed:
                    assert answer.status_code in (403, 404), (who, path, answer.status_code)
                    continue
                assert answer.status_code == 200, (who, path, answer.status_code)
                assert not foreign(answer.get_data(as_text=True), area), (who, path)
        if area is None:  # the menu does not offer what is refused
            assert "Siapa dikejar" not in client.get("/tugas").get_data(as_text=True)
