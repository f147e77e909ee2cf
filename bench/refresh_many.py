"""refresh_tokens at scale: N due integrations against a loopback token endpoint with latency.

    python -m bench.refresh_many [--n 10000] [--latency-ms 100] [--concurrency 32]

Reports wall time, refreshes per second, peak RSS and queries per integration, next to the
latency-bound limit N x latency / concurrency measured in the same run.
Targets: within 2x of that limit at concurrency 32, peak RSS under 250 MB, constant queries
per integration.
"""

import argparse
import json
import multiprocessing
import resource
import time
from datetime import timedelta

from bench.common import QueryCounter, make_integrations, setup_django, token_server, use_provider


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--dry-run", action="store_true",
                        help="only select and stream the due rows (memory check at 100,000 rows)")
    args = parser.parse_args()
    setup_django()
    from django.db import connections

    from integrations import proactive
    from integrations.models import OAuthCredential

    counter = QueryCounter().install()

    with token_server(args.latency_ms) as token_url:
        use_provider(token_url)
        started = time.perf_counter()
        # Rows are created in a child process, so the peak RSS below is the run's own.
        connections.close_all()
        child = multiprocessing.get_context("fork").Process(
            target=make_integrations, args=(args.n,), kwargs={"expires_in": timedelta(minutes=10)})
        child.start()
        child.join()
        assert child.exitcode == 0
        setup_seconds = time.perf_counter() - started
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        counter.count = 0
        started = time.perf_counter()
        summary = proactive.run(timedelta(hours=24), concurrency=args.concurrency,
                                dry_run=args.dry_run)
        wall = time.perf_counter() - started
        queries = counter.count

    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    from django.db import connection

    limit = args.n * args.latency_ms / 1000 / args.concurrency
    refreshed = OAuthCredential.objects.filter(refresh_token__isnull=False).count()
    result = {
        "database": connection.vendor,
        "n": args.n,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "refreshed": summary.refreshed,
        "failed": summary.failed,
        "wall_seconds": round(wall, 2),
        "latency_bound_seconds": round(limit, 2),
        "ratio_to_limit": round(wall / limit, 2) if limit else None,
        "refreshes_per_second": round(summary.refreshed / wall, 1),
        "peak_rss_mb": round(rss_peak, 1),
        "rss_after_setup_mb": round(rss_before, 1),
        "queries_per_integration": round(queries / max(1, args.n), 2),
        "setup_seconds": round(setup_seconds, 1),
    }
    if args.dry_run:
        result.update(refreshed=0, due=summary.due, ratio_to_limit=None, refreshes_per_second=None)
        print(json.dumps(result, indent=2))
        print(f"dry run over {summary.due} due rows in {wall:.1f} s: peak RSS {rss_peak:.0f} MB "
              f"(after creating them: {rss_before:.0f} MB)")
        return
    assert refreshed == args.n
    print(json.dumps(result, indent=2))
    print(f"refreshed {summary.refreshed}/{args.n} in {wall:.1f} s "
          f"({result['refreshes_per_second']}/s); latency-bound limit {limit:.1f} s -> "
          f"{result['ratio_to_limit']}x (target <= 2x); peak RSS {rss_peak:.0f} MB "
          f"(target < 250); {result['queries_per_integration']} queries per integration")


if __name__ == "__main__":
    main()
