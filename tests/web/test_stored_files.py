"""Stored files (invoice PDFs, expense receipts) reach only the people who may open their page (DESIGN.md
invariant 14): every file URL the pages and the API hand out answers 200 to its owner, 404 to another client
and another consultant, and a login redirect (pages) or 401 (API) when signed out. Nothing under MEDIA_ROOT is
served directly, and every FileField of every model is served through the one checked view."""

import importlib
import re
from datetime import date

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.test import Client
from django.urls import Resolver404, clear_url_caches, resolve

from billing.services import invoice_draft_for_contract
from billing.services.payables import bill_attach_pdf, bill_create
from billing.services.payment_runs import payment_run_export, payment_run_propose
from billing.services.statements import statement_create
from projects.services import expenses as ex
from psa.core.entities import entity_default
from psa.core.logos import entity_logo_set
from psa.web.files import FILE_KINDS
from tests.billing.factories import issued_invoice, make_account, make_periods, milestone_contract, portal_user
from tests.billing.payables_factories import make_vendor
from tests.billing.vendor_payment_factories import make_bank_account, posted_bill
from tests.billing.vendor_payment_factories import make_vendor as make_payee
from tests.projects.time_factories import MONDAY, consultant_on, won_project

pytestmark = pytest.mark.django_db

FILE_URL = re.compile(r"(?:https?://testserver)?(/(?:api/v1/)?files/[a-z0-9-]+/\d+/)")


def _expense(consultant, setup, name):
    expense = ex.expense_create(
        by=consultant.user, consultant_id=consultant.pk, project_id=setup.project.pk, day=MONDAY,
        category="travel", amount="80", currency="EUR", receipt=SimpleUploadedFile(name, b"%PDF-1.4 receipt"),
    )  # fmt: skip
    ex.expenses_submit(by=consultant.user, consultant_id=consultant.pk, expense_ids=[expense.pk])
    return expense


def _vendor_bill(finance, project):
    bill = bill_create(
        by=finance, vendor_id=make_vendor().pk, number="V-1", bill_date=MONDAY,
        lines=[{"kind": "project_cost", "description": "Design", "project_id": project.pk, "net_amount": "10.00"}],
    )  # fmt: skip
    return bill_attach_pdf(bill_id=bill.pk, by=finance, pdf=SimpleUploadedFile("bill.pdf", b"%PDF-1.4 bill"))


def _payment_run(finance):
    """An exported payment run: its pain.001 file is downloadable by finance."""
    posted_bill(make_payee(), "10.00")
    run = payment_run_propose(entity=entity_default(), bank_account=make_bank_account(),
                              execution_date=date(2026, 3, 5), due_by=date(2026, 12, 31), by=finance)  # fmt: skip
    return payment_run_export(run_id=run.pk, by=finance)


@pytest.fixture
def firm(make_user):
    make_periods()
    finance = make_user("finance")
    mine, theirs = make_account(), make_account()
    setup = won_project()
    carl, bob = consultant_on(setup), consultant_on(setup)
    entity = entity_logo_set(
        by=finance, entity_id=entity_default().pk, logo=SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n logo")
    )
    vendor_bill = _vendor_bill(finance, setup.project)
    return {
        "finance": finance,
        "entity": entity,
        "vendor_bill": vendor_bill,
        "invoice": issued_invoice(finance, "100.00", account=mine),
        "other_invoice": issued_invoice(finance, "100.00", account=theirs),
        "client": portal_user(mine, make_user),
        "other_client": portal_user(theirs, make_user),
        "pm": setup.pm,
        "consultant": carl.user,
        "receipt": _expense(carl, setup, "taxi.pdf"),
        "other_consultant": bob.user,
        "other_receipt": _expense(bob, setup, "hotel.pdf"),
        "run": _payment_run(finance),
        "statement": statement_create(account=mine, as_of=date(2026, 2, 10), by=None),
    }


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _handed_out(firm) -> dict[str, set[str]]:
    """Every file URL that the pages and the API give each owner, keyed by who was given it."""
    inv, exp, ent, run = firm["invoice"].pk, firm["receipt"].pk, firm["entity"].pk, firm["run"].pk
    vb = firm["vendor_bill"].pk
    reads = {
        "finance": [
            f"/billing/invoices/{inv}/", "/api/v1/billing/invoices/", f"/api/v1/billing/invoices/{inv}/",
            f"/entities/{ent}/", "/api/v1/entities/", f"/billing/vendor-bills/{vb}/", f"/api/v1/vendor-bills/{vb}/",
            f"/billing/payment-runs/{run}/", f"/api/v1/payment-runs/{run}/",
        ],
        "client": [
            "/portal/", f"/portal/invoices/{inv}/", "/api/v1/billing/invoices/", f"/api/v1/billing/invoices/{inv}/",
            "/api/v1/billing/statements/",
        ],
        "consultant": ["/expenses/", "/api/v1/expenses/", f"/api/v1/expenses/{exp}/"],
        "pm": ["/time/approvals/", "/api/v1/expenses/", f"/api/v1/expenses/{exp}/"],
    }  # fmt: skip
    found: dict[str, set[str]] = {}
    for who, urls in reads.items():
        client = _as(firm[who])
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            body = response.content.decode()
            assert "/media/" not in body, f"{url} hands out a direct media URL"
            found.setdefault(who, set()).update(FILE_URL.findall(body))
    return found


