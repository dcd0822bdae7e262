"""Refusals outside the object pages: the API docs and schema need a sign-in, `next` never sends anyone to
another site, audit pages answer 404 for what the user may not see, and the Django admin shows the kernel's
records (audit events, events, outbox, idempotency) without letting anyone add, change or delete them."""

from datetime import date
from urllib.parse import urlsplit

import pytest
from django.db import transaction

from billing.services import invoice_draft_for_contract, invoice_issue
from crm.models import Opportunity
from psa.core.audit import audit_record
from psa.core.models import AuditEvent, Event, IdempotencyRecord, OutboxMessage
from psa.core.outbox import outbox_enqueue
from tests.billing.factories import make_account, make_periods, milestone_contract
from tests.crm.factories import make_deal
from tests.factories import TEST_PASSWORD
from tests.projects.time_factories import won_project

pytestmark = pytest.mark.django_db

OFF_SITE = ["https://evil.example/phish", "//evil.example/phish", "/\\evil.example/phish", "https:evil.example"]


def _stays_on_site(response) -> None:
    assert response.status_code == 302, response.status_code
    target = urlsplit(response["Location"])
    assert target.netloc in ("", "testserver") and target.scheme in ("", "http", "https"), response["Location"]
    assert not response["Location"].startswith(("//", "/\\")), response["Location"]


# --- API docs and schema --------------------------------------------------------------------------------


def test_the_api_schema_needs_a_sign_in(client):
    response = client.get("/api/schema/")
    assert response.status_code == 401 and response["WWW-Authenticate"]
    assert b"not_authenticated" in response.content  # the error format, in the schema's own YAML
    assert b"paths" not in response.content


def test_the_api_docs_page_sends_a_signed_out_visitor_to_the_login(client):
    response = client.get("/api/docs/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/api/docs/")


def test_a_signed_in_user_reads_the_schema_and_the_docs(client_as):
    client = client_as("consultant")
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


# --- next ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_never_redirects_off_site(client, make_user, target):
    user = make_user("sales")
    response = client.post(
        f"/accounts/login/?next={target}", {"username": user.username, "password": TEST_PASSWORD, "next": target}
    )
    _stays_on_site(response)
    assert response["Location"] == "/"


@pytest.mark.parametrize("target", OFF_SITE)
def test_logout_never_redirects_off_site(client_as, target):
    _stays_on_site(client_as("finance").post("/accounts/logout/", {"next": target}))


def test_login_follows_a_next_on_this_site(client, make_user):
    user = make_user("finance")
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": TEST_PASSWORD, "next": "/billing/invoices/"}
    )
    assert response["Location"] == "/billing/invoices/"


@pytest.mark.parametrize("target", OFF_SITE)
def test_the_invoice_bulk_issue_never_redirects_off_site(client_as, target):
    _stays_on_site(client_as("finance").post("/billing/invoices/issue/", {"next": target}))


def test_the_invoice_bulk_issue_goes_back_to_the_list_it_came_from(client_as):
    response = client_as("finance").post("/billing/invoices/issue/", {"next": "/billing/invoices/?q=acme"})
    assert response["Location"] == "/billing/invoices/?q=acme"


@pytest.mark.parametrize("target", OFF_SITE)
def test_a_refused_billing_action_never_redirects_off_site_by_next_or_referer(client_as, target):
    make_periods()
    finance = client_as("finance")
    contract, _, _ = milestone_contract("100.00", account=make_account())
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    invoice_issue(invoice_id=draft.pk, by=finance.user, on=date(2026, 2, 1))
    url = f"/billing/invoices/{draft.pk}/issue/"  # already issued: the service refuses
    _stays_on_site(finance.post(url, {"next": target}))
    _stays_on_site(finance.post(url, HTTP_REFERER=target))


