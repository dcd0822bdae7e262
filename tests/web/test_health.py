import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_checks_database_and_broker(client):
    response = client.get("/readyz")
    body = response.json()
    assert set(body["checks"]) == {"database", "broker"}
    assert response.status_code == 200, body


def test_readyz_fails_with_503_when_the_broker_is_unreachable(client, monkeypatch):
    from psa.web.views import home as views

    monkeypatch.setattr(views, "_check_broker", lambda: (False, "ConnectionRefusedError: refused"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("ConnectionRefusedError")
