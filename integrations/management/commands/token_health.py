"""The health of every credential, from aggregate queries; read-only unless asked to probe.

    python manage.py token_health [--json] [--limit 50] [--probe N [--mail] [--concurrency 8]]

By default it changes nothing (no refresh, no write, no email): counts by status and provider,
active credentials by expiry, failures cooling down, operator problems, and who must reconnect
(grouped by reason, the first --limit listed). `--probe N` also tries N active credentials
picked at random for real (ensure_fresh, in parallel, bounded): those may be refreshed. With
`--mail`, the N are integrations of providers with mail servers, and each is logged in to over
IMAP and SMTP (integrations.mail): a mailbox that refuses is recorded, and its page says so.

Exit status: 0 all well; 1 someone must reconnect, an operator problem, or a probe failed.
"""

import json
import random
import sys
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from django.apps import apps
from django.contrib.auth import get_user_model

from integrations import mail, proactive, tokens
from integrations.adapter import get_adapter
from integrations.conf import owner_model_name
from integrations.display import REAUTH_WORDS
from integrations.errors import ErrorKind
from integrations.models import Integration, OAuthCredential
from integrations.providers import registry

EXPIRY_BUCKETS = [("expired", timedelta(0)), ("within_1h", timedelta(hours=1)),
                  ("within_24h", timedelta(hours=24)), ("within_7d", timedelta(days=7))]
ACTION = "the owner reconnects it on the integrations page (they were emailed)"


def expiry_buckets(now) -> dict:
    """Active credentials by when they expire, in one aggregate query."""
    counts, lower = {}, None
    for name, upper in EXPIRY_BUCKETS:
        q = Q(expires_at__lte=now + upper)
        if lower is not None:
            q &= Q(expires_at__gt=now + lower)
        counts[name] = Count("pk", filter=q)
        lower = upper
    counts["later"] = Count("pk", filter=Q(expires_at__gt=now + lower))
    counts["unknown"] = Count("pk", filter=Q(expires_at__isnull=True))
    return OAuthCredential.objects.of_active().aggregate(**counts)


def report(now, limit) -> dict:
    by_status = {s: 0 for s in Integration.Status.values}
    by_provider = {}
    for row in Integration.objects.values("status", "provider").annotate(n=Count("pk")):
        by_status[row["status"]] += row["n"]
        by_provider.setdefault(row["provider"], {})[row["status"]] = row["n"]
    active = OAuthCredential.objects.of_active()
    operator = dict(active.filter(last_error_kind=ErrorKind.OPERATOR).values_list(
        "last_error_code").annotate(n=Count("pk")))
    reauth = OAuthCredential.objects.filter(
        integration__status=Integration.Status.REAUTH_REQUIRED)
    by_reason = dict(reauth.values_list("last_error_code").annotate(n=Count("pk")))
    accounts = Integration.objects.filter(status=Integration.Status.REAUTH_REQUIRED).order_by(
        "pk").values_list("pk", "provider", "display_name", "external_id", "owner_id",
                          "connected_by_id", "credential__last_error_code")
    listed = accounts if limit == 0 else accounts[:limit]
    return {
        "time": now.isoformat(),
        "integrations": by_status,
        "by_provider": by_provider,
        "active_by_expiry": expiry_buckets(now),
        "cooling_down": active.cooling_down(now).count(),
        "failing": active.filter(refresh_failures__gt=0).count(),
        "operator_problems": operator,
        "reauth_required": {
            "count": by_status[Integration.Status.REAUTH_REQUIRED],
            "by_reason": by_reason,
            "accounts": list(_advice(listed.iterator())),
            "by_owner": by_owner(),
        },
    }


