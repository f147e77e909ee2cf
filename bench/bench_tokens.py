"""The token service's own cost, next to the floor it cannot beat, measured side by side.

1. hot path: ensure_fresh on a fresh token (the caller holds the Integration)
   vs a bare ORM fetch of the credential                         (target <= 1.2x, 1 query)
2. full refresh: ensure_fresh(force=True) against a loopback token endpoint
   vs a bare requests.post of the same grant + one durable UPDATE  (target <= 1.5x)
3. round trips to the database per refresh (statements + BEGIN/COMMIT)   (target <= 3)

    python -m bench.bench_tokens [--rounds N] [--latency-ms MS]     (or: make bench)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python -m bench.bench_tokens
"""

import argparse
import json
import statistics
import time
from contextlib import contextmanager

from bench.common import make_integrations, setup_django, token_server, use_provider


def per_call(fn, rounds, repeat=7):
    """Median over `repeat` runs of the mean time of one call, in microseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(rounds):
            fn()
        samples.append((time.perf_counter() - started) / rounds * 1e6)
    return statistics.median(samples)


def side_by_side(ours, bare, rounds, repeat=7):
    """Alternate the two so that both see the same machine load; medians of each."""
    a, b = [], []
    for _ in range(repeat):
        a.append(per_call(ours, rounds, repeat=1))
        b.append(per_call(bare, rounds, repeat=1))
    return statistics.median(a), statistics.median(b)


@contextmanager
def round_trips():
    """Counts statements sent and transactions committed on this thread's connection."""
    from django.db import connection

    counts = {"statements": 0, "commits": 0}

    def count(execute, sql, params, many, context):
        counts["statements"] += 1
        return execute(sql, params, many, context)

    real_commit = connection._commit

    def commit(*args):
        counts["commits"] += 1
        return real_commit(*args)

    connection._commit = commit
    try:
        with connection.execute_wrapper(count):
            yield counts
    finally:
        del connection._commit


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="token endpoint latency (0: measure our own overhead)")
    args = parser.parse_args()
    setup_django()
    import requests
    from django.db import connection
    from django.utils import timezone

    from integrations import tokens
    from integrations.models import OAuthCredential

    with token_server(args.latency_ms) as token_url:
        use_provider(token_url)
        integration = make_integrations(1)[0]
        cred_pk = OAuthCredential.objects.get(integration=integration).pk

        hot, fetch = side_by_side(lambda: tokens.ensure_fresh(integration),
                                  lambda: OAuthCredential.objects.get(integration_id=integration.pk),
                                  args.rounds)
        with round_trips() as hot_trips:
            tokens.ensure_fresh(integration)

        session = requests.Session()
        form = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": "bench-client",
                "client_secret": "bench-secret"}

        def bare_refresh():
            body = session.post(token_url, data=form, timeout=10).json()
            OAuthCredential.objects.filter(pk=cred_pk).update(
                access_token=body["access_token"], expires_at=timezone.now())

        full, bare = side_by_side(lambda: tokens.ensure_fresh(integration, force=True),
                                  bare_refresh, max(20, args.rounds // 5))
        with round_trips() as trips:
            tokens.ensure_fresh(integration, force=True)

    refresh_trips = trips["statements"] + 2 * trips["commits"]
    result = {
        "database": connection.vendor,
        "endpoint_latency_ms": args.latency_ms,
        "hot_path_us": round(hot, 1), "bare_fetch_us": round(fetch, 1),
        "hot_ratio": round(hot / fetch, 2), "hot_queries": hot_trips["statements"],
        "full_refresh_us": round(full, 1), "bare_post_and_update_us": round(bare, 1),
        "refresh_ratio": round(full / bare, 2),
        "refresh_statements": trips["statements"], "refresh_transactions": trips["commits"],
        "refresh_round_trips": refresh_trips,
    }
    print(json.dumps(result, indent=2))
    print(f"hot path: {hot:.0f} us vs bare fetch {fetch:.0f} us = {hot / fetch:.2f}x "
          f"(target <= 1.2x), {hot_trips['statements']} query")
    print(f"full refresh: {full:.0f} us vs bare POST + UPDATE {bare:.0f} us = "
          f"{full / bare:.2f}x (target <= 1.5x); {refresh_trips} round trips "
          f"({trips['statements']} statements, {trips['commits']} transactions) (target <= 3)")


if __name__ == "__main__":
    main()
