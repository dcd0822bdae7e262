"""The Celery application.

Configuration lives in Django settings under the CELERY_ prefix (see psa/settings.py): late acks, rejection on
worker loss, prefetch 1, JSON only, time limits, and a Redis visibility timeout above the longest job.
Tasks take ids, call one service, and are safe to run twice.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings")

app = Celery("psa", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
