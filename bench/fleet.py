"""Proactive refresh on real workers: PostgreSQL, Redis, two Celery worker processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/6 \\
        python -m bench.fleet [--n 20000] [--latency-ms 100] [--pool prefork] [--procs 1] \\
                              [--threads 16] [--batch-size 500]

N due credentials, a loopback token endpoint answering after --latency-ms, two `celery worker`
processes (`--pool P --concurrency PROCS`), `refresh_tokens --enqueue` handing out batches of
--batch-size ids that each worker refreshes on --threads threads. Wall time runs from the
enqueue until every credential is refreshed, next to the latency bound
N x latency / (2 workers x PROCS x THREADS); target within 1.3x.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

from bench.common import ROOT, make_integrations, setup_django, token_server


def worker_env(args, token_url, queue):
    return dict(
        os.environ, DJANGO_SETTINGS_MODULE="config.settings", PYTHONPATH=str(ROOT),
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-not-secret"), DEBUG="false",
        ALLOWED_HOSTS="localhost", LOG_LEVEL="WARNING", CELERY_TASK_ALWAYS_EAGER="false",
        CELERY_TASK_DEFAULT_QUEUE=queue, FERNET_KEYS=os.environ["FERNET_KEYS"],
        INTEGRATIONS_REFRESH_BATCH_SIZE=str(args.batch_size),
        INTEGRATIONS_REFRESH_BATCH_CONCURRENCY=str(args.threads),
        INTEGRATIONS_PROVIDERS=json.dumps({"bench": {
            "name": "Bench", "authorize_url": "http://127.0.0.1/authorize",
            "token_url": token_url, "client_id": "bench-client",
            "client_secret": "bench-secret", "scopes": ["read"]}}),
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    parser.add_argument("--procs", type=int, default=1, help="--concurrency of each worker")
    parser.add_argument("--threads", type=int, default=16, help="threads per batch")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get(
            "REDIS_URL"):
        sys.exit("needs DATABASE_URL=postgres://... and REDIS_URL (see the docstring)")
    os.environ.setdefault("FERNET_KEYS", "bench-key-0123456789abcdef-0123456789")
    setup_django()
    from django.utils import timezone

    from integrations.models import OAuthCredential

    queue = f"bench-fleet-{uuid.uuid4().hex[:6]}"
    with token_server(args.latency_ms) as token_url:
        env = worker_env(args, token_url, queue)
        make_integrations(args.n, expires_in=timedelta(minutes=10))
        OAuthCredential.objects.update(last_refreshed_at=timezone.now() - timedelta(hours=1))
        workers = [subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue,
             f"--pool={args.pool}", f"--concurrency={args.procs}", "--loglevel=WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"{queue}-{i}@%h"], cwd=ROOT, env=env) for i in range(2)]
        try:
            time.sleep(6)  # both workers up and listening
            started = timezone.now()
            clock = time.perf_counter()
            enqueue = subprocess.run([sys.executable, "manage.py", "refresh_tokens", "--enqueue",
                                      "--within", "1h", "--json"], cwd=ROOT, env=env,
                                     capture_output=True, text=True, check=True)
            sent = json.loads(enqueue.stdout)
            while True:
                done = OAuthCredential.objects.filter(last_refreshed_at__gte=started).count()
                if done >= args.n or time.perf_counter() - clock > 30 * 60:
                    break
                time.sleep(0.2)
            wall = time.perf_counter() - clock
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=60)
    concurrency = 2 * args.procs * args.threads
    bound = args.n * args.latency_ms / 1000 / concurrency
    result = {
        "n": args.n, "latency_ms": args.latency_ms, "pool": args.pool, "procs": args.procs,
        "threads_per_batch": args.threads, "total_concurrency": concurrency,
        "batches": sent["batches"], "refreshed": done, "wall_s": round(wall, 1),
        "latency_bound_s": round(bound, 1), "ratio": round(wall / bound, 2),
        "refreshes_per_s": round(done / wall),
    }
    print(json.dumps(result, indent=2))
    print(f"{done} refreshed in {wall:.1f} s vs latency bound {bound:.1f} s = {wall / bound:.2f}x "
          "(target <= 1.3x)")


if __name__ == "__main__":
    main()
