"""Debian's chromium driven by Playwright, and the app served on a loopback port: what
every browser test (tests/e2e, and those in tests/web) starts from.

Browser tests run when ``AKSI_TEST_BROWSER`` names the browser (``.ci/run`` sets it);
then a missing browser or Playwright fails them instead of skipping them.

Tests close a browser *context*, never a page: ``page.close()`` has no timeout and waits
forever when Chromium drops the close of a page whose navigation is committing
(crbug.com/536385539, microsoft/playwright#42068) — it hung CI after a sign-out's redirect.
Disposing the context does not wait on the page. Every test also runs under pytest-timeout
(pyproject.toml), so a hang of any other kind fails with its stack instead of stalling CI.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from werkzeug.serving import make_server

BROWSER = os.environ.get("AKSI_TEST_BROWSER")
needs_browser = pytest.mark.skipif(not BROWSER, reason="AKSI_TEST_BROWSER is not set")
AKSI = [str(Path(sys.executable).with_name("aksi"))]  # the console script beside this Python
# No sandbox as root; no GPU; and no calls home, which this machine's closed network refuses.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking"]


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched Playwright browser (Debian's chromium at ``AKSI_TEST_BROWSER``)."""
    assert BROWSER and Path(BROWSER).exists(), f"AKSI_TEST_BROWSER={BROWSER}: no such browser"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=BROWSER, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(app) -> Iterator[str]:
    """``app`` on a free loopback port, in a thread of this process (so a clock the test
    pins is the server's clock too); yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="aksi-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@contextmanager
def demo_served(root: Path, year: str, *, then: tuple[list[str], ...] = ()) -> Iterator[str]:
    """`aksi demo` for ``year`` (as of its first day) and `aksi serve` as a user starts
    them, in their own processes (the commands of ``then`` run between the two); the store
    and uploaded files under ``root``. Yields the base URL."""
    db = f"sqlite:///{root / 'demo.db'}"
    env = {**os.environ, "AKSI_SECRET_KEY": "e2e-" + "k" * 40, "AKSI_FILES": str(root / "files")}
    # As of 1 January: the year's first stages open with drafts, nobody has acted yet.
    for command in (["demo", "--year", year, "--as-of", f"{year}-01-01"], *then):
        subprocess.run([*AKSI, "--db", db, *command], check=True, capture_output=True,
                       timeout=300, env=env)
    port = free_port()
    proc = subprocess.Popen([*AKSI, "--db", db, "serve", "--port", str(port), "--no-clock"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail(f"aksi serve did not answer: {proc.stdout.read1().decode()}")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
