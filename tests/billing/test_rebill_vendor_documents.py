"""Traceability of a re-billed vendor cost: the invoice page shows, on the line that re-bills it, the vendor, its
bill (linked) and the amounts; the line's explanation lists them; the API's line sources carry kind vendor_cost
and the vendor-bill line's id; the e-invoice with such a line is valid EN 16931 (XSD and schematron)."""

from datetime import date
from decimal import Decimal

import facturx
import pytest
from django.db import transaction
from django.urls import reverse

from billing.choices import SourceKind
from billing.services import invoice_draft_for_contract, invoice_issue
from billing.services.documents import invoice_xml
from tests.billing.factories import approved_entry, make_consultant, tm_contract
from tests.billing.rebill_factories import make_vendor, posted_bill, rebillable_line
from tests.billing.schematron import schematron_failures
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _invoice(by, *, issue=True, costs=1):
    contract, line = tm_contract()
    approved_entry(line, make_consultant(), date(2026, 1, 5), "8.00", "150")
    bill = posted_bill(make_vendor("Cloudy Hosting", subcontractor=False), on=date(2026, 1, 20), number="CH-77")
    cost = None
    for i in range(costs):
        cost = rebillable_line(bill, line, "200.00", rebill="230.00", description=f"Staging servers {i}")
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    invoice = invoice_issue(invoice_id=draft.pk, by=by, on=date(2026, 2, 1)) if issue else draft
    return invoice, bill, cost


def test_the_invoice_page_shows_the_vendor_its_bill_and_the_amounts_on_the_line(client_as):
    client = client_as("finance")
    invoice, bill, _cost = _invoice(client.user, issue=False)
    page = client.get(reverse("billing:invoice-detail", args=[invoice.pk])).content.decode()
    assert 'data-testid="vendor-cost"' in page
    trace = page.split('data-testid="vendor-cost">')[1].split("</div>")[0]
    assert "Cloudy Hosting" in trace and ">CH-77</a>" in trace
    assert f'href="/billing/vendor-bills/{bill.pk}/"' in trace
    assert "200.00" in trace and "230.00" in trace


def test_the_invoice_page_costs_the_same_queries_for_more_vendor_cost_lines(client_as):
    client = client_as("finance")
    small_invoice, _, _ = _invoice(client.user, issue=False, costs=1)
    large_invoice, _, _ = _invoice(client.user, issue=False, costs=6)
    client.get(reverse("billing:invoice-detail", args=[small_invoice.pk]))
    small, _ = count_queries(lambda: client.get(reverse("billing:invoice-detail", args=[small_invoice.pk])), status=200)
    large, response = count_queries(
        lambda: client.get(reverse("billing:invoice-detail", args=[large_invoice.pk])), status=200
    )
    assert response.content.decode().count('data-testid="vendor-cost"') == 6
    assert large == small


def test_the_line_explanation_lists_the_vendor_bill(client_as):
    client = client_as("finance")
    invoice, _bill, _cost = _invoice(client.user, issue=False)
    line = invoice.lines.get(sources__kind=SourceKind.VENDOR_COST)
    panel = client.get(reverse("billing:line-explain", args=[invoice.pk, line.pk])).content.decode()
    assert 'data-testid="explain-vendor-costs"' in panel and "CH-77" in panel
    assert "Cloudy Hosting bill CH-77: Staging servers 0 — cost 200.00 EUR, re-billed 230.00" in panel


def test_the_api_line_sources_carry_the_kind_and_the_vendor_bill_line(api_as, make_user):
    invoice, _bill, cost = _invoice(make_user("finance"), issue=False)
    body = api_as("finance").get(f"/api/v1/billing/invoices/{invoice.pk}/").json()
    sources = [s for line in body["lines"] for s in line["sources"] if s["kind"] == "vendor_cost"]
    assert [(s["source_id"], s["amount"]) for s in sources] == [(cost.pk, "230.00")]


def test_the_e_invoice_with_a_re_billed_vendor_cost_is_valid(periods, finance):
    invoice, _bill, _cost = _invoice(finance)
    assert invoice.net_total == Decimal("1430.00")
    xml = invoice_xml(invoice)
    assert facturx.xml_check_xsd(xml.encode(), flavor="factur-x", level="en16931")
    assert schematron_failures(xml) == []
    assert "Re-billed cost 20 Jan 2026: Staging servers 0" in xml and "Cloudy" not in xml
