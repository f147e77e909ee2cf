"""The GBP sync at scale, against the sandbox served in a process of its own, next to its floor.

    python -m bench.gbp_sync [--locations 1000] [--reviews 20] [--latency-ms 100]
                             [--quota 300 | --no-quota] [--concurrency 8] [--pair 200]
                             [--redis URL | --no-redis]

One account with --locations locations and --reviews reviews each (the sandbox's large-account
fixture, user `agency-<N>x<R>`), every GBP API answer delayed by --latency-ms, the sandbox
enforcing Google's quota (--quota requests per minute per API, 429 RESOURCE_EXHAUSTED beyond)
and the product's limiter set to the same quota (--no-quota: no quota at the sandbox, none to
speak of at the limiter, and the floor is the latency bound alone). Measured in one run:

1. the first sync (GBP_BACKFILL_DAYS of metrics, a full review listing) and the second (a few
   days of metrics, reviews read incrementally): API calls per location and per API (counted at
   the sandbox), SQL statements per location (counted in this process, every connection), rows
   written, and the wall time next to its floor max(calls x latency / concurrency, the busiest
   API's calls / quota rate) with the ratio (target: within 1.3x);
2. two processes syncing two other integrations (--pair locations each) at once: the most
   requests any API got in any 60 seconds at the sandbox (must stay under --quota) and the 429s
   (0); skipped with --no-quota. The processes share the limiter through Redis (--redis,
   default $REDIS_URL); with --no-redis each paces alone, which shows why a shared store is
   needed.

The sandbox is served by one process when it counts a quota (it counts in its process), by as
many processes as cores with --no-quota (--server-processes N).

The database is DATABASE_URL if set, else a fresh SQLite file. The machine's load average is
printed at the start and the end: the figures are only as quiet as the machine.
"""

import argparse
import bisect
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import QueryCounter

ROOT = Path(__file__).resolve().parent.parent
NO_QUOTA = 10**9  # the limiter's quota with --no-quota: a slot every 63 ns, no pacing to speak of
ENDPOINT_API = {"accounts": "accounts", "locations": "locations", "metrics": "performance",
                "reviews": "reviews"}


def environment(args, database_url):
    """Settings for every process of the run (the product, the sandbox server, the pair)."""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": database_url,
        "DEBUG": "false", "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789abcdef",
        "FERNET_KEYS": "bench-fernet-key-0123456789abcdef", "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false", "SANDBOX_ENABLED": "true",
        "SANDBOX_ALLOW_WITHOUT_DEBUG": "true", "INTEGRATIONS_ALLOW_INSECURE_TRANSPORT": "true",
        "CELERY_TASK_ALWAYS_EAGER": "true", "LOG_LEVEL": "WARNING", "CONN_MAX_AGE": "0",
        "SANDBOX_GBP_QUOTA_PER_MINUTE": str(args.quota or 0),  # 0: no limit
        "SANDBOX_GBP_LATENCY_MS": str(int(args.latency_ms)),
        "GBP_QUOTA_PER_MINUTE": str(args.quota or NO_QUOTA),
        "GBP_SYNC_CONCURRENCY": str(args.concurrency),
        "GBP_RATE_LIMIT_STORE": args.redis or "default",
    }
    env.pop("REDIS_URL", None)
    return env


def setup(env):
    sys.path.insert(0, str(ROOT))
    os.environ.pop("REDIS_URL", None)  # tasks in-process; the limiter store is set explicitly
    os.environ.update(env)
    import django

    django.setup()


