"""The PDF/A-3b with its embedded EN 16931 XML: valid XML, right text, rendered once, served as stored."""

import hashlib
import time
from datetime import date

import facturx
import pytest
from django.db import transaction

from billing.services import credit_note_create, invoice_draft_for_contract, invoice_issue, invoice_render
from billing.services.documents import invoice_pdf_stored, invoice_xml
from billing.services.vat import account_tax_override_set
from tests.billing.factories import issued_invoice, milestone_contract
from tests.pdf_text import pdf_text

pytestmark = pytest.mark.django_db


def test_the_xml_of_an_invoice_and_of_its_credit_note_is_valid_en16931(periods, finance):
    invoice = issued_invoice(finance, "10.04", "10.04", "10.04")
    xml = invoice_xml(invoice)
    assert facturx.xml_check_xsd(xml.encode(), flavor="factur-x", level="en16931")
    assert '<ram:TaxTotalAmount currencyID="EUR">6.02</ram:TaxTotalAmount>' in xml
    note = invoice_issue(
        invoice_id=credit_note_create(invoice_id=invoice.pk, by=finance).pk, by=finance, on=date(2026, 2, 2)
    )
    note_xml = invoice_xml(note)
    assert facturx.xml_check_xsd(note_xml.encode(), flavor="factur-x", level="en16931")
    assert "<ram:TypeCode>381</ram:TypeCode>" in note_xml and invoice.number in note_xml


def test_reverse_charge_xml_carries_the_exemption_reason_and_is_valid(periods, finance):
    contract, _, _ = milestone_contract("500.00")
    account_tax_override_set(
        account_id=contract.account_id, category_code="AE", reason="Reverse charge by the client's ruling", by=finance
    )
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))
    assert invoice.tax_total == 0 and invoice.gross_total == invoice.net_total
    xml = invoice_xml(invoice)
    assert facturx.xml_check_xsd(xml.encode(), flavor="factur-x", level="en16931")
    assert "<ram:CategoryCode>AE</ram:CategoryCode>" in xml and "Reverse charge" in xml


def test_the_pdf_is_rendered_once_stored_with_its_checksum_and_shows_the_total(periods, finance):
    invoice = issued_invoice(finance, "10.04", "10.04", "10.04")
    rendered = invoice_render(invoice_id=invoice.pk)
    pdf = invoice_pdf_stored(rendered)
    assert hashlib.sha256(pdf).hexdigest() == rendered.pdf_sha256
    assert invoice_render(invoice_id=invoice.pk).pdf_sha256 == rendered.pdf_sha256, "rendered once"
    text = pdf_text(pdf)
    from tests.fixtures_browser import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "billing-invoice.pdf").write_bytes(pdf)  # for a person to look at (pdftoppm -png)
    assert invoice.number in text and "36.14 EUR" in text and "payment instructions" in text.lower()
    embedded = facturx.get_xml_from_pdf(pdf, check_xsd=True)[1]
    assert embedded.decode() == rendered.xml
    assert pdf[:8].startswith(b"%PDF-1.")


def test_a_one_page_invoice_costs_little_more_than_a_bare_weasyprint_render(periods, finance):
    """Our whole document (template, PDF/A-3b, embedded XML) against WeasyPrint alone on the same HTML.

    The issue's absolute goal (<= 0.3 s for one page) depends on the machine; `make bench` records it
    (invoice_pdf). Here the best of five keeps a shared machine's noise out and the ratio stays meaningful."""
    from weasyprint import HTML

    from billing.services.documents import invoice_html, invoice_pdf_bytes

    invoice = issued_invoice(finance, *["100.00"] * 12)
    html = invoice_html(invoice)
    invoice_pdf_bytes(invoice)  # warm fonts and templates

    def best(fn):
        times = []
        for _ in range(7):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    ours = best(lambda: invoice_pdf_bytes(invoice))
    bare = best(lambda: HTML(string=html).write_pdf())
    # Loose here (other jobs share the CPU while the suite runs); `make bench` holds the 1.2 goal.
    assert ours <= bare * 1.5 + 0.05, (ours, bare)
    assert ours < 2.0, ours  # ~0.5 s alone here; a guard against a lost font cache or subsetting, not the goal


def test_issuing_queues_the_email_with_the_stored_pdf(periods, finance):
    from psa.core.models import OutboxMessage

    invoice = invoice_render(invoice_id=issued_invoice(finance, "100.00").pk)
    message = OutboxMessage.objects.get(dedupe_key=f"billing:invoice:{invoice.pk}:email")
    assert message.payload["to"] == [invoice.buyer_email]
    assert message.payload["attachments"][0]["path"] == invoice.pdf.name


def test_the_invoice_page_loads_the_invoices_audit_trail(periods, finance, client):
    invoice = issued_invoice(finance, "100.00")
    client.force_login(finance)
    page = client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert 'data-testid="invoice-audit"' in page and f"/audit/invoice/{invoice.pk}/fragment/" in page
    trail = client.get(f"/audit/invoice/{invoice.pk}/fragment/")
    assert trail.status_code == 200 and str(invoice.number) in trail.content.decode()
