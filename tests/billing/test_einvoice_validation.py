"""Every e-invoice XML is validated against the Factur-X EN 16931 XSD when the document is rendered. An invalid
one is never embedded, stored or e-mailed: the failure is recorded on the invoice (shown on its page), listed in
the exception queue with a link to the invoice, and cleared once a render succeeds."""

from datetime import date

import pytest
from django.urls import reverse

from billing.models import Invoice
from billing.services import documents, invoice_render
from psa.core.exceptions import ValidationFailed
from psa.core.models import OutboxMessage
from psa.web.exception_queue import exception_scan
from tests.billing.factories import issued_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_xml(monkeypatch):
    """A generator defect: the document's mandatory type code (BT-3) goes missing from the XML."""
    generate = documents.invoice_xml

    def without_type_code(invoice):
        return generate(invoice).replace("<ram:TypeCode>380</ram:TypeCode>", "", 1)

    monkeypatch.setattr(documents, "invoice_xml", without_type_code)
    return monkeypatch


def test_the_generated_xml_passes_and_a_document_without_its_type_code_fails_with_the_reason(periods, finance):
    invoice = issued_invoice(finance, "100.00", "250.00")
    documents.einvoice_validate(documents.invoice_xml(invoice))  # no error
    with pytest.raises(ValidationFailed) as failed:
        documents.einvoice_validate(documents.invoice_xml(invoice).replace("<ram:TypeCode>380</ram:TypeCode>", "", 1))
    assert failed.value.code == "einvoice_invalid" and "TypeCode" in failed.value.message


def test_an_invalid_xml_is_recorded_on_the_invoice_and_nothing_is_stored_or_sent(periods, finance, broken_xml):
    invoice = issued_invoice(finance, "100.00", "250.00")
    assert invoice.buyer_email, "a document with a billing contact is e-mailed once rendered"

    invoice_render(invoice_id=invoice.pk)

    invoice.refresh_from_db()
    assert invoice.pdf_sha256 == "" and not invoice.pdf and invoice.xml == ""
    assert "TypeCode" in invoice.einvoice_error
    assert not OutboxMessage.objects.filter(dedupe_key=f"billing:invoice:{invoice.pk}:email").exists()


def test_the_invoice_page_shows_the_failure_and_the_pdf_is_refused_with_a_409(client_as, api_as, periods, broken_xml):
    client = client_as("finance")
    invoice = issued_invoice(client.user, "100.00", "250.00")
    invoice_render(invoice_id=invoice.pk)
    page = client.get(reverse("billing:invoice-detail", args=[invoice.pk])).content.decode()
    assert 'data-testid="einvoice-error"' in page and "TypeCode" in page
    response = api_as("finance").get(f"/api/v1/files/invoice-pdf/{invoice.pk}/")
    assert response.status_code == 409 and response.json()["code"] == "einvoice_invalid"
    page_pdf = client.get(reverse("stored-file", args=["invoice-pdf", invoice.pk]))
    assert page_pdf.status_code == 409 and "not valid" in page_pdf.content.decode()


def test_the_exception_queue_lists_the_invalid_e_invoice_until_a_render_succeeds(periods, finance, broken_xml):
    invoice = issued_invoice(finance, "100.00", "250.00")
    invoice_render(invoice_id=invoice.pk)

    (item,) = exception_scan(as_of=date(2026, 2, 2), rules=["einvoice_invalid"]).open["einvoice_invalid"]
    assert item.key == f"invoice:{invoice.pk}" and invoice.number in item.title
    assert item.url == reverse("billing:invoice-detail", args=[invoice.pk]) and "TypeCode" in item.detail

    broken_xml.undo()  # the defect is fixed; the next render (the sweep, or "render again") succeeds
    invoice_render(invoice_id=invoice.pk)
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice.pdf_sha256 and invoice.einvoice_error == ""
    assert exception_scan(as_of=date(2026, 2, 2), rules=["einvoice_invalid"]).open["einvoice_invalid"] == []
