"""Billing pages and the API: roles, the client portal's isolation, fragments, and query budgets at two sizes."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from billing.services import (
    billing_run_create,
    billing_run_execute,
    billing_run_start,
    credit_note_create,
    invoice_draft_for_contract,
    invoice_issue,
    payment_record,
)
from tests.billing.factories import issued_invoice, make_account, milestone_contract, portal_user, retainer_contract
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _grow(finance, n: int):
    for _ in range(n):
        account = make_account()
        invoice = issued_invoice(finance, "100.00", "50.00", account=account)
        payment_record(by=finance, account_id=account.pk, amount="60.00", received_on=date(2026, 2, 5))
        retainer_contract("1200.00", account=account)
        del invoice
    run = billing_run_create(by=finance, period_end=date(2026, 2, 28))
    billing_run_start(run_id=run.pk, by=finance)
    billing_run_execute(run_id=run.pk)


# --- pages -----------------------------------------------------------------------------------------------
def test_finance_walks_from_a_run_preview_to_issued_invoices(client_as, periods):
    client = client_as("finance")
    milestone_contract("10.04", "10.04", "10.04")
    response = client.post(
        reverse("billing:run-new"), {"period_end": "2026-01-31", "scope": "all", "idempotency_key": "x1"}
    )
    run_url = response["Location"]
    page = client.get(run_url)
    assert b"Preview" in page.content and b"30.12" in page.content
    pk = int(run_url.rstrip("/").split("/")[-1])
    client.post(reverse("billing:run-start", args=[pk]))
    billing_run_execute(run_id=pk)
    progress = client.get(reverse("billing:run-progress", args=[pk]))
    assert b"1 / 1 contracts" in progress.content
    from billing.models import Invoice

    draft = Invoice.objects.get()
    client.post(reverse("billing:invoice-bulk-issue"), {"invoice": [draft.pk]})
    draft.refresh_from_db()
    assert draft.number == "INV-2026-000001"
    detail = client.get(reverse("billing:invoice-detail", args=[draft.pk]))
    assert b"36.14" in detail.content
    explain = client.get(reverse("billing:line-explain", args=[draft.pk, draft.lines.first().pk]))
    assert b"Milestone" in explain.content and b"Contract line" in explain.content


@pytest.mark.parametrize(
    "name", ["billing:run-list", "billing:invoice-list", "billing:payment-list", "billing:ar", "billing:run-new"]
)
def test_billing_pages_are_finance_only(client_as, name):
    assert client_as("sales").get(reverse(name)).status_code == 403
    assert client_as("finance").get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ["billing:run-list", "billing:invoice-list", "billing:payment-list", "billing:ar"])
def test_list_pages_cost_the_same_queries_at_two_sizes(client_as, periods, name, settings):
    settings.PSA_PAGE_CACHE_SECONDS = 0  # the aging computes on each view (reuse: tests/web/test_pagecache.py)
    client = client_as("finance")
    _grow(client.user, 2)
    small, _ = count_queries(lambda: client.get(reverse(name)), status=200)
    _grow(client.user, 6)
    large, _ = count_queries(lambda: client.get(reverse(name)), status=200)
    assert large == small


def test_recording_a_payment_from_the_invoice_page(client_as, periods):
    client = client_as("finance")
    invoice = issued_invoice(client.user, "100.00")
    response = client.post(
        reverse("billing:payment-new") + f"?invoice={invoice.pk}",
        {
            "account": invoice.account_id,
            "amount": "120.00",
            "received_on": "2026-02-10",
            "method": "bank_transfer",
            "invoice": invoice.pk,
        },
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_a_partly_credited_invoice_reads_so_on_its_page_and_in_the_api_and_can_still_be_paid(
    client_as, api_as, periods
):
    client = client_as("finance")
    invoice = issued_invoice(client.user, "100.00", "900.00")
    line = invoice.lines.get(net=Decimal("100.00"))
    note = credit_note_create(invoice_id=invoice.pk, by=client.user, line_ids=[line.pk], reason="Wrong milestone")
    invoice_issue(invoice_id=note.pk, by=client.user, on=date(2026, 2, 2))
    page = client.get(reverse("billing:invoice-detail", args=[invoice.pk])).content.decode()
    assert "Partly credited" in page and "Partly paid" not in page
    assert 'data-testid="record-payment"' in page
    api = api_as("finance")
    assert api.get(f"/api/v1/billing/invoices/{invoice.pk}/").json()["status"] == "partly_credited"
    listed = api.get("/api/v1/billing/invoices/?status=partly_credited").json()["results"]
    assert [i["id"] for i in listed] == [invoice.pk]


def test_a_refused_action_becomes_a_message_not_an_error(client_as, periods):
    client = client_as("finance")
    invoice = issued_invoice(client.user, "100.00")
    response = client.post(reverse("billing:invoice-issue", args=[invoice.pk]), follow=True)
    assert b"Cannot change status" in response.content


# --- fragments for sales -------------------------------------------------------------------------------
def test_the_account_ar_fragment_shows_open_and_overdue(client_as, periods):
    client = client_as("sales")
    finance = client_as.__self__ if False else None
    del finance
    from tests.factories import UserFactory

    fin = UserFactory(roles=["finance"])
    invoice = issued_invoice(fin, "100.00", on=date(2026, 1, 1))
    response = client.get(reverse("billing:account-ar", args=[invoice.account_id]))
    assert response.status_code == 200 and b"120.00" in response.content
    assert client.get(reverse("billing:account-ar", args=[999999])).status_code == 404


def test_the_opportunity_fragment_compares_invoiced_with_sold(client_as, periods):
    from crm.models import Opportunity, OpportunityLine, Stage
    from tests.factories import UserFactory

    fin = UserFactory(roles=["finance"])
    contract, line, _ = milestone_contract("400.00")
    stage = Stage.objects.order_by("order").first() or Stage.objects.create(
        name="Won", order=99, default_probability=100, kind="won"
    )
    opp = Opportunity.objects.create(
        name="Deal",
        account=contract.account,
        owner=fin,
        stage=stage,
        probability=100,
        expected_close_date=date(2026, 1, 1),
    )
    ol = OpportunityLine.objects.create(
        opportunity=opp,
        description="Milestones",
        billing_model="milestone",
        price=Decimal("1000.00"),
        amount=Decimal("1000.00"),
    )
    line.source_line = ol
    line.save()
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    invoice_issue(invoice_id=draft.pk, by=fin, on=date(2026, 2, 1))
    response = client_as("sales").get(reverse("billing:opportunity-invoiced", args=[opp.pk]))
    assert b"400.00 EUR invoiced of 1,000.00" in response.content and b"40%" in response.content


# --- the client portal -------------------------------------------------------------------------------------
@pytest.fixture
def two_clients(periods, make_user):
    fin = make_user("finance")
    mine = issued_invoice(fin, "100.00", account=make_account())
    theirs = issued_invoice(fin, "200.00", account=make_account(), on=date(2026, 2, 2))
    return fin, mine, theirs


def test_the_portal_shows_only_the_clients_own_invoices_and_balance(client, make_user, two_clients):
    _, mine, theirs = two_clients
    user = portal_user(mine.account, make_user)
    client.force_login(user)
    page = client.get(reverse("billing:portal"))
    assert mine.number.encode() in page.content and theirs.number.encode() not in page.content
    assert b"120.00 EUR" in page.content
    pdf = client.get(reverse("stored-file", args=["invoice-pdf", mine.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


@pytest.mark.parametrize(
    "url", ["/portal/invoices/{pk}/", "/files/invoice-pdf/{pk}/", "/api/v1/files/invoice-pdf/{pk}/"]
)
def test_another_accounts_document_is_a_404_on_every_portal_url(client, make_user, two_clients, url):
    _, mine, theirs = two_clients
    client.force_login(portal_user(mine.account, make_user))
    assert client.get(url.format(pk=theirs.pk)).status_code == 404
    assert client.get(url.format(pk=mine.pk)).status_code == 200


def test_another_accounts_document_is_a_404_on_every_api_endpoint(api_client, make_user, two_clients):
    _, mine, theirs = two_clients
    api_client.force_authenticate(portal_user(mine.account, make_user))
    assert api_client.get(f"/api/v1/billing/invoices/{theirs.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/billing/invoices/{mine.pk}/").status_code == 200
    listed = api_client.get("/api/v1/billing/invoices/").json()["results"]
    assert [r["id"] for r in listed] == [mine.pk]


@pytest.mark.parametrize(
    "method,url",
    [
        ("post", "/api/v1/billing/invoices/{theirs}/issue/"),
        ("post", "/api/v1/billing/invoices/{mine}/credit/"),
        ("get", "/api/v1/billing/runs/"),
        ("get", "/api/v1/billing/payments/"),
        ("get", "/api/v1/billing/ar-aging/"),
    ],
)
def test_a_client_cannot_reach_finance_endpoints(api_client, make_user, two_clients, method, url):
    _, mine, theirs = two_clients
    api_client.force_authenticate(portal_user(mine.account, make_user))
    response = getattr(api_client, method)(url.format(mine=mine.pk, theirs=theirs.pk), {}, format="json")
    assert response.status_code == 403


def test_a_staff_user_has_no_portal_and_a_client_has_no_billing_pages(client_as, make_user, client, two_clients):
    _, mine, _ = two_clients
    assert client_as("finance").get(reverse("billing:portal")).status_code == 403
    client.force_login(portal_user(mine.account, make_user))
    assert client.get(reverse("billing:invoice-detail", args=[mine.pk])).status_code == 403


def test_the_portal_list_costs_the_same_queries_at_two_sizes(client, make_user, periods):
    fin = make_user("finance")
    account = make_account()
    client.force_login(portal_user(account, make_user))
    issued_invoice(fin, "100.00", account=account)
    small, _ = count_queries(lambda: client.get(reverse("billing:portal")))
    for i in range(8):
        issued_invoice(fin, "100.00", account=account, on=date(2026, 2, 2 + i))
    large, _ = count_queries(lambda: client.get(reverse("billing:portal")))
    assert large == small


# --- API ---------------------------------------------------------------------------------------------
def test_the_api_runs_a_batch_with_an_idempotency_key(api_as, periods):
    api = api_as("finance")
    milestone_contract("100.00")
    headers = {"HTTP_IDEMPOTENCY_KEY": "run-2026-01"}
    created = api.post("/api/v1/billing/runs/", {"period_end": "2026-01-31"}, format="json", **headers)
    assert created.status_code == 201
    again = api.post("/api/v1/billing/runs/", {"period_end": "2026-01-31"}, format="json", **headers)
    assert again.json()["id"] == created.json()["id"] and again["Idempotent-Replayed"] == "true"
    conflict = api.post("/api/v1/billing/runs/", {"period_end": "2026-02-28"}, format="json", **headers)
    assert conflict.status_code == 409
    run_id = created.json()["id"]
    preview = api.get(f"/api/v1/billing/runs/{run_id}/preview/").json()
    assert preview["net"] == "100.00" and len(preview["invoices"]) == 1
    started = api.post(f"/api/v1/billing/runs/{run_id}/start/", {}, format="json")
    assert started.status_code == 202
    billing_run_execute(run_id=run_id)
    status = api.get(f"/api/v1/billing/runs/{run_id}/").json()
    assert status["status"] == "done" and status["progress"]["invoiced"] == 1
    drafts = api.get("/api/v1/billing/invoices/", {"status": "draft"}).json()["results"]
    issued = api.post(f"/api/v1/billing/invoices/{drafts[0]['id']}/issue/", {"issue_date": "2026-02-01"}, format="json")
    assert issued.status_code == 200 and issued.json()["number"] == "INV-2026-000001"
    detail = api.get(f"/api/v1/billing/invoices/{drafts[0]['id']}/").json()
    assert detail["gross_total"] == "120.00" and detail["lines"][0]["sources"][0]["kind"] == "milestone"
    credit = api.post(
        f"/api/v1/billing/invoices/{drafts[0]['id']}/credit/", {"amount": "10.00", "reason": "Goodwill"}, format="json"
    )
    assert credit.status_code == 201 and credit.json()["kind"] == "credit_note"
    pay = api.post(
        "/api/v1/billing/payments/",
        {"account": detail["account"], "amount": "200.00", "received_on": "2026-02-10"},
        format="json",
    )
    assert pay.status_code == 201 and pay.json()["unapplied"] == "80.00"
    aging = api.get("/api/v1/billing/ar-aging/", {"as_of": "2026-02-15"}).json()
    assert aging["totals_by_currency"]["EUR"]["credits"] == "80.00" and aging["functional_totals"]["credits"] == "80.00"


def test_api_errors_name_the_fields(api_as, periods):
    api = api_as("finance")
    response = api.post("/api/v1/billing/runs/", {"scope": "accounts", "period_end": "2026-01-31"}, format="json")
    assert response.status_code == 400 and "account_ids" in response.json()["fields"]
    response = api.post(
        "/api/v1/billing/payments/",
        {"account": make_account().pk, "amount": "-5", "received_on": "2026-01-01"},
        format="json",
    )
    assert response.status_code == 400 and "amount" in response.json()["fields"]


@pytest.mark.parametrize(
    "url",
    ["/api/v1/billing/runs/", "/api/v1/billing/invoices/", "/api/v1/billing/payments/", "/api/v1/billing/ar-aging/"],
)
def test_list_endpoints_cost_the_same_queries_at_two_sizes(api_as, periods, url):
    api = api_as("finance")
    _grow(api.user, 2)
    small, _ = count_queries(lambda: api.get(url))
    _grow(api.user, 6)
    large, _ = count_queries(lambda: api.get(url))
    assert large == small


def test_the_aging_pages_its_client_rows_and_keeps_every_clients_totals_on_each_page(client_as, periods, monkeypatch):
    from billing.views import payments

    monkeypatch.setattr(payments, "AGING_PER_PAGE", 2)
    client = client_as("finance")
    names = [issued_invoice(client.user, amount).account.name for amount in ("10.00", "20.00", "30.00")]
    url = reverse("billing:ar") + "?as_of=2026-03-31"
    first = client.get(url)
    second = client.get(url + "&page=2")
    assert first.status_code == second.status_code == 200
    tables = [
        page.content.decode().split('data-testid="aging-table"')[1].split("</tbody>")[0] for page in (first, second)
    ]
    shown = [[n for n in names if n in table] for table in tables]
    assert sorted(shown[0] + shown[1]) == sorted(names) and len(shown[0]) == 2 and len(shown[1]) == 1
    assert 'data-testid="pagination"' in first.content.decode()
    totals = [page.content.decode().split('data-testid="aging-total-')[1].split("</tr>")[0] for page in (first, second)]
    assert totals[0] == totals[1] and "72.00" in totals[0]  # the three invoices' gross (60.00 + 20 % VAT)
