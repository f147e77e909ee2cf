"""A helper process for the concurrency tests: N threads call ensure_fresh(force=True) at once.

    python -m tests.workers.refresh INTEGRATION_ID THREADS START_AT_EPOCH

Prints one JSON line: the access token each thread got, or its error code.
"""

import json
import sys
import threading
import time

import django

django.setup()

from django.db import connection  # noqa: E402

from integrations import tokens  # noqa: E402
from integrations.models import Integration  # noqa: E402


def main(integration_id, threads, start_at):
    results = []
    lock = threading.Lock()

    def worker():
        integration = Integration.objects.get(pk=integration_id)
        delay = start_at - time.time()
        if delay > 0:
            time.sleep(delay)
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
    for t in pool:
        t.join()
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
