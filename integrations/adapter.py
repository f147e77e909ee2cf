"""What a host project changes, in one class it names by a dotted path (allauth's and
django-oauth-toolkit's habit):

    INTEGRATIONS_ADAPTER = "myproject.adapters.IntegrationsAdapter"

    class IntegrationsAdapter(DefaultAdapter):
        def send_notice(self, notice, recipients): ...   # post to a chat webhook instead

The defaults are the apps' own behaviour. Views, admin, commands and tasks ask the adapter; none
of them assumes a user has `username`, `email`, `first_name` or `get_full_name()`.
"""

import functools
import logging
from email.utils import parseaddr

from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.mail import EmailMessage
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_lazy as _

from . import display
from .conf import changed, owner_model_name, settings
from .models import Integration
from .providers import registry

log = logging.getLogger(__name__)

# What a request may do to an integration (DefaultAdapter.can_act).
ACTIONS = ("view", "reconnect", "disconnect", "remove", "sync", "refresh", "reply")
# The session key of the owner a user chose to act for (DefaultAdapter.owner_for).
OWNER_SESSION_KEY = "integrations_owner"
# What a refused action says (the 403); a host's own action gets the general sentence.
REFUSED = {
    "view": _("You may not view this integration."),
    "reconnect": _("You may not reconnect this integration."),
    "disconnect": _("You may not disconnect this integration."),
    "remove": _("You may not remove this integration."),
    "sync": _("You may not sync this integration."),
    "refresh": _("You may not renew this integration's access."),
    "reply": _("You may not reply to reviews through this integration."),
}


def is_user_owned() -> bool:
    """Integrations belong to users (INTEGRATIONS_OWNER_MODEL unset or the user model)."""
    return owner_model_name().lower() == django_settings.AUTH_USER_MODEL.lower()


class AdapterError(Exception):
    pass


