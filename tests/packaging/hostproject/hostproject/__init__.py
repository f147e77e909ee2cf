# The Celery app, loaded with Django so that the apps' shared_tasks bind to it.
from .celery import app as celery_app

__all__ = ["celery_app"]
