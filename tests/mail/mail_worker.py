"""An e-mail worker for the crash test: deliver in a loop until killed.

    python mail_worker.py DATABASE_URL LEASE_SECONDS      (SMTP: the AKSI_SMTP_* variables)
"""

from __future__ import annotations

import datetime as dt
import sys
import time

from engine.mail import load_settings, run_once
from engine.store import Database


def main() -> None:
    url, lease = sys.argv[1], float(sys.argv[2])
    db = Database(url)
    settings = load_settings()
    print("worker: started", flush=True)
    while True:
        report = run_once(db, settings, limit=3, lease=dt.timedelta(seconds=lease))
        print(f"worker: {report}", flush=True)
        time.sleep(0.02)


if __name__ == "__main__":
    main()
