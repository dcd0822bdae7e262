"""Django settings for the django-hordak process of the journal_post_vs_hordak benchmark (its own database,
given as HORDAK_DATABASE_URL; PostgreSQL, so hordak's balance trigger is installed)."""

import os

import dj_database_url

SECRET_KEY = "hordak-bench-only-0123456789abcdef"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "mptt", "hordak"]
DATABASES = {"default": dj_database_url.parse(os.environ["HORDAK_DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
HORDAK_INTERNAL_CURRENCY = "EUR"
DEFAULT_CURRENCY = "EUR"
CURRENCIES = ["EUR"]
