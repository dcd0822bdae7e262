import threading

import pytest
from django.db import connection

from psa.core.models import AuditEvent, IdempotencyRecord

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls_api")]


def test_unauthenticated_calls_get_401_in_the_error_format(api_client):
    response = api_client.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"code", "message", "fields"}


def test_token_auth_works_for_the_api(make_user, api_client):
    from psa.core.tokens import api_token_create

    user = make_user("finance")
    _, secret = api_token_create(user=user, name="Test")
    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {secret}")
    assert response.status_code == 200
    assert response.json()["roles"] == ["finance"]


def test_token_endpoint_exchanges_credentials(make_user, api_client):
    from tests.factories import TEST_PASSWORD

    user = make_user("sales")
    response = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert response.json()["token"].startswith("psa_")


def test_a_role_refusal_is_403_in_the_error_format(api_as):
    client = api_as("consultant")
    response = client.post("/api/test/notes/", {"text": "hi"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_bad_input_is_400_naming_the_field(api_as):
    response = api_as("finance").post("/api/test/notes/", {"text": "x" * 51})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_failed"
    assert "text" in body["fields"]
    assert "text" in body["message"]


def test_a_domain_error_lists_every_missing_field(api_as):
    response = api_as("finance").post("/api/test/refuse/", {"kind": "missing"})
    assert response.status_code == 400
    assert response.json() == {
        "code": "missing_fields",
        "message": "Cannot win: 2 fields are missing.",
        "fields": {"start": ["Required."], "terms": ["Required."]},
    }


def test_a_state_conflict_is_409(api_as):
    response = api_as("finance").post("/api/test/refuse/", {"kind": "state"})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_unknown_object_is_404_and_wrong_method_405(api_as):
    client = api_as("finance")
    assert client.get("/api/v1/no-such-thing/").status_code == 404
    response = client.delete("/api/v1/me/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_same_idempotency_key_replays_with_one_side_effect(api_as):
    client = api_as("finance")
    first = client.post("/api/test/notes/", {"text": "once"}, HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post("/api/test/notes/", {"text": "once"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert AuditEvent.objects.filter(action="note").count() == 1


def test_same_key_with_a_different_payload_is_409(api_as):
    client = api_as("finance")
    client.post("/api/test/notes/", {"text": "once"}, HTTP_IDEMPOTENCY_KEY="k-2")
    response = client.post("/api/test/notes/", {"text": "other"}, HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert AuditEvent.objects.filter(action="note").count() == 1


def test_keys_are_per_user(api_as, make_user):
    client = api_as("finance")
    client.post("/api/test/notes/", {"text": "a"}, HTTP_IDEMPOTENCY_KEY="shared")
    client.force_authenticate(make_user("finance"))
    response = client.post("/api/test/notes/", {"text": "b"}, HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 201
    assert AuditEvent.objects.filter(action="note").count() == 2


def test_a_refused_request_replays_the_same_refusal(api_as):
    client = api_as("finance")
    first = client.post("/api/test/notes/", {"text": "x" * 60}, HTTP_IDEMPOTENCY_KEY="bad")
    second = client.post("/api/test/notes/", {"text": "x" * 60}, HTTP_IDEMPOTENCY_KEY="bad")
    assert first.status_code == second.status_code == 400
    assert first.json() == second.json()


def test_a_refused_request_does_not_block_a_corrected_retry_with_the_same_key(api_as):
    client = api_as("finance")
    refused = client.post("/api/test/notes/", {"text": "x" * 60}, HTTP_IDEMPOTENCY_KEY="fix-me")
    corrected = client.post("/api/test/notes/", {"text": "short"}, HTTP_IDEMPOTENCY_KEY="fix-me")
    assert refused.status_code == 400 and corrected.status_code == 201
    replay = client.post("/api/test/notes/", {"text": "short"}, HTTP_IDEMPOTENCY_KEY="fix-me")
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == corrected.json()
    assert AuditEvent.objects.filter(action="note").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_write_once(make_user):
    from rest_framework.test import APIClient

    user = make_user("finance")
    results = []
    barrier = threading.Barrier(4)

    def call():
        client = APIClient()
        client.force_authenticate(user)
        barrier.wait()
        try:
            results.append(client.post("/api/test/notes/", {"text": "race"}, HTTP_IDEMPOTENCY_KEY="race-1"))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert AuditEvent.objects.filter(action="note").count() == 1
    assert IdempotencyRecord.objects.filter(key="race-1").count() == 1
    assert sorted(r.status_code for r in results) == [201, 201, 201, 201]
    assert len({r.json()["id"] for r in results}) == 1
