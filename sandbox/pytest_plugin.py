"""pytest fixtures for tests that cross a real network to the sandbox provider.

    pytest_plugins = ["sandbox.pytest_plugin"]

    def test_connect(sandbox, client, user): ...
"""

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer

from .faults import in_flight

# The live server is Django's development server, whose listen backlog is socketserver's
# default of 5; the load tests open dozens of connections at once.
ThreadedWSGIServer.request_queue_size = 128
from .testing import Sandbox, point_product_at


@pytest.fixture
def sandbox(live_server, transactional_db, settings):
    """The sandbox served over real HTTP on a loopback port, with the product pointed at it."""
    point_product_at(live_server.url, settings)
    yield Sandbox(live_server.url)
    # A request left hanging by a fault must finish before the database is flushed.
    in_flight.wait_idle(timeout=60)
