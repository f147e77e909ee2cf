import uuid

import pytest

from gbp import limiter


@pytest.fixture(autouse=True)
def own_rate_limiter(monkeypatch):
    """Each test starts with the GBP APIs unpaced: a 429 one test provoked (its waits skipped)
    must not hold the next test back, in this process or in Redis."""
    monkeypatch.setattr(limiter, "_local", limiter.LocalLimiter())
    monkeypatch.setattr(limiter, "PREFIX", f"test-gbp-{uuid.uuid4().hex[:8]}:")
