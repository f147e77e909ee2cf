"""Seed a database for scale benchmarks: users, integrations and OAuth credentials.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fleet FERNET_KEYS=bench-key-0123456789abcdef-0123456789 \\
        python -m bench.seed --n 1000000 --truncate

    python -m bench.seed --n N [--users U] [--due-fraction 0.324] [--truncate]
                         [--provider NAME | --providers google_business_profile:0.4,gmail:0.3,...]
                         [--token-url URL] [--unique-tokens] [--seed 1] [--jobs 1]

Writes N integrations, one credential each, and U users (default N/3, rounded up) into the
database in DATABASE_URL (required; migrated first). PostgreSQL gets COPY FROM STDIN in one
transaction, constraints kept (30-50 s for 1,000,000 on 2 cores; the deferred foreign-key checks
run at commit); with --truncate it is COPY FREEZE, so the pages are frozen and all-visible.
`--jobs 2` splits the rows into that many transactions in parallel processes (not atomic as a
whole; VACUUM ANALYZE after). SQLite gets batched executemany (fine for up to ~100,000 rows).

Tokens are real ciphertext: one access and one refresh token are encrypted once with the
current FERNET_KEYS and written to every row, so every row decrypts (`--unique-tokens`
encrypts per row instead, for a token endpoint that wants distinct refresh tokens; slower).
Run the benchmark with the same FERNET_KEYS as the seed.

The mixes (all options, printed at the end):
- providers: google_business_profile 40%, gmail 30%, microsoft 20%, amazon 10%; `--provider`
  puts every row on one provider (e.g. sandbox, bench). `--token-url URL` defaults the provider
  to `bench` and prints the INTEGRATIONS_PROVIDERS value that declares it at that URL.
- status: 93% active, 5% reauth_required (refresh token NULL, last error reauth/invalid_grant),
  2% disconnected (both tokens NULL, no expiry).
- of all rows, 1% active in cooldown (retry_after 15 min to 6 h ahead, 1-5 failures,
  transient/http_503) and 0.2% active with a lapsed operator error (operator/invalid_client).
- expiry: `--due-fraction` is the share of ALL rows that is due, as a proactive run counts it
  (active, expiring within 24 h, not cooling down): 0.324 gives ~324,000 due of 1,000,000, as
  measured in the issue. Of those, `--expired-fraction` (10%) have already expired (up to 2
  days ago); the other eligible rows expire uniformly over the `--later-days` (3) after that.
  Cooling-down rows have expired or expire within the hour. Every active token was last
  refreshed 1 h to 7 days ago (older than the proactive minimum age).
- last_sync_status: 75% ok, 23% never, 2% error.

`--truncate` empties users, integrations, credentials, events and refresh runs first (TRUNCATE
... CASCADE, so also what references them: admin log, user groups, GBP rows) and restarts ids
at 1; otherwise rows are appended after the current maximum ids.
"""

import argparse
import bisect
import json
import math
import multiprocessing
import os
import random
import sys
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

# Row kinds (a per-row plan shared by the integration and credential passes).
ACTIVE, COOLDOWN, OPERATOR, REAUTH, DISCONNECTED = range(5)
KIND_NAMES = ["active", "active, cooling down (transient http_503)",
              "active, operator error (invalid_client)", "reauth_required", "disconnected"]
STATUS = {ACTIVE: "active", COOLDOWN: "active", OPERATOR: "active",
          REAUTH: "reauth_required", DISCONNECTED: "disconnected"}
SYNC = ["ok", "never", "error"]

