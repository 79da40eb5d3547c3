"""Sign-in throttling: guessers are refused before any hashing, per address and per
username at an address, so they never lock the real person out; the counters are
atomic across processes, pruned, and honour a trusted proxy's X-Forwarded-For."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pytest
import time_machine
from sqlalchemy import func, select

from engine.people import users
from engine.people.throttle import address_of
from engine.store.models import SignInCounter
from engine.web import create_app
from runtime.support import NOW, user

from . import throttle_support
from .conftest import KEC, csrf_token, sign_in

VICTIM = user("approver", KEC)
LIMITS = {"SIGN_IN_LIMIT_PER_ACCOUNT": 3, "SIGN_IN_LIMIT_PER_ADDRESS": 5,
          "SIGN_IN_WINDOW_MINUTES": 15}


@pytest.fixture
def configured(app):
    """Another app on the same store (users and passwords of `app`), with ``config``."""
    made = []

    def make(**config):
        made.append(create_app({"DATABASE_URL": app.config["DATABASE_URL"],
                                "SECRET_KEY": "test", "TESTING": True, **config}))
        return made[-1]

    yield make
    for other in made:
        other.extensions["aksi.db"].dispose()


@pytest.fixture
def hashes(monkeypatch) -> list[str]:
    """Every password check, recorded (the 160 ms a guesser wants us to spend)."""
    calls: list[str] = []
    real = users.check_password_hash

    def counting(stored: str, password: str) -> bool:
        calls.append(password)
        return real(stored, password)

    monkeypatch.setattr(users, "check_password_hash", counting)
    return calls


def client_at(app, address: str, **environ):
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": address, **environ})
    return client


def counters(app) -> int:
    with app.extensions["aksi.db"].session() as s:
        return s.scalar(select(func.count()).select_from(SignInCounter))


def test_guesses_from_elsewhere_never_lock_the_victim_out(configured, hashes):
    app = configured(**LIMITS)
    for address in ("203.0.113.7", "203.0.113.8", "198.51.100.9"):
        attacker = client_at(app, address)
        for _ in range(3):
            assert sign_in(attacker, VICTIM, "tebakan").status_code == 401
        checked = len(hashes)
        refused = sign_in(attacker, VICTIM, "tebakan")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "900"  # the window began at the first guess
        page = refused.get_data(as_text=True)
        assert "terlalu banyak percobaan masuk yang gagal" in page
        assert "coba lagi dalam 15 menit" in page
        assert sign_in(attacker, VICTIM).status_code == 429  # the right password too, here
        assert len(hashes) == checked  # refused before any hashing
    assert len(hashes) == 9
    victim = client_at(app, "192.0.2.44")  # the approver at their own office
    assert sign_in(victim, VICTIM).status_code == 302
    assert victim.get("/tugas").status_code == 200


def test_retry_after_counts_down_and_the_window_passes(configured, hashes):
    app = configured(**LIMITS)
    attacker = client_at(app, "203.0.113.7")
    for _ in range(3):
        sign_in(attacker, VICTIM, "tebakan")
    with time_machine.travel(NOW + dt.timedelta(minutes=10, seconds=30), tick=False):
        refused = sign_in(attacker, VICTIM)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "270"
        assert "coba lagi dalam 5 menit" in refused.get_data(as_text=True)
    with time_machine.travel(NOW + dt.timedelta(minutes=15), tick=False):
        assert sign_in(attacker, VICTIM).status_code == 302  # a new window
    assert len(hashes) == 4


def test_one_address_is_limited_across_usernames(configured, hashes):
    app = configured(**LIMITS)
    sprayer = client_at(app, "203.0.113.7")
    for n in range(5):
        assert sign_in(sprayer, f"tebakan-{n}", "tebakan").status_code == 401
    refused = sign_in(sprayer, user("operator", KEC))  # a real user, the right password
    assert refused.status_code == 429 and "alamat jaringan Anda" in refused.get_data(as_text=True)
    assert len(hashes) == 5
    assert sign_in(client_at(app, "203.0.113.8"), user("operator", KEC)).status_code == 302


def test_a_right_password_gives_its_count_back(configured):
    """Only refusals count: people of one office signing in all day are never throttled."""
    app = configured(**LIMITS)
    office = client_at(app, "192.0.2.44")
    assert sign_in(office, VICTIM, "salah ketik").status_code == 401
    for _ in range(6):  # more than either limit
        assert sign_in(office, VICTIM).status_code == 302
        office.post("/keluar", data={"csrf_token": csrf_token(office.get("/tugas").data)})
    with app.extensions["aksi.db"].session() as s:
        assert dict(s.execute(select(SignInCounter.key, SignInCounter.failures)).all()) == {
            "a:192.0.2.44": 1, f"u:192.0.2.44|{VICTIM}": 1}


def test_counters_are_pruned_and_bounded_for_unknown_usernames(configured):
    app = configured(**LIMITS)
    for address in ("203.0.113.7", "203.0.113.8"):
        sprayer = client_at(app, address)
        for n in range(12):  # only 5 per address get as far as a username's counter
            sign_in(sprayer, f"tidak-ada-{address}-{n}", "tebakan")
    assert counters(app) == 2 * (1 + 5)
    with time_machine.travel(NOW + dt.timedelta(minutes=16), tick=False):
        assert sign_in(client_at(app, "192.0.2.44"), "tidak-ada", "x").status_code == 401
        with app.extensions["aksi.db"].session() as s:
            assert set(s.scalars(select(SignInCounter.key))) == {
                "a:192.0.2.44", "u:192.0.2.44|tidak-ada"}  # the old windows are gone


@pytest.mark.parametrize("binding", ["per_account", "per_address"])
def test_parallel_guesses_never_pass_the_limit(started, db_url, binding):
    """Four processes of four threads guess at once from one address, more guessers than
    the limit: exactly `limit` passwords are checked, however the counters' statements
    interleave (on PostgreSQL, 16 connections at once). Either limit may be the one
    reached."""
    ctx = multiprocessing.get_context("spawn")
    procs_n, threads, tries, limit = 4, 4, 3, 5
    limits = {"per_account": 1000, "per_address": 1000, binding: limit}
    barrier = ctx.Barrier(procs_n * threads)
    results = ctx.Queue()
    procs = [ctx.Process(target=throttle_support.guessing_worker,
                         args=(db_url, VICTIM, "203.0.113.7", threads, tries, limits,
                               NOW.isoformat(), barrier, results))
             for _ in range(procs_n)]
    for p in procs:
        p.start()
    reports = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [errors for _, _, errors in reports] == [[]] * procs_n
    assert sum(hashed for hashed, _, _ in reports) == limit
    assert sum(refused for _, refused, _ in reports) == procs_n * threads * tries - limit
    with started.session() as s:
        assert dict(s.execute(select(SignInCounter.key, SignInCounter.failures)).all()) == {
            "a:203.0.113.7": limit, f"u:203.0.113.7|{VICTIM}": limit}


def test_forwarded_for_counts_only_behind_a_trusted_proxy(configured, hashes):
    direct = configured(**LIMITS)
    liar = client_at(direct, "203.0.113.7")
    for n in range(3):  # a new X-Forwarded-For each time does not make a new address
        liar.environ_base["HTTP_X_FORWARDED_FOR"] = f"198.51.100.{n}"
        assert sign_in(liar, VICTIM, "tebakan").status_code == 401
    liar.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.99"
    assert sign_in(liar, VICTIM).status_code == 429

    proxied = configured(TRUSTED_PROXIES=1, **LIMITS)
    attacker = client_at(proxied, "127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1")
    for _ in range(3):
        assert sign_in(attacker, VICTIM, "tebakan").status_code == 401
    assert sign_in(attacker, VICTIM).status_code == 429
    victim = client_at(proxied, "127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.44")
    assert sign_in(victim, VICTIM).status_code == 302  # same proxy, another client


def test_an_ipv6_host_counts_as_its_slash_64():
    assert address_of("2001:db8:1:2:aaaa::1") == address_of("2001:db8:1:2:ffff::9") \
        == "2001:db8:1:2::/64"
    assert address_of("2001:db8:1:3::1") != address_of("2001:db8:1:2::1")
    assert address_of("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_of("203.0.113.7") == "203.0.113.7"


@pytest.mark.parametrize("key, value", [("SIGN_IN_LIMIT_PER_ACCOUNT", 0),
                                        ("SESSION_IDLE_MINUTES", "lama"),
                                        ("TRUSTED_PROXIES", -1)])
def test_a_bad_setting_stops_the_app_with_its_name(configured, key, value):
    with pytest.raises(RuntimeError, match=f"AKSI_{key}="):
        configured(**{key: value})
