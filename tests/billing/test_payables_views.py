"""Vendor bill pages and API: who sees and does what (finance, the project's manager, others refused), the
entry form's inline errors, the PDF served only through the checked file view, duplicates 409, bad input 400
naming the field, Idempotency-Key, and query budgets at two sizes."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.choices import VendorBillStatus
from billing.models import VendorBill
from billing.services.payables import bill_attach_pdf, bill_create, bill_submit
from psa.core.exceptions import ValidationFailed
from tests.billing.payables_factories import (
    cost_accounts,
    cost_line,
    gb_entity,
    make_vendor,
    managed_project,
    posted_bill,
)
from tests.querycount import count_queries

D = Decimal
pytestmark = pytest.mark.django_db
FEB = date(2026, 2, 10)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def books(periods):
    cost_accounts()
    gb_entity()


def _bill(finance, project, number="A-1", net="500.00", vendor=None):
    return bill_create(by=finance, vendor_id=(vendor or make_vendor()).pk, number=number, bill_date=FEB,
                       lines=[cost_line(project, net)])  # fmt: skip


def test_the_list_costs_the_same_queries_at_two_sizes(books, finance, client_as):
    page = client_as("finance")
    project, _, _ = managed_project()
    _bill(finance, project, "Q-0")

    def count():
        return count_queries(lambda: page.get(reverse("billing:vendor-bill-list"), {"status": "draft"}), status=200)[0]

    count()
    small = count()
    for n in range(1, 8):
        _bill(finance, project, f"Q-{n}")
    assert count() == small


@pytest.mark.parametrize("role", ["consultant", "sales", "client"])
def test_others_are_refused_the_pages(books, client_as, role):
    page = client_as(role)
    for name in ("billing:vendor-bill-list", "billing:vendor-bill-queue", "billing:ap-aging"):
        assert page.get(reverse(name)).status_code == 403


def test_a_manager_sees_only_bills_on_their_projects(books, finance, client_as):
    page = client_as("project_manager")
    mine, _, _ = managed_project(pm=page.user)
    other, _, _ = managed_project()
    own, foreign = _bill(finance, mine, "M-1"), _bill(finance, other, "O-1")
    listing = page.get(reverse("billing:vendor-bill-list")).content.decode()
    assert "M-1" in listing and "O-1" not in listing
    assert page.get(reverse("billing:vendor-bill", args=[own.pk])).status_code == 200
    assert page.get(reverse("billing:vendor-bill", args=[foreign.pk])).status_code == 404


def test_the_queue_shows_a_manager_the_bills_waiting_for_them(books, finance, client_as):
    page = client_as("project_manager")
    mine, _, _ = managed_project(pm=page.user)
    bill = _bill(finance, mine, "W-1", net="5000")
    bill_submit(bill_id=bill.pk, by=finance)
    assert "W-1" in page.get(reverse("billing:vendor-bill-queue")).content.decode()
    page.post(reverse("billing:vendor-bill-approve", args=[bill.pk]))
    assert bill.approvals.get().approved_by == page.user
    assert "W-1" not in page.get(reverse("billing:vendor-bill-queue")).content.decode()


def test_the_entry_form_saves_a_draft_and_shows_line_errors_in_plain_words(books, client_as):
    page = client_as("finance")
    project, _, _ = managed_project()
    vendor = make_vendor()
    data = {
        "vendor": vendor.pk, "number": "F-1", "bill_date": "2026-02-10", "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "1", "lines-MAX_NUM_FORMS": "200",
        "lines-0-kind": "project_cost", "lines-0-description": "Design", "lines-0-net_amount": "100.00",
    }  # fmt: skip
    refused = page.post(reverse("billing:vendor-bill-new"), data)
    assert refused.status_code == 400
    assert "A project cost needs the project it is for." in refused.content.decode()
    saved = page.post(reverse("billing:vendor-bill-new"), data | {"lines-0-project": project.pk})
    assert saved.status_code == 302
    assert VendorBill.objects.get(number="F-1").net_total == D("100.00")


def test_the_pdf_is_served_to_finance_and_the_manager_only(books, finance, client_as, make_user, client):
    project, _, pm = managed_project()
    bill = _bill(finance, project)
    bill_attach_pdf(bill_id=bill.pk, by=finance, pdf=SimpleUploadedFile("bill.pdf", PDF, "application/pdf"))
    url = reverse("stored-file", args=["vendor-bill-pdf", bill.pk])
    assert client.get(url).status_code in (302, 404)  # anonymous
    client.force_login(finance)
    assert client.get(url).status_code == 200
    client.force_login(pm)
    assert client.get(url).status_code == 200
    for user in (make_user("project_manager"), make_user("consultant"), make_user("client"), make_user("sales")):
        client.force_login(user)
        assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("name", "content"),
    [("bill.exe", PDF), ("bill.pdf", b"MZ\x90\x00 not a pdf")],
)
def test_only_a_pdf_is_attached(books, finance, name, content):
    project, _, _ = managed_project()
    bill = _bill(finance, project)
    with pytest.raises(ValidationFailed) as exc:
        bill_attach_pdf(bill_id=bill.pk, by=finance, pdf=SimpleUploadedFile(name, content))
    assert "pdf" in exc.value.fields


def _payload(vendor, project, number="API-1", **line):
    return {"vendor_id": vendor.pk, "number": number, "bill_date": "2026-02-10",
            "lines": [{"kind": "project_cost", "description": "Work", "project_id": project.pk,
                       "net_amount": "250.00", "tax_rate": "20"} | line]}  # fmt: skip


def test_the_api_creates_submits_and_approves_with_idempotency(books, api_as):
    api = api_as("finance")
    project, _, _ = managed_project()
    vendor = make_vendor()
    first = api.post("/api/v1/vendor-bills/", _payload(vendor, project), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201, first.json()
    again = api.post("/api/v1/vendor-bills/", _payload(vendor, project), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.json()["id"] == first.json()["id"] and VendorBill.objects.count() == 1
    bill_id = first.json()["id"]
    assert api.post(f"/api/v1/vendor-bills/{bill_id}/submit/").status_code == 200
    posted = api.post(f"/api/v1/vendor-bills/{bill_id}/approve/")
    assert posted.json()["status"] == VendorBillStatus.POSTED and posted.json()["gross_total"] == "300.00"


def test_the_api_refuses_a_duplicate_with_409_and_bad_input_with_400_naming_the_field(books, api_as):
    api = api_as("finance")
    project, _, _ = managed_project()
    vendor = make_vendor()
    assert api.post("/api/v1/vendor-bills/", _payload(vendor, project), format="json").status_code == 201
    duplicate = api.post("/api/v1/vendor-bills/", _payload(vendor, project, number="api-1"), format="json")
    assert duplicate.status_code == 409 and "number" in duplicate.json()["fields"]
    bad = api.post("/api/v1/vendor-bills/", _payload(vendor, project, number="B", project_id=None), format="json")
    assert bad.status_code == 400 and "lines.0.project_id" in bad.json()["fields"]
    junk = api.post("/api/v1/vendor-bills/", _payload(vendor, project, number="C", net_amount="x"), format="json")
    assert junk.status_code == 400 and "lines.0.net_amount" in junk.json()["fields"]


@pytest.mark.parametrize("role", ["consultant", "sales", "client"])
def test_the_api_refuses_other_roles(books, api_as, role):
    api = api_as(role)
    assert api.get("/api/v1/vendor-bills/").status_code == 403
    assert api.get("/api/v1/billing/ap-aging/").status_code == 403


def test_a_manager_may_not_create_bills_on_the_api(books, api_as):
    api = api_as("project_manager")
    project, _, _ = managed_project(pm=api.user)
    assert api.post("/api/v1/vendor-bills/", _payload(make_vendor(), project), format="json").status_code == 403
    assert api.get("/api/v1/vendor-bills/").status_code == 200


def test_the_api_list_costs_the_same_queries_at_two_sizes(books, finance, api_as):
    api = api_as("finance")
    project, _, _ = managed_project()
    posted_bill(finance, make_vendor(), [cost_line(project)])

    def count():
        return count_queries(lambda: api.get("/api/v1/vendor-bills/"), status=200)[0]

    count()
    small = count()
    for n in range(6):
        posted_bill(finance, make_vendor(), [cost_line(project), cost_line(project)], number=f"N-{n}")
    assert count() == small


def test_the_aging_page_shows_the_control(books, finance, client_as):
    project, _, _ = managed_project()
    posted_bill(finance, make_vendor(name="Alpha"), [cost_line(project, "100.00")])
    page = client_as("finance").get(reverse("billing:ap-aging"), {"as_of": "2026-03-01"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Alpha" in body and "Reconciled" in body


def test_the_vendor_page_loads_its_bills_and_open_balance_from_billing(books, finance, client_as):
    project, _, _ = managed_project()
    vendor = make_vendor()
    posted_bill(finance, vendor, [cost_line(project, "100.00", tax_rate="20")])
    page = client_as("finance")
    assert 'hx-get="/billing/fragments/vendors/' in page.get(reverse("crm:vendor", args=[vendor.pk])).content.decode()
    panel = page.get(reverse("billing:vendor-bills-panel", args=[vendor.pk]))
    assert panel.status_code == 200 and "120.00" in panel.content.decode()
    other_pm = client_as("project_manager")
    assert "120.00" not in other_pm.get(reverse("billing:vendor-bills-panel", args=[vendor.pk])).content.decode()
    assert client_as("consultant").get(reverse("billing:vendor-bills-panel", args=[vendor.pk])).status_code == 403


def test_a_correction_replaces_the_lines_through_the_form(books, finance, client_as):
    project, _, _ = managed_project()
    bill = _bill(finance, project, "E-1")
    page = client_as("finance")
    form = page.get(reverse("billing:vendor-bill-edit", args=[bill.pk]))
    assert form.status_code == 200 and "Design work" in form.content.decode()
    data = {
        "number": "E-1", "bill_date": "2026-02-10", "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1",
        "lines-MIN_NUM_FORMS": "1", "lines-MAX_NUM_FORMS": "200", "lines-0-kind": "project_cost",
        "lines-0-description": "Design work, corrected", "lines-0-net_amount": "450.00", "lines-0-project": project.pk,
    }  # fmt: skip
    assert page.post(reverse("billing:vendor-bill-edit", args=[bill.pk]), data).status_code == 302
    bill.refresh_from_db()
    assert (bill.net_total, bill.lines.get().description) == (D("450.00"), "Design work, corrected")


def test_signed_out_callers_get_no_bills(books, api_client, client):
    assert api_client.get("/api/v1/vendor-bills/").status_code in (401, 403)
    assert api_client.get("/api/v1/vendors/").status_code in (401, 403)
    assert client.get(reverse("billing:vendor-bill-list")).status_code == 302