def _advice(rows, chunk=1000):
    """What to tell about each listed account: its owner (a user or a team) and who connected
    it, named and reached through the host's adapter (any user model), read a chunk at a time."""
    adapter, users = get_adapter(), get_user_model()._default_manager
    owners = apps.get_model(owner_model_name())._default_manager
    for part in proactive.batches(rows, chunk):
        by_owner = owners.in_bulk({row[4] for row in part})
        by_user = users.in_bulk({row[5] for row in part if row[5] is not None})
        for pk, provider, name, external_id, owner_id, user_id, code in part:
            connected_by = by_user.get(user_id)
            reason = REAUTH_WORDS.get(code, "The connection stopped working.").format(
                provider=registry.name_of(provider))
            yield {"id": pk, "provider": provider, "account": name or external_id,
                   "owner": adapter.owner_display(by_owner.get(owner_id)) if owner_id in by_owner
                   else "",
                   "connected_by": (adapter.user_email(connected_by)
                                    or adapter.user_display(connected_by)),
                   "code": code, "reason": reason, "action": ACTION}


def by_owner(limit=50) -> list[dict]:
    """Owners with integrations to reconnect, most first (a team sees its whole list)."""
    adapter = get_adapter()
    rows = (Integration.objects.filter(status=Integration.Status.REAUTH_REQUIRED)
            .values("owner_id").annotate(n=Count("pk")).order_by("-n", "owner_id")[:limit])
    owners = apps.get_model(owner_model_name())._default_manager.in_bulk(
        [row["owner_id"] for row in rows])
    return [{"owner": adapter.owner_display(owners[row["owner_id"]]), "count": row["n"]}
            for row in rows if row["owner_id"] in owners]


def sample_ids(n, providers=None) -> list[int]:
    """About n active integration ids at random (of `providers`, if given), without ordering
    the whole table."""
    active = Integration.objects.active()
    if providers is not None:
        active = active.filter(provider__in=providers)
    bounds = active.aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return []
    picked = set()
    for _ in range(5):  # ids have gaps: draw again a few times
        wanted = random.sample(range(bounds["lo"], bounds["hi"] + 1),
                               min(4 * n, bounds["hi"] - bounds["lo"] + 1))
        picked.update(active.filter(pk__in=wanted).values_list("pk", flat=True)[:n])
        if len(picked) >= n:
            break
    return sorted(picked)[:n]


def probe_one(integration_id) -> dict:
    integration = Integration.objects.filter(pk=integration_id).first()
    row = {"id": integration_id, "provider": getattr(integration, "provider", ""), "code": ""}
    try:
        before = OAuthCredential.objects.filter(integration_id=integration_id).values_list(
            "last_refreshed_at", flat=True).first()
        cred = tokens.ensure_fresh(integration)
        row["state"] = "valid" if cred.last_refreshed_at == before else "refreshed"
    except tokens.TokenError as exc:
        row["state"], row["code"] = "failed", exc.code
    return row


def probe_mailbox(integration_id) -> dict:
    """Log in to one integration's mailbox: state ok, refused (the mailbox will not let a good
    grant in) or failed (the token, or a server out of reach), with each server's outcome."""
    integration = Integration.objects.filter(pk=integration_id).first()
    row = {"id": integration_id, "provider": getattr(integration, "provider", ""),
           "state": "ok", "code": "", "servers": {}}
    if integration is None:  # removed since it was picked
        row["state"], row["code"] = "failed", "removed"
        return row
    try:
        row["servers"] = mail.probe(integration)
    except tokens.TokenError as exc:
        row["state"], row["code"] = "failed", exc.code
        return row
    problems = [code for code in row["servers"].values() if code != "ok"]
    if problems:
        row["code"] = problems[0]
        row["state"] = "refused" if any(code in mail.REFUSALS for code in problems) else "failed"
    return row


