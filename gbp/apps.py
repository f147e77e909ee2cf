from django.apps import AppConfig
from django.urls import reverse


class GbpConfig(AppConfig):
    name = "gbp"
    label = "gbp"
    verbose_name = "Google Business Profile"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from integrations import consumers

        from . import receivers  # noqa: F401  (connects the signal receivers)
        from .providers import CONSUMER

        def api_router():  # imported only by the core's API (django-ninja, the `api` extra)
            from .api import router

            return router

        def enqueue_sync(integration_id):
            from .tasks import enqueue_sync as enqueue

            # Admin's action over a selection: to a worker, or one after another in the request
            # where tasks are eager (never a thread per selected integration at once).
            enqueue(integration_id, in_thread=False)

        consumers.register(consumers.Consumer(
            name=CONSUMER,
            detail_url=lambda integration: reverse("gbp:detail", args=[integration.pk]),
            sync_url=lambda integration: reverse("gbp:sync", args=[integration.pk]),
            enqueue_sync=enqueue_sync,
            api_router=api_router,
            schedules=(consumers.Schedule(
                "Google Business Profile sync (daily)", "gbp.tasks.sync_all",
                crontab={"minute": "0", "hour": "3"}),),
        ))
