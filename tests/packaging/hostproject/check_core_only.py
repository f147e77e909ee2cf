"""`integrations` and `gbp` without the sandbox and without its extra's packages.

Run with HOSTPROJECT_SANDBOX=0: blocks django-oauth-toolkit (and the sandbox app), then sets
Django up, imports every module of both apps, runs the system checks and the migrations.
Prints one JSON line: the modules imported.
"""

import importlib
import importlib.util
import json
import os
import pkgutil
import sys

BLOCKED = {"oauth2_provider", "jwcrypto", "sandbox"}


def needs_api_extra(name) -> bool:
    """The JSON API's modules need the `api` extra (django-ninja), which this venv may not have:
    the apps do not import them then (integrations.urls mounts the API only with ninja)."""
    return name == "gbp.api" or name.startswith("integrations.api.")


class Blocker:
    """A meta path finder that refuses the sandbox extra's packages."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: integrations and gbp must not need it")
        return None


def main():
    assert os.environ.get("HOSTPROJECT_SANDBOX") == "0", "run with HOSTPROJECT_SANDBOX=0"
    sys.meta_path.insert(0, Blocker())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostproject.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.urls import reverse

    assert not {"oauth2_provider", "sandbox"} & set(settings.INSTALLED_APPS)
    imported = []
    for name in ("integrations", "gbp"):
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if needs_api_extra(module.name) and not importlib.util.find_spec("ninja"):
                continue
            importlib.import_module(module.name)
            imported.append(module.name)
    call_command("check", fail_level="ERROR")
    call_command("migrate", interactive=False, verbosity=0)
    assert reverse("integrations:index") == "/integrations/"
    assert reverse("gbp:detail", args=[1]) == "/integrations/gbp/1/"
    print(json.dumps({"imported": imported}))


if __name__ == "__main__":
    main()
