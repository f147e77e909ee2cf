from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils.translation import check_for_language, gettext
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

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
