"""The demo host's Celery configuration on the embedded default (no REDIS_URL)."""

import logging

from django.conf import settings
from kombu import Connection


def test_it_names_the_in_memory_broker_without_a_warning(caplog):
    # Eager tasks still take a producer from kombu's pool; a broker URL without a host made
    # kombu warn "No hostname was supplied" for each new connection (each sync, in the demo).
    with caplog.at_level(logging.WARNING, logger="kombu"):
        Connection(settings.CELERY_BROKER_URL).info()
    assert "No hostname" not in caplog.text