class DefaultAdapter:
    """Override any method in a subclass; each documents its default.

    ==========================  ===============================================================
    decides                     methods
    ==========================  ===============================================================
    whose integrations          owners_for, owner_for, select_owner, owner_display,
                                owner_admins, owner_search_fields
    who sees and does what      integrations_for, can_connect, can_act, user_may
    who a user is               user_display, user_email, user_search_fields
    the language a user reads   user_language (default: settings.LANGUAGE_CODE): the notice
                                email is rendered in it
    who is told, and how        notice_recipients, send_notice, render_notice_email,
                                notice_context, reconnect_url
    where a connect lands       connect_redirect_url
    who calls the JSON API      api_authenticate (default: nobody but a session)
    ==========================  ===============================================================
    """

    # --- Owners: who integrations belong to ---------------------------------------------------

    def owners_for(self, user):
        """The owners (INTEGRATIONS_OWNER_MODEL) a user may act for and switch between: a
        queryset or a list. Default, with the user as the owner model: the user alone. With a
        team model a host must say (a system check asks for it): the teams the user is in."""
        if not is_user_owned():
            raise NotImplementedError("INTEGRATIONS_OWNER_MODEL is not the user model: the "
                                      "adapter must say which owners a user may act for")
        return [user] if user.is_authenticated else []

    def owner_for(self, request):
        """The owner a request acts for: the one chosen on the integrations page (kept in the
        session) if the user may still act for it, else their first."""
        owners = list(self.owners_for(request.user))
        chosen = request.session.get(OWNER_SESSION_KEY)
        return next((o for o in owners if str(o.pk) == chosen), owners[0] if owners else None)

    def select_owner(self, request, owner_id) -> bool:
        """Make `owner_id` the request's owner from now on; False if the user may not."""
        if not any(str(o.pk) == str(owner_id) for o in self.owners_for(request.user)):
            return False
        request.session[OWNER_SESSION_KEY] = str(owner_id)
        return True

    def owner_display(self, owner) -> str:
        """How an owner is named (admin, token_health, the owner switcher)."""
        return self.user_display(owner) if is_user_owned() else str(owner)

    def owner_admins(self, owner) -> list:
        """The users told when an integration needs its owner and its connecting user cannot act
        on it any more. Default: the owner, when owners are users; nobody otherwise (a host with
        teams names its admins)."""
        return [owner] if is_user_owned() else []

    # --- Who sees what, who may do what -------------------------------------------------------

    def integrations_for(self, request):
        """The integrations this request may see (a queryset): its owner's. Every lookup by id
        goes through it, so anything outside it is a 404."""
        owner = self.owner_for(request)
        if owner is None:
            return Integration.objects.none()
        return Integration.objects.filter(owner=owner)

    def can_connect(self, request, provider) -> bool:
        """May this request connect (or add another account of) this provider? Default: any
        provider an operator has configured."""
        return provider.configured

    def can_act(self, request, integration, action: str) -> bool:
        """May this request do `action` (one of ACTIONS) to an integration it can see? A refusal
        is a 403 with a message (the integration exists for them). Default: `user_may`."""
        return self.user_may(request.user, integration, action)

    def user_may(self, user, integration, action: str) -> bool:
        """May this user do `action` to this integration (a request or not: the notices ask
        it)? Default: yes, when it belongs to one of their owners. A host lets only team admins
        disconnect here."""
        return any(o.pk == integration.owner_id for o in self.owners_for(user))

    # --- People ------------------------------------------------------------------------------

    def user_display(self, user) -> str:
        """How a user is named in admin, commands, emails and logs. Default: the value of the
        user model's USERNAME_FIELD (`get_username()`), else `str(user)`."""
        if user is None:
            return ""
        name = user.get_username() if hasattr(user, "get_username") else ""
        return str(name or user)

    def user_email(self, user) -> str:
        """The address to email a user at, or "" when the user model has none (they are then
        not emailed). Default: the field `get_email_field_name()` names, if the model has it."""
        if user is None:
            return ""
        field = user.get_email_field_name() if hasattr(user, "get_email_field_name") else "email"
        value = getattr(user, field, "") if _is_field(type(user), field) else ""
        return value if isinstance(value, str) and "@" in parseaddr(value)[1] else ""

    def user_language(self, user) -> str:
        """The language a user reads what is sent to them in (a code of LANGUAGES): the notice
        email is rendered in it. Default: the site's, settings.LANGUAGE_CODE. A host that keeps
        each user's language returns it."""
        return django_settings.LANGUAGE_CODE

    def user_search_fields(self, prefix="connected_by") -> list[str]:
        """The user fields admin searches integrations by (`<prefix>__<field>` lookups).
        Default: USERNAME_FIELD and the email field, where the model has them."""
        User = get_user_model()
        names = [getattr(User, "USERNAME_FIELD", ""), User.get_email_field_name()
                 if hasattr(User, "get_email_field_name") else "email"]
        return [f"{prefix}__{name}" for name in dict.fromkeys(names)
                if name and _is_field(User, name)]

    def owner_search_fields(self) -> list[str]:
        """The owner fields admin searches by. Default: the user's, when owners are users; an
        owner model's `name`, if it has one."""
        if is_user_owned():
            return self.user_search_fields("owner")
        Owner = apps.get_model(owner_model_name())
        return ["owner__name"] if _is_field(Owner, "name") else []

    # --- Telling people ----------------------------------------------------------------------

    def notice_recipients(self, integration) -> list:
        """Who is told when an integration needs its owner. Default: the user who connected it
        while they may still reconnect it, otherwise the owner's admins (`owner_admins`)."""
        user = integration.connected_by
        if user is not None and user.is_active and self.user_may(user, integration, "reconnect"):
            return [user]
        return list(self.owner_admins(integration.owner))

    def send_notice(self, notice, recipients) -> None:
        """Deliver one notice (integrations.models.Notice) to its recipients. Raise to have it
        tried again later (with backoff; see INTEGRATIONS_NOTICE_ATTEMPTS): the notice is
        delivered by one successful call. Default: one email to each recipient that has an
        address, rendered from `integrations/email/<kind>_subject.txt` and `<kind>.txt`."""
        sent = 0
        for recipient in recipients:
            address = self.user_email(recipient)
            if not address:
                log.warning("notice %s (integration %s): %s has no email address; not emailed",
                            notice.pk, notice.integration_id, self.user_display(recipient))
                continue
            subject, body = self.render_notice_email(notice, recipient)
            message = EmailMessage(subject, body, None, [address],
                                   headers={"Message-ID": notice_message_id(notice)})
            message.send()
            sent += 1
        return sent

    def render_notice_email(self, notice, recipient) -> tuple[str, str]:
        """(subject, body) of a notice's email to one recipient, in their language
        (`user_language`): a notice is often delivered where no request says which."""
        with translation.override(self.user_language(recipient)):
            context = self.notice_context(notice, recipient)
            subject = render_to_string(f"integrations/email/{notice.kind}_subject.txt", context)
            body = render_to_string(f"integrations/email/{notice.kind}.txt", context)
        return " ".join(subject.split()), body

    def notice_context(self, notice, recipient) -> dict:
        """What the notice templates see."""
        integration = notice.integration
        provider_name = registry.name_of(integration.provider)
        return {
            "notice": notice,
            "integration": integration,
            "recipient": recipient,
            "recipient_name": self.user_display(recipient),
            "provider_name": provider_name,
            "account": integration.display_name or integration.external_id,
            # The words the integrations page uses; the provider's code and message are for
            # operators (admin, logs, history), never the owner's inbox.
            "reason": display.reauth_reason(notice.error_code, provider_name),
            "url": self.reconnect_url(integration),
        }

    def reconnect_url(self, integration) -> str:
        """Where a notice sends people to fix an integration (an absolute URL)."""
        return settings.INTEGRATIONS_BASE_URL + reverse("integrations:index")

    # --- Where people land -------------------------------------------------------------------

    def connect_redirect_url(self, request, integration, created: bool, next_url: str) -> str:
        """Where the browser goes after a successful connect or reconnect. Default: the `next`
        the connect link carried (checked to stay on this site), else the integrations page."""
        return next_url or reverse("integrations:index")

    # --- The JSON API ------------------------------------------------------------------------

    def api_authenticate(self, request):
        """The user a JSON API request without a session acts as, from a credential the host
        issues (`Authorization: Bearer <token>`, read from `request.headers`), or None. Default:
        None, so only a session (with its CSRF token for a state change) is accepted. A user
        returned here becomes `request.user` for the request: the owner methods above then
        answer for it as for a session. Such a request needs no CSRF token (a browser does not
        attach the header by itself)."""
        return None