DEFAULT_PROVIDERS = "google_business_profile:0.4,gmail:0.3,microsoft:0.2,amazon:0.1"
GBP_SCOPE = "https://www.googleapis.com/auth/business.manage"
SCOPES = {
    "google_business_profile": [GBP_SCOPE, "openid", "email"],
    "sandbox": [GBP_SCOPE, "openid", "email"],
    "gmail": ["https://mail.google.com/", "openid", "email"],
    "microsoft": ["offline_access", "User.Read", "Mail.ReadWrite", "Mail.Send"],
    "amazon": ["profile", "advertising::campaign_management"],
}
HOUR, DAY = 3600, 86400


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, required=True, help="integrations (and credentials)")
    p.add_argument("--users", type=int, help="users (default: one per 3 integrations)")
    p.add_argument("--due-fraction", type=float, default=0.324,
                   help="share of all rows due within 24 h (active, not cooling down)")
    p.add_argument("--expired-fraction", type=float, default=0.10,
                   help="share of the due rows already expired")
    p.add_argument("--later-days", type=float, default=3.0,
                   help="the rest expire uniformly over this many days after the first 24 h")
    p.add_argument("--reauth-fraction", type=float, default=0.05)
    p.add_argument("--disconnected-fraction", type=float, default=0.02)
    p.add_argument("--cooldown-fraction", type=float, default=0.01,
                   help="share of all rows active but cooling down after a transient failure")
    p.add_argument("--operator-fraction", type=float, default=0.002,
                   help="share of all rows active with an operator error (invalid_client)")
    p.add_argument("--sync-error-fraction", type=float, default=0.02)
    p.add_argument("--sync-never-fraction", type=float, default=0.23)
    p.add_argument("--providers", default=DEFAULT_PROVIDERS, help="name:weight,...")
    p.add_argument("--provider", help="put every row on this one provider")
    p.add_argument("--token-url", help="declare provider `bench` (or --provider) at this token "
                                       "endpoint: prints the INTEGRATIONS_PROVIDERS to export")
    p.add_argument("--unique-tokens", action="store_true",
                   help="encrypt distinct tokens per row (slow: ~2 Fernet calls per row)")
    p.add_argument("--truncate", action="store_true",
                   help="empty users, integrations, credentials, events and runs first")
    p.add_argument("--seed", type=int, default=1, help="random seed (reproducible mixes)")
    p.add_argument("--jobs", type=int, default=1,
                   help="PostgreSQL: parallel transactions, one process and connection each")
    p.add_argument("--batch", type=int, default=5000, help="rows per executemany (SQLite)")
    args = p.parse_args(argv)
    if args.token_url and not args.provider:
        args.provider = "bench"
    if args.provider:
        args.provider_weights = [(args.provider, 1.0)]
    else:
        pairs = [item.split(":") for item in args.providers.split(",") if item]
        args.provider_weights = [(name.strip(), float(w)) for name, w in pairs]
    special = (args.reauth_fraction + args.disconnected_fraction + args.cooldown_fraction
               + args.operator_fraction)
    if args.n < 1 or special > 1 or args.sync_error_fraction + args.sync_never_fraction > 1:
        p.error("--n must be positive and the fractions must add up to at most 1")
    return args


class Clock:
    """Timestamps as text, fast: epoch seconds -> 'YYYY-MM-DD HH:MM:SS' (+ '+00' on PostgreSQL),
    through a cache per minute."""

    SECONDS = [f"{s:02d}" for s in range(60)]

    def __init__(self, now: int, suffix: str):
        self.now = now
        self.suffix = suffix
        self.minutes = {}

    def __call__(self, t: int) -> str:
        t = int(t)
        minute, second = divmod(t, 60)
        prefix = self.minutes.get(minute)
        if prefix is None:
            prefix = datetime.fromtimestamp(minute * 60, dt_timezone.utc).strftime(
                "%Y-%m-%d %H:%M:")
            self.minutes[minute] = prefix
        return prefix + self.SECONDS[second] + self.suffix


