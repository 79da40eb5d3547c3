"""``aksi webhooks list|retry|deliver`` through click's CliRunner, against real HTTP."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from engine.cli import main
from webhook_support import NOW, SECRET, Receiver, add_events, deliveries


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def config(tmp_path, url: str, max_attempts: int = 2) -> str:
    path = tmp_path / "hooks.yaml"
    path.write_text(f"""\
subscriptions:
  - name: dinkes
    url: {url}
    secret_env: DINKES_SECRET
    events: [approve]
    max_attempts: {max_attempts}
""", encoding="utf-8")
    return str(path)


def aksi(runner, db, *args, env=None):
    return runner.invoke(main, ["--db", db.url, "webhooks", *args],
                         env={"DINKES_SECRET": SECRET, **(env or {})})


def test_dead_deliveries_are_listed_retried_and_delivered(runner, db, httpserver, tmp_path):
    receiver = Receiver(statuses=(500, 500, 200))
    httpserver.expect_request("/dinkes", method="POST").respond_with_handler(receiver)
    ids = add_events(db, [("approve", "19.01"), ("submit", "19.01")])
    hooks = config(tmp_path, httpserver.url_for("/dinkes"))

    first = aksi(runner, db, "deliver", "--config", hooks, "--now", NOW.isoformat(), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.output) == {"queued": 1, "delivered": 0, "failed": 1, "dead": 0}
    (row,) = deliveries(db)
    later = row.next_attempt_at.isoformat()
    # The subscriptions file may come from the environment as well.
    second = aksi(runner, db, "deliver", "--now", later, env={"AKSI_WEBHOOKS": hooks})
    assert second.exit_code == 0, second.output
    assert "1 mati" in second.output

    listed = aksi(runner, db, "list", "--status", "dead")
    assert listed.exit_code == 0, listed.output
    header, line = listed.output.splitlines()
    assert line.split()[:6] == [str(row.id), str(ids[0]), "approve", "dinkes", "dead", "2"]
    assert "HTTP 500" in line
    as_json = json.loads(aksi(runner, db, "list", "--status", "dead", "--json").output)
    assert [(d["id"], d["event_id"], d["kind"], d["subscription"], d["attempts"])
            for d in as_json] == [(row.id, ids[0], "approve", "dinkes", 2)]
    assert as_json[0]["last_error"].startswith("HTTP 500")
    assert aksi(runner, db, "list", "--status", "pending").output.startswith(
        "tidak ada pengiriman berstatus pending")

    retried = aksi(runner, db, "retry", str(row.id))
    assert retried.exit_code == 0, retried.output
    assert retried.output.strip() == f"1 pengiriman diantrekan lagi: {row.id}"
    assert json.loads(aksi(runner, db, "list", "--status", "dead", "--json").output) == []

    third = aksi(runner, db, "deliver", "--config", hooks, "--json")  # the real clock: due now
    assert json.loads(third.output) == {"queued": 0, "delivered": 1, "failed": 0, "dead": 0}
    assert receiver.keys() == [str(ids[0])] * 3
    assert [r.status for r in deliveries(db)] == ["delivered"]


def test_retry_all_dead_and_refusals(runner, db, tmp_path):
    add_events(db, [("approve", "19")] * 2)
    hooks = config(tmp_path, "http://127.0.0.1:9/closed", max_attempts=1)  # port 9: refused
    out = aksi(runner, db, "deliver", "--config", hooks, "--now", NOW.isoformat())
    assert out.exit_code == 0 and "2 mati" in out.output
    dead = [r.id for r in deliveries(db, status="dead")]
    assert all(r.last_error for r in deliveries(db))

    assert aksi(runner, db, "retry").exit_code == 2  # neither ids nor --all-dead
    assert aksi(runner, db, "retry", "1", "--all-dead").exit_code == 2
    unknown = aksi(runner, db, "retry", str(dead[0]), "424242", "--json")
    assert unknown.exit_code == 1
    assert json.loads(unknown.stdout) == {"retried": [dead[0]], "not_dead": [424242]}
    again = aksi(runner, db, "retry", str(dead[0]))  # pending now, not dead
    assert again.exit_code == 1 and "tidak berstatus dead" in again.stderr
    every = aksi(runner, db, "retry", "--all-dead", "--json")
    assert every.exit_code == 0 and json.loads(every.output)["retried"] == dead[1:]


def test_deliver_reports_config_mistakes_and_missing_files(runner, db, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- name: x\n  url: ftp://x\n  secret: s\n  events: ['*']\n", encoding="utf-8")
    out = aksi(runner, db, "deliver", "--config", str(bad))
    assert out.exit_code == 1
    assert f"{bad}:2: " in out.stderr and "http://" in out.stderr
    missing = aksi(runner, db, "deliver", "--config", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 1 and "tidak ada" in missing.stderr


def test_deliver_without_subscriptions_says_so(runner, db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./webhooks.yaml here
    add_events(db, [("approve", "19")])
    out = aksi(runner, db, "deliver", "--json")
    assert out.exit_code == 0
    assert json.loads(out.stdout) == {"queued": 0, "delivered": 0, "failed": 0, "dead": 0}
    assert deliveries(db) == []


def test_the_commands_need_a_migrated_database(runner, tmp_path):
    out = runner.invoke(main, ["--db", f"sqlite:///{tmp_path}/empty.db", "webhooks", "list"])
    assert out.exit_code == 1 and "aksi db upgrade" in out.output


def test_the_worker_schedules_delivery_when_subscriptions_exist(db, httpserver, tmp_path,
                                                                  monkeypatch):
    """``aksi worker`` / ``aksi serve`` pick the webhooks up through the jobs engine/cli/clock.py composes."""
    from engine.cli.clock import worker_jobs as jobs_for

    receiver = Receiver()
    httpserver.expect_request("/dinkes", method="POST").respond_with_handler(receiver)
    monkeypatch.chdir(tmp_path)  # no ./webhooks.yaml: no webhook job
    assert [name for name, _ in jobs_for(db)] == ["tick"]
    monkeypatch.setenv("AKSI_WEBHOOKS", config(tmp_path, httpserver.url_for("/dinkes")))
    monkeypatch.setenv("DINKES_SECRET", SECRET)
    ids = add_events(db, [("approve", "19.01"), ("submit", "19.01")])
    messages = []
    jobs = dict(jobs_for(db, echo=messages.append))
    jobs["webhooks"]()
    assert receiver.keys() == [str(ids[0])]
    assert messages == ["webhooks: 1 diantrekan, 1 terkirim, 0 gagal (dicoba lagi), 0 mati"]
