"""Try every active credential (refreshing where needed) and say who must reconnect.

    python manage.py token_health [--json]

Exit status: 0 all valid or refreshed, 1 some failed or need re-authentication.
"""

import json
import sys

from django.core.management.base import BaseCommand

from integrations import tokens
from integrations.display import REAUTH_WORDS
from integrations.models import Integration


class Command(BaseCommand):
    help = "Check every active credential: valid / refreshed / failed; list who must reconnect."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        rows = []
        active = Integration.objects.filter(status=Integration.Status.ACTIVE).order_by("pk")
        for integration in active.iterator(chunk_size=500):
            rows.append(self._check(integration))
        reauth = list(
            Integration.objects.filter(status=Integration.Status.REAUTH_REQUIRED)
            .select_related("user", "credential").order_by("pk")
        )
        advice = [self._advice(i) for i in reauth]
        if opts["json"]:
            self.stdout.write(json.dumps({"credentials": rows, "reauth_required": advice}))
        else:
            for row in rows:
                extra = f" ({row['code']})" if row["code"] else ""
                self.stdout.write(f"integration {row['id']} {row['provider']} {row['account']}: "
                                  f"{row['state']}{extra}")
            if advice:
                self.stdout.write("\nNeeds re-authentication (only the owner can fix these):")
                for item in advice:
                    self.stdout.write(f"- integration {item['id']} {item['provider']} "
                                      f"{item['account']} (owner {item['owner']}): "
                                      f"{item['reason']} -> {item['action']}")
            counts = {s: sum(r["state"] == s for r in rows) for s in ("valid", "refreshed", "failed")}
            self.stdout.write(f"\nvalid {counts['valid']}, refreshed {counts['refreshed']}, "
                              f"failed {counts['failed']}, needing re-auth {len(advice)}")
        if any(r["state"] == "failed" for r in rows) or advice:
            sys.exit(1)

    def _check(self, integration):
        row = {"id": integration.pk, "provider": integration.provider,
               "account": integration.display_name or integration.external_id, "code": ""}
        try:
            before = integration.credential.last_refreshed_at
            cred = tokens.ensure_fresh(integration)
            row["state"] = "valid" if cred.last_refreshed_at == before else "refreshed"
        except tokens.TokenError as exc:
            row["state"], row["code"] = "failed", exc.code
        return row

    def _advice(self, integration):
        cred = getattr(integration, "credential", None)
        code = cred.last_error_code if cred else ""
        reason = REAUTH_WORDS.get(code, "The connection stopped working.").format(
            provider=integration.provider)
        return {"id": integration.pk, "provider": integration.provider,
                "account": integration.display_name or integration.external_id,
                "owner": integration.user.email or integration.user.get_username(),
                "code": code, "reason": reason,
                "action": "the owner reconnects it on the integrations page (they were emailed)"}
