"""A load process: hammer the token service until a deadline, then print what happened.

    python -m tests.workers.load ensure SECONDS THREADS FIRST_ID LAST_ID HOT
    python -m tests.workers.load command SECONDS CONCURRENCY
"""

import json
import random
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from io import StringIO

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from integrations import tokens  # noqa: E402
from integrations.models import Integration  # noqa: E402


def ensure(seconds, threads, first, last, hot):
    deadline = time.monotonic() + seconds
    counts = Counter()
    lock = threading.Lock()

    def worker():
        try:
            while time.monotonic() < deadline:
                # Half the calls go to a few hot integrations, so callers collide on purpose.
                pk = random.randint(first, first + hot - 1) if random.random() < 0.5 else random.randint(first, last)
                integration = Integration.objects.get(pk=pk)
                try:
                    if random.random() < 0.2:
                        tokens.ensure_fresh(integration, force=True)
                    else:
                        tokens.ensure_fresh(integration, buffer=timedelta(minutes=59, seconds=40))
                    outcome = "ok"
                except tokens.TokenError as exc:
                    outcome = f"error:{exc.code}"
                with lock:
                    counts[outcome] += 1
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return counts


def command(seconds, concurrency):
    deadline = time.monotonic() + seconds
    counts = Counter()
    while time.monotonic() < deadline:
        out = StringIO()
        try:
            call_command("refresh_tokens", "--within", "3590s", "--concurrency", str(concurrency),
                         "--json", stdout=out)
        except SystemExit:
            pass
        summary = json.loads(out.getvalue())
        for key in ("refreshed", "skipped", "reauth", "operator", "transient"):
            counts[key] += summary[key]
        counts["runs"] += 1
    return counts


if __name__ == "__main__":
    mode, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
    result = ensure(*args) if mode == "ensure" else command(*args)
    print(json.dumps(result), flush=True)
