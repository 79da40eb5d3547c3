"""The dashboard of a region (/pantau): who may see which region, what it counts, its
downloads, on every backend."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from engine.people import add_user
from engine.runtime import act_on
from engine.store.models import Region, Task
from runtime.support import BANGKA_KECAMATAN, NOW, YEAR, user, walk_to_done

from .conftest import PASSWORD, sign_in

KAB = "19.01"
SUPERVISOR = user("supervisor", KAB)


@pytest.fixture
def watchers(app, started, defs):
    """A provinsi supervisor of 19 (every provinsi loaded: national) and one of 19.02."""
    with started.session() as s:
        add_user(s, defs, "pengawas-19", role="supervisor", region="19", password=PASSWORD,
                 now=NOW)
        add_user(s, defs, user("supervisor", "19.02"), password=PASSWORD)
    return app


def signed_in(client, username):
    assert sign_in(client, username).status_code == 302
    return client


def test_pantau_shows_a_supervisor_their_area(client):
    signed_in(client, SUPERVISOR)
    page = client.get("/pantau")
    assert page.status_code == 200
    assert "Pantauan Kabupaten Bangka · 2026" in page.get_data(as_text=True)
    assert f'href="/pantau/{YEAR}/{BANGKA_KECAMATAN[0]}"' in page.get_data(as_text=True)


@pytest.mark.parametrize("who", [user("operator", "19.01.01"), user("verifikator", "19.01.01"),
                                 user("operator", "19.02.01")])
def test_operators_and_verifikators_get_403(client, who):
    signed_in(client, who)
    for url in ("/pantau", f"/pantau/{YEAR}/{KAB}", f"/pantau/{YEAR}/19.01.01",
                f"/pantau/{YEAR}/{KAB}.json", f"/pantau/{YEAR}/{KAB}/unduh/anak.csv"):
        assert client.get(url).status_code == 403, url


def test_a_region_outside_the_users_is_403(watchers):
    client = watchers.test_client()
    signed_in(client, SUPERVISOR)
    for region in ("19", "19.02", "19.02.01", "nasional"):
        assert client.get(f"/pantau/{YEAR}/{region}").status_code == 403, region
        assert client.get(f"/pantau/{YEAR}/{region}/unduh/matriks.xlsx").status_code == 403
    other = watchers.test_client()
    signed_in(other, user("supervisor", "19.02"))
    assert other.get(f"/pantau/{YEAR}/{KAB}").status_code == 403
    assert other.get(f"/pantau/{YEAR}/19.02").status_code == 200


def test_unknown_region_or_year_is_404(client):
    signed_in(client, SUPERVISOR)
    assert client.get(f"/pantau/{YEAR}/19.01.99").status_code == 404
    assert client.get(f"/pantau/1900/{KAB}").status_code == 404
    assert client.get(f"/pantau/{YEAR}/{KAB}/unduh/anak.pdf").status_code == 404


def test_supervisor_sees_only_their_children(client, started):
    signed_in(client, SUPERVISOR)
    page = client.get(f"/pantau/{YEAR}/{KAB}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    with started.session() as s:
        mine = dict(s.execute(select(Region.code, Region.name)
                              .where(Region.parent_code == KAB, Region.tier == 3)).all())
        others = s.scalars(select(Region.name).where(Region.parent_code == "19.02",
                                                     Region.tier == 3)).all()
    assert mine and all(name in text for name in mine.values())
    assert not any(f">{name}<" in text for name in others if name not in mine.values())
    assert f'href="/tugas/{YEAR}/{BANGKA_KECAMATAN[0]}/analisis_situasi"' in text
    data = client.get(f"/pantau/{YEAR}/{KAB}.json").get_json()
    assert {c["code"] for c in data["children"]} == set(mine)


def test_counts_what_is_in_scope_and_only_that(client, started):
    with started.session() as s:
        walk_to_done(s, BANGKA_KECAMATAN[0], "analisis_situasi")
        act_on(s, "19.02.01", "analisis_situasi", YEAR, "submit", user("operator", "19.02.01"),
               now=NOW)
    signed_in(client, SUPERVISOR)
    data = client.get(f"/pantau/{YEAR}/{KAB}.json").get_json()
    with started.session() as s:
        below = s.scalar(select(func.count()).select_from(Task).where(
            Task.year == YEAR, Task.region_code.like(KAB + ".%")))
        own = s.scalar(select(func.count()).select_from(Task).where(
            Task.year == YEAR, Task.region_code == KAB))
    assert data["progress"]["total"] == below + own
    assert data["progress"]["done"] == 1
    first = next(c for c in data["children"] if c["code"] == BANGKA_KECAMATAN[0])
    assert first["stages"]["analisis_situasi"]["kind"] == "done"
    assert first["rank"] == 1 and first["progress"]["done"] == 1


def test_provinsi_and_national_dashboards_use_counters(watchers, started):
    with started.session() as s:
        for code in BANGKA_KECAMATAN[:2]:
            walk_to_done(s, code, "analisis_situasi")
    client = watchers.test_client()
    signed_in(client, "pengawas-19")
    assert "Pantauan Nasional · 2026" in client.get("/pantau").get_data(as_text=True)
    national = client.get(f"/pantau/{YEAR}/nasional.json").get_json()
    province = client.get(f"/pantau/{YEAR}/19.json").get_json()
    with started.session() as s:
        every = s.scalar(select(func.count()).select_from(Task).where(Task.year == YEAR))
    assert national["progress"]["total"] == province["progress"]["total"] == every
    assert national["progress"]["done"] == province["progress"]["done"] == 2
    bangka = next(c for c in province["children"] if c["code"] == KAB)
    assert bangka["below"]["kecamatan"]["done"] == 2
    page = client.get(f"/pantau/{YEAR}/19").get_data(as_text=True)
    assert "Matriks tahap" in page and f'href="/pantau/{YEAR}/{KAB}"' in page
    assert "<svg" in page and "Nasional" in page


def test_downloads_carry_the_children(client, started):
    signed_in(client, SUPERVISOR)
    r = client.get(f"/pantau/{YEAR}/{KAB}/unduh/anak.csv")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig")), delimiter=";"))
    with started.session() as s:
        names = set(s.scalars(select(Region.name).where(Region.parent_code == KAB,
                                                        Region.tier == 3)))
    assert rows[0][1] == "Wilayah" and {row[1] for row in rows[1:]} == names
    x = client.get(f"/pantau/{YEAR}/{KAB}/unduh/matriks.xlsx")
    assert x.status_code == 200 and x.data[:2] == b"PK"


def test_a_camat_sees_their_kecamatan_only(client, started):
    signed_in(client, user("approver", BANGKA_KECAMATAN[0]))
    with started.session() as s:
        name = s.scalar(select(Region.name).where(Region.code == BANGKA_KECAMATAN[0]))
    page = client.get("/pantau")
    assert page.status_code == 200 and f"Pantauan {name} · 2026" in page.get_data(as_text=True)
    data = client.get(f"/pantau/{YEAR}/{BANGKA_KECAMATAN[0]}.json").get_json()
    assert data["children"] == [] and len(data["stages"]) == data["progress"]["total"] > 0
    for region in (KAB, BANGKA_KECAMATAN[1]):
        assert client.get(f"/pantau/{YEAR}/{region}").status_code == 403
