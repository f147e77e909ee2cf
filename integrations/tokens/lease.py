"""Single flight: a lease on the credential row, so at most one refresh runs per credential.

The lease (`lease_owner`, `lease_until`) is taken with one conditional UPDATE: it works the same
on PostgreSQL and SQLite, across threads, processes and machines, and holds no database
transaction open during the HTTP call. A live holder renews it while its request is in flight
(the keeper below); a killed holder's lease lapses after INTEGRATIONS_REFRESH_LOCK_SECONDS.
"""

import logging
import random
import threading
import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from .. import http
from ..conf import settings
from ..models import OAuthCredential
from . import sql
from .errors import RefreshFailed

log = logging.getLogger("integrations.tokens")


def until(now):
    return now + timedelta(seconds=settings.INTEGRATIONS_REFRESH_LOCK_SECONDS)


def acquire(cred, owner, *, unchanged=False) -> bool:
    """Take the lease if it is free (or lapsed). With `unchanged`, only if nobody wrote the
    credential since we read it: then what we read is still current, no re-read needed."""
    now = timezone.now()
    return sql.take_lease(cred.pk, owner, now, until(now), cred.updated_at if unchanged else None)


def release(cred_pk, owner):
    OAuthCredential.objects.filter(pk=cred_pk, lease_owner=owner).update(
        lease_owner="", lease_until=None)


def wait_for(integration, cred, owner, reload, satisfied):
    """Wait (bounded) until we hold the lease, or until another holder's refresh satisfies us
    (`reload()` reads the credential again). Returns (credential, whether we hold the lease)."""
    deadline = time.monotonic() + settings.INTEGRATIONS_REFRESH_WAIT_SECONDS
    while not acquire(cred, owner):
        if time.monotonic() > deadline:
            raise RefreshFailed(integration.pk, "lock_timeout",
                                "Another refresh of this credential did not finish in time.")
        http.wait(random.uniform(0.02, 0.08))
        cred = reload()
        if satisfied(cred):
            return cred, False
    return cred, True


class LeaseKeeper:
    """Keeps this process's leases alive while their refreshes are in flight.

    A refresh can outlive any timeout we set (a server trickling bytes, a stall somewhere between
    us and it, or the process itself stalled, as the load test's full log pipes once did for 50 s:
    README, "The stall, explained"). If the lease lapsed
    meanwhile, another worker would refresh with the same refresh token, and a strict provider
    revokes the whole family on that reuse. So one background thread per process renews every
    lease held longer than a third of its length; a killed process stops renewing and its leases
    lapse within INTEGRATIONS_REFRESH_LOCK_SECONDS, as before. Holding a lease costs a dict entry.
    """

    def __init__(self):
        self.held = {}
        self.lock = threading.Lock()
        self.thread = None

    def hold(self, cred_pk, owner):
        with self.lock:
            self.held[(cred_pk, owner)] = time.monotonic()
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, daemon=True, name="lease-keeper")
                self.thread.start()

    def drop(self, cred_pk, owner):
        with self.lock:
            self.held.pop((cred_pk, owner), None)

    def _run(self):
        while True:
            seconds = settings.INTEGRATIONS_REFRESH_LOCK_SECONDS
            time.sleep(min(1.0, seconds / 6))
            now = time.monotonic()
            with self.lock:
                due = [key for key, renewed in self.held.items() if now - renewed >= seconds / 3]
            if not due:
                continue
            try:
                until = timezone.now() + timedelta(seconds=seconds)
                for cred_pk, owner in due:
                    OAuthCredential.objects.filter(pk=cred_pk, lease_owner=owner).update(
                        lease_until=until)
                    with self.lock:
                        if (cred_pk, owner) in self.held:
                            self.held[(cred_pk, owner)] = now
            except Exception:  # renewing is best effort; the bounded refresh still applies
                log.exception("could not renew refresh leases")
            finally:
                connection.close()  # renewals are rare: hold no idle connection


keeper = LeaseKeeper()
