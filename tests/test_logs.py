"""Logs: plain by default, one JSON object per line with AKSI_LOG_FORMAT=json, for the
app and for `aksi worker` (a real process)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

from engine import logs


def test_json_lines_carry_extras_and_tracebacks():
    out = io.StringIO()
    handler = logs.configure({"AKSI_LOG_FORMAT": "json"}, stream=out)
    try:
        log = logging.getLogger("aksi.test")
        log.info("tahap %s dibuka", "analisis_situasi", extra={"region": "19.01.01"})
        try:
            raise ValueError("rusak")
        except ValueError:
            log.exception("gagal")
    finally:
        logging.getLogger().removeHandler(handler)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["message"] == "tahap analisis_situasi dibuka"
    assert first["region"] == "19.01.01" and first["level"] == "INFO"
    assert first["logger"] == "aksi.test" and first["time"].endswith("+00:00")
    assert second["level"] == "ERROR" and "ValueError: rusak" in second["exception"]


def test_configure_twice_keeps_one_handler():
    out = io.StringIO()
    logs.configure({}, stream=io.StringIO())
    handler = logs.configure({}, stream=out)
    try:
        logging.getLogger("aksi.test").warning("sekali")
    finally:
        logging.getLogger().removeHandler(handler)
    assert out.getvalue().count("sekali") == 1
    assert not out.getvalue().startswith("{")


def test_the_worker_logs_json_when_asked(tmp_path):
    db = f"sqlite:///{tmp_path}/a.db"
    aksi = [sys.executable, "-c", "import sys; from engine.cli import main; main()"]
    subprocess.run([*aksi, "--db", db, "db", "upgrade"], check=True, capture_output=True)
    env = {**os.environ, "AKSI_LOG_FORMAT": "json"}  # no ./webhooks.yaml in tmp_path
    worker = subprocess.Popen([*aksi, "--db", db, "worker", "--interval", "60"], env=env,
                              stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = json.loads(worker.stderr.readline())
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert line["logger"] == "aksi.worker" and line["level"] == "INFO"
    assert line["message"].startswith("worker: tick setiap 60 detik")


def test_the_worker_says_a_missing_subscriptions_file_plainly(tmp_path):
    db = f"sqlite:///{tmp_path}/a.db"
    aksi = [sys.executable, "-c", "import sys; from engine.cli import main; main()"]
    subprocess.run([*aksi, "--db", db, "db", "upgrade"], check=True, capture_output=True)
    env = {**os.environ, "AKSI_WEBHOOKS": str(tmp_path / "tidak-ada.yaml")}
    done = subprocess.run([*aksi, "--db", db, "worker"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "berkas langganan webhook tidak ada" in done.stderr
    assert "Traceback" not in done.stderr
