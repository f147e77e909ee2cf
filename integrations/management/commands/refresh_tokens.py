"""Proactively refresh every active integration whose token expires soon.

    python manage.py refresh_tokens [--within 24h] [--provider P] [--integration ID]
                                    [--dry-run] [--concurrency N] [--enqueue] [--json]

Exit status: 0 all good, 1 some integration failed (cron and monitors notice), 2 bad usage.
"""

import json
import re
import sys
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from integrations import proactive, tasks
from integrations.providers import registry

DURATION = re.compile(r"^(\d+)\s*([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """'24h', '90m', '2d', '45s' as a timedelta; ValueError otherwise."""
    match = DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 24h, 90m, 2d)")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    help = "Refresh every active integration whose token expires within --within (24h)."

    def add_arguments(self, parser):
        parser.add_argument("--within", default="24h", help="e.g. 24h, 90m, 2d (default 24h)")
        parser.add_argument("--provider", action="append", default=[], help="repeatable")
        parser.add_argument("--integration", action="append", type=int, default=[],
                            help="an integration id (repeatable)")
        parser.add_argument("--dry-run", action="store_true", help="list what is due, change nothing")
        parser.add_argument("--concurrency", type=int, default=8, help="threads (default 8)")
        parser.add_argument("--enqueue", action="store_true",
                            help="hand each integration to a Celery task instead")
        parser.add_argument("--json", action="store_true", help="a machine-readable summary")

    def handle(self, *args, **opts):
        try:
            within = parse_duration(opts["within"])
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2)
        if opts["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1", returncode=2)
        known = {p.id for p in registry.all_providers()}
        if unknown := [p for p in opts["provider"] if p not in known]:
            raise CommandError(f"unknown provider: {', '.join(unknown)}", returncode=2)

        bar = self._progress_bar() if not opts["json"] else None

        def on_result(result):
            if bar is not None:
                bar.update(1)
            if opts["json"]:
                return
            if result.outcome in ("reauth", "operator", "transient") or opts["dry_run"]:
                self._line(bar, f"integration {result.integration_id} {result.provider} "
                                f"{result.account}: {result.outcome}"
                                + (f" ({result.code})" if result.code else ""))

        try:
            summary = proactive.run(
                within, providers=opts["provider"], ids=opts["integration"],
                concurrency=opts["concurrency"], dry_run=opts["dry_run"],
                send=tasks.sender(within) if opts["enqueue"] else None,
                on_result=on_result,
            )
        except proactive.BrokerUnavailable as exc:
            raise CommandError(str(exc), returncode=1)
        if bar is not None:
            bar.close()
        if opts["json"]:
            self.stdout.write(json.dumps(summary.as_dict()))
        elif opts["dry_run"]:
            self.stdout.write(f"dry run: {summary.due} due, {summary.skipped} in cooldown; "
                              "nothing changed")
        else:
            self.stdout.write(summary.line())
        if summary.failed:
            sys.exit(1)

    def _progress_bar(self):
        if not self.stdout.isatty():
            return None  # cron: plain lines only
        from tqdm import tqdm

        return tqdm(unit="integration", desc="refreshing", leave=False)

    def _line(self, bar, text):
        if bar is not None:
            bar.write(text)
        else:
            self.stdout.write(text)