class Plan:
    """What each integration is (kind, provider, sync status), drawn once for both passes."""

    def __init__(self, args, rnd):
        n = args.n
        self.n = n
        self.providers = [name for name, _ in args.provider_weights]
        total = sum(w for _, w in args.provider_weights)
        self.provider_cum = list(_cumulative(w / total for _, w in args.provider_weights))
        fractions = {COOLDOWN: args.cooldown_fraction, OPERATOR: args.operator_fraction,
                     REAUTH: args.reauth_fraction, DISCONNECTED: args.disconnected_fraction}
        fractions[ACTIVE] = 1 - sum(fractions.values())
        self.kind_cum = list(_cumulative(fractions[k] for k in range(5)))
        self.sync_cum = list(_cumulative(
            [1 - args.sync_error_fraction - args.sync_never_fraction,
             args.sync_never_fraction, args.sync_error_fraction]))
        self.kind = bytearray(n)
        self.provider = bytearray(n)
        self.sync = bytearray(n)
        r = rnd.random
        br = bisect.bisect_right
        kc, pc, sc = self.kind_cum, self.provider_cum, self.sync_cum
        last_k, last_p, last_s = len(kc) - 1, len(pc) - 1, len(sc) - 1
        kind, provider, sync = self.kind, self.provider, self.sync
        for i in range(n):
            kind[i] = min(br(kc, r()), last_k)
            provider[i] = min(br(pc, r()), last_p)
            sync[i] = min(br(sc, r()), last_s)
        self.kind_counts = [kind.count(k) for k in range(5)]
        self.provider_counts = [provider.count(p) for p in range(len(self.providers))]
        self.sync_counts = [sync.count(s) for s in range(3)]
        # Rows that can be due: active and not cooling down (plain active and operator errors).
        eligible = self.kind_counts[ACTIVE] + self.kind_counts[OPERATOR]
        wanted = args.due_fraction * n
        self.p_due = min(1.0, wanted / eligible) if eligible else 0.0
        if eligible and wanted > eligible:
            print(f"warning: --due-fraction {args.due_fraction} asks for {wanted:.0f} due rows, "
                  f"only {eligible} are active and not cooling down", file=sys.stderr)


def _cumulative(weights):
    total = 0.0
    for w in weights:
        total += w
        yield total


class Tokens:
    """The ciphertexts rows carry: one precomputed pair, or a fresh pair per row."""

    def __init__(self, unique: bool, as_bytes: bool):
        from integrations.fields import current_fernet

        self.fernet = current_fernet()
        self.unique = unique
        self.as_bytes = as_bytes
        self.access = self._encrypt("seed-access-token")
        self.refresh = self._encrypt("seed-refresh-token")

    def _encrypt(self, text: str):
        # Fernet tokens are URL-safe base64 (no backslash): as COPY text they are valid bytea
        # escape-format input, byte for byte (half the size of \x hex).
        token = self.fernet.encrypt(text.encode())
        return token if self.as_bytes else token.decode("ascii")

    def pair(self, integration_id: int):
        if not self.unique:
            return self.access, self.refresh
        return (self._encrypt(f"seed-access-{integration_id}"),
                self._encrypt(f"seed-refresh-{integration_id}"))


# ---- rows ----------------------------------------------------------------------------------

USER_COLUMNS = ("id", "password", "last_login", "is_superuser", "username", "first_name",
                "last_name", "email", "is_staff", "is_active", "date_joined")
INTEGRATION_COLUMNS = ("id", "user_id", "provider", "external_id", "display_name", "status",
                       "last_sync_status", "last_sync_message", "last_synced_at", "created_at",
                       "updated_at")
CREDENTIAL_COLUMNS = ("id", "integration_id", "access_token", "refresh_token", "token_type",
                      "expires_at", "scopes", "last_refreshed_at", "refresh_failures",
                      "failing_since", "last_error_kind", "last_error_code",
                      "last_error_message", "last_error_at", "retry_after", "lease_owner",
                      "lease_until", "created_at", "updated_at")


def user_rows(first_id, count, clock, true, false):
    joined = clock(clock.now - 400 * DAY)
    for uid in range(first_id, first_id + count):
        yield (uid, "!seed", None, false, f"seed-{uid}", "", "", f"seed-{uid}@example.com",
               false, true, joined)