# --- the sandbox, served by a process of its own --------------------------------------------------
def serve(processes):
    """The sandbox on one listening socket, served by `processes` forked processes (one: the
    sandbox counts its quota in its own process; more: Google's side is not one interpreter
    whose GIL serialises every answer). A connection's thread keeps its database connection
    from one request to the next, as a real API front end would, instead of opening one per
    request (a new PostgreSQL backend each time)."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    connections.settings["default"]["CONN_MAX_AGE"] = None

    class Quiet(WSGIRequestHandler):
        # Like a real API front end: no 40 ms delayed-ACK stall between a response's headers and
        # its body (Django's development server leaves Nagle's algorithm on).
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

    ThreadedWSGIServer.request_queue_size = 256
    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(get_wsgi_application())
    # Warm, as a real API front end is: the URLconf (and what it imports: the JSON API's
    # schemas take ~0.3 s to build) loaded once before forking, not on each process's first
    # request, in the middle of a measured sync.
    from django.urls import get_resolver

    get_resolver().url_patterns
    connections.close_all()  # none shared across the fork
    for _ in range(processes - 1):
        if os.fork() == 0:
            break
    else:
        print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


def start_server(env, processes):
    """The sandbox's processes, in a process group of their own (see stop_server)."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.gbp_sync", "--serve", str(processes)],
                            cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    line = proc.stdout.readline()
    if not line.startswith("PORT"):
        stop_server(proc)
        raise SystemExit("the sandbox server did not start")
    return proc, f"http://127.0.0.1:{int(line.split()[1])}"


def stop_server(proc):
    os.killpg(proc.pid, signal.SIGKILL)  # its group: the server and the processes it forked
    proc.wait()


def point_at(base_url):
    from django.conf import settings

    from integrations.providers import registry
    from sandbox.conf import provider_declaration

    declaration = {"sandbox": provider_declaration(base_url, settings.SANDBOX_CLIENT_ID,
                                                   settings.SANDBOX_CLIENT_SECRET)}
    settings.INTEGRATIONS_PROVIDERS = declaration
    registry.clear_cache()
    return json.dumps(declaration)


def make_integration(username):
    """A sandbox user with the large-account fixture and an integration holding live tokens."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from accounts.models import User
    from integrations.conf import owner_model_name
    from integrations.models import Integration, OAuthCredential
    from sandbox import ops

    # A previous run's, on DATABASE_URL: its integration (and with it its locations, metrics
    # and reviews) too, which the user's deletion leaves to its team.
    Integration.objects.filter(external_id=f"bench-{username}").delete()
    User.objects.filter(username=username).delete()
    user = User.objects.create_user(username, f"{username}@example.com", "pw")
    access, refresh, _ = ops.issue_grants(user, 1)[0]
    owner = user if owner_model_name() == settings.AUTH_USER_MODEL else user.teams.first()
    integration = Integration.objects.create(owner=owner, connected_by=user, provider="sandbox",
                                             external_id=f"bench-{username}",
                                             display_name=username)
    OAuthCredential.objects.create(
        integration=integration, access_token=access, refresh_token=refresh,
        expires_at=timezone.now() + timedelta(hours=1),
        scopes=["openid", "email", "https://www.googleapis.com/auth/business.manage"])
    return integration


def settle(connection):
    """On PostgreSQL, vacuum what deleting a previous run's rows left behind (630,000 metric
    values after a run of 1,000 locations): otherwise autovacuum cleans it up in the middle of
    a measured sync, on the same cores, and the ratio wanders by 0.1-0.3x from run to run."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("gbp_gbpdailymetric", "gbp_gbpdailytotal", "gbp_gbpreview",
                          "gbp_gbplocation", "sandbox_call"):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")


# --- measuring ------------------------------------------------------------------------------------
def calls_since(call_id):
    from django.db.models import Count

    from sandbox.models import Call

    rows = Call.objects.filter(pk__gt=call_id).values("endpoint").annotate(n=Count("pk"))
    return {ENDPOINT_API[r["endpoint"]]: r["n"] for r in rows if r["endpoint"] in ENDPOINT_API}


def last_call_id():
    from sandbox.models import Call

    return Call.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def cpu_seconds(group):
    """User + system CPU so far of the processes of a process group (Linux /proc), for the
    profile of a run."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class WriteTimer:
    """Time the sync's own thread spends writing (the one writer), by wrapping its methods."""

    def __init__(self):
        from gbp import run

        self.seconds = 0.0
        for name in ("flush_metrics", "write_reviews"):
            setattr(run.Run, name, self.timed(getattr(run.Run, name)))

    def timed(self, method):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return wrapper


