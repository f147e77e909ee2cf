"""The API's OpenAPI 3 document, generated from the code, and its reference page for humans."""

import re

import pytest
from django.test import Client

# Every endpoint of the issue (and the owner switch the pages have), as the document lists them.
ENDPOINTS = {
    ("get", "/integrations/api/v1/providers"),
    ("get", "/integrations/api/v1/owners"),
    ("post", "/integrations/api/v1/owners/current"),
    ("get", "/integrations/api/v1/integrations"),
    ("get", "/integrations/api/v1/integrations/{integration_id}"),
    ("delete", "/integrations/api/v1/integrations/{integration_id}"),
    ("post", "/integrations/api/v1/integrations/connect"),
    ("post", "/integrations/api/v1/integrations/{integration_id}/reconnect"),
    ("post", "/integrations/api/v1/integrations/{integration_id}/disconnect"),
    ("post", "/integrations/api/v1/integrations/{integration_id}/refresh"),
    ("post", "/integrations/api/v1/integrations/{integration_id}/sync"),
    ("get", "/integrations/api/v1/integrations/{integration_id}/sync"),
    ("get", "/integrations/api/v1/integrations/{integration_id}/gbp/accounts"),
    ("get", "/integrations/api/v1/integrations/{integration_id}/gbp/locations"),
    ("get", "/integrations/api/v1/integrations/{integration_id}/gbp/reviews"),
    ("put", "/integrations/api/v1/integrations/{integration_id}/gbp/reviews/{review_id}/reply"),
    ("delete", "/integrations/api/v1/integrations/{integration_id}/gbp/reviews/{review_id}/reply"),
}


@pytest.fixture
def document(db):
    response = Client().get("/integrations/api/openapi.json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    return response.json()


def test_it_serves_a_valid_openapi_3_document_listing_every_endpoint(document):
    from schemathesis.openapi import from_dict

    assert re.fullmatch(r"3\.\d+\.\d+", document["openapi"])
    listed = {(method, path) for path, operations in document["paths"].items()
              for method in operations}
    assert listed == ENDPOINTS
    schema = from_dict(document)  # loads only a document that is valid OpenAPI
    assert len(list(schema.get_all_operations())) == len(ENDPOINTS)


def test_it_documents_every_error_in_one_shape(document):
    error = document["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"code", "message", "requires_reauth", "retry_after"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"401", "403"} <= statuses, (method, path)
            for status in statuses - {"200", "202", "204"}:
                ref = operation["responses"][status]["content"]["application/json"]["schema"]
                assert ref == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_it_serves_the_same_document_under_its_version(document):
    assert Client().get("/integrations/api/v1/openapi.json").json() == document


def test_it_serves_the_reference_page_from_this_site_under_the_pages_policy(db):
    response = Client().get("/integrations/api/v1/docs")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attributes, inline in scripts:
        # Scripts from this site's static files; an inline one only as data, never run.
        assert ('src="/static/' in attributes) or ('type="application/json"' in attributes), (
            attributes)
    assert "cdn" not in html.lower()


def test_it_warns_when_the_reference_page_would_load_its_script_from_a_cdn(settings):
    from integrations.checks import check_api_docs_assets

    assert check_api_docs_assets(None) == []
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "ninja"]
    assert [w.id for w in check_api_docs_assets(None)] == ["integrations.W007"]
