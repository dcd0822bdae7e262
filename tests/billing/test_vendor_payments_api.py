"""The API for paying vendors: /api/v1/vendor-payments/ and /api/v1/payment-runs/ (propose, export, download,
book, cancel), with Idempotency-Key, 400 naming the field, 409 for a run in the wrong state, 403 for roles."""

from datetime import date

import pytest
from lxml import etree

from billing.models import PaymentRun, VendorPayment
from billing.services.pain001 import NAMESPACE, SCHEMA_PATH
from billing.services.payment_runs import payment_run_propose
from billing.services.vendor_payments import vendor_payment_record
from ledger.models import JournalEntry
from psa.core.entities import entity_default
from tests.billing.vendor_payment_factories import make_bank_account, make_vendor, posted_bill
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db
PAYMENTS, RUNS = "/api/v1/vendor-payments/", "/api/v1/payment-runs/"


def test_recording_a_payment_with_an_idempotency_key_posts_once(api_as, periods):
    api = api_as("finance")
    vendor = make_vendor()
    bill = posted_bill(vendor, "100.00")
    body = {"vendor": vendor.pk, "paid_on": "2026-03-01", "amount": "70.00", "reference": "INV 7",
            "allocations": [{"bill_id": bill.pk, "amount": "70.00"}]}  # fmt: skip
    headers = {"HTTP_IDEMPOTENCY_KEY": "pay-acme-1"}
    created = api.post(PAYMENTS, body, format="json", **headers)
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["amount"] == "70.00" and data["allocations"] == [{"bill": bill.pk, "bill_number": bill.number,
                                                                  "amount": "70.00"}]  # fmt: skip
    assert data["entity"] == entity_default().pk and data["journal_entry_number"]
    again = api.post(PAYMENTS, body, format="json", **headers)
    assert again.json()["id"] == data["id"] and again["Idempotent-Replayed"] == "true"
    assert VendorPayment.objects.count() == 1
    assert api.post(PAYMENTS, {**body, "amount": "1.00"}, format="json", **headers).status_code == 409
    listed = api.get(PAYMENTS, {"vendor": vendor.pk}).json()
    assert [p["id"] for p in listed["results"]] == [data["id"]]