def integration_rows(plan, lo, hi, first_id, first_user, n_users, clock, rnd):
    r = rnd.random
    now = clock.now
    stamp = clock(now)
    # Integrations of one user are contiguous (ordered inserts into the unique index).
    n = plan.n
    providers, kinds, syncs = plan.providers, plan.kind, plan.sync
    created = [clock(now - d * DAY - 3 * HOUR) for d in range(30, 396)]
    sync_messages = ["", "", "Sync failed: the provider answered 500."]
    for i in range(lo, hi):
        iid = first_id + i
        sync = syncs[i]
        synced = None if sync == 1 else clock(now - r() * 2 * DAY)
        yield (iid, first_user + i * n_users // n, providers[plan.provider[i]], f"acct-{iid}",
               f"acct-{iid}@example.com", STATUS[kinds[i]], SYNC[sync], sync_messages[sync],
               synced, created[int(r() * 366)], stamp)


def credential_rows(plan, lo, hi, first_id, first_integration, clock, tokens, rnd, args):
    r = rnd.random
    now = clock.now
    stamp = clock(now)
    created = clock(now - 30 * DAY)
    p_due, expired_fraction = plan.p_due, args.expired_fraction
    later = args.later_days * DAY
    scopes = [json.dumps(SCOPES.get(name, ["read"])) for name in plan.providers]
    kinds = plan.kind
    for i in range(lo, hi):
        iid = first_integration + i
        kind = kinds[i]
        access, refresh = tokens.pair(iid) if kind != DISCONNECTED else (None, None)
        failures, failing_since = 0, None
        error_kind = error_code = error_message = ""
        error_at = retry_after = None
        refreshed = clock(now - HOUR - r() * 6 * DAY)
        if kind == ACTIVE or kind == OPERATOR:
            if r() < p_due:
                if r() < expired_fraction:
                    expires = now - r() * 2 * DAY
                else:
                    expires = now + 1 + r() * (DAY - 2)
            else:
                expires = now + DAY + 1 + r() * later
            expires = clock(expires)
            if kind == OPERATOR:
                failures = 1 + int(r() * 3)
                error_at_t = now - 120 - r() * DAY
                failing_since = clock(error_at_t - r() * DAY)
                error_kind, error_code = "operator", "invalid_client"
                error_message = "Client authentication failed."
                error_at, retry_after = clock(error_at_t), clock(error_at_t + 60)
        elif kind == COOLDOWN:
            expires = clock(now - DAY + r() * (DAY + HOUR))
            failures = 1 + int(r() * 5)
            error_at_t = now - r() * 600
            failing_since = clock(error_at_t - r() * 2 * DAY)
            error_kind, error_code = "transient", "http_503"
            error_message = "The provider answered 503."
            error_at, retry_after = clock(error_at_t), clock(now + 900 + r() * 6 * HOUR)
        elif kind == REAUTH:
            refresh = None
            error_at_t = now - r() * 30 * DAY
            expires = clock(error_at_t - r() * HOUR)
            refreshed = clock(error_at_t - HOUR - r() * HOUR)
            failures = 1
            error_kind, error_code = "reauth", "invalid_grant"
            error_message = "Token has been expired or revoked."
            error_at = clock(error_at_t)
        else:  # DISCONNECTED
            expires = refreshed = None
        yield (i + first_id, iid, access, refresh, "Bearer", expires,
               scopes[plan.provider[i]], refreshed, failures, failing_since, error_kind,
               error_code, error_message, error_at, retry_after, "", None, created, stamp)


# ---- writers -------------------------------------------------------------------------------

def max_id(cursor, table):
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
    return cursor.fetchone()[0]


def copy_rows(cursor, table, columns, rows, freeze):
    options = " WITH (FREEZE)" if freeze else ""
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN{options}") as copy:
        write = copy.write_row
        for row in rows:
            write(row)
            count += 1
    return count


def insert_rows(cursor, table, columns, rows, batch, placeholder):
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
           f"VALUES ({', '.join([placeholder] * len(columns))})")
    count = 0
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            cursor.executemany(sql, chunk)
            count += len(chunk)
            chunk.clear()
    if chunk:
        cursor.executemany(sql, chunk)
        count += len(chunk)
    return count


_JOB = {}  # what the parts share (set before forking them)