def measured_sync(name, integration, args, counter, server_pid, writes):
    from gbp.sync import GbpSyncService

    first_call, queries = last_call_id(), counter.count
    cpu, server_cpu, written = time.process_time(), cpu_seconds(server_pid), writes.seconds
    started = time.perf_counter()
    result = GbpSyncService(concurrency=args.concurrency).sync(integration)
    wall = time.perf_counter() - started
    cpu, server_cpu = time.process_time() - cpu, cpu_seconds(server_pid) - server_cpu
    statements = counter.count - queries
    calls = calls_since(first_call)
    if not result.ok:
        raise SystemExit(f"{name}: the sync failed: {result.error_code}: {result.message}")
    total = sum(calls.values())
    latency_floor = total * args.latency_ms / 1000 / args.concurrency
    busiest = max(calls, key=calls.get)
    quota_floor = calls[busiest] / (args.quota / 60) if args.quota else 0.0
    floor = max(latency_floor, quota_floor)
    n = result.locations_total
    return {
        "sync": name, "locations": n, "calls": calls, "calls_total": total,
        "calls_per_location": round(total / n, 3),
        "sql_statements": statements, "sql_per_location": round(statements / n, 2),
        "rows_written": {"accounts": result.accounts, "locations": result.locations,
                         "metric_values": result.metric_rows, "reviews": result.reviews,
                         "deleted": result.deleted},
        "wall_s": round(wall, 1), "latency_floor_s": round(latency_floor, 1),
        "quota_floor_s": round(quota_floor, 1), "busiest_api": busiest,
        "floor_s": round(floor, 1), "ratio": round(wall / floor, 2),
        "profile": {"sync_process_cpu_s": round(cpu, 1), "sandbox_server_cpu_s": round(
            server_cpu, 1), "writer_thread_s": round(writes.seconds - written, 1),
            "cores": os.cpu_count()},
    }


def max_in_window(times, seconds=60.0):
    """The most timestamps in any window of `seconds` (sorted input)."""
    best = 0
    for i, t in enumerate(times):
        best = max(best, bisect.bisect_left(times, t + seconds) - i)
    return best


def pair_check(args, env, base_decl, counter):
    """Two processes syncing two integrations at once, counted at the sandbox."""
    from sandbox.models import Call

    first, second = (make_integration(f"agency-{args.pair}x5"),
                     make_integration(f"agency-{args.pair + 1}x5"))
    start_id = last_call_id()
    child_env = {**os.environ, **env, "INTEGRATIONS_PROVIDERS": base_decl}
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "bench.gbp_sync", "--sync-one", str(i.pk)],
                              cwd=ROOT, env=child_env, stdout=subprocess.PIPE, text=True)
             for i in (first, second)]
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    wall = time.perf_counter() - started
    calls = Call.objects.filter(pk__gt=start_id)
    per_api = {}
    for endpoint, api in ENDPOINT_API.items():
        times = sorted(t.timestamp() for t in calls.filter(endpoint=endpoint)
                       .exclude(status=429).values_list("created_at", flat=True))
        per_api[api] = {"calls": len(times), "max_in_any_60s": max_in_window(times)}
    too_many = calls.filter(status=429).count()
    return {
        "processes": 2, "locations_each": [args.pair, args.pair + 1],
        "shared_limiter": args.redis or "none (each process paces alone)",
        "synced": [r["ok"] for r in results], "wall_s": round(wall, 1),
        "per_api": per_api, "quota_per_minute": args.quota, "answers_429": too_many,
        "under_quota": all(v["max_in_any_60s"] <= args.quota for v in per_api.values())
        and too_many == 0,
    }


def explain_metrics_read(integration):
    """The plan of the write path's biggest read: the stored metrics of 25 locations over the
    days a later sync fetches again (at the largest size measured)."""
    from datetime import timedelta

    from django.utils import timezone

    from gbp.models import GbpDailyMetric, GbpLocation

    ids = list(GbpLocation.objects.filter(integration=integration)
               .values_list("pk", flat=True)[:25])
    since = timezone.now().date() - timedelta(days=7)
    return GbpDailyMetric.objects.filter(location_id__in=ids, date__gte=since).values_list(
        "location_id", "metric", "date", "value").explain()