def test_every_file_url_handed_out_opens_for_its_owner_and_for_nobody_else(firm):
    found = _handed_out(firm)
    own = {
        f"files/invoice-pdf/{firm['invoice'].pk}/",
        f"files/expense-receipt/{firm['receipt'].pk}/",
        f"files/entity-logo/{firm['entity'].pk}/",
        f"files/vendor-bill-pdf/{firm['vendor_bill'].pk}/",
        f"files/payment-run-file/{firm['run'].pk}/",
        f"files/account-statement/{firm['statement'].pk}/",
    }
    handed = set().union(*found.values())
    for suffix in own:
        assert f"/{suffix}" in handed and f"/api/v1/{suffix}" in handed, (suffix, handed)
    assert {m.group(1) for u in handed if (m := re.match(r"/(?:api/v1/)?files/([a-z0-9-]+)/", u))} == set(FILE_KINDS)
    outsiders = [_as(firm["other_client"]), _as(firm["other_consultant"])]
    for who, urls in found.items():
        owner = _as(firm[who])
        for url in urls:
            if not any(url.endswith(s) for s in own):
                continue  # another document on the same list (finance and the PM see more than one)
            response = owner.get(url)
            assert response.status_code == 200, (who, url)
            assert b"".join(response.streaming_content if response.streaming else [response.content])
            for outsider in outsiders:
                assert outsider.get(url).status_code == 404, (who, url)
            signed_out = Client().get(url)
            if url.startswith("/api/"):
                assert signed_out.status_code == 401, url
                assert signed_out.json()["code"] == "not_authenticated"
            else:
                assert signed_out.status_code == 302 and "/accounts/login/" in signed_out["Location"], url


def test_a_client_opens_its_own_invoice_pdf_and_not_another_accounts(firm):
    client = _as(firm["client"])
    mine = client.get(f"/files/invoice-pdf/{firm['invoice'].pk}/")
    assert mine.status_code == 200 and mine["Content-Type"] == "application/pdf"
    assert f'filename="{firm["invoice"].number}.pdf"' in mine["Content-Disposition"]
    firm["invoice"].refresh_from_db()
    assert mine["ETag"] == f'"{firm["invoice"].pdf_sha256}"' == f'"{mine["X-Content-SHA256"]}"'
    assert client.get(f"/files/invoice-pdf/{firm['other_invoice'].pk}/").status_code == 404
    assert client.get(f"/api/v1/files/invoice-pdf/{firm['other_invoice'].pk}/").status_code == 404


def test_a_consultant_opens_only_their_own_receipts(firm):
    carl = _as(firm["consultant"])
    assert carl.get(f"/files/expense-receipt/{firm['receipt'].pk}/").status_code == 200
    assert carl.get(f"/files/expense-receipt/{firm['other_receipt'].pk}/").status_code == 404
    assert carl.get(f"/files/invoice-pdf/{firm['invoice'].pk}/").status_code == 404


def test_an_unknown_kind_or_a_draft_is_a_404(firm, make_user):
    finance = _as(firm["finance"])
    assert finance.get(f"/files/vendor-bill/{firm['invoice'].pk}/").status_code == 404
    contract, _, _ = milestone_contract("10.00", account=make_account())
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    assert finance.get(f"/files/invoice-pdf/{draft.pk}/").status_code == 404


def test_stored_files_are_private_and_cannot_run_in_the_page(firm):
    receipt = _as(firm["consultant"]).get(f"/files/expense-receipt/{firm['receipt'].pk}/")
    assert receipt["X-Content-Type-Options"] == "nosniff" and receipt["Content-Type"] == "application/pdf"
    assert "private" in receipt["Cache-Control"]
    pdf = _as(firm["finance"]).get(f"/files/invoice-pdf/{firm['invoice'].pk}/")
    assert pdf["Content-Disposition"].startswith("attachment")
    assert "sandbox" in pdf["Content-Security-Policy"] and "private" in pdf["Cache-Control"]


def test_behind_nginx_the_checked_view_hands_the_file_to_the_proxy(firm, settings):
    settings.PSA_FILES_SERVE = "x-accel-redirect"
    settings.PSA_FILES_ACCEL_PREFIX = "/protected-files/"
    response = _as(firm["consultant"]).get(f"/files/expense-receipt/{firm['receipt'].pk}/")
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/protected-files/{firm['receipt'].receipt.name}"
    assert _as(firm["other_consultant"]).get(f"/files/expense-receipt/{firm['receipt'].pk}/").status_code == 404


def test_behind_apache_the_checked_view_names_the_file_for_x_sendfile(firm, settings):
    settings.PSA_FILES_SERVE = "x-sendfile"
    response = _as(firm["consultant"]).get(f"/files/expense-receipt/{firm['receipt'].pk}/")
    assert response.status_code == 200 and response.content == b""
    assert response["X-Sendfile"] == str(settings.MEDIA_ROOT / firm["receipt"].receipt.name)


def test_media_is_never_routed_even_with_debug_on(settings):
    settings.DEBUG = True
    urls = importlib.import_module("psa.urls")
    try:
        importlib.reload(urls)
        clear_url_caches()
        with pytest.raises(Resolver404):
            resolve("/media/invoices/2026/INV-2026-000001.pdf")
    finally:
        settings.DEBUG = False
        importlib.reload(urls)
        clear_url_caches()


def test_every_file_field_is_served_through_the_checked_view():
    """A new FileField (a vendor bill's PDF) must get a row in psa.web.files.FILE_KINDS before it ships."""
    mapped = {(kind.model, kind.field) for kind in FILE_KINDS.values()}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                assert (model, field.name) in mapped, f"{model.__name__}.{field.name} has no checked file view"
