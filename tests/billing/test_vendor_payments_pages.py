"""The pages for paying vendors: lists with filters and a fixed query count, the payment form's inline errors,
a payment run's buttons by status, the checked download of its pain.001 file, and who may open what."""

from datetime import date

import pytest
from django.urls import reverse
from lxml import etree

from billing.models import PaymentRun, VendorPayment
from billing.services.pain001 import SCHEMA_PATH
from billing.services.payment_runs import payment_run_export, payment_run_propose
from billing.services.vendor_payments import vendor_payment_record
from crm.models import Vendor
from psa.core.entities import entity_default
from tests.billing.factories import make_account, portal_user
from tests.billing.vendor_payment_factories import make_bank_account, make_vendor, posted_bill
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _payments(by, n: int) -> None:
    for _ in range(n):
        vendor = make_vendor()
        posted_bill(vendor, "100.00")
        vendor_payment_record(vendor=vendor, entity=entity_default(), paid_on=date(2026, 3, 1), amount="60.00", by=by)


def _run(by, account=None, n: int = 2) -> PaymentRun:
    for _ in range(n):
        posted_bill(make_vendor(), "25.00")
    return payment_run_propose(entity=entity_default(), bank_account=account or make_bank_account(),
                               execution_date=date(2026, 3, 5), due_by=date(2026, 12, 31), by=by)  # fmt: skip


def test_the_payment_list_filters_and_its_query_count_does_not_grow(client_as, periods):
    client = client_as("finance")
    _payments(client.user, 1)
    url = reverse("billing:vendor-payment-list")
    client.get(url)
    small, _ = count_queries(lambda: client.get(url), status=200)
    _payments(client.user, 6)
    large, response = count_queries(lambda: client.get(url), status=200)
    assert large == small
    assert response.content.count(b"data-payment=") == 7
    one = VendorPayment.objects.order_by("pk").first()
    filtered = client.get(url, {"vendor": one.vendor_id, "paid_from": "2026-03-01", "entity": one.entity_id})
    assert filtered.content.count(b"data-payment=") == 1


def test_the_run_list_query_count_does_not_grow(client_as, periods):
    client = client_as("finance")
    account = make_bank_account()
    _run(client.user, account)
    url = reverse("billing:payment-run-list")
    client.get(url)
    small, _ = count_queries(lambda: client.get(url), status=200)
    for _ in range(4):
        _run(client.user, account)
    large, response = count_queries(lambda: client.get(url), status=200)
    assert large == small and response.content.count(b"data-run=") == 5


def test_the_run_page_query_count_does_not_grow_with_payments(client_as, periods):
    client = client_as("finance")
    small_run, large_run = _run(client.user, n=1), _run(client.user, n=8)
    client.get(reverse("billing:payment-run-detail", args=[small_run.pk]))
    small, _ = count_queries(lambda: client.get(reverse("billing:payment-run-detail", args=[small_run.pk])), status=200)
    large, _ = count_queries(lambda: client.get(reverse("billing:payment-run-detail", args=[large_run.pk])), status=200)
    assert large == small


def test_recording_a_payment_and_an_over_payment_shown_inline(client_as, periods):
    client = client_as("finance")
    vendor = make_vendor("Acme")
    posted_bill(vendor, "100.00")
    url = reverse("billing:vendor-payment-new")
    data = {"vendor": vendor.pk, "entity": entity_default().pk, "paid_on": "2026-03-01", "amount": "150.00"}
    response = client.post(url, data)
    assert response.status_code == 400
    form = response.context["form"]
    assert "over-pay" in " ".join(form.errors["amount"]) or "At most 100.00" in " ".join(form.errors["amount"])
    assert b"At most 100.00" in response.content
    assert not VendorPayment.objects.exists()
    response = client.post(url, {**data, "amount": "40.00", "reference": "March"})
    assert response.status_code == 302
    assert VendorPayment.objects.get().reference == "March"


