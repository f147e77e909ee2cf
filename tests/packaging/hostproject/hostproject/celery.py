"""The host's Celery app. No broker here: tasks run eagerly in-process (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostproject.settings")

app = Celery("hostproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
