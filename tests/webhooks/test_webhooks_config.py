"""The subscriptions file: what it accepts, frozen, and how it reports mistakes (file:line)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from webhooks import ConfigError, Subscription, WebhookError, load_subscriptions

GOOD = """\
subscriptions:
  - name: bappeda-sync
    url: https://bappeda.example.go.id/hooks/aksi
    secret_env: HOOK_SECRET
    events: [approve, deadline_extended]
    regions: ["19", "32.04"]
    timeout: 2.5
    max_attempts: 3
  - name: semua
    url: http://127.0.0.1:9/x
    secret: s3cret
    events: ["*"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "webhooks.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    """1-based line of the only occurrence of ``needle`` (computed, never hard-coded)."""
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def test_loads_and_freezes_subscriptions(tmp_path):
    subs = load_subscriptions(write(tmp_path, GOOD), environ={"HOOK_SECRET": "dari-env"})
    assert subs == (
        Subscription(name="bappeda-sync", url="https://bappeda.example.go.id/hooks/aksi",
                     secret="dari-env", events=("approve", "deadline_extended"),
                     regions=("19", "32.04"), timeout=2.5, max_attempts=3),
        Subscription(name="semua", url="http://127.0.0.1:9/x", secret="s3cret", events=("*",),
                     regions=(), timeout=10.0, max_attempts=8),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        subs[0].url = "http://elsewhere"  # type: ignore[misc]
    assert "dari-env" not in repr(subs[0]) and "s3cret" not in repr(subs)


def test_a_plain_list_at_the_top_is_accepted(tmp_path):
    text = "- name: a\n  url: http://h/a\n  secret: s\n  events: submit\n"
    (sub,) = load_subscriptions(write(tmp_path, text))
    assert sub.events == ("submit",) and sub.regions == ()


def test_default_file_missing_means_no_subscriptions(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_subscriptions(environ={}) == ()
    (tmp_path / "webhooks.yaml").write_text(GOOD.replace("secret_env: HOOK_SECRET",
                                                         "secret: x"), encoding="utf-8")
    assert [s.name for s in load_subscriptions(environ={})] == ["bappeda-sync", "semua"]


def test_a_named_file_must_exist(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as err:
        load_subscriptions(environ={"AKSI_WEBHOOKS": str(missing)})
    assert err.value.path == missing and str(err.value).startswith(f"{missing}: ")
    with pytest.raises(ConfigError):
        load_subscriptions(missing)


def test_env_var_names_the_file(tmp_path):
    path = write(tmp_path, "- {name: a, url: 'http://h/', secret: s, events: ['*']}\n")
    assert [s.name for s in load_subscriptions(environ={"AKSI_WEBHOOKS": str(path)})] == ["a"]


BASE = "- name: a\n  url: http://h/a\n  secret: s\n  events: ['*']\n"


@pytest.mark.parametrize("text, needle, reason", [
    (BASE + "  region: ['19']\n", "region:", "kunci tidak dikenal 'region'"),
    (BASE.replace("  url: http://h/a\n", ""), "name: a", "kunci 'url' wajib ada"),
    (BASE.replace("http://h/a", "ftp://h/a"), "url:", "http:// atau https://"),
    (BASE.replace("http://h/a", "http://"), "url:", "url"),
    (BASE.replace("name: a", "name: 'a b'"), "name:", "nama 'a b' tidak sah"),
    (BASE.replace("  secret: s\n", ""), "name: a", "tepat satu dari 'secret' atau 'secret_env'"),
    (BASE + "  secret_env: X\n", "name: a", "tepat satu"),
    (BASE.replace("secret: s", "secret_env: TIDAK_ADA"), "secret_env:", "TIDAK_ADA kosong"),
    (BASE.replace("['*']", "[]"), "events:", "events tidak boleh kosong"),
    (BASE + "  regions: [19.01]\n", "regions:", "dalam tanda kutip"),
    (BASE + "  regions: ['19.x']\n", "regions:", "kode wilayah '19.x' tidak sah"),
    (BASE + "  timeout: 0\n", "timeout:", "timeout 0"),
    (BASE + "  timeout: yes\n", "timeout:", "timeout True"),
    (BASE + "  max_attempts: 0\n", "max_attempts:", "max_attempts 0"),
    (BASE + "  max_attempts: 2.5\n", "max_attempts:", "max_attempts 2.5"),
    (BASE + BASE, None, "nama langganan 'a' dipakai dua kali (juga di baris 1)"),
    (BASE + "  url: http://lagi/\n", "lagi", "kunci 'url' ditulis dua kali"),
    ("subscriptions:\n  - 3\n", "- 3", "langganan ke-1 harus berupa pemetaan"),
    ("subscription:\n  - {}\n", "subscription:", "kunci tidak dikenal 'subscription'"),
    ("subscriptions: {a: 1}\n", "subscriptions:", "harus berupa daftar"),
    (BASE + "  events: [\n", None, "YAML tidak sah"),
])
def test_mistakes_name_file_line_and_reason(tmp_path, text, needle, reason):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_subscriptions(path, environ={})
    exc = err.value
    assert isinstance(exc, WebhookError)
    assert reason in exc.reason, exc.reason
    assert exc.path == path
    if needle is not None:
        assert exc.line == line_of(text, needle)
        assert str(exc).startswith(f"{path}:{exc.line}: ")
    elif reason.startswith("nama langganan"):
        assert exc.line == 5  # the second subscription's first line
    else:
        assert exc.line is not None


@pytest.mark.parametrize("kind, region, expected", [
    ("approve", "19", True),
    ("approve", "19.01.02", True),
    ("approve", "190", False),  # a prefix stops at a dot
    ("approve", "32.04.05", True),
    ("approve", "32.040", False),
    ("approve", "32", False),  # above the subscribed region
    ("approve", None, False),
    ("submit", "19", False),
])
def test_matches_kind_and_region_prefix(kind, region, expected):
    sub = Subscription(name="x", url="http://h/", secret="s", events=("approve",),
                       regions=("19", "32.04"))
    assert sub.matches(kind, region) is expected
    everything = Subscription(name="y", url="http://h/", secret="s")
    assert everything.matches(kind, region) is True
