"""Telling the right person: signals for host apps, one email to the owner."""

import logging

from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from . import display, signals
from .conf import settings
from .models import Integration
from .providers import registry

log = logging.getLogger(__name__)


def reauth_required(integration_id: int, code: str, message: str) -> None:
    """Sent once, on the transition to `reauth_required` (after the transaction commits)."""
    integration = Integration.objects.select_related("user").get(pk=integration_id)
    signals.reauth_required.send(
        sender=Integration, integration=integration, error_code=code, message=message
    )
    email = integration.user.email
    if not email:
        log.warning("integration %s needs re-auth but its owner has no email", integration_id)
        return
    provider_name = registry.name_of(integration.provider)
    context = {
        "integration": integration,
        "provider_name": provider_name,
        # The words the integrations page uses; the provider's code and message are for
        # operators (admin, logs, history), never the owner's inbox.
        "reason": display.reauth_reason(code, provider_name),
        "url": settings.INTEGRATIONS_BASE_URL + reverse("integrations:index"),
    }
    subject = f"Reconnect your {context['provider_name']} account"
    body = render_to_string("integrations/email/reauth_required.txt", context)
    try:
        send_mail(subject, body, None, [email])
    except Exception as exc:  # a mail outage must not undo the state change
        log.error("could not email the owner of integration %s: %s", integration_id,
                  type(exc).__name__)
