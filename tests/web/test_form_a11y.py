"""The stage page names every per-desa input for a screen reader without JavaScript, and
says where a problem is: each input of a table per region carries the server's
``aria-labelledby`` (its column header, naming the field, and its row header, naming the
desa); a cell with an error is ``aria-invalid`` and described by its message; the summary
is a live region. The form's browser rules come from a cached URL, not inlined."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from engine.definitions.forms.spec import spec_of
from engine.forms.entry import context_for
from engine.runtime import find_task
from engine.store.library import pinned
from forms.walk import person
from runtime.conftest import juknis_defs, regions  # noqa: F401

from .form_page_support import page_form, signed_in
from .test_form_page import D1, FORM, KEC, PAGE, YEAR, _post, app  # noqa: F401

SERVED, TARGETED = "bumil_kek_makanan_tambahan", "jumlah_ibu_hamil_kek"


class _Page(HTMLParser):
    """The text of each element with an id, and every input/select with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.open: list[tuple[str, str | None]] = []
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select") and a.get("name", "").startswith(f"{FORM}/desa/"):
            self.inputs.append(a)
        if tag in ("input", "br", "img", "meta", "link"):
            return
        self.open.append((tag, a.get("id")))
        if a.get("id"):
            self.text[a["id"]] = ""

    def handle_endtag(self, tag):
        # td and th may be left open by the page: close up to the matching tag
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i][0] == tag:
                del self.open[i:]
                return

    def handle_data(self, data):
        for _, ident in self.open:
            if ident:
                self.text[ident] += data


def parsed(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def _names(page: _Page, attrs: dict) -> list[str]:
    return [" ".join(page.text[i].split()) for i in attrs["aria-labelledby"].split()]


def test_every_per_desa_input_is_named_by_its_field_and_desa(app):  # noqa: F811
    client = signed_in(app, person("operator", KEC, "Puskesmas"))
    text = client.get(PAGE).get_data(as_text=True)
    page = parsed(text)
    with app.extensions["aksi.db"].session() as s:
        task = find_task(s, KEC, "analisis_situasi", YEAR)
        definition = pinned(s, task.definition_hash)
        names = context_for(s, definition, task).rows
    desa = spec_of(definition, FORM).section("desa")
    assert len(page.inputs) > 20
    codes = set()
    for attrs in page.inputs:
        _, _, code, field = attrs["name"].split("/")
        assert attrs.get("aria-labelledby"), attrs["name"]
        column, row = _names(page, attrs)
        assert desa.field(field).title in column, (attrs["name"], column)
        assert code in row and row.split(code)[0].strip(), (attrs["name"], row)
        codes.add(code)
        name = names[code]
        assert row.startswith(name.title() if name.isupper() else name), (row, name)
    assert codes == set(names)  # every desa's row


def test_an_error_cell_is_invalid_described_by_its_message_and_announced(app):  # noqa: F811
    client = signed_in(app, person("operator", KEC, "Puskesmas"))
    fields = page_form(client.get(PAGE).get_data(as_text=True))
    fields[f"{FORM}/desa/{D1}/{TARGETED}"] = ["4"]
    fields[f"{FORM}/desa/{D1}/{SERVED}"] = ["9"]
    assert _post(client, PAGE, fields, aksi="simpan").status_code == 302
    text = client.get(PAGE).get_data(as_text=True)
    page = parsed(text)
    key = f"{FORM}/desa/{D1}/{SERVED}"
    (cell,) = [a for a in page.inputs if a["name"] == key]
    assert cell.get("aria-invalid") == "true"
    assert cell.get("aria-describedby") == f"m:{key}"
    assert "melebihi «Jumlah Ibu Hamil KEK» (4)" in page.text[f"m:{key}"]
    column, row = _names(page, cell)
    assert "Makanan Tambahan" in column and D1 in row
    others = [a for a in page.inputs if a["name"] != key and a["name"].startswith(
        f"{FORM}/desa/{D1}/") and a["name"] != f"{FORM}/desa/{D1}/{TARGETED}"]
    assert others and all(a.get("aria-invalid") is None for a in others)
    summary = re.search(r'<div class="sum[^"]*" data-aksi-summary="[^"]+"[^>]*>', text).group(0)
    assert 'aria-live="polite"' in summary or 'role="alert"' in summary
    assert f'href="#{key}"' in text  # the summary links to the cell


def test_the_rules_are_fetched_from_a_cached_url_by_signed_in_people(app):  # noqa: F811
    client = signed_in(app, person("operator", KEC, "Puskesmas"))
    text = client.get(PAGE).get_data(as_text=True)
    inline = json.loads(re.search(
        rf'<script type="application/json" data-aksi-rules="{FORM}">(.*?)</script>', text).group(1))
    assert inline["year"] == YEAR and inline["row_kind"] == "desa" and "rules" not in inline
    answer = client.get(inline["src"])
    assert answer.status_code == 200
    part = answer.get_json()
    assert part["form"] == FORM and any(r["id"].startswith("cakupan:") for r in part["rules"])
    assert "immutable" in answer.headers["Cache-Control"]
    assert "private" in answer.headers["Cache-Control"]
    assert "rows" not in part  # nothing of a region in it
    other = inline["src"].replace(inline["src"].split("/")[2], "0" * 64)
    assert client.get(other).status_code == 404
    assert client.get(inline["src"].replace(FORM, "no_such_form")).status_code == 404
    assert app.test_client().get(inline["src"]).status_code == 302  # to the sign-in page
