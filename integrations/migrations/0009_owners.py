"""Integrations belong to an owner (INTEGRATIONS_OWNER_MODEL: the user by default, or a host's
team); the user who connected one is kept as `connected_by`, and the integration stays with its
owner when that user is deleted.

On a database made before owners, every integration's owner becomes its user (every row kept).
A host that points INTEGRATIONS_OWNER_MODEL at a team model on a database that already holds
integrations names, in INTEGRATIONS_OWNER_FROM_USER, the function that finds a user's team (the
demo host: the user's own team); without it the migration stops and says so.
"""

import importlib
import pkgutil

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.migrations.loader import MigrationLoader
from django.utils.module_loading import import_string

OWNER_MODEL = getattr(settings, "INTEGRATIONS_OWNER_MODEL", "") or settings.AUTH_USER_MODEL


def creating_migration(model: str) -> tuple[str, str]:
    """The migration of a team model's app that creates the model (it may come in a later
    migration of its app than the first), else the app's first. Not the app's latest: that moves
    on with every new migration of the app, and Django then refuses a database that applied this
    migration before it (InconsistentMigrationHistory)."""
    app_label, model_name = model.split(".")
    package, _explicit = MigrationLoader.migrations_module(app_label)
    if not package:  # the app's migrations are turned off (MIGRATION_MODULES)
        return app_label, "__first__"
    try:
        modules = sorted(info.name for info in pkgutil.iter_modules(
            importlib.import_module(package).__path__) if not info.name.startswith("_"))
    except ImportError:
        return app_label, "__first__"
    for name in modules:
        migration = getattr(importlib.import_module(f"{package}.{name}"), "Migration", None)
        if any(isinstance(op, migrations.CreateModel) and op.name.lower() == model_name.lower()
               for op in getattr(migration, "operations", ())):
            return app_label, name
    return app_label, "__first__"


def owners_are_their_users(apps, schema_editor):
    """Each integration's owner becomes its user, or (a team owner model) the owner
    INTEGRATIONS_OWNER_FROM_USER names for that user: "module.function", called with the
    historical `apps` and a user id, returning an owner id."""
    Integration = apps.get_model("integrations", "Integration")
    if OWNER_MODEL.lower() == settings.AUTH_USER_MODEL.lower():
        Integration.objects.update(owner=models.F("connected_by"))
        return
    if not Integration.objects.exists():
        return
    path = getattr(settings, "INTEGRATIONS_OWNER_FROM_USER", "")
    if not path:
        raise RuntimeError(
            f"INTEGRATIONS_OWNER_MODEL is {OWNER_MODEL!r} and integrations owned by users exist: "
            "set INTEGRATIONS_OWNER_FROM_USER to a function(apps, user_id) -> owner id (README, "
            "\"Owners\"), or keep the owner model the user model.")
    owner_of = import_string(path)
    for integration in Integration.objects.all().iterator():
        integration.owner_id = owner_of(apps, integration.connected_by_id)
        if integration.owner_id is None:
            raise RuntimeError(f"{path} found no owner for the user of integration "
                               f"{integration.pk}")
        integration.save(update_fields=["owner"])


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0008_faults"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # A team model may come in a later migration of its app than the first: the one that
        # creates it.
        migrations.swappable_dependency(OWNER_MODEL)
        if OWNER_MODEL.lower() == settings.AUTH_USER_MODEL.lower()
        else creating_migration(OWNER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="integration", name="integration_unique_account"),
        migrations.RenameField(model_name="integration", old_name="user", new_name="connected_by"),
        migrations.AlterField(
            model_name="integration", name="connected_by",
            field=models.ForeignKey(blank=True, null=True,
                                    on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="connected_integrations",
                                    to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name="integration", name="owner",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="integrations", to=OWNER_MODEL),
        ),
        migrations.RunPython(owners_are_their_users, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="integration", name="owner",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                    related_name="integrations", to=OWNER_MODEL),
        ),
        migrations.AddConstraint(
            model_name="integration",
            constraint=models.UniqueConstraint(fields=("owner", "provider", "external_id"),
                                               name="integration_unique_account"),
        ),
    ]
