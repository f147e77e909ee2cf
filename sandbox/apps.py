from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox provider"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings

        from . import checks  # noqa: F401  (registers the deploy check)
        from .conf import refuse_without_debug

        # Also for a host that lists the app itself instead of calling conf.configure().
        refuse_without_debug(settings.DEBUG,
                             getattr(settings, "SANDBOX_ALLOW_WITHOUT_DEBUG", False))
