"""The token service's own cost, next to the floor it cannot beat.

1. ensure_fresh on a fresh token  vs  a bare ORM fetch of the credential (target <= 1.5x, 1 query)
2. a full refresh                 vs  a bare HTTP POST to the same loopback token endpoint
                                      (target <= 2x)

    python -m bench.bench_tokens [--rounds N] [--latency-ms MS]     (or: make bench)
"""

import argparse
import json
import statistics
import time

from bench.common import make_integrations, setup_django, token_server, use_provider


def per_call(fn, rounds, repeat=5):
    """Median over `repeat` runs of the mean time of one call, in microseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(rounds):
            fn()
        samples.append((time.perf_counter() - started) / rounds * 1e6)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="token endpoint latency (0: measure our own overhead)")
    args = parser.parse_args()
    setup_django()
    import requests
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations import tokens
    from integrations.models import OAuthCredential

    with token_server(args.latency_ms) as token_url:
        use_provider(token_url)
        integration = make_integrations(1)[0]

        orm = per_call(lambda: OAuthCredential.objects.get(integration_id=integration.pk), args.rounds)
        fresh = per_call(lambda: tokens.ensure_fresh(integration), args.rounds)
        with CaptureQueriesContext(connection) as queries:
            tokens.ensure_fresh(integration)

        session = requests.Session()
        form = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": "bench-client",
                "client_secret": "bench-secret"}
        post = per_call(lambda: session.post(token_url, data=form, timeout=10), args.rounds // 5)
        refresh = per_call(lambda: tokens.ensure_fresh(integration, force=True), args.rounds // 5)

    result = {
        "database": connection.vendor,
        "endpoint_latency_ms": args.latency_ms,
        "ensure_fresh_fresh_us": round(fresh, 1),
        "orm_fetch_us": round(orm, 1),
        "fresh_ratio": round(fresh / orm, 2),
        "fresh_queries": len(queries.captured_queries),
        "full_refresh_us": round(refresh, 1),
        "bare_post_us": round(post, 1),
        "refresh_ratio": round(refresh / post, 2),
    }
    print(json.dumps(result, indent=2))
    print(f"ensure_fresh (fresh): {fresh:.0f} us vs ORM fetch {orm:.0f} us = "
          f"{fresh / orm:.2f}x (target <= 1.5x), {len(queries.captured_queries)} query")
    print(f"full refresh: {refresh:.0f} us vs bare POST {post:.0f} us = {refresh / post:.2f}x "
          f"(target <= 2x); our overhead {refresh - post:.0f} us per refresh")


if __name__ == "__main__":
    main()