def test_payment_errors_name_the_field(api_as, periods):
    api = api_as("finance")
    vendor = make_vendor()
    posted_bill(vendor, "100.00")
    base = {"vendor": vendor.pk, "paid_on": "2026-03-01", "amount": "10.00"}
    cases = [
        ({**base, "vendor": 999999}, "vendor"),
        ({**base, "entity": 999999}, "entity"),
        ({**base, "amount": "100.01"}, "amount"),
        ({**base, "amount": "-1"}, "amount"),
        ({**base, "paid_on": "someday"}, "paid_on"),
        ({**base, "allocations": [{"bill_id": 999999, "amount": "10.00"}]}, "allocations[0].bill_id"),
    ]
    for body, field in cases:
        response = api.post(PAYMENTS, body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert field in response.json()["fields"], (field, response.json())
    assert not VendorPayment.objects.exists()


def test_a_payment_run_through_the_api(api_as, periods):
    api = api_as("finance")
    vendors = [make_vendor(), make_vendor()]
    for v in vendors:
        posted_bill(v, "40.00")
    account = make_bank_account()
    created = api.post(RUNS, {"bank_account": account.pk, "execution_date": "2026-03-05", "due_by": "2026-12-31"},
                       format="json", HTTP_IDEMPOTENCY_KEY="run-march")  # fmt: skip
    assert created.status_code == 201, created.json()
    run = created.json()
    assert run["status"] == "draft" and run["total"] == "80.00" and len(run["payments"]) == 2
    assert run["file_url"] is None
    url = f"{RUNS}{run['id']}/"
    assert api.post(f"{url}book/", {}, format="json").status_code == 409  # not exported yet
    assert api.get(f"{url}file/").status_code == 404
    exported = api.post(f"{url}export/", {}, format="json")
    assert exported.status_code == 200 and exported.json()["status"] == "exported"
    assert exported.json()["file_url"].endswith(f"/api/v1/files/payment-run-file/{run['id']}/")
    download = api.get(f"{url}file/")
    assert download.status_code == 200 and download["Content-Type"] == "application/xml"
    doc = etree.fromstring(b"".join(download.streaming_content))
    etree.XMLSchema(etree.parse(str(SCHEMA_PATH))).assertValid(doc)
    assert doc.findtext(f".//{{{NAMESPACE}}}MsgId") == run["message_id"]
    assert api.post(f"{url}export/", {}, format="json").status_code == 409
    booked = api.post(f"{url}book/", {"on": "2026-03-06"}, format="json")
    assert booked.status_code == 200 and booked.json()["status"] == "booked"
    assert all(p["paid_on"] == "2026-03-06" and p["journal_entry"] for p in booked.json()["payments"])
    assert api.post(f"{url}book/", {}, format="json").status_code == 200  # booked already: nothing more
    assert JournalEntry.objects.filter(source__startswith="vendor-payment:").count() == 2
    assert api.post(f"{url}cancel/", {}, format="json").status_code == 409
    assert len(api.get(PAYMENTS).json()["results"]) == 2


def test_run_errors_name_the_field(api_as, periods):
    api = api_as("finance")
    posted_bill(make_vendor("No Bank", iban=""), "10.00")
    account = make_bank_account()
    base = {"bank_account": account.pk, "execution_date": "2026-03-05", "due_by": "2026-12-31"}
    response = api.post(RUNS, {**base, "bank_account": 999999}, format="json")
    assert response.status_code == 400 and "bank_account" in response.json()["fields"]
    response = api.post(RUNS, base, format="json")
    assert response.status_code == 400 and "No Bank" in response.json()["fields"]["vendor_ids"][0]
    response = api.post(RUNS, {**base, "due_by": "2026-01-01"}, format="json")
    assert response.status_code == 400 and "due_by" in response.json()["fields"]
    assert api.get(f"{RUNS}abc/").status_code == 400
    assert not PaymentRun.objects.exists()


@pytest.mark.parametrize("role", ["consultant", "sales", "project_manager", "client"])
def test_other_roles_get_403(api_as, periods, finance, role):
    vendor = make_vendor()
    posted_bill(vendor, "10.00")
    api = api_as(role)
    assert api.get(PAYMENTS).status_code == 403
    assert api.get(RUNS).status_code == 403
    body = {"vendor": vendor.pk, "paid_on": "2026-03-01", "amount": "10.00"}
    assert api.post(PAYMENTS, body, format="json").status_code == 403
    account = make_bank_account()
    run = api_as("finance").post(RUNS, {"bank_account": account.pk, "execution_date": "2026-03-05",
                                        "due_by": "2026-12-31"}, format="json").json()  # fmt: skip
    api.force_authenticate(api_as(role).user)
    assert api.post(f"{RUNS}{run['id']}/export/", {}, format="json").status_code == 403
    assert api.get(f"/api/v1/files/payment-run-file/{run['id']}/").status_code in (403, 404)
    assert not VendorPayment.objects.filter(journal_entry__isnull=False).exists()


def _grow(by, n: int) -> None:
    account = make_bank_account()
    for _ in range(n):
        vendor = make_vendor()
        posted_bill(vendor, "100.00")
        posted_bill(vendor, "50.00", due_date=date(2027, 6, 1))
        vendor_payment_record(vendor=vendor, entity=entity_default(), paid_on=date(2026, 3, 1), amount="60.00", by=by)
    payment_run_propose(entity=entity_default(), bank_account=account, execution_date=date(2026, 3, 5),
                        due_by=date(2026, 12, 31), by=by)  # fmt: skip


@pytest.mark.parametrize("url", [PAYMENTS, RUNS])
def test_list_endpoints_cost_the_same_queries_at_two_sizes(api_as, periods, url):
    api = api_as("finance")
    _grow(api.user, 1)
    api.get(url)
    small, _ = count_queries(lambda: api.get(url), status=200)
    _grow(api.user, 5)
    large, response = count_queries(lambda: api.get(url), status=200)
    assert large == small and response.json()["count"] >= 2
