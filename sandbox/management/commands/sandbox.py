"""python manage.py sandbox register | fault ENDPOINT KIND | clear | expire USER | revoke USER | status

USER is what the user signs in with (the user model's USERNAME_FIELD: a username, an email...).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from sandbox import ops
from sandbox.faults import KINDS
from sandbox.models import Call, Fault


class Command(BaseCommand):
    help = "Control the sandbox provider: register the client, inject faults, expire or revoke."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        register = sub.add_parser("register", help="register the product's OAuth client")
        register.add_argument("--redirect-uri", action="append", dest="redirect_uris")
        fault = sub.add_parser("fault", help="make the next N calls to an endpoint fail")
        fault.add_argument("endpoint", choices=ops.ENDPOINT_NAMES)
        fault.add_argument("kind", choices=KINDS)
        fault.add_argument("--times", type=int, default=1, help="0 means until cleared")
        fault.add_argument("--status", type=int)
        fault.add_argument("--body", default="")
        fault.add_argument("--content-type", default="")
        fault.add_argument("--retry-after", type=int)
        fault.add_argument("--latency-ms", type=int, default=0,
                           help=f"at most {ops.MAX_LATENCY_MS}")
        sub.add_parser("clear", help="remove every fault")
        for name, text in (("expire", "expire a user's access tokens"),
                           ("revoke", "revoke a user's grant")):
            sub.add_parser(name, help=text).add_argument(
                "username", metavar="USER", help="what the user signs in with")
        sub.add_parser("status", help="list faults and call counts")

    def handle(self, *args, action, **opts):
        self._require_migrated()
        getattr(self, f"do_{action}")(**opts)

    def _require_migrated(self):
        """The sandbox's tables exist only after `migrate` ran with it installed (a project that
        just turned it on has not): say so instead of a "no such table" traceback."""
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        targets = [key for key in executor.loader.graph.leaf_nodes()
                   if key[0] in ("sandbox", "oauth2_provider")]
        if executor.migration_plan(targets):
            raise CommandError("The sandbox's tables are not created yet: run "
                               "`python manage.py migrate` first.")

    def do_register(self, redirect_uris=None, **opts):
        try:
            app, created = ops.register_client(redirect_uris)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        verb = "registered" if created else "updated"
        self.stdout.write(f"sandbox client {verb}: {app.client_id} -> {app.redirect_uris}")

    def do_fault(self, endpoint, kind, times, **opts):
        try:
            fault = ops.inject(
                endpoint, kind, times or None, status=opts["status"], body=opts["body"],
                content_type=opts["content_type"], retry_after=opts["retry_after"],
                latency_ms=opts["latency_ms"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"injected: {fault}")

    def do_clear(self, **opts):
        self.stdout.write(f"cleared {ops.clear_faults()} fault(s)")

    def _user(self, username):
        User = get_user_model()
        try:
            return User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f"no user {username!r} ({User.USERNAME_FIELD})") from None

    def do_expire(self, username, **opts):
        self.stdout.write(f"expired {ops.expire_tokens(self._user(username))} access token(s)")

    def do_revoke(self, username, **opts):
        self.stdout.write(f"revoked {ops.revoke_grant(self._user(username))} grant(s)")

    def do_status(self, **opts):
        for fault in Fault.objects.all():
            self.stdout.write(f"fault: {fault}")
        for endpoint in ops.ENDPOINT_NAMES:
            self.stdout.write(f"{endpoint}: {Call.objects.filter(endpoint=endpoint).count()} call(s)")
