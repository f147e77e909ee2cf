"""A helper process for the concurrency tests: N threads call ensure_fresh(force=True) at once.

    python -m tests.workers.refresh INTEGRATION_ID THREADS [--wait-for-go]

With --wait-for-go it prints READY once set up and starts when a line arrives on stdin, so the
parent can release several processes at the same moment. Prints one JSON line: the access token
each thread got, or its error code.
"""

import json
import sys
import threading

import django

django.setup()

from django.db import connection  # noqa: E402

from integrations import tokens  # noqa: E402
from integrations.models import Integration  # noqa: E402


def main(integration_id, threads, wait_for_go):
    results = []
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1)

    def worker():
        integration = Integration.objects.get(pk=integration_id)
        ready.wait()  # every thread has its connection and row: start together
        try:
            cred = tokens.ensure_fresh(integration, force=True)
            outcome = {"token": cred.access_token}
        except tokens.TokenError as exc:
            outcome = {"error": exc.code}
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    if wait_for_go:
        print("READY", flush=True)
        sys.stdin.readline()
    ready.wait()
    for t in pool:
        t.join()
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), "--wait-for-go" in sys.argv)
