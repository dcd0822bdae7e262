"""Retainage on the documents and in the portal: the retainage invoice, its credit note and the release invoice
are valid EN 16931 (XSD and schematron); the PDF shows the retainage line and the amount to pay now; the client
pays by bank transfer with the invoice's ISO 11649 reference and an EPC QR code; the statement of account."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from lxml import etree
from stdnum import iso11649

from billing.models import AccountStatement
from billing.selectors import ar_aging
from billing.services import credit_note_create, documents, invoice_draft_for_contract, invoice_issue
from billing.services.bank_transfer import creditor_reference, references_in, transfer_details
from billing.services.payments import payments_import_csv
from billing.services.retainage import retainage_release_create
from billing.services.statements import statement_html
from tests.billing.factories import issued_invoice, make_account, milestone_contract, portal_user
from tests.billing.schematron import schematron_failures

pytestmark = pytest.mark.django_db

D = Decimal
CII = {
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
}


def _retainage_invoice(by, *amounts: str, account=None, percent: str = "10.00"):
    contract, line, _ = milestone_contract(*amounts, account=account)
    line.retainage_percent = D(percent)
    line.save(update_fields=["retainage_percent"])
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    return contract, invoice_issue(invoice_id=draft.pk, by=by, on=date(2026, 2, 1))


def _valid(xml: str) -> etree._Element:
    documents.einvoice_validate(xml)  # the Factur-X EN 16931 XSD
    assert schematron_failures(xml) == []  # the EN 16931 schematron
    return etree.fromstring(xml.encode())


def _summation(root, name: str) -> str:
    return root.findtext(f".//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:{name}", namespaces=CII)


def test_the_retainage_invoice_is_valid_en16931_bills_the_full_amount_and_states_the_retainage(periods, finance):
    _, invoice = _retainage_invoice(finance, "1000.00", "2000.00")

    root = _valid(documents.invoice_xml(invoice))

    # The full amount is invoiced with its VAT (BT-112) and asked (BT-115 = BT-112 - BT-113 + BT-114, BR-CO-16);
    # the retainage is a payment term (BT-20) and a note with subject AAB (BT-21/22), never an allowance.
    assert _summation(root, "GrandTotalAmount") == "3600.00" and _summation(root, "DuePayableAmount") == "3600.00"
    assert root.find(".//ram:SpecifiedTradeAllowanceCharge", CII) is None
    terms = root.findtext(".//ram:SpecifiedTradePaymentTerms/ram:Description", namespaces=CII)
    assert "Retainage of 300.00 EUR is held back" in terms and "pay 3300.00 EUR now" in terms
    notes = {
        n.findtext("ram:SubjectCode", namespaces=CII): n.findtext("ram:Content", namespaces=CII)
        for n in root.findall(".//ram:IncludedNote", CII)
    }
    assert "300.00 EUR" in notes["AAB"] and "3,300.00 EUR" in notes["AAB"]
    reference = root.findtext(".//ram:ApplicableHeaderTradeSettlement/ram:PaymentReference", namespaces=CII)
    assert reference == invoice.payment_reference == creditor_reference(invoice.number) and iso11649.is_valid(reference)


def test_the_release_invoice_and_the_credit_note_are_valid_en16931(periods, finance):
    contract, invoice = _retainage_invoice(finance, "1000.00")
    note = credit_note_create(invoice_id=invoice.pk, by=finance, amount=D("100.00"))
    note = invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 5))
    assert note.retainage_total == D("10.00")
    _valid(documents.invoice_xml(note))

    draft = retainage_release_create(contract_id=contract.pk, by=finance, accepted_on=date(2026, 3, 15))
    release = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 3, 16))
    root = _valid(documents.invoice_xml(release))

    assert _summation(root, "TaxTotalAmount") == "0.00" and _summation(root, "DuePayableAmount") == "90.00"
    tax = root.find(".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", CII)
    assert tax.findtext("ram:CategoryCode", namespaces=CII) == "E"
    assert "VAT was charged on the invoices" in tax.findtext("ram:ExemptionReason", namespaces=CII)

    release_note = credit_note_create(invoice_id=release.pk, by=finance)
    _valid(documents.invoice_xml(invoice_issue(invoice_id=release_note.pk, by=finance, on=date(2026, 3, 20))))


def test_the_pdf_shows_the_retainage_the_amount_now_the_reference_and_the_epc_qr_code(periods, finance):
    _, invoice = _retainage_invoice(finance, "1000.00")

    html = documents.invoice_html(invoice)

    assert 'data-testid="retainage-line"' in html and "Amount to pay now" in html and "1,100.00" in html
    assert invoice.payment_reference in html and 'data-testid="epc-qr"' in html and "<svg" in html
    details = transfer_details(invoice)
    assert details.amount == D("1100.00") and details.qr_svg and details.qr_missing == ""


def test_no_epc_qr_code_outside_euros_and_the_page_says_why(periods, finance, settings):
    invoice = issued_invoice(finance, "100.00")
    invoice.currency = "USD"  # in memory only: what the QR code decides on
    details = transfer_details(invoice)
    assert details.qr_svg == "" and "in euros" in details.qr_missing and "USD" in details.qr_missing
    invoice.currency, invoice.seller = "EUR", {**invoice.seller, "iban": ""}
    assert "no IBAN" in transfer_details(invoice).qr_missing


def test_the_creditor_reference_is_iso_11649_and_a_bank_line_quoting_it_pays_that_invoice(periods, finance):
    invoice = issued_invoice(finance, "100.00")
    assert creditor_reference("INV-2026-000001") == "RF94INV2026000001"
    assert references_in(f"Payment {iso11649.format(invoice.payment_reference)} thanks") == [invoice.payment_reference]
    csv = f"date,amount,reference,bank_ref\n2026-02-10,120.00,{invoice.payment_reference},B1\n".encode()

    report = payments_import_csv(content=csv, by=finance, dry_run=False)

    invoice.refresh_from_db()
    assert report.created == 1 and invoice.balance == 0


def test_ar_aging_shows_retainage_apart_from_the_buckets(periods, finance):
    account = make_account()
    _retainage_invoice(finance, "1000.00", account=account)
    (row,) = ar_aging(as_of=date(2026, 2, 10), account_id=account.pk).rows
    assert row.current == D("1100.00") and row.total == D("1100.00") and row.retainage == D("100.00")


def test_the_client_downloads_its_statement_through_the_checked_file_view(client, periods, finance, make_user):
    account = make_account()
    _, invoice = _retainage_invoice(finance, "1000.00", account=account)
    html = statement_html(account=account, as_of=date(2026, 2, 10))
    assert invoice.number in html and "1,100.00" in html and 'data-testid="statement-retainage"' in html
    assert 'data-testid="statement-aging"' in html and invoice.payment_reference in html

    client.force_login(portal_user(account, make_user))
    response = client.get(reverse("billing:portal-statement"))
    statement = AccountStatement.objects.get(account=account)
    assert response.status_code == 302 and response["Location"] == reverse(
        "stored-file", args=["account-statement", statement.pk]
    )
    pdf = client.get(response["Location"])
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")


def test_a_client_never_reads_another_clients_statement(client, periods, finance, make_user):
    mine, theirs = make_account(), make_account()
    issued_invoice(finance, "100.00", account=theirs)
    client.force_login(portal_user(theirs, make_user))
    client.get(reverse("billing:portal-statement"))
    their_statement = AccountStatement.objects.get(account=theirs)
    client.logout()

    client.force_login(portal_user(mine, make_user))
    assert client.get(reverse("stored-file", args=["account-statement", their_statement.pk])).status_code == 404
    client.get(reverse("billing:portal-statement"))
    assert set(AccountStatement.objects.values_list("account_id", flat=True)) == {mine.pk, theirs.pk}
    client.logout()
    assert client.get(reverse("billing:portal-statement")).status_code == 302  # anonymous: to the login
    anonymous = client.get(reverse("stored-file", args=["account-statement", their_statement.pk]))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_the_portal_invoice_page_shows_the_reference_and_the_epc_qr_code(client, periods, finance, make_user):
    account = make_account()
    _, invoice = _retainage_invoice(finance, "1000.00", account=account)
    client.force_login(portal_user(account, make_user))
    page = client.get(reverse("billing:portal-invoice", args=[invoice.pk])).content.decode()
    assert 'data-testid="epc-qr"' in page and invoice.payment_reference in page
    assert 'data-testid="portal-retainage"' in page and "1,100.00" in page


def test_finance_releases_retainage_through_the_api_and_a_client_is_refused(api_as, periods, finance):
    contract, _ = _retainage_invoice(finance, "1000.00")
    assert api_as("client").post(
        f"/api/v1/billing/retainage/{contract.pk}/release/", {"accepted_on": "2026-03-15"}, format="json"
    ).status_code in (403, 404)
    api = api_as("finance")
    summary = api.get(f"/api/v1/billing/retainage/{contract.pk}/").json()
    assert summary["held"] == "100.00"
    response = api.post(
        f"/api/v1/billing/retainage/{contract.pk}/release/", {"accepted_on": "2026-03-15"}, format="json"
    )
    assert response.status_code == 201 and response.json()["gross_total"] == "100.00"
    again = api.post(f"/api/v1/billing/retainage/{contract.pk}/release/", {"accepted_on": "2026-03-15"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_release"
    assert api.get("/api/v1/billing/retainage/999999/").status_code == 404


def test_the_statements_api_gives_a_client_only_its_own(api_client, periods, finance, make_user):
    mine, theirs = make_account(), make_account()
    issued_invoice(finance, "100.00", account=mine)
    api_client.force_authenticate(portal_user(theirs, make_user))
    theirs_made = api_client.post("/api/v1/billing/statements/", {"account": mine.pk}, format="json")
    assert theirs_made.status_code == 201 and theirs_made.json()["account"] == theirs.pk  # `account` is ignored
    api_client.force_authenticate(portal_user(mine, make_user))
    made = api_client.post("/api/v1/billing/statements/", {}, format="json")
    assert made.status_code == 201 and made.json()["account"] == mine.pk
    listed = api_client.get("/api/v1/billing/statements/").json()["results"]
    assert [r["account"] for r in listed] == [mine.pk]
    other = AccountStatement.objects.get(account=theirs)
    assert api_client.get(f"/api/v1/files/account-statement/{other.pk}/").status_code == 404
