"""A webhook worker for the crash test: deliver in a loop until killed.

    python webhook_worker.py DATABASE_URL SUBSCRIPTIONS_FILE LEASE_SECONDS
"""

from __future__ import annotations

import datetime as dt
import sys
import time

from engine.store import Database
from webhooks import load_subscriptions, run_once


def main() -> None:
    url, config, lease = sys.argv[1], sys.argv[2], float(sys.argv[3])
    db = Database(url)
    subscriptions = load_subscriptions(config)
    print("worker: started", flush=True)
    while True:
        report = run_once(db, subscriptions, limit=5, concurrency=1,
                          lease=dt.timedelta(seconds=lease))
        print(f"worker: {report}", flush=True)
        time.sleep(0.02)


if __name__ == "__main__":
    main()
