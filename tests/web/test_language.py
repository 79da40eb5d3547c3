"""The pages speak Bahasa Indonesia the way people in the regions write it: names from the
definitions instead of ids, Indonesian dates in the region's zone, days left or late,
Indonesian numbers, error pages (405 included) in Bahasa."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest

from engine.web.filters import days_left, local_date, local_time, number, rupiah
from runtime.support import YEAR, user

from .conftest import KEC, csrf_token, sign_in

UTC = dt.timezone.utc
STAGE = "analisis_situasi"
PAGE = f"/tugas/{YEAR}/{KEC}/{STAGE}"
# Ids of the juknis lifecycle and of levels and stages: never in what a person reads.
STATE_IDS = ("locked", "ready", "submitted", "verified", "approved", "returned", "reopened")
TRIGGER_IDS = ("open", "submit", "verify", "approve", "return", "reopen")
OTHER_IDS = ("kabkota", "analisis_situasi", "penandaan_apbd_berjalan", "deadline_extended",
             "case_started", "child_reopened")


class _Visible(HTMLParser):
    """The text a browser shows: no tags, attributes, scripts or styles."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title"):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return re.sub(r"\s+", " ", "".join(parser.parts))


def raw_ids_in(text: str) -> list[str]:
    return [i for i in STATE_IDS + TRIGGER_IDS + OTHER_IDS if re.search(rf"\b{i}\b", text)]


def test_dates_are_written_the_indonesian_way_in_the_regions_zone():
    due = dt.datetime(2027, 1, 15, 16, 59, tzinfo=UTC)
    assert local_time(due, "Asia/Jakarta") == "15 Januari 2027, 23.59 WIB"
    assert local_time(due.isoformat(), "Asia/Makassar") == "16 Januari 2027, 00.59 WITA"
    assert local_time(dt.datetime(2026, 8, 17, 0, 0, tzinfo=UTC), "Asia/Jayapura") \
        == "17 Agustus 2026, 09.00 WIT"
    assert local_date(due, "Asia/Jakarta") == "15 Januari 2027"
    assert local_time(None, "Asia/Jakarta") == "-"


def test_days_left_and_late_count_calendar_days_in_the_zone():
    due = dt.datetime(2026, 1, 15, 16, 59, tzinfo=UTC)  # 15 January, 23.59 WIB

    def at(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)

    assert days_left(due, "Asia/Jakarta", at("2026-01-05T03:00")) == "10 hari lagi"
    assert days_left(due, "Asia/Jakarta", at("2026-01-14T03:00")) == "besok"
    assert days_left(due, "Asia/Jakarta", at("2026-01-15T01:00")) == "hari ini"
    # 20.00 WIB on the 14th is still the day before; 00.30 WIB on the 15th is the day.
    assert days_left(due, "Asia/Jakarta", at("2026-01-14T13:00")) == "besok"
    assert days_left(due, "Asia/Jakarta", at("2026-01-14T17:30")) == "hari ini"
    assert days_left(due, "Asia/Jakarta", at("2026-01-15T17:30")) == "terlambat 1 hari"
    assert days_left(due, "Asia/Jakarta", at("2026-01-20T03:00")) == "terlambat 5 hari"
    # In WIT the same moment is already 16 January, 01.59: later there than in Jakarta.
    assert days_left(due, "Asia/Jayapura", at("2026-01-15T03:00")) == "besok"


def test_numbers_and_rupiah_are_written_the_indonesian_way():
    assert number(1234567) == "1.234.567"
    assert number(12.5) == "12,5"
    assert number(3, 1) == "3,0"
    assert number(None) == "-" and number("teks") == "teks"
    assert rupiah(1234567.4) == "Rp 1.234.567"
    assert rupiah(None) == "-"


def test_the_task_list_shows_names_dates_and_days_not_ids(client):
    sign_in(client, user("operator", KEC))
    page = client.get("/tugas").get_data(as_text=True)
    text = visible_text(page)
    assert "Analisis Situasi" in text and "Siap diisi" in text and "Kecamatan" in text
    assert "15 Januari 2026, 23.59 WIB" in text and "10 hari lagi" in text
    assert not raw_ids_in(text), raw_ids_in(text)


