"""The year on screen: the calendar and each level's diagrams carry exactly the Mermaid
text the CLI prints; the definitions page shows stages, roles, notices, the checker's
findings and which years run which version; every signed-in user may read them, and
they show nothing of any region."""

from __future__ import annotations

import html
import re
import shutil

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.web.headers import DIAGRAM_POLICY, POLICY

from runtime.support import WORKFLOWS, edit, user
from .conftest import KEC, USERS, sign_in


def _mermaid(page: str) -> list[str]:
    found = re.findall(r'<pre class="mermaid"[^>]*>(.*?)</pre>', page, re.S)
    return [html.unescape(t) for t in found]


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, ["--workflows", str(WORKFLOWS), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def on_disk(app):
    app.config["WORKFLOWS"] = str(WORKFLOWS)
    return app


@pytest.mark.parametrize("who", USERS)
def test_every_signed_in_user_reads_them_and_nothing_of_a_region_is_shown(on_disk, client, who):
    sign_in(client, who)
    for url in ("/definisi", "/definisi/kecamatan", "/definisi/kabkota", "/definisi/provinsi",
                "/kalender/2026", "/kalender/2027"):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["Content-Security-Policy"] == DIAGRAM_POLICY
        page = answer.get_data(as_text=True)
        content = page.split('<main id="isi"', 1)[1]  # the menu names the user
        assert not re.search(r"\b19\.0\d", content), url  # no region code anywhere
        assert 'style="' not in page and "<style" not in page and "<script>" not in page


def test_signed_out_visitors_are_sent_to_sign_in(on_disk, client):
    for url in ("/definisi", "/definisi/kecamatan", "/kalender/2026"):
        assert client.get(url).status_code == 302


def test_the_diagrams_are_the_text_the_cli_prints(on_disk, client):
    sign_in(client, user("operator", KEC))
    # `aksi graph LEVEL` prints the stage graph, a blank line, the lifecycle (each
    # alone with --part); the page draws each. (Each CLI run loads the files: one level.)
    shown = _mermaid(client.get("/definisi/kabkota").get_data(as_text=True))
    assert len(shown) == 2 and "\n\n".join(shown) == _cli("graph", "kabkota").rstrip("\n")
    assert shown[0].startswith("%% Ketergantungan tahap") and "flowchart" in shown[0]
    assert shown[1].startswith("%% Siklus tahap") and "stateDiagram" in shown[1]
    # 2027 has no cases: the files' calendar, as `aksi calendar 2027 --format mermaid`.
    assert _mermaid(client.get("/kalender/2027").get_data(as_text=True)) == [
        _cli("calendar", "2027", "--format", "mermaid")]


def test_the_calendar_of_a_running_year_uses_the_version_its_cases_run_on(on_disk, client, defs):
    from engine.diagrams import calendar_rows, gantt

    sign_in(client, user("operator", KEC))
    page = client.get("/kalender/2026").get_data(as_text=True)
    assert _mermaid(page) == [gantt(calendar_rows(defs, 2026), 2026)]
    assert "15 Januari 2026" in page  # analisis situasi's deadline, in Indonesian


def test_the_level_page_shows_stages_roles_notices_and_versions(on_disk, client, defs):
    sign_in(client, user("supervisor", "19.01"))
    page = html.unescape(client.get("/definisi/kecamatan").get_data(as_text=True))
    assert "Kegiatan analisis situasi ini dilakukan paling lambat tanggal 15 Januari" in page
    assert "Operator Kecamatan" in page and "Camat" in page
    assert "7 hari sebelum tenggat, kepada Operator Kecamatan, Verifikator Kecamatan" in page
    assert "3 hari setelah tenggat, kepada" in page and "(Aksi Konvergensi Kabupaten/Kota)" in page
    assert "berkas definisi saat ini" in page
    # The started year runs the test definitions, another version than the file's.
    running = defs["kecamatan"].content_hash
    assert f"versi={running}" in page
    stored = client.get(f"/definisi/kecamatan?versi={running}").get_data(as_text=True)
    assert running in stored and "versi tersimpan" in stored and "tahun 2026 (" in stored


def test_the_level_page_names_who_fires_a_trigger_in_a_stage_of_its_own(on_disk, client):
    sign_in(client, user("supervisor", "19.01"))
    page = html.unescape(client.get("/definisi/kabkota").get_data(as_text=True))
    # Once per stage with its own `by` (pra_musrenbang, penilaian_monev), not for the others.
    assert page.count("<dt>Setujui oleh</dt><dd>Sekretaris Daerah Kabupaten/Kota</dd>") == 2
    assert "Setujui (approver; pra_musrenbang, penilaian_monev: sekda)" in page


def test_the_index_says_what_aksi_check_says_and_which_years_run_which_version(on_disk, client):
    sign_in(client, user("operator", "19.02.01"))
    page = html.unescape(client.get("/definisi").get_data(as_text=True))
    printed = _cli("check")  # warnings only: exit 0, the count printed last
    summary = re.search(r"(\d+) galat, (\d+) peringatan", printed)
    assert f"{summary.group(1)} galat, {summary.group(2)} peringatan" in page
    for line in printed.splitlines()[:-1]:
        code = re.search(r": (?:error|warning) ([a-z-]+):", line)
        if code:
            assert code.group(1) in page
    assert "Aksi Konvergensi Kecamatan · 2026" in page and "berbeda dari berkas" in page


def test_a_broken_file_is_reported_and_the_pages_still_answer(app, client, tmp_path):
    shutil.copytree(WORKFLOWS, tmp_path / "workflows")
    shutil.copytree(WORKFLOWS.parent / "forms", tmp_path / "forms")
    edit(tmp_path / "workflows" / "kecamatan.yaml", 'due: "01-15"', 'due: "13-45"')
    app.config["WORKFLOWS"] = str(tmp_path / "workflows")
    sign_in(client, user("operator", KEC))
    page = html.unescape(client.get("/definisi").get_data(as_text=True))
    assert "tidak dapat dimuat" in page and "Galat" in page and "kecamatan.yaml" in page
    # The level page falls back to the version stored last; the calendar to the running one.
    assert client.get("/definisi/kecamatan").status_code == 200
    assert client.get("/kalender/2026").status_code == 200


def test_unknown_levels_versions_and_years_are_404(on_disk, client, defs):
    sign_in(client, user("operator", KEC))
    assert client.get("/definisi/tidak_ada").status_code == 404
    assert client.get("/definisi/kecamatan?versi=abc").status_code == 404
    assert client.get("/definisi/kecamatan?versi=" + "0" * 64).status_code == 404
    # A version of another level is not this level's.
    other = defs["kecamatan"].content_hash
    assert client.get(f"/definisi/kabkota?versi={other}").status_code == 404
    assert client.get("/kalender/1999").status_code == 404


def test_other_pages_keep_the_strict_policy(on_disk, client):
    sign_in(client, user("operator", KEC))
    assert client.get("/kotak-masuk").headers["Content-Security-Policy"] == POLICY
