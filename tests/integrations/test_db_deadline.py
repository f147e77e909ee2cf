"""integrations.deadline: a query of the token service's work that the database never answers
(a frozen server acknowledges packets but runs nothing) fails after
INTEGRATIONS_DB_DEADLINE_SECONDS instead of waiting as long as the freeze; a host's own queries
are never touched. The freeze itself, in a real refresh run: tests/faults/test_database_restart.py."""

import pytest
from django.db import connection

from integrations import deadline, proactive
from tests.conftest import need

pytestmark = pytest.mark.postgres


def on_postgres():
    need(connection.vendor == "postgresql",
         "not on PostgreSQL: set DATABASE_URL=postgres://... (the PostgreSQL pass)")


def sleep(seconds):
    with connection.cursor() as cursor:
        # The server ends a sleep whose client is gone within 3 s (it does not notice sooner).
        cursor.execute("SET statement_timeout = '3s'")
        cursor.execute("SELECT pg_sleep(%s)", [seconds])


def test_it_drops_a_query_with_no_answer_by_its_deadline(transactional_db, caplog):
    on_postgres()
    with deadline.bounded(0.5), pytest.raises(deadline.DatabaseStalled,
                                              match="did not answer within 0.5 s"):
        sleep(10)  # (statement_timeout would say "canceling statement", after 3 s)
    assert "had no answer after 0.5 s" in caplog.text
    connection.close()
    with deadline.bounded(0.5):
        sleep(0.01)  # a fresh connection, and a query in time, is left alone


def test_it_bounds_the_runs_threads_and_leaves_the_hosts_own_queries_alone(
        transactional_db, settings):
    on_postgres()
    settings.INTEGRATIONS_DB_DEADLINE_SECONDS = 0.3
    sleep(0.6)  # the host's query: no deadline
    failures = []

    def work(item):
        try:
            sleep(item)
        except deadline.DatabaseStalled as exc:
            failures.append(str(exc))
        finally:
            connection.close()
        return item

    proactive.in_threads([0.01, 5], 2, work, lambda result: None)
    assert len(failures) == 1 and "within 0.3 s" in failures[0]