def test_history_lines_name_the_action_the_states_and_the_reason(app, client):
    from engine.runtime import act_on, find_task

    with app.extensions["aksi.db"].session() as s:
        version = find_task(s, KEC, STAGE, YEAR).version
        act_on(s, KEC, STAGE, YEAR, "submit", user("operator", KEC), expected_version=version)
        act_on(s, KEC, STAGE, YEAR, "return", user("verifikator", KEC),
               reason="Data desa Air Duren belum lengkap", expected_version=version + 1)
    sign_in(client, user("operator", KEC))
    text = visible_text(client.get(PAGE).get_data(as_text=True))
    assert (f"Kirim untuk verifikasi oleh {user('operator', KEC)}: Siap diisi → "
            "Menunggu verifikasi") in text
    assert (f"Kembalikan oleh {user('verifikator', KEC)}: Menunggu verifikasi → Dikembalikan"
            " · alasan: “Data desa Air Duren belum lengkap”") in text
    assert "Buka oleh sistem: Terkunci → Siap diisi" in text
    assert "5 Januari 2026, 10.00 WIB" in text  # when it happened, in WIB
    assert "Sungailiat" in text and "Kecamatan" in text
    assert not raw_ids_in(text), raw_ids_in(text)


def test_a_locked_stage_says_in_sentences_what_it_waits_for_with_links(client):
    sign_in(client, user("supervisor", "19.01"))
    page = client.get(f"/tugas/{YEAR}/19.01/{STAGE}").get_data(as_text=True)
    text = visible_text(page)
    assert "Belum dapat dibuka karena" in text
    assert re.search(r"Menunggu semua Kecamatan di .+ menyelesaikan tahap “Analisis Situasi”", text)
    assert "Kecamatan Sungailiat: siap diisi" in text
    assert f'href="/tugas/{YEAR}/{KEC}/{STAGE}"' in page  # the child's stage page
    assert "Kabupaten/Kota" in text
    assert not raw_ids_in(text), raw_ids_in(text)


def test_the_overview_and_the_inbox_use_names(app, client):
    from engine.worker.tick import tick

    tick(app.extensions["aksi.db"], dt.datetime(2026, 1, 8, 2, tzinfo=UTC))  # 7-day reminders
    sign_in(client, user("supervisor", "19.01"))
    overview = visible_text(client.get("/pantau").get_data(as_text=True))
    assert "Kabupaten/Kota" in overview and "Kecamatan" in overview
    assert not raw_ids_in(overview), raw_ids_in(overview)
    client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})
    sign_in(client, user("operator", KEC))
    inbox = visible_text(client.get("/kotak-masuk").get_data(as_text=True))
    assert "Pengingat: tenggat 15 Januari 2026, 23.59 WIB (7 hari lagi saat dikirim)" in inbox
    assert "Operator Kecamatan" in inbox and "Status tahap kini" in inbox and "Siap diisi" in inbox
    assert not raw_ids_in(inbox), raw_ids_in(inbox)


@pytest.mark.parametrize("path", [f"{PAGE}/submit", "/keluar"])
def test_a_post_only_address_opened_directly_answers_in_bahasa(client, path):
    sign_in(client, user("operator", KEC))
    answer = client.get(path)
    assert answer.status_code == 405 and "POST" in answer.headers["Allow"]
    text = visible_text(answer.get_data(as_text=True))
    assert "hanya menerima kiriman formulir" in text and "Kembali ke daftar tugas" in text
    assert "Method Not Allowed" not in text


def test_other_errors_answer_in_bahasa_and_the_api_in_json(client):
    sign_in(client, user("operator", KEC))
    missing = client.get("/tidak-ada-halaman-ini")
    assert missing.status_code == 404 and "Tidak ditemukan" in missing.get_data(as_text=True)
    api = client.delete("/api/v1/tasks")
    assert api.status_code in (401, 405)
    assert api.is_json and "Method Not Allowed" not in api.get_data(as_text=True)