def test_a_run_page_offers_the_actions_of_its_status_and_the_file_downloads(client_as, periods):
    client = client_as("finance")
    run = _run(client.user)
    page = reverse("billing:payment-run-detail", args=[run.pk])
    html = client.get(page).content
    assert b'data-testid="run-export"' in html and b'data-testid="run-cancel"' in html
    assert b'data-testid="run-book"' not in html and b'data-testid="run-download"' not in html
    assert b"data-confirm=" in html
    response = client.post(reverse("billing:payment-run-export", args=[run.pk]))
    assert response.status_code == 302
    html = client.get(page).content
    assert b'data-testid="run-book"' in html and b'data-testid="run-download"' in html
    assert b'data-testid="run-export"' not in html
    download = client.get(f"/files/payment-run-file/{run.pk}/")
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    etree.XMLSchema(etree.parse(str(SCHEMA_PATH))).assertValid(etree.fromstring(body))
    assert client.post(reverse("billing:payment-run-book", args=[run.pk])).status_code == 302
    run.refresh_from_db()
    assert run.status == "booked"
    html = client.get(page).content
    assert b'data-testid="run-cancel"' not in html and b'data-testid="run-book"' not in html
    response = client.post(reverse("billing:payment-run-cancel", args=[run.pk]), follow=True)
    assert b"Cannot change status" in response.content  # refused with a message, nothing changed
    run.refresh_from_db()
    assert run.status == "booked"


@pytest.mark.parametrize("role", ["consultant", "sales", "project_manager"])
def test_other_roles_cannot_open_the_pages_or_the_file(client_as, make_user, periods, finance, role):
    run = payment_run_export(run_id=_run(finance).pk, by=finance)
    client = client_as(role)
    for name, args in (("vendor-payment-list", []), ("vendor-payment-new", []), ("payment-run-list", []),
                       ("payment-run-new", []), ("payment-run-detail", [run.pk])):  # fmt: skip
        assert client.get(reverse(f"billing:{name}", args=args)).status_code == 403, name
    assert client.post(reverse("billing:payment-run-book", args=[run.pk])).status_code == 403
    assert client.get(f"/files/payment-run-file/{run.pk}/").status_code == 404
    run.refresh_from_db()
    assert run.status == "exported"


def test_a_portal_user_and_an_anonymous_visitor_are_kept_out(client, make_user, periods, finance):
    run = payment_run_export(run_id=_run(finance).pk, by=finance)
    anonymous = client.get(reverse("billing:payment-run-detail", args=[run.pk]))
    assert anonymous.status_code == 302 and "login" in anonymous.url
    assert client.get(f"/files/payment-run-file/{run.pk}/").status_code in (302, 404)
    client.force_login(portal_user(make_account(), make_user))
    assert client.get(reverse("billing:vendor-payment-list")).status_code == 403
    assert client.get(f"/files/payment-run-file/{run.pk}/").status_code == 404


def test_proposing_a_run_names_the_vendors_without_an_iban_inline(client_as, periods):
    client = client_as("finance")
    posted_bill(make_vendor("Nobank Ltd", iban=""), "10.00")
    account = make_bank_account()
    data = {"bank_account": account.pk, "execution_date": "2026-03-05", "due_by": "2026-12-31"}
    response = client.post(reverse("billing:payment-run-new"), data)
    assert response.status_code == 400
    assert "Nobank Ltd: no IBAN" in response.context["form"].errors["vendors"][0]
    assert not PaymentRun.objects.exists()
    posted_bill(make_vendor("Paid Ltd"), "20.00")
    others = [v.pk for v in Vendor.objects.exclude(name="Nobank Ltd")]
    response = client.post(reverse("billing:payment-run-new"), {**data, "vendors": others})
    run = PaymentRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("billing:payment-run-detail", args=[run.pk])
    assert run.total == 20