def _is_field(model, name) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def notice_message_id(notice) -> str:
    """One Message-ID per notice: a copy sent again (a delivery whose outcome was lost) is the
    same message to mail systems that deduplicate by it."""
    domain = parseaddr(django_settings.DEFAULT_FROM_EMAIL or "")[1].rpartition("@")[2]
    return f"<integrations-notice-{notice.pk}.{notice.created_at:%Y%m%d%H%M%S}@{domain or 'localhost'}>"


@functools.lru_cache(maxsize=4)
def _load(path: str) -> DefaultAdapter:
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise AdapterError(f"INTEGRATIONS_ADAPTER {path!r} cannot be imported: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, DefaultAdapter)):
        raise AdapterError(f"INTEGRATIONS_ADAPTER {path!r} is not a subclass of "
                           "integrations.adapter.DefaultAdapter")
    return cls()


def get_adapter() -> DefaultAdapter:
    """The host's adapter (one instance per class path)."""
    return _load(settings.INTEGRATIONS_ADAPTER)


def _forget(name=None, **kwargs):
    if name == "INTEGRATIONS_ADAPTER":
        _load.cache_clear()


changed.connect(_forget, dispatch_uid="integrations.adapter")


def integration_or_404(request, integration_id, action: str = "view") -> Integration:
    """An integration this request may see (anyone else's is a 404: no existence leak), and may
    do `action` to (else a 403)."""
    adapter = get_adapter()
    integration = adapter.integrations_for(request).filter(pk=integration_id).first()
    if integration is None:
        raise Http404("Unknown integration")
    if not adapter.can_act(request, integration, action):
        refused = REFUSED.get(action)
        raise PermissionDenied(str(refused) if refused else gettext(
            "You may not {action} this integration.").format(action=action))
    return integration
