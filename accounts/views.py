from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import check_for_language, gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from integrations.security import page_headers

from .forms import SignupForm


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("integrations:index")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, gettext("Welcome! Connect your first account below."))
        return redirect("integrations:index")
    return render(request, "accounts/signup.html", {"form": form})


@require_POST
def set_language(request):
    """Django's set_language (the language cookie, back to the page), and for a signed-in user
    the choice kept on their account: what is sent to them (the notice email) is written in it."""
    response = django_set_language(request)
    code = request.POST.get("language", "")
    offered = code in dict(settings.LANGUAGES) and check_for_language(code)
    if offered and request.user.is_authenticated and request.user.language != code:
        request.user.language = code
        request.user.save(update_fields=["language"])
    return response


@page_headers
@never_cache
@login_required
@require_GET
def api_demo(request):
    """A frontend that uses only the JSON API (accounts/api_demo.js): what a single-page app
    does, served by the demo host (mounted when the API is: django-ninja installed)."""
    return render(request, "accounts/api_demo.html", {
        "api_root": reverse("integrations:api:api-root"),
        "docs_url": reverse("integrations:api:openapi-view"),
    })
