"""The Celery application: Redis as broker, schedules kept by django-celery-beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("qunzu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
