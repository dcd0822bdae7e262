import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _run_manage(*args, env_overrides: dict, keep_database: bool = False) -> subprocess.CompletedProcess:
    dropped = {"REDIS_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"} | (set() if keep_database else {"DATABASE_URL"})
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = _run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides={
            "DEBUG": "false",
            "SECRET_KEY": "k" * 20 + "production-like-secret-key-0123456789abc",
            "ALLOWED_HOSTS": "psa.example.com",
            "PSA_VAR_DIR": str(tmp_path),
            "SECURE_SSL_REDIRECT": "true",
            "SESSION_COOKIE_SECURE": "true",
            "CSRF_COOKIE_SECURE": "true",
            "STATIC_MANIFEST": "true",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _run_manage("check", env_overrides={"DEBUG": "false", "SECRET_KEY": "", "PSA_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_without_database_url_the_app_uses_a_sqlite_file(tmp_path):
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DEBUG="true", PSA_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="psa.settings")
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "django.db.backends.sqlite3", result.stderr


def test_celery_is_configured_for_safe_redelivery():
    from psa.celery import app

    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == "json"
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
    if settings.REDIS_URL:
        assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit


def test_security_headers_and_csp_are_sent(client):
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_openapi_schema_and_local_docs(client_as):
    client = client_as("finance")
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi:" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


@pytest.mark.django_db
def test_front_end_assets_are_served_locally(client_as):
    html = client_as("sales").get("/").content.decode()
    for asset in (
        "vendor/bootstrap/css/bootstrap.min.css",
        "vendor/htmx/htmx.min.js",
        "vendor/chartjs/chart.umd.min.js",
    ):
        assert f"/static/{asset}" in html
    assert "https://" not in html.split("<body")[0]
