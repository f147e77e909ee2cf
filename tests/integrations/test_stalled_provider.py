"""A provider that takes the connection and never answers: the refresh fails in bounded time.

Two real loopback servers that never call accept(): one whose accept queue is full (the kernel
drops our SYN, so connect never completes; Linux counts it in TcpExtListenOverflows), one that
completes our handshake and buffers our request but never reads it (we wait for a status line
that never comes). Either way: a transient `timeout` after every attempt, tokens kept, a
cooldown set, and no longer than attempts x INTEGRATIONS_HTTP_TIMEOUT plus a little.
"""

import contextlib
import socket
import time

import pytest

from integrations import http, tokens
from integrations.conf import settings as app_settings
from integrations.models import IntegrationEvent, OAuthCredential

TIMEOUT = 0.5  # INTEGRATIONS_HTTP_TIMEOUT for these tests: fast, and far above loopback latency
SLACK = 3.0  # database work around the attempts, on a loaded machine


def listen_overflows():
    """Linux's TcpExtListenOverflows (this network namespace), or None elsewhere."""
    try:
        with open("/proc/net/netstat") as f:
            names, values = [line.split() for line in f if line.startswith("TcpExt:")][:2]
    except (OSError, ValueError):
        return None
    return int(dict(zip(names, values)).get("ListenOverflows", 0))


@contextlib.contextmanager
def stalled_provider(behaviour):
    """A token URL on loopback whose server never accepts a connection."""
    listener = socket.socket()
    fillers = []
    try:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        if behaviour == "accept_queue_full":
            listener.listen(0)  # Linux queues one connection at backlog 0: take it ourselves
            fillers.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        else:  # "never_answers": room in the queue, so the kernel completes every handshake
            listener.listen(8)
        yield f"http://127.0.0.1:{port}/o/token/"
    finally:
        for s in fillers:
            s.close()
        listener.close()


@pytest.fixture
def waits(monkeypatch):
    recorded = []
    monkeypatch.setattr(http, "wait", recorded.append)
    return recorded


@pytest.mark.parametrize("behaviour", ["accept_queue_full", "never_answers"])
def test_it_gives_up_on_a_provider_that_never_answers(behaviour, db, owner, make_integration,
                                                     settings, waits):
    settings.INTEGRATIONS_HTTP_TIMEOUT = TIMEOUT
    integration = make_integration(owner, provider="sandbox", expires_in=60)
    before = OAuthCredential.objects.get(integration=integration)
    overflows = listen_overflows()
    with stalled_provider(behaviour) as token_url:
        providers = dict(settings.INTEGRATIONS_PROVIDERS)
        providers["sandbox"] = {**providers["sandbox"], "token_url": token_url}
        settings.INTEGRATIONS_PROVIDERS = providers
        started = time.monotonic()
        with pytest.raises(tokens.RefreshFailed) as failed:
            tokens.ensure_fresh(integration, force=True)
        elapsed = time.monotonic() - started

    attempts = app_settings.INTEGRATIONS_REFRESH_ATTEMPTS
    assert failed.value.kind == "transient" and failed.value.code == "timeout"
    event = IntegrationEvent.objects.filter(integration=integration, kind="refresh").get()
    assert event.outcome == "transient" and event.attempts == attempts
    # Each attempt waited out its timeout (the provider really stalled), and no longer.
    assert attempts * TIMEOUT * 0.9 <= elapsed <= attempts * TIMEOUT + SLACK, elapsed
    assert len(waits) == attempts - 1  # backed off between attempts (recorded, not slept)
    if behaviour == "accept_queue_full" and overflows is not None:
        assert listen_overflows() > overflows  # the kernel dropped our SYNs, as it says

    after = OAuthCredential.objects.select_related("integration").get(integration=integration)
    assert (after.refresh_token, after.access_token) == (before.refresh_token, before.access_token)
    assert after.integration.status == "active"
    assert after.last_error_kind == "transient" and after.last_error_code == "timeout"
    assert after.refresh_failures == 1 and after.in_cooldown()

    # Cooling down: the next call fails at once, without another attempt at the provider.
    started = time.monotonic()
    with pytest.raises(tokens.RefreshFailed) as again:
        tokens.ensure_fresh(integration, force=True)
    assert again.value.code == "timeout" and again.value.retry_after > 0
    assert time.monotonic() - started < TIMEOUT
    assert IntegrationEvent.objects.filter(integration=integration, kind="refresh").count() == 1
