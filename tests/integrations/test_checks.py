"""The system checks a host meets when it installs the apps (the deploy checks of the demo's
production settings are in tests/demo/test_deploy.py)."""

from celery import Celery
from django.core import checks

from integrations.providers import registry
from integrations.tasks import queue_problem
from tests.helpers import configure_provider, page_text


def ids(**kwargs):
    return [m.id for m in checks.run_checks(**kwargs) if m.id.startswith("integrations.")]


def test_it_passes_with_the_test_settings(db):
    assert ids(include_deployment_checks=False) == []


def test_it_does_not_offer_a_provider_whose_client_id_is_a_placeholder(db, client, owner,
                                                                       settings):
    configure_provider(settings, "google", client_id=..., client_secret=...)
    assert not registry.get("gmail").configured
    assert "integrations.W003" in ids()
    assert "integrations.E005" in ids(include_deployment_checks=True)
    client.force_login(owner)
    assert "/integrations/connect/gmail/" not in page_text(client.get("/integrations/"))


def test_it_says_which_setting_holds_the_placeholder(settings):
    configure_provider(settings, "microsoft", client_id="your-client-id", client_secret="x" * 8)
    texts = [m.msg for m in checks.run_checks() if m.id == "integrations.W003"]
    assert 'INTEGRATIONS_PROVIDERS["microsoft"]["client_id"]' in texts[0]
    assert 'INTEGRATIONS_PROVIDERS["microsoft"]["client_secret"]' in texts[1]


def test_it_reports_a_misdeclared_provider(settings):
    settings.INTEGRATIONS_PROVIDERS = {"acme": {"authorize_url": "/a"}}
    assert "integrations.E007" in ids()
    settings.INTEGRATIONS_PROVIDERS = {"google": "not a dict"}
    assert "integrations.E007" in ids()


def test_it_names_a_setting_that_was_renamed(settings):
    settings.INTEGRATION_PROVIDERS = {"acme": {}}
    messages = [m for m in checks.run_checks() if m.id == "integrations.W005"]
    assert messages and "INTEGRATIONS_PROVIDERS" in messages[0].msg


def test_it_refuses_a_single_string_of_keys(settings):
    settings.INTEGRATIONS_FERNET_KEYS = "one-long-key-written-as-a-string-0123456789"
    assert "integrations.E001" in ids()


def test_it_refuses_an_adapter_it_cannot_import(settings):
    settings.INTEGRATIONS_ADAPTER = "nowhere.Adapter"
    assert "integrations.E008" in ids()
    settings.INTEGRATIONS_ADAPTER = "integrations.models.Integration"
    assert "integrations.E008" in ids()


def test_it_warns_when_tasks_could_never_run():
    assert "amqp://localhost" in queue_problem(Celery("host", set_as_current=False))
    memory = Celery("host", broker="memory://", set_as_current=False)
    assert "memory://" in queue_problem(memory)
    memory.conf.task_always_eager = True
    assert queue_problem(memory) == ""
    redis = Celery("host", broker="redis://127.0.0.1:6379/0", set_as_current=False)
    assert queue_problem(redis) == ""


def test_it_warns_about_the_base_url_before_a_connect_would_fail(settings):
    settings.INTEGRATIONS_BASE_URL = ""
    assert "integrations.W002" in ids()
