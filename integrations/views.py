from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import Integration


@login_required
def index(request):
    integrations = Integration.objects.filter(user=request.user).select_related("credential")
    return render(request, "integrations/index.html", {"integrations": integrations})
