"""The wheel as a new user gets it: built from the source, installed alone in a clean
virtualenv (its dependencies from the package index), and run from a directory that is
not the source tree - `aksi check` on the definitions it ships, `aksi demo`, `aksi serve`
answering over HTTP. Slow (a build, an install, a played year): one test, one venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chromium import free_port
from helpers import REPO

SOURCE = ("pyproject.toml", "setup.py", "README.md", "engine", "webhooks", "workflows", "forms")
SLOW = 900  # seconds any one step may take on a loaded machine before the test fails


def run(*args, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=SLOW)


def ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"{done.args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.timeout(3 * SLOW)
def test_the_wheel_runs_check_demo_and_serve_from_any_directory(tmp_path):
    # Built from a copy: an in-tree build would leave build/ in the source tree.
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCE:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AKSI_", "PYTHON", "VIRTUAL_ENV"))}
    ok(run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist",
           source, cwd=tmp_path, env=env))
    [wheel] = (tmp_path / "dist").glob("aksi-*.whl")
    shutil.rmtree(source)  # nothing of the source tree is left to lean on

    venv = tmp_path / "venv"
    ok(run(sys.executable, "-m", "venv", venv, cwd=tmp_path, env=env))
    ok(run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel, cwd=tmp_path, env=env))
    aksi = venv / "bin" / "aksi"
    here = tmp_path / "elsewhere"  # no ./workflows here: the shipped definitions are used
    here.mkdir()
    env = {**env, "AKSI_FILES": str(here / "files"), "AKSI_SECRET_KEY": "wheel-" + "k" * 40}

    checked = ok(run(aksi, "check", cwd=here, env=env))
    shipped = venv.glob("lib/python*/site-packages/engine/_defaults/workflows")
    [shipped] = list(shipped)
    assert f"Definisi: {shipped} (bawaan aksi" in checked.stderr
    assert "0 galat" in checked.stderr
    assert "provinsi.yaml" in checked.stdout  # its warnings, with their files
    missing = run(aksi, "--workflows", here / "nope", "check", cwd=here, env=env)
    assert missing.returncode == 1
    assert f"{here / 'nope'}:1:1: error missing-directory: " in missing.stdout

    ok(run(aksi, "demo", "--province", "31", "--as-of", "2026-01-02", cwd=here, env=env))
    assert (here / "aksi.db").is_file()  # the default store, in the working directory

    port = free_port()
    server = subprocess.Popen([aksi, "serve", "--port", str(port), "--no-clock"], cwd=here,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # until it listens
            try:
                health = httpx.get(f"{base}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode()
                time.sleep(0.2)
        else:
            pytest.fail("aksi serve did not answer")
        assert health.status_code == 200
        sign_in = httpx.get(f"{base}/masuk", timeout=30)  # a template of the wheel's
        assert sign_in.status_code == 200 and "Kata sandi" in sign_in.text
        script = httpx.get(f"{base}/static/vendor/mermaid/mermaid.min.js", timeout=30)
        assert script.status_code == 200 and len(script.content) > 100_000  # its static files
    finally:
        server.terminate()
        server.wait(timeout=30)