def sync_one(integration_id):
    from gbp.sync import GbpSyncService
    from integrations.models import Integration

    result = GbpSyncService().sync(Integration.objects.get(pk=integration_id))
    print(json.dumps({"ok": result.ok, "code": result.error_code, "calls": result.calls}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--locations", type=int, default=1000)
    parser.add_argument("--reviews", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--quota", type=int, default=300, help="requests per minute per API")
    parser.add_argument("--no-quota", action="store_true",
                        help="no quota: the floor is the latency bound (no two-process check)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pair", type=int, default=200,
                        help="locations of each of the two concurrent syncs (0: skip)")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", ""),
                        help="the shared limiter's Redis (default $REDIS_URL)")
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--server-processes", type=int,
                        help="processes serving the sandbox (default: 1 with a quota, which the "
                             "sandbox counts in its process; the machine's cores with --no-quota)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sync-one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve or args.sync_one:  # a child: the environment is already set
        setup({})
        return serve(args.serve) if args.serve else sync_one(args.sync_one)

    if args.no_redis:
        args.redis = ""
    if args.no_quota:
        args.quota, args.pair = None, 0
    if args.server_processes is None:
        args.server_processes = 1 if args.quota else os.cpu_count()
    if args.quota and args.server_processes > 1:
        parser.error("a quota is counted in one sandbox process: --server-processes 1")
    database_url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{Path(tempfile.mkdtemp()) / 'gbp_bench.sqlite3'}")
    env = environment(args, database_url)
    load_before = os.getloadavg()
    setup(env)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    if args.redis:  # a fresh pace for this run's APIs
        from gbp import limiter

        limiter.PREFIX = f"bench-{os.getpid()}:"
        env["GBP_RATE_LIMIT_STORE"] = args.redis
    server, base_url = start_server(env, args.server_processes)
    try:
        from sandbox import ops

        ops.register_client([f"{base_url}/integrations/callback/sandbox/"])
        declaration = point_at(base_url)
        integration = make_integration(f"agency-{args.locations}x{args.reviews}")
        settle(connection)
        counter = QueryCounter()
        counter.install()
        writes = WriteTimer()
        runs = [measured_sync(name, integration, args, counter, server.pid, writes)
                for name in ("first (backfill, full review listing)", "second (incremental)")]
        plan = explain_metrics_read(integration)
        pair = pair_check(args, env, declaration, counter) if args.pair else None
    finally:
        stop_server(server)
    report = {
        "database": connection.vendor, "latency_ms": args.latency_ms,
        "quota_per_minute": args.quota,
        "concurrency": args.concurrency, "sandbox_processes": args.server_processes,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "runs": runs, "two_processes": pair, "metrics_read_plan": plan,
    }
    print(json.dumps(report, indent=2))
    for run in runs:
        print(f"{run['sync']}: {run['locations']} locations, {run['calls_total']} calls "
              f"({run['calls_per_location']} per location: {run['calls']}), "
              f"{run['sql_per_location']} SQL statements per location; {run['wall_s']} s vs floor "
              f"{run['floor_s']} s (latency {run['latency_floor_s']} s, quota "
              f"{run['quota_floor_s']} s on {run['busiest_api']}) = {run['ratio']}x "
              "(target <= 1.3x)")
        p = run["profile"]
        print(f"  CPU: sync process {p['sync_process_cpu_s']} s (writer thread busy "
              f"{p['writer_thread_s']} s), sandbox server {p['sandbox_server_cpu_s']} s "
              f"({args.server_processes} process(es)), on "
              f"{p['cores']} cores")
    if pair:
        worst = max(v["max_in_any_60s"] for v in pair["per_api"].values())
        print(f"two processes at once ({pair['shared_limiter']}): at most {worst} requests per "
              f"API in any 60 s (quota {args.quota}), {pair['answers_429']} answers 429: "
              + ("under the quota" if pair["under_quota"] else "OVER THE QUOTA")
              + ("" if args.redis else " (no shared store: each process paced itself; "
                                       "pass --redis URL)"))
    print(f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after "
          f"({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
