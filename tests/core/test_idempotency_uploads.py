"""Idempotency-Key with uploads: the fingerprint covers the file's bytes, not its name; a refused (4xx) request
does not hold the key against a corrected retry."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.models import Account

pytestmark = pytest.mark.django_db


def _post(api, content: bytes, *, name: str = "accounts.csv", key: str = "import-1"):
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    return api.post(
        "/api/v1/crm-imports/",
        {"kind": "accounts", "file": upload, "dry_run": "false"},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_the_same_key_with_another_file_under_the_same_name_is_a_409_not_a_replay(api_as):
    api = api_as("admin")
    assert _post(api, b"Name\nAcme\n").status_code == 200
    response = _post(api, b"Name\nBeta\n")
    assert response.status_code == 409 and response.json()["code"] == "idempotency_conflict"
    assert list(Account.objects.values_list("name", flat=True)) == ["Acme"]


def test_the_same_key_with_the_same_bytes_under_another_name_replays_the_first_response(api_as):
    api = api_as("admin")
    first = _post(api, b"Name\nAcme\n", name="export-monday.csv")
    second = _post(api, b"Name\nAcme\n", name="export-copy.csv")
    assert first.status_code == second.status_code == 200 and second["Idempotent-Replayed"] == "true"
    assert Account.objects.count() == 1


def test_a_refused_upload_does_not_block_the_corrected_file_with_the_same_key(api_as):
    api = api_as("admin")
    refused = _post(api, b"Firm\nAcme\n")  # no name column
    assert refused.status_code == 400
    corrected = _post(api, b"Name\nAcme\n")
    assert corrected.status_code == 200 and corrected.json()["created"] == 1
    assert Account.objects.count() == 1
