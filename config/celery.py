"""The Celery app. With REDIS_URL set, Redis is the broker and real workers run the tasks;
without it, tasks run eagerly in-process (the embedded default, see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
