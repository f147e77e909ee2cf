import uuid

import pytest

from gbp import limiter


@pytest.fixture(autouse=True)
def own_rate_limiter(monkeypatch):
    """Each test starts with the GBP APIs unpaced: a 429 one test provoked (its waits skipped)
    must not hold the next test back, in this process or in Redis."""
    monkeypatch.setattr(limiter, "_local", limiter.LocalLimiter())
    monkeypatch.setattr(limiter, "PREFIX", f"test-gbp-{uuid.uuid4().hex[:8]}:")


@pytest.fixture
def synced(connected, sandbox, settings, monkeypatch):
    """`connected`, synced once with a day of metrics (enough for its reviews), the waits
    between retries skipped (for the rest of the test too). A test module may ask for more
    days with a `synced` of its own."""
    from gbp.sync import GbpSyncService
    from integrations import http

    settings.GBP_BACKFILL_DAYS = 1
    monkeypatch.setattr(http, "wait", lambda s: None)
    result = GbpSyncService().sync(connected)
    assert result.ok, result.message
    return connected
