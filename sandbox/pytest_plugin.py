"""pytest fixtures for tests that cross a real network to the sandbox provider.

    pytest_plugins = ["sandbox.pytest_plugin"]

    def test_connect(sandbox, client, user): ...
"""

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer

from .faults import in_flight
from .quota import window

# The live server is Django's development server (pytest-django's LiveServerThread uses this very
# class), which listens with a backlog of 10; the load test opens ~20 connections at once. With 128
# (`ss -ltn` shows it as the listen socket's Send-Q; net.core.somaxconn caps it) there is headroom.
# The backlog was not what stalled the load test (README, "The stall, explained").
ThreadedWSGIServer.request_queue_size = 128
from .testing import Sandbox, point_product_at


@pytest.fixture
def sandbox(live_server, transactional_db, settings):
    """The sandbox served over real HTTP on a loopback port, with the product pointed at it."""
    point_product_at(live_server.url, settings)
    window.reset()  # each test starts with the GBP API's quota unused
    yield Sandbox(live_server.url)
    # A request left hanging by a fault must finish before the database is flushed.
    in_flight.wait_idle(timeout=60)
