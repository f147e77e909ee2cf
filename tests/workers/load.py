"""A load process: hammer the token service until a deadline, then print what happened.

    python -m tests.workers.load ensure SECONDS THREADS FIRST_ID LAST_ID HOT
    python -m tests.workers.load command SECONDS CONCURRENCY

The JSON line also carries `latency`: how long this process's token requests took.
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

from integrations import http, tokens  # noqa: E402
from integrations.models import Integration  # noqa: E402

STARTED = time.monotonic()
_timings = []  # (seconds since start, seconds taken, outcome) of each token request


def _timed(request):
    """Wrap integrations.http.request: time every POST to the token endpoint."""

    def timed(method, url, **kwargs):
        if method != "POST" or not url.rstrip("/").endswith("/token"):
            return request(method, url, **kwargs)
        began = time.monotonic()
        outcome = "error"
        try:
            response = request(method, url, **kwargs)
            outcome = str(response.status_code)
            return response
        except http.NetworkError as exc:
            outcome = exc.code
            raise
        finally:
            _timings.append((began - STARTED, time.monotonic() - began, outcome))

    return timed


http.request = _timed(http.request)


def latency():
    """Token-request latency in this process: count, p50/p99/max (ms), the slowest few."""
    taken = sorted(t for _, t, _ in _timings)
    if not taken:
        return {"token_requests": 0}

    def pct(p):
        return round(taken[min(len(taken) - 1, int(p * len(taken)))] * 1000)

    slowest = sorted(_timings, key=lambda row: -row[1])[:5]
    return {"token_requests": len(taken), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
            "max_ms": round(taken[-1] * 1000),
            "over_5s": sum(t > 5 for t in taken),
            "slowest": [[round(at, 1), round(t, 1), outcome] for at, t, outcome in slowest]}


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
    print(json.dumps({**result, "latency": latency()}), flush=True)
