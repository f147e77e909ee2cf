"""Proactively refresh every active integration whose token expires soon.

    python manage.py refresh_tokens [--within 24h] [--provider P] [--integration ID]
                                    [--dry-run [--list]] [--concurrency N] [--enqueue] [--json]

Exit status: 0 all good, 1 some integration failed (cron and monitors notice), 2 bad usage or
the infrastructure failed (the database or the broker unreachable).

On a terminal: a progress bar, with log lines written above it. Under cron (no terminal): the
summary and the problems only; `-v 2` adds a line per integration. With --json, the JSON
summary is the only thing on stdout (anything else that would print, such as an email on the
console backend, goes to stderr).
"""

import contextlib
import json
import logging
import re
import sys
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from integrations import clock, proactive, tasks, tokens
from integrations.providers import registry

DURATION = re.compile(r"^(\d+)\s*([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """'24h', '90m', '2d', '45s' as a timedelta; ValueError otherwise."""
    match = DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 24h, 90m, 2d)")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


@contextlib.contextmanager
def quiet_logs(level):
    """Hold the app's loggers at `level` for the command (per-integration INFO lines are for
    -v 2, not for cron mail)."""
    logger = logging.getLogger("integrations")
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


class Command(BaseCommand):
    help = "Refresh every active integration whose token expires within --within (24h)."
    # A cron job, not a deploy: the system checks (and their warnings) are for `check`.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--within", default="24h", help="e.g. 24h, 90m, 2d (default 24h)")
        parser.add_argument("--provider", action="append", default=[], help="repeatable")
        parser.add_argument("--integration", action="append", type=int, default=[],
                            help="an integration id (repeatable)")
        parser.add_argument("--dry-run", action="store_true",
                            help="count what is due and what would be skipped; change nothing")
        parser.add_argument("--list", action="store_true",
                            help="with --dry-run: one line per due integration")
        parser.add_argument("--concurrency", type=int, default=8, help="threads (default 8)")
        parser.add_argument("--enqueue", action="store_true",
                            help="hand the work to Celery workers in batches instead")
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
        if not opts["dry_run"]:
            try:  # a run on a skewed clock would take others' leases (integrations.clock)
                clock.check(force=True)
            except clock.ClockSkew as exc:
                raise CommandError(exc.message, returncode=2) from None
        self.verbose = opts["verbosity"] >= 2
        self.bar = None
        stray_output = contextlib.redirect_stdout(sys.stderr) if opts["json"] else (
            contextlib.nullcontext())
        level = logging.INFO if self.verbose else logging.WARNING
        try:
            with stray_output, quiet_logs(level), self._bar_aware_logging():
                summary = proactive.run(
                    within, providers=opts["provider"], ids=opts["integration"],
                    concurrency=opts["concurrency"], dry_run=opts["dry_run"],
                    listing=opts["list"] or self.verbose,
                    send=tasks.sender(within) if opts["enqueue"] else None,
                    on_result=lambda result: self._on_result(result, opts),
                    on_total=None if opts["json"] else self._start_bar,
                )
        except proactive.RunStopped as exc:  # the counts so far, then why it stopped
            self.stdout.write(exc.summary.line())
            raise CommandError(f"stopped: {exc}", returncode=2)
        except (proactive.BrokerUnavailable, *tokens.INFRASTRUCTURE) as exc:
            raise CommandError(f"stopped: {exc}", returncode=2)
        finally:
            if self.bar is not None:
                self.bar.close()
        if opts["json"]:
            self.stdout.write(json.dumps(summary.as_dict()))
        elif opts["dry_run"]:
            self.stdout.write(summary.dry_line())
        else:
            self.stdout.write(summary.line())
        if summary.failed:
            sys.exit(1)

    def _on_result(self, result, opts):
        if self.bar is not None:
            self.bar.update(1)
        if opts["json"]:
            return
        if result.outcome in proactive.FAILED or opts["dry_run"] or self.verbose:
            self._line(f"integration {result.integration_id} {result.provider} "
                       f"{result.account}: {result.outcome}"
                       + (f" ({result.code})" if result.code else ""))

    def _start_bar(self, total):
        if not self.stdout.isatty():
            return  # cron: plain lines only
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit=" integrations", desc="refreshing", leave=False,
                        file=self.stdout._out)

    def _bar_aware_logging(self):
        """Log lines go through the bar (written above it) instead of breaking it."""
        from tqdm.contrib.logging import logging_redirect_tqdm

        if not self.stdout.isatty():
            return contextlib.nullcontext()
        return logging_redirect_tqdm(loggers=[logging.getLogger(), logging.getLogger("integrations")])

    def _line(self, text):
        if self.bar is not None:
            self.bar.write(text, file=self.stdout._out)
        else:
            self.stdout.write(text)
