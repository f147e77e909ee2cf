import os

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks, deadline  # noqa: F401  (registers the system checks)
        from .conf import settings
        from .tasks import ensure_app

        ensure_app()  # a project with no Celery app of its own gets one from its settings
        deadline.install()  # the token service's queries get a deadline (integrations.deadline)

        if settings.INTEGRATIONS_ALLOW_INSECURE_TRANSPORT:
            os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
