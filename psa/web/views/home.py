"""Composition views: the home page per role and the health checks."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from psa.celery import app as celery_app
from psa.core.roles import is_client_only, primary_role
from psa.core.sql import database_ping
from psa.web.home import panels_for


@login_required
def home(request):
    role = primary_role(request.user)
    context = {
        "panels": panels_for(request.user),
        "role": role,
        "client_only": is_client_only(request.user),
    }
    return render(request, "web/home.html", context)


def _check_database() -> tuple[bool, str]:
    try:
        database_ping()
        return True, connection.vendor
    except Exception as exc:  # health checks report, they never raise
        return False, f"{type(exc).__name__}: {exc}"


def _check_broker() -> tuple[bool, str]:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return True, conn.transport_cls if isinstance(conn.transport_cls, str) else "broker"
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"


@never_cache
@require_GET
def healthz(request):
    """The process is up and the database answers."""
    ok, detail = _check_database()
    return JsonResponse({"status": "ok" if ok else "fail", "checks": {"database": detail}}, status=200 if ok else 503)


@never_cache
@require_GET
def readyz(request):
    """Ready to serve: database and broker both reachable."""
    db_ok, db_detail = _check_database()
    broker_ok, broker_detail = _check_broker()
    ok = db_ok and broker_ok
    body = {
        "status": "ok" if ok else "fail",
        "checks": {"database": db_detail, "broker": broker_detail},
        "broker": "redis" if settings.REDIS_URL else "embedded",
    }
    return JsonResponse(body, status=200 if ok else 503)