def write_part(part):
    """Write one part (users [ua, ub), integrations and credentials [lo, hi)) in one
    transaction; the only part of a single-job run also truncates first (for COPY FREEZE)."""
    from django.db import connection, transaction

    job = _JOB
    ua, ub, lo, hi = part
    tables, plan, args = job["tables"], job["plan"], job["args"]
    postgres = connection.vendor == "postgresql"
    clock = Clock(job["now"], "+00" if postgres else "")
    true, false = ("t", "f") if postgres else (1, 0)
    rnd = random.Random(f"{args.seed}-{lo}")
    tokens = Tokens(args.unique_tokens, as_bytes=not postgres)
    result = {"tables": {}}
    with transaction.atomic():
        raw = connection.connection.cursor()  # psycopg 3 / sqlite3, in Django's transaction
        first = job.get("first") or prepare(raw, connection, tables, args.truncate)
        first_user, first_integration, first_credential = first
        sources = [
            ("user", USER_COLUMNS, user_rows(first_user + ua, ub - ua, clock, true, false)),
            ("integration", INTEGRATION_COLUMNS,
             integration_rows(plan, lo, hi, first_integration, first_user, job["n_users"],
                              clock, rnd)),
            ("credential", CREDENTIAL_COLUMNS,
             credential_rows(plan, lo, hi, first_credential, first_integration, clock, tokens,
                             rnd, args)),
        ]
        # COPY FREEZE needs the truncate in this same transaction (single job).
        freeze = args.truncate and "first" not in job
        if postgres:
            raw.execute("SET LOCAL synchronous_commit = off")
        for key, columns, rows in sources:
            t0 = time.perf_counter()
            if postgres:
                count = copy_rows(raw, tables[key], columns, rows, freeze)
            else:
                count = insert_rows(raw, tables[key], columns, rows, args.batch, "?")
            result["tables"][key] = (count, time.perf_counter() - t0)
        t0 = time.perf_counter()
    # Commit runs the deferred foreign-key checks (one per integration and credential).
    result["commit"] = time.perf_counter() - t0
    return result


def prepare(raw, connection, tables, truncate):
    """Truncate (if asked) and return the first free id of users, integrations, credentials."""
    from django.core.management.color import no_style

    if truncate:
        flush = [tables[key] for key in ("user", "integration", "credential", "event", "run")]
        for sql in connection.ops.sql_flush(no_style(), flush, reset_sequences=True,
                                            allow_cascade=True):
            raw.execute(sql)
    return tuple(max_id(raw, tables[key]) + 1 for key in ("user", "integration", "credential"))


def split(n, n_users, jobs):
    """Parts by user ranges, so no user's integrations straddle two transactions."""
    parts = []
    for k in range(jobs):
        ua, ub = k * n_users // jobs, (k + 1) * n_users // jobs
        # Integration i belongs to user i * n_users // n: the first i with that >= ua.
        lo, hi = -(-ua * n // n_users), -(-ub * n // n_users)
        if ub > ua:
            parts.append((ua, ub, lo, hi))
    return parts


def main(argv=None):
    args = parse_args(argv)
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to the database to seed (postgres://... or sqlite:////path).")
    from bench.common import setup_django

    started = time.perf_counter()
    setup_django()
    from django.db import connection, connections, transaction
    from django.utils import timezone

    from accounts.models import User
    from integrations.models import (Integration, IntegrationEvent, OAuthCredential,
                                     RefreshRun)

    if "FERNET_KEYS" not in os.environ:
        print("note: FERNET_KEYS is not set: the rows are encrypted with config.settings_test's "
              "key; run the benchmark with the same FERNET_KEYS", file=sys.stderr)
    postgres = connection.vendor == "postgresql"
    tables = {key: model._meta.db_table for key, model in (
        ("user", User), ("integration", Integration), ("credential", OAuthCredential),
        ("event", IntegrationEvent), ("run", RefreshRun))}
    n = args.n
    n_users = max(1, min(args.users or math.ceil(n / 3), n))
    jobs = max(1, min(args.jobs, n_users)) if postgres else 1

    t0 = time.perf_counter()
    plan = Plan(args, random.Random(args.seed))
    seconds = {"plan": time.perf_counter() - t0}
    _JOB.update(tables=tables, plan=plan, args=args, n_users=n_users, now=int(time.time()))
    parts = split(n, n_users, jobs)

    t0 = time.perf_counter()
    if jobs == 1:
        results = [write_part(parts[0])]
    else:
        # Truncate and read the first ids here (committed), then one transaction per part in
        # its own process and connection: both cores work, also on the commit-time FK checks.
        with transaction.atomic():
            _JOB["first"] = prepare(connection.connection.cursor(), connection, tables,
                                    args.truncate)
        connections.close_all()
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.map(write_part, parts)
    seconds["write (incl. commit)"] = time.perf_counter() - t0
    seconds["commit (FK checks)"] = max(result["commit"] for result in results)
    written = {key: sum(r["tables"][key][0] for r in results)
               for key in ("user", "integration", "credential")}
    for key in written:
        print(f"  {tables[key]}: {written[key]:,} rows, {'COPY' if postgres else 'INSERT'} "
              f"{max(r['tables'][key][1] for r in results):.1f} s", flush=True)

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for key in ("user", "integration", "credential"):
            table = tables[key]
            if postgres:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT MAX(id) FROM {table}))")
                # COPY FREEZE leaves the pages frozen and all-visible; parts written without
                # it get that (and their hint bits) from VACUUM now, not from the benchmark.
                cursor.execute(f"VACUUM (ANALYZE) {table}" if jobs > 1 else f"ANALYZE {table}")
            else:
                cursor.execute(f"ANALYZE {table}")
    seconds["vacuum/analyze" if jobs > 1 else "analyze"] = time.perf_counter() - t0

    due = OAuthCredential.objects.due(timedelta(hours=24), now=timezone.now()).count()
    total = OAuthCredential.objects.count()
    seconds["total"] = time.perf_counter() - started
    report(args, plan, written, tables, n_users, due, total, jobs, seconds, connection)


