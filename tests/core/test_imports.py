"""What every CSV import shares (psa.core.imports): a bad file is a 400 naming the row, never a 500."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.models import Account

pytestmark = pytest.mark.django_db

HUGE_CELL = "x" * 200_000  # over Python's csv field limit (131,072 characters)


def _upload(content: str, name: str = "file.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(), content_type="text/csv")


def test_a_cell_over_the_csv_field_limit_is_a_400_naming_the_row_in_the_crm_import_api(api_as):
    api = api_as("admin")
    content = f'Name,Domain\nAcme,acme.example\nBeta,"{HUGE_CELL}"\n'
    response = api.post("/api/v1/crm-imports/", {"kind": "accounts", "file": _upload(content)}, format="multipart")
    assert response.status_code == 400, response.content[:200]
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and "row 3" in body["message"].lower()
    assert not Account.objects.exists()


def test_a_cell_over_the_csv_field_limit_is_a_400_naming_the_row_on_the_import_pages(client_as, db):
    client = client_as("admin")
    content = f'consultant,project,date,hours\ncarl,P-1,2026-02-02,"{HUGE_CELL}"\n'
    response = client.post("/time/import/", {"file": _upload(content)})
    assert response.status_code == 400 and "row 2" in response.content.decode().lower()


def test_a_cell_over_the_csv_field_limit_is_a_400_in_the_bank_import_api(api_as):
    api = api_as("finance")
    content = f"date,amount,reference,bank_ref\n2026-02-02,1.00,{HUGE_CELL},TX-1\n"
    response = api.post("/api/v1/billing/payment-imports/", {"file": _upload(content)}, format="multipart")
    assert response.status_code == 400 and "row 2" in response.json()["message"].lower()


def _accounts_csv(size: int) -> str:
    """A valid accounts file of about `size` bytes: 40 accounts padded by a column the import ignores."""
    pad = "p" * (size // 40)
    return "Name,Domain,Notes\n" + "".join(f"Firm {i},firm{i}.example,{pad}\n" for i in range(40))


def test_the_confirm_step_imports_a_file_near_the_upload_limit(client_as):
    client = client_as("admin")
    content = _accounts_csv(4 * 1024 * 1024)  # under the 5 MB the form accepts, over 1.9 MB
    response = client.post("/crm/import/", {"kind": "accounts", "file": _upload(content)})
    assert response.status_code == 200 and response.context["report"].created == 40
    payload = response.context["payload"]
    response = client.post("/crm/import/", {"kind": "accounts", "payload": payload, "confirm": "1"})
    assert response.status_code == 200, response.content[:300]
    assert Account.objects.count() == 40


def test_a_confirmation_is_only_good_for_the_user_who_checked_the_file(client_as, client):
    client = client_as("admin")
    response = client.post("/crm/import/", {"kind": "accounts", "file": _upload(_accounts_csv(1000))})
    payload = response.context["payload"]
    client_as("admin")  # another administrator signs in on the same client
    response = client.post("/crm/import/", {"kind": "accounts", "payload": payload, "confirm": "1"})
    assert response.status_code == 400 and "upload the file again" in response.content.decode()
    assert not Account.objects.exists()


def test_checking_another_file_replaces_the_one_waiting_for_confirmation(client_as):
    client = client_as("admin")
    first = client.post("/crm/import/", {"kind": "accounts", "file": _upload("Name\nAcme\n")}).context["payload"]
    second = client.post("/crm/import/", {"kind": "accounts", "file": _upload("Name\nBeta\n")}).context["payload"]
    response = client.post("/crm/import/", {"kind": "accounts", "payload": first, "confirm": "1"})
    assert response.status_code == 400 and not Account.objects.exists()
    client.post("/crm/import/", {"kind": "accounts", "payload": second, "confirm": "1"})
    assert list(Account.objects.values_list("name", flat=True)) == ["Beta"]
