"""Selection, reporting and fan-out at fleet scale, on PostgreSQL, each in its own process.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/fleet FERNET_KEYS=bench-key-0123456789abcdef-0123456789
    python -m bench.seed --n 1000000 --truncate
    REDIS_URL=redis://127.0.0.1:6379/5 python -m bench.fleet_scale [--explain bench/results/explain.txt]

Measures, side by side in one run (wall time and peak RSS of each process):
- the bare floor: a streamed SELECT (server-side cursor) of the due integration ids;
- `refresh_tokens --dry-run` (counts by provider and skip reason from SQL)   target <= 3x the floor
- `token_health` (read-only aggregates)                                       target <= 30 s
- `refresh_tokens --enqueue` to Redis (batches of INTEGRATIONS_REFRESH_BATCH_SIZE ids, onto a
  queue of its own that no worker reads; the messages are counted and deleted) target < 60 s
and writes the EXPLAIN (ANALYZE, BUFFERS) plans of the queries these commands and the health
endpoint run. Peak RSS target < 150 MB each.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "bench-fleet"


def child_env(**extra):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings", PYTHONPATH=str(ROOT))
    env.setdefault("SECRET_KEY", "bench-not-secret")
    env.setdefault("DEBUG", "false")
    env.setdefault("ALLOWED_HOSTS", "localhost")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def measure(args, **env):
    """(wall seconds, peak RSS MB, stdout) of one child process (reaped with wait4 for its
    own peak RSS)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=child_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    streams = {}
    readers = [threading.Thread(target=lambda n=n: streams.__setitem__(n, getattr(proc, n).read()))
               for n in ("stdout", "stderr")]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    for reader in readers:
        reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{args} failed ({proc.returncode}):\n{streams['stderr'][-3000:]}")
    return wall, usage.ru_maxrss / 1024, streams["stdout"]


BARE = """
import os, sys, django
django.setup()
from django.db import connection, transaction
from integrations import proactive
from django.utils import timezone
from datetime import timedelta
now = timezone.now()
rows = proactive.due(timedelta(hours=24), now, proactive.min_age_since(now)).order_by(
    "integration_id").values_list("integration_id", flat=True)
sql, params = rows.query.sql_with_params()
n = 0
with transaction.atomic(), connection.cursor() as cursor:
    server = cursor.connection.cursor(name="bare_due")  # psycopg server-side cursor: streamed
    server.execute(sql, params)
    while chunk := server.fetchmany(2000):
        n += len(chunk)
    server.close()
print(n)
"""

EXPLAIN = """
import django
django.setup()
from datetime import timedelta
from django.db import connection
from django.utils import timezone
from integrations import health, proactive
from integrations.management.commands import token_health
from integrations.models import Integration, OAuthCredential

now = timezone.now()
since = proactive.min_age_since(now)
day = timedelta(hours=24)
active = OAuthCredential.objects.of_active()
queries = {
    "refresh_tokens: one chunk of due ids (keyset)": proactive.due(day, now, since).filter(
        integration_id__gt=0).order_by("integration_id").values_list("integration_id")[:2000],
    "refresh_tokens --dry-run: due by provider": proactive.due(day, now, since).values(
        "integration__provider").annotate(n=__import__("django.db.models").db.models.Count("pk")),
    "cooldown count (refresh_tokens, token_health, health)":
        proactive._expiring(day, now, (), ()).cooling_down(now).values("pk"),
    "health: expiring within 1 h": active.expiring(timedelta(hours=1), now).values("pk"),
    "health: integrations by status": Integration.objects.values_list("status").annotate(
        n=__import__("django.db.models").db.models.Count("id")),
}
att = Integration.objects
parts = [att.filter(status="reauth_required"), att.active().filter(last_sync_status="error"),
         att.active().filter(credential__refresh_failures__gt=0),
         att.active().filter(credential__last_error_kind="operator")]
first, *rest = [p.values("pk") for p in parts]
queries["health: needs attention (union of indexed sets)"] = first.union(*rest)
with connection.cursor() as cursor:
    for title, qs in queries.items():
        sql, params = qs.query.sql_with_params()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        print("### " + title)
        print("\\n".join(r[0] for r in cursor.fetchall()))
        print()
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--explain", default=str(ROOT / "bench" / "results" / "explain.txt"))
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL to the seeded PostgreSQL database (see the docstring)")
    result = {}

    wall, rss, out = measure(["-c", BARE])
    result["bare_streamed_select"] = {"seconds": round(wall, 2), "peak_rss_mb": round(rss),
                                      "due": int(out.strip())}
    wall, rss, out = measure(["manage.py", "refresh_tokens", "--dry-run", "--json"])
    dry = json.loads(out)
    result["dry_run"] = {"seconds": round(wall, 2), "peak_rss_mb": round(rss), "due": dry["due"],
                         "skipped": dry["skipped_by_reason"]}
    result["dry_run_ratio"] = round(wall / result["bare_streamed_select"]["seconds"], 2)
    wall, rss, out = measure(["manage.py", "token_health", "--json", "--limit", "50"])
    health = json.loads(out)
    result["token_health"] = {"seconds": round(wall, 2), "peak_rss_mb": round(rss),
                              "reauth_required": health["reauth_required"]["count"]}

    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        import redis

        broker = redis.Redis.from_url(redis_url)
        broker.delete(QUEUE)
        wall, rss, out = measure(["manage.py", "refresh_tokens", "--enqueue", "--json"],
                                 CELERY_TASK_ALWAYS_EAGER="false", CELERY_TASK_DEFAULT_QUEUE=QUEUE)
        sent = json.loads(out)
        result["enqueue"] = {"seconds": round(wall, 2), "peak_rss_mb": round(rss),
                             "due": sent["enqueued"], "messages": sent["batches"],
                             "messages_in_redis": broker.llen(QUEUE)}
        broker.delete(QUEUE)

    Path(args.explain).parent.mkdir(parents=True, exist_ok=True)
    _, _, plans = measure(["-c", EXPLAIN])
    Path(args.explain).write_text(plans)
    result["explain"] = args.explain
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
