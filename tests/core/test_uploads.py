"""Uploads: each import kind has one size limit, stated on its form and enforced from the request's declared
length before the body is read; imports have row caps."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.models import Consultant
from tests.billing.factories import make_consultant

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


class UnreadableBody:
    """A request body that fails the test if anything reads it."""

    def read(self, *args, **kwargs):
        raise AssertionError("the request body was read")

    readline = read


def _oversized(client, url: str, length: int = 600 * MB):
    return client.generic(
        "POST",
        url,
        b"",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": UnreadableBody()},
    )


PAGES = [
    ("/crm/import/", "admin", "5 MB"),
    ("/time/import/", "project_manager", "5 MB"),
    ("/billing/payments/import/", "finance", "1 MB"),
    ("/expenses/", "consultant", "5 MB"),
]
APIS = [
    ("/api/v1/crm-imports/", "admin", "5 MB"),
    ("/api/v1/billing/payment-imports/", "finance", "1 MB"),
    ("/api/v1/expenses/", "consultant", "5 MB"),
]


@pytest.mark.parametrize(("url", "role", "limit"), PAGES)
def test_a_page_refuses_an_upload_over_its_limit_before_reading_the_body(client_as, url, role, limit):
    response = _oversized(client_as(role), url)
    assert response.status_code == 413
    assert limit in response.content.decode()


@pytest.mark.parametrize(("url", "role", "limit"), APIS)
def test_the_api_refuses_an_upload_over_its_limit_before_reading_the_body(api_as, url, role, limit):
    response = _oversized(api_as(role), url)
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "too_large" and limit in body["message"]
    assert list(body["fields"]) in (["file"], ["receipt"])  # the upload's field is named


@pytest.mark.parametrize(("url", "role", "limit"), PAGES)
def test_each_form_states_its_limit(client_as, url, role, limit):
    client = client_as(role)
    if role == "consultant":
        Consultant.objects.create(user=client.user, role=make_consultant().role)
    assert f"at most {limit}" in client.get(url).content.decode()


def test_a_bank_file_just_over_its_limit_is_refused_by_the_page_naming_the_limit(client_as):
    client = client_as("finance")
    content = b"date,amount,reference,bank_ref\n" + b"x" * MB
    upload = SimpleUploadedFile("statement.csv", content, content_type="text/csv")
    response = client.post("/billing/payments/import/", {"file": upload, "decimal": "auto"})
    assert response.status_code == 400 and "larger than 1 MB" in response.content.decode()


def test_the_bank_import_has_a_row_cap(api_as):
    api = api_as("finance")
    content = "date,amount,reference,bank_ref,account\n" + "2026-02-02,1.00,r,TX,1\n" * 501
    upload = SimpleUploadedFile("statement.csv", content.encode(), content_type="text/csv")
    response = api.post("/api/v1/billing/payment-imports/", {"file": upload}, format="multipart")
    assert response.status_code == 400 and "500 rows" in response.json()["message"]


def test_the_crm_import_api_has_a_size_limit_and_a_row_cap(api_as):
    api = api_as("admin")
    big = SimpleUploadedFile("accounts.csv", b"Name\n" + b"a\n" * (3 * MB), content_type="text/csv")
    response = api.post("/api/v1/crm-imports/", {"kind": "accounts", "file": big}, format="multipart")
    assert response.status_code == 413 and "5 MB" in response.json()["message"]
    many = SimpleUploadedFile("accounts.csv", b"Name\n" + b"a\n" * 20_001, content_type="text/csv")
    response = api.post("/api/v1/crm-imports/", {"kind": "accounts", "file": many}, format="multipart")
    assert response.status_code == 400 and "20,000 rows" in response.json()["message"]


@pytest.mark.parametrize(("url", "role", "limit"), PAGES)
def test_the_limited_pages_still_refuse_a_post_without_the_csrf_token(make_user, url, role, limit):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(role))
    upload = SimpleUploadedFile("file.csv", b"Name\nAcme\n", content_type="text/csv")
    assert client.post(url, {"file": upload, "kind": "accounts"}).status_code == 403
