"""Schemathesis fuzzes the JSON API against its own OpenAPI document, on a live server with the
sandbox behind it: signed in (with the CSRF token, and an integration of each kind to aim at)
and with no session. No answer may be a server error or differ from the document (status,
content type, body), and the suite's leak detector checks every answer for a secret.

Bounded: a fixed number of examples per operation (FUZZ_EXAMPLES, FUZZ_NEGATIVE), derandomized
so a failure comes back the same way; `-m fuzz` selects it."""

import time
from collections import Counter

import pytest
import requests
from django.test import Client
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.openapi import from_dict
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from integrations.models import Integration
from tests.conftest import create_integration
from tests.helpers import connect

pytestmark = pytest.mark.fuzz

FUZZ_EXAMPLES = 20  # per operation, valid requests
FUZZ_NEGATIVE = 8  # per operation, invalid ones (a 4xx in the error shape, never a 5xx)
CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance)


def load_schema(base_url):
    document = requests.get(f"{base_url}/integrations/api/openapi.json", timeout=10).json()
    schema = from_dict(document)
    # The session (or none) is the test's: no made-up cookie or Authorization header on top.
    schema.config.generation.update(with_security_parameters=False)
    return schema


def signed_in_session(sandbox, user) -> requests.Session:
    session = sandbox.browser(user)
    page = session.get(f"{sandbox.base_url}/integrations/", timeout=10)  # sets csrftoken
    assert page.status_code == 200
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


def fuzz(schema, base_url, session, aim_at, *, examples, negative):
    """Every operation, `examples` valid and `negative` invalid requests each."""
    statuses = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    # What ends an integration last (disconnect, then remove): the others meet it connected.
    operations.sort(key=lambda op: 2 if op.method.upper() == "DELETE" else int(
        op.path.endswith("/disconnect")))
    for operation in operations:
        for mode, count in ((GenerationMode.POSITIVE, examples),
                            (GenerationMode.NEGATIVE, negative)):
            if not count:
                continue

            @hypothesis_settings(max_examples=count, deadline=None, derandomize=True,
                                 database=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode), pick=st.integers(0, 3))
            def run(case, pick):
                ids = (case.path_parameters or {})
                if "integration_id" in ids and aim_at and pick:
                    ids["integration_id"] = aim_at[pick % len(aim_at)]
                response = case.call(base_url=base_url, session=session)
                statuses[response.status_code] += 1
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (no parameter, no body)
                assert mode == GenerationMode.NEGATIVE, operation.label
    return statuses


@pytest.fixture
def aim_at(sandbox, owner):
    """What the signed-in run aims at: a sandbox integration (syncs), a Gmail one (does not),
    one that needs reconnecting; and one of another owner's (must be a 404)."""
    web = Client()
    web.force_login(owner)
    assert connect(web, sandbox, owner).status_code == 302
    mine = Integration.objects.get(provider="sandbox")
    gmail = create_integration(owner, "gmail")
    broken = create_integration(owner, "gmail", status=Integration.Status.REAUTH_REQUIRED,
                                last_error_code="invalid_grant", last_error_kind="reauth")
    return [mine.pk, gmail.pk, broken.pk]


def test_it_answers_a_signed_in_session_as_its_document_says(sandbox, owner, other, aim_at,
                                                            settings):
    settings.GBP_BACKFILL_DAYS = 2
    # The endpoints, not the throttles (their own tests), get the examples.
    settings.INTEGRATIONS_API_THROTTLE_RATES = {}
    theirs = create_integration(other)
    schema = load_schema(sandbox.base_url)
    started = time.monotonic()
    statuses = fuzz(schema, sandbox.base_url, signed_in_session(sandbox, owner),
                    [*aim_at, theirs.pk], examples=FUZZ_EXAMPLES, negative=FUZZ_NEGATIVE)
    report("signed in", statuses, started)
    assert {200, 404, 409, 422} <= set(statuses)  # it reached real answers
    assert Integration.objects.get(pk=theirs.pk).status == "active"  # never touched


def test_it_answers_no_session_as_its_document_says(sandbox, owner):
    integration = create_integration(owner)
    schema = load_schema(sandbox.base_url)
    started = time.monotonic()
    statuses = fuzz(schema, sandbox.base_url, requests.Session(), [integration.pk], examples=8,
                    negative=4)
    report("no session", statuses, started)
    assert set(statuses) <= {401, 403, 404, 405, 422}  # nothing answered without a session


def report(run, statuses, started):
    print(f"schemathesis, {run}: {sum(statuses.values())} requests in "
          f"{time.monotonic() - started:.1f} s, by status {dict(sorted(statuses.items()))}")