class Command(BaseCommand):
    help = "Report the health of every credential (read-only); --probe N tries N for real."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--limit", type=int, default=50,
                            help="accounts needing re-authentication to list (0: all)")
        parser.add_argument("--probe", type=int, default=0, metavar="N",
                            help="also try N active credentials at random (may refresh them)")
        parser.add_argument("--mail", action="store_true",
                            help="with --probe: log in to the mailboxes (IMAP, SMTP) of N mail "
                                 "integrations")
        parser.add_argument("--concurrency", type=int, default=8, help="probe threads")

    def handle(self, *args, **opts):
        if opts["limit"] < 0 or opts["probe"] < 0 or opts["concurrency"] < 1:
            raise CommandError("--limit and --probe must be >= 0, --concurrency >= 1",
                               returncode=2)
        if opts["mail"] and not opts["probe"]:
            raise CommandError("--mail goes with --probe N", returncode=2)
        data = report(timezone.now(), opts["limit"])
        if opts["mail"]:
            probes = []
            proactive.in_threads(sample_ids(opts["probe"], mail.mail_providers()),
                                 opts["concurrency"], probe_mailbox, probes.append)
            data["mail_probe"] = sorted(probes, key=lambda r: r["id"])
        elif opts["probe"]:
            probes = []
            proactive.in_threads(sample_ids(opts["probe"]), opts["concurrency"], probe_one,
                                 probes.append)
            data["probe"] = sorted(probes, key=lambda r: r["id"])
        if opts["json"]:
            self.stdout.write(json.dumps(data))
        else:
            self._print(data)
        unwell = data["reauth_required"]["count"] or data["operator_problems"] or any(
            r["state"] == "failed" for r in data.get("probe", [])) or any(
            r["state"] != "ok" for r in data.get("mail_probe", []))
        if unwell:
            sys.exit(1)

    def _print(self, data):
        out = self.stdout.write
        statuses = data["integrations"]
        out("integrations: " + ", ".join(f"{s} {n}" for s, n in statuses.items()))
        for provider, counts in sorted(data["by_provider"].items()):
            out(f"  {provider}: " + ", ".join(f"{s} {n}" for s, n in sorted(counts.items())))
        out("active credentials by expiry: " + ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in data["active_by_expiry"].items()))
        out(f"failing refreshes: {data['failing']} ({data['cooling_down']} cooling down)")
        if data["operator_problems"]:
            out("operator problems (fix the OAuth client, users cannot): " + ", ".join(
                f"{code} {n}" for code, n in sorted(data["operator_problems"].items())))
        reauth = data["reauth_required"]
        if reauth["count"]:
            out(f"\nNeeds re-authentication: {reauth['count']} (only the owners can fix these): "
                + ", ".join(f"{code or 'unknown'} {n}"
                            for code, n in sorted(reauth["by_reason"].items())))
            out("by owner: " + ", ".join(f"{o['owner']} {o['count']}"
                                          for o in reauth["by_owner"]))
            for item in reauth["accounts"]:
                who = item["owner"] + (f", connected by {item['connected_by']}"
                                       if item["connected_by"] and item["connected_by"]
                                       != item["owner"] else "")
                out(f"- integration {item['id']} {item['provider']} {item['account']} "
                    f"(owner {who}): {item['reason']} -> {item['action']}")
            if (more := reauth["count"] - len(reauth["accounts"])) > 0:
                out(f"  ... and {more} more (--limit 0 lists all)")
        for row in data.get("probe", []):
            extra = f" ({row['code']})" if row["code"] else ""
            out(f"probe: integration {row['id']} {row['provider']}: {row['state']}{extra}")
        if "probe" in data:
            states = [r["state"] for r in data["probe"]]
            out(f"probed {len(states)}: valid {states.count('valid')}, refreshed "
                f"{states.count('refreshed')}, failed {states.count('failed')}")
        for row in data.get("mail_probe", []):
            servers = ", ".join(f"{name} {outcome}" for name, outcome in row["servers"].items())
            out(f"mail probe: integration {row['id']} {row['provider']}: "
                + (servers or f"{row['state']} ({row['code']})"))
        if "mail_probe" in data:
            states = [r["state"] for r in data["mail_probe"]]
            out(f"probed {len(states)} mailboxes: ok {states.count('ok')}, refused "
                f"{states.count('refused')}, failed {states.count('failed')}")
