from django.conf import settings
from django.core.checks import Error, register


@register(deploy=True)
def check_sandbox_off(app_configs, **kwargs):
    if getattr(settings, "SANDBOX_ENABLED", False):
        return [
            Error(
                "The sandbox provider is enabled.",
                hint="Set SANDBOX_ENABLED=false in production.",
                id="sandbox.E001",
            )
        ]
    return []
