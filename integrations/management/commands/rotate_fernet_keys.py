"""Re-encrypt every credential with the newest key in INTEGRATIONS_FERNET_KEYS.

Run it after prepending a new key; once it reports no undecryptable rows, older keys can be
removed from INTEGRATIONS_FERNET_KEYS.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from integrations import tokens
from integrations.models import OAuthCredential


class Command(BaseCommand):
    help = "Re-encrypt every OAuth credential with the newest key in INTEGRATIONS_FERNET_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args, dry_run=False, **options):
        rotated = undecryptable = raced = 0
        creds = OAuthCredential.objects.select_related("integration").order_by("pk")
        for cred in creds.iterator(chunk_size=500):
            if cred.is_undecryptable:
                undecryptable += 1
                self.stderr.write(f"integration {cred.integration_id}: undecryptable")
                if not dry_run:
                    tokens.flag_undecryptable(cred.integration)
                continue
            if dry_run:
                rotated += 1
                continue
            # Compare-and-set on updated_at: a refresh that lands meanwhile already wrote its
            # tokens with the newest key, and must not be overwritten with older ones.
            written = OAuthCredential.objects.filter(
                pk=cred.pk, updated_at=cred.updated_at
            ).update(
                access_token=cred.access_token,
                refresh_token=cred.refresh_token,
                updated_at=timezone.now(),
            )
            if written:
                rotated += 1
            else:
                raced += 1
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        summary = f"{verb} {rotated}, undecryptable {undecryptable}, changed meanwhile {raced}"
        if undecryptable:
            raise CommandError(
                summary + " (undecryptable rows were encrypted with a key no longer in "
                "INTEGRATIONS_FERNET_KEYS; they are flagged for reconnection)"
            )
        self.stdout.write(summary)