@pytest.mark.parametrize("target", OFF_SITE)
def test_the_pipeline_move_never_redirects_off_site(client_as, target):
    client = client_as("sales")
    deal = make_deal(owner=client.user)
    assert Opportunity.objects.filter(pk=deal.pk).exists()
    _stays_on_site(client.post(f"/crm/opportunities/{deal.pk}/move/", {"stage": "x", "next": target}))


@pytest.mark.parametrize("target", OFF_SITE)
def test_staffing_allocate_never_redirects_off_site(client_as, target):
    _stays_on_site(client_as("project_manager").post("/staffing/allocate/", {"next": target}))


@pytest.mark.parametrize("target", OFF_SITE)
def test_revenue_pages_never_redirect_off_site(client_as, target):
    client = client_as("finance")
    _stays_on_site(client.post("/ledger/revenue/schedules/999999/method/", {"method": "x", "next": target}))
    _stays_on_site(client.post("/ledger/revenue/runs/start/", {"next": target}))


# --- audit pages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role,url",
    [
        ("consultant", "/audit/contract/{contract}/"),
        ("consultant", "/audit/contract/{contract}/fragment/"),
        ("sales", "/audit/contract/{contract}/"),
        ("client", "/audit/account/{account}/"),
        ("client", "/audit/contract/"),
        ("finance", "/audit/user/{user}/"),
        ("project_manager", "/audit/period/"),
    ],
)
def test_audit_pages_answer_404_for_what_the_user_may_not_see(client_as, make_user, role, url):
    setup = won_project()
    contract = setup.project.contracts.get()
    other = make_user("sales")
    client = client_as(role)
    url = url.format(contract=contract.pk, account=contract.account_id, user=other.pk)
    assert client.get(url).status_code == 404
    # the same answer as for an object that does not exist: the status does not tell whether it does
    assert client.get(url.replace(str(contract.pk), "999999")).status_code == 404


def test_audit_pages_open_for_the_roles_that_see_the_object(client_as):
    setup = won_project()
    client = client_as("project_manager")
    assert client.get(f"/audit/contract/{setup.project.contracts.get().pk}/").status_code == 200


# --- the Django admin --------------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client_as):
    client = client_as("admin")
    client.user.is_staff = client.user.is_superuser = True
    client.user.save()
    return client


@pytest.fixture
def kernel_rows(superuser_client):
    user = superuser_client.user
    audit_record(actor=user, action="x.done", object_type="t", object_id=1, summary="done")
    outbox_enqueue(kind="email", dedupe_key="admin-test", payload={"subject": "s", "body": "b", "to": ["a@b.c"]})
    IdempotencyRecord.objects.create(
        user=user, key="k-1", method="POST", path="/api/v1/x/", fingerprint="f", response_status=201
    )
    Event.objects.create(type="invoice.issued", key="admin-test", data={})
    return {
        "auditevent": AuditEvent.objects.get(action="x.done"),
        "outboxmessage": OutboxMessage.objects.get(dedupe_key="admin-test"),
        "idempotencyrecord": IdempotencyRecord.objects.get(key="k-1"),
        "event": Event.objects.get(key="admin-test"),
    }


@pytest.mark.parametrize("model", ["auditevent", "outboxmessage", "idempotencyrecord", "event"])
def test_the_admin_shows_kernel_records_but_cannot_add_change_or_delete_them(superuser_client, kernel_rows, model):
    row = kernel_rows[model]
    base = f"/admin/core/{model}/"
    assert superuser_client.get(base).status_code == 200
    assert superuser_client.get(f"{base}{row.pk}/change/").status_code == 200  # view only
    assert superuser_client.get(f"{base}add/").status_code == 403
    assert superuser_client.post(f"{base}add/", {}).status_code == 403
    assert superuser_client.post(f"{base}{row.pk}/change/", {}).status_code == 403
    assert superuser_client.get(f"{base}{row.pk}/delete/").status_code == 403
    assert superuser_client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = superuser_client.post(base, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})
    assert bulk.status_code in (200, 302)
    assert type(row).objects.filter(pk=row.pk).exists()