def report(args, plan, written, tables, n_users, due, total, jobs, seconds, connection):
    n = plan.n
    rows = sum(written.values())

    def pct(count):
        return f"{count:>9,}  {100 * count / n:5.1f}%"

    print(f"seeded {connection.vendor} database {connection.settings_dict['NAME']}:")
    for key, count in written.items():
        print(f"  {tables[key]:<32} {count:>10,} rows")
    print("providers:")
    for name, count in zip(plan.providers, plan.provider_counts):
        print(f"  {name:<32} {pct(count)}")
    print("status / errors:")
    for k, count in enumerate(plan.kind_counts):
        print(f"  {KIND_NAMES[k]:<42} {pct(count)}")
    print("last_sync_status:")
    for name, count in zip(SYNC, plan.sync_counts):
        print(f"  {name:<32} {pct(count)}")
    print(f"expiry: due fraction {args.due_fraction} of all rows (p={plan.p_due:.3f} per "
          f"eligible row), {args.expired_fraction:.0%} of those already expired, the rest "
          f"within 24 h; others over the next {args.later_days:g} days")
    kind = "unique per row" if args.unique_tokens else "one precomputed ciphertext pair"
    print(f"tokens: {kind}; users: {n_users:,} (~{n / n_users:.1f} integrations each)")
    if args.token_url:
        declaration = {args.provider: {
            "name": "Bench", "authorize_url": "http://127.0.0.1/authorize",
            "token_url": args.token_url, "client_id": "bench-client",
            "client_secret": "bench-secret", "scopes": ["read"]}}
        print("declare the provider for the benchmark (and allow http on loopback):")
        print(f"  export INTEGRATIONS_PROVIDERS='{json.dumps(declaration)}' "
              "INTEGRATIONS_ALLOW_INSECURE_TRANSPORT=true")
    print(f"seconds ({jobs} job{'s' if jobs > 1 else ''}): "
          + ", ".join(f"{name} {value:.1f}" for name, value in seconds.items()))
    print(f"rows/s: {rows / seconds['write (incl. commit)']:,.0f} written ({rows:,} rows), "
          f"{rows / seconds['total']:,.0f} overall")
    print(f"due within 24 h (active, expiring, not cooling down): {due:,} "
          f"({100 * due / total:.1f}% of {total:,} credentials)")


if __name__ == "__main__":
    main()
