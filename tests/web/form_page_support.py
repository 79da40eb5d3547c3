"""Helpers of the form page tests: people with passwords, signing in, the page's form read
back as a browser would post it."""

from __future__ import annotations

import html
import re
from contextlib import contextmanager
from typing import Any, Iterator

from chromium import chromium
from engine.forms.parts import parts_of
from engine.people import add_user
from engine.runtime import find_task
from engine.store.models import AttachmentUse
from forms.walk import person
from sqlalchemy import func, select

from .conftest import PASSWORD, csrf_token


def add_people(session, definitions, region: str) -> None:
    """An operator and a verifikator per unit (one without units), an approver - with
    passwords, named as tests/forms/walk.py names them."""
    definition = definitions.by_tier(region.count(".") + 1)
    for role_id, role in definition.roles.items():
        for unit in role.units or (None,):
            add_user(session, definitions, person(role_id, region, unit), role=role_id,
                     region=region, unit=unit, password=PASSWORD)
        if role.units:
            add_user(session, definitions, person(role_id, region), role=role_id,
                     region=region, password=PASSWORD)


def signed_in(app, username: str):
    client = app.test_client()
    page = client.get("/masuk")
    answer = client.post("/masuk", data={"username": username, "password": PASSWORD,
                                         "csrf_token": csrf_token(page.data)})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return client


def page_form(text: str) -> dict[str, list[str]]:
    """The fields the page's "Simpan draf" form posts, as a browser posts them (checked
    boxes only, selected options, textareas' text; no files)."""
    found = re.search(r'<form\b[^>]*data-aksi-form[^>]*>(.*?)</form>', text, flags=re.S)
    assert found, "no editable form on the page"
    body = found.group(1)
    fields: dict[str, list[str]] = {}

    def add(name: str, value: str) -> None:
        fields.setdefault(html.unescape(name), []).append(html.unescape(value))

    for tag in re.findall(r"<input\b[^>]*>", body):
        name = re.search(r'\bname="([^"]*)"', tag)
        kind = re.search(r'\btype="([^"]*)"', tag)
        kind = kind.group(1) if kind else "text"
        if not name or kind in ("submit", "file") or (kind == "checkbox" and "checked" not in tag):
            continue
        value = re.search(r'\bvalue="([^"]*)"', tag)
        add(name.group(1), value.group(1) if value else "")
    for name, options in re.findall(r'<select\b[^>]*\bname="([^"]*)"[^>]*>(.*?)</select>', body,
                                    flags=re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        add(name, chosen.group(1) if chosen else "")
    for name, content in re.findall(r'<textarea\b[^>]*\bname="([^"]*)"[^>]*>(.*?)</textarea>',
                                    body, flags=re.S):
        add(name, content)
    return fields


def parts(app, region: str, stage: str, year: int) -> dict:
    with app.extensions["aksi.db"].session() as s:
        task = find_task(s, region, stage, year)
        return {u: (p.version, p.state, p.data) for u, p in parts_of(s, task.id).items()}


def stage_state(app, region: str, stage: str, year: int) -> tuple[str, int]:
    with app.extensions["aksi.db"].session() as s:
        task = find_task(s, region, stage, year)
        return task.state, task.version


def attachment_uses(app) -> int:
    with app.extensions["aksi.db"].session() as s:
        return s.scalar(select(func.count()).select_from(AttachmentUse))


def cell_html(text: str, key: str) -> str:
    """The markup of one table cell (or field) of the page, found by its cell key in the
    name of its input or its data-cell."""
    escaped = re.escape(key)
    found = re.search(rf'<td\b[^>]*data-cell="{escaped}"[^>]*>.*?</td>', text, flags=re.S) \
        or re.search(rf'<td>(?:(?!</td>|<td).)*name="{escaped}"(?:(?!</td>|<td|</tr>).)*',
                     text, flags=re.S) \
        or re.search(rf'<div class="f[^"]*" data-cell="{escaped}"[^>]*>.*?</div>', text, flags=re.S)
    assert found, f"no cell {key} on the page"
    return found.group(0)


@contextmanager
def browser_page(base: str, username: str) -> Iterator[Any]:
    """A signed-in page of Debian's chromium (Playwright), 1280 px wide."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/masuk")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/masuk" not in url)
        yield page


def assert_unique_ids(text: str) -> None:
    """No id twice on a page (labels, descriptions and summary links point at them)."""
    ids = re.findall(r'\sid="([^"]+)"', text)
    twice = sorted({i for i in ids if ids.count(i) > 1})
    assert not twice, f"ids used more than once: {twice[:10]}"
