"""Billing in two currencies, proved to the cent (issue 17; DESIGN.md invariants 8 and 11).

The hand-computed case (functional currency EUR; rates are EUR per 1 USD):

    31 Jan  revenue recognised ahead of billing (posted as recognition does): 1,000.00 USD at 0.90
            Dr unbilled 900.00 / Cr revenue 900.00
     2 Feb  invoice 1,000.00 USD + 20 % VAT 200.00 = 1,200.00 USD at r1 = 0.92
            Dr AR 1,104.00 (1,200 x 0.92) / Cr tax payable 184.00 (200 x 0.92)
            net 1,104.00 - 184.00 = 920.00: relieves unbilled at its booked 900.00, Cr realised gain 20.00
    28 Feb  month-end revaluation of 1,200.00 USD open at r2 = 0.95: 1,140.00 - 1,104.00
            Dr AR 36.00 / Cr unrealised gain 36.00, reversed on 1 Mar (Dr unrealised gain / Cr AR 36.00)
    10 Mar  payment 600.00 USD at r3 = 0.90 = 540.00: Dr cash 540.00 / Cr AR 540.00 (unapplied)
            allocated: the invoice's share round(1,104.00 x 600 / 1,200) = 552.00 leaves AR
            Dr AR 540.00 (payment) / Cr AR 552.00 (invoice) / Dr realised loss 12.00
    20 Mar  credit note 100.00 USD + 20.00 VAT = 120.00 USD at r4 = 0.93
            Cr AR 111.60 / Dr tax payable 18.60 / Dr unbilled 93.00 (nothing deferred to relieve)
            applied: the invoice's share round(1,104.00 x 720 / 1,200) - 552.00 = 110.40
            Dr AR 111.60 (credit note) / Cr AR 110.40 (invoice) / Cr realised gain 1.20
    15 Apr  final payment 480.00 USD at r5 = 0.94 = 451.20: Dr cash / Cr AR 451.20
            the invoice's last share is the remainder 1,104.00 - 552.00 - 110.40 = 441.60
            Dr AR 451.20 / Cr AR 441.60 / Cr realised gain 9.60

    per account: cash Dr 991.20; AR 0.00 (and 0.00 USD); tax payable Cr 165.40 (184.00 - 18.60);
    unbilled Dr 93.00; revenue Cr 900.00; realised gain Cr 30.80 (20.00 + 1.20 + 9.60); realised loss
    Dr 12.00; unrealised gain 0.00. Debits 1,096.20 = credits 1,096.20.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from billing.choices import InvoiceStatus
from billing.models import Invoice, Payment, PaymentAllocation
from billing.selectors import ledger_reconciliation
from billing.services import (
    credit_note_create,
    documents,
    invoice_draft_for_contract,
    invoice_issue,
    payment_allocate,
    payment_record,
    write_off_approve,
    write_off_request,
)
from billing.services.posting import settled_share
from ledger.choices import SystemAccount
from ledger.models import JournalEntry, JournalLine
from ledger.selectors.books import trial_balance
from ledger.services import account_code_for, entries_auto_reverse_due, entry_post
from ledger.services.posting import EntrySpec, fx_difference_line, fx_line
from psa.core.exceptions import ValidationFailed
from psa.core.fx import MissingRate, rate_for
from psa.core.models import ExchangeRate
from tests.billing.factories import issued_invoice, make_account, milestone_contract
from tests.billing.schematron import schematron_failures

D = Decimal
pytestmark = pytest.mark.django_db

RATES = {
    date(2026, 1, 31): "0.90",
    date(2026, 2, 2): "0.92",
    date(2026, 2, 28): "0.95",
    date(2026, 3, 10): "0.90",
    date(2026, 3, 20): "0.93",
    date(2026, 4, 15): "0.94",
}


def usd_rates() -> None:
    ExchangeRate.objects.bulk_create(
        [ExchangeRate(currency="USD", quote="EUR", date=on, rate=D(r)) for on, r in RATES.items()]
    )


def balance(role: SystemAccount, **filters) -> Decimal:
    row = JournalLine.objects.filter(account__system_role=role, **filters).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (row["d"] or D(0)) - (row["c"] or D(0))


def currency_balance(role: SystemAccount, **filters) -> Decimal:
    total = D(0)
    for line in JournalLine.objects.filter(account__system_role=role, **filters):
        total += line.amount_currency if line.debit else -line.amount_currency
    return total


def usd_draft(*amounts: str):
    """A USD client, its contract and project, and a draft invoice of its accepted milestones (January)."""
    contract, _, _ = milestone_contract(*amounts, account=make_account(currency="USD"))
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    return contract, draft


def recognise_ahead(contract, amount: str, on: date) -> None:
    """Revenue recognised before billing, posted the way recognition posts it: Dr unbilled / Cr revenue in the
    contract's currency at the recognition date's rate."""
    rate = rate_for(currency=contract.currency, on=on)
    dims = {"client_id": contract.account_id, "project_id": contract.project_id}
    entry_post(
        spec=EntrySpec(
            date=on,
            memo="Revenue recognised",
            lines=(
                fx_line(account_code_for(SystemAccount.UNBILLED), rate=rate, debit=D(amount), **dims),
                fx_line(account_code_for(SystemAccount.SERVICES_REVENUE), rate=rate, credit=D(amount), **dims),
            ),
        ),
        key=f"test:recognise:{contract.pk}",
    )


def revalue(invoice: Invoice, difference: str, on: date, reverse_on: date) -> JournalEntry:
    """The month-end revaluation of the invoice's open AR (built by another service; posted here as it posts):
    an exchange-difference line on AR against unrealised gain, reversed on the next month's first day."""
    dims = {"client_id": invoice.account_id, "project_id": invoice.project_id}
    return entry_post(
        spec=EntrySpec(
            date=on,
            memo="Revaluation of open receivables",
            auto_reverse_on=reverse_on,
            lines=(
                fx_difference_line(
                    account_code_for(SystemAccount.RECEIVABLE), currency="USD", debit=D(difference), **dims
                ),
                fx_difference_line(
                    account_code_for(SystemAccount.FX_UNREALISED_GAIN), currency="USD", credit=D(difference), **dims
                ),
            ),
        ),
        key=f"test:revalue:{invoice.pk}:{on}",
    )


@dataclass
class Services:
    """The scenario's steps through the services."""

    user: object

    def issue(self, invoice_id: int, on: date) -> Invoice:
        return invoice_issue(invoice_id=invoice_id, by=self.user, on=on)

    def pay(self, account_id: int, invoice_id: int, amount: str, on: date) -> Payment:
        return payment_record(
            by=self.user,
            account_id=account_id,
            amount=amount,
            received_on=on,
            allocations=[{"invoice_id": invoice_id, "amount": amount}],
        )

    def credit(self, invoice_id: int, amount: str, on: date) -> Invoice:
        note = credit_note_create(invoice_id=invoice_id, by=self.user, amount=D(amount), reason="Discount")
        return self.issue(note.pk, on)


@dataclass
class Api:
    """The same steps through the REST API."""

    client: object

    def issue(self, invoice_id: int, on: date) -> Invoice:
        response = self.client.post(
            f"/api/v1/billing/invoices/{invoice_id}/issue/", {"issue_date": on.isoformat()}, format="json"
        )
        assert response.status_code == 200, response.json()
        return Invoice.objects.get(pk=invoice_id)

    def pay(self, account_id: int, invoice_id: int, amount: str, on: date) -> Payment:
        body = {
            "account": account_id,
            "amount": amount,
            "received_on": on.isoformat(),
            "allocations": [{"invoice_id": invoice_id, "amount": amount}],
        }
        response = self.client.post("/api/v1/billing/payments/", body, format="json")
        assert response.status_code == 201, response.json()
        return Payment.objects.get(pk=response.json()["id"])

    def credit(self, invoice_id: int, amount: str, on: date) -> Invoice:
        response = self.client.post(
            f"/api/v1/billing/invoices/{invoice_id}/credit/", {"amount": amount, "reason": "Discount"}, format="json"
        )
        assert response.status_code == 201, response.json()
        return self.issue(response.json()["id"], on)


@pytest.fixture(params=["services", "api"])
def steps(request, periods, finance, api_as):
    return Services(finance) if request.param == "services" else Api(api_as("finance"))


def test_a_usd_invoice_revalued_part_paid_credited_and_paid_matches_the_hand_computation(steps):
    usd_rates()
    contract, draft = usd_draft("1000.00")
    recognise_ahead(contract, "1000.00", date(2026, 1, 31))

    invoice = steps.issue(draft.pk, date(2026, 2, 2))
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (D("1000.00"), D("200.00"), D("1200.00"))
    assert (invoice.fx_rate, invoice.fx_rate_date) == (D("0.92"), date(2026, 2, 2))
    assert (invoice.functional_net, invoice.functional_tax, invoice.functional_gross) == (
        D("920.00"),
        D("184.00"),
        D("1104.00"),
    )
    issue = {line.account.system_role: line for line in invoice.journal_entry.lines.select_related("account")}
    assert (issue["receivable"].debit, issue["receivable"].amount_currency) == (D("1104.00"), D("1200.00"))
    assert (issue["unbilled"].credit, issue["fx_realised_gain"].credit) == (D("900.00"), D("20.00"))

    revalue(invoice, "36.00", date(2026, 2, 28), date(2026, 3, 1))
    assert entries_auto_reverse_due(today=date(2026, 3, 1)) == 1

    first = steps.pay(invoice.account_id, invoice.pk, "600.00", date(2026, 3, 10))
    assert (first.fx_rate, first.functional_amount, first.functional_allocated) == (
        D("0.90"),
        D("540.00"),
        D("540.00"),
    )
    (allocation,) = first.allocations.all()
    assert (allocation.functional, allocation.source_functional) == (D("552.00"), D("540.00"))

    note = steps.credit(invoice.pk, "100.00", date(2026, 3, 20))
    assert (note.functional_net, note.functional_tax, note.functional_gross) == (
        D("93.00"),
        D("18.60"),
        D("111.60"),
    )
    applied = PaymentAllocation.objects.get(credit_note=note)
    assert (applied.amount, applied.functional, applied.source_functional) == (
        D("120.00"),
        D("110.40"),
        D("111.60"),
    )

    last = steps.pay(invoice.account_id, invoice.pk, "480.00", date(2026, 4, 15))
    assert last.allocations.get().functional == D("441.60")

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == 0
    assert invoice.functional_settled == invoice.functional_gross == D("1104.00")
    project = {"client_id": invoice.account_id, "project_id": invoice.project_id}
    assert balance(SystemAccount.RECEIVABLE, **project) == 0
    assert currency_balance(SystemAccount.RECEIVABLE, **project) == 0
    assert balance(SystemAccount.RECEIVABLE) == 0 and currency_balance(SystemAccount.RECEIVABLE) == 0
    assert {role: balance(role) for role in SystemAccount if balance(role)} == {
        SystemAccount.CASH: D("991.20"),
        SystemAccount.TAX_PAYABLE: D("-165.40"),
        SystemAccount.UNBILLED: D("93.00"),
        SystemAccount.SERVICES_REVENUE: D("-900.00"),
        SystemAccount.FX_REALISED_GAIN: D("-30.80"),
        SystemAccount.FX_REALISED_LOSS: D("12.00"),
    }
    assert trial_balance(at=date(2026, 12, 31)).balanced
    rec = ledger_reconciliation()
    assert (rec["gl_receivable"], rec["open_balances"]) == (D("0.00"), D("0.00"))
    assert rec["gl_tax_payable"] == rec["invoiced_tax"] == D("165.40")


def test_open_foreign_balances_reconcile_to_ar_at_booked_rates_plus_revaluation_per_currency(periods, finance):
    usd_rates()
    _, draft = usd_draft("1000.00")
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 2))
    payment_record(
        by=finance, account_id=invoice.account_id, amount="300.00", received_on=date(2026, 3, 10), auto_allocate=False
    )
    revalue(invoice, "36.00", date(2026, 2, 28), date(2026, 3, 1))

    rec = ledger_reconciliation()
    # AR: 1,104.00 + 36.00 revaluation - 270.00 unapplied payment (300 USD at 0.90)
    assert rec["gl_receivable"] == D("870.00")
    assert rec["open_balances"] == D("834.00") and rec["revaluation"] == D("36.00")
    assert rec["reconciled"]
    (usd,) = [row for row in rec["currencies"] if row["currency"] == "USD"]
    assert (usd["gl_receivable"], usd["open_balances"], usd["revaluation"]) == (
        D("870.00"),
        D("834.00"),
        D("36.00"),
    )
    assert (usd["gl_amount"], usd["open_amount"]) == (D("900.00"), D("900.00"))


def test_a_yen_invoice_is_in_whole_yen_and_paid_at_another_rate_realises_the_difference(periods, finance):
    ExchangeRate.objects.create(currency="JPY", quote="EUR", date=date(2026, 2, 1), rate=D("0.0061"))
    ExchangeRate.objects.create(currency="JPY", quote="EUR", date=date(2026, 3, 1), rate=D("0.0062"))
    contract, _, _ = milestone_contract("100003", account=make_account(currency="JPY"))
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))

    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 2))

    # 20 % of 100,003 is 20,000.6: whole yen, 20,001
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (D("100003"), D("20001"), D("120004"))
    # 120,004 x 0.0061 = 732.0244; 20,001 x 0.0061 = 122.0061
    assert (invoice.functional_gross, invoice.functional_tax, invoice.functional_net) == (
        D("732.02"),
        D("122.01"),
        D("610.01"),
    )
    with pytest.raises(ValidationFailed, match="JPY"):
        payment_record(by=finance, account_id=invoice.account_id, amount="100.50", received_on=date(2026, 3, 2))

    payment = payment_record(by=finance, account_id=invoice.account_id, amount="120004", received_on=date(2026, 3, 2))

    assert payment.functional_amount == D("744.02")  # 120,004 x 0.0062 = 744.0248
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.functional_settled == D("732.02")
    assert balance(SystemAccount.FX_REALISED_GAIN) == D("-12.00")
    assert balance(SystemAccount.RECEIVABLE) == 0 and currency_balance(SystemAccount.RECEIVABLE) == 0
    assert trial_balance(at=date(2026, 12, 31)).balanced


def test_a_missing_rate_refuses_the_issue_naming_currency_and_date_and_takes_no_number(periods, api_as):
    api = api_as("finance")
    _, draft = usd_draft("1000.00")

    response = api.post(f"/api/v1/billing/invoices/{draft.pk}/issue/", {"issue_date": "2026-02-02"}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "missing_exchange_rate" and "USD" in body["message"] and "2026-02-02" in body["message"]
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT and draft.number is None and draft.functional_gross is None
    assert not JournalEntry.objects.exists()
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 2, 1), rate=D("0.92"))
    issued = invoice_issue(invoice_id=draft.pk, by=api.user, on=date(2026, 2, 2))
    assert issued.number.endswith("000001")  # the refused attempt took no number


def test_a_missing_rate_refuses_the_payment_naming_currency_and_date_and_writes_nothing(periods, finance, api_as):
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 2, 1), rate=D("0.92"))
    _, draft = usd_draft("1000.00")
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 2))
    entries = JournalEntry.objects.count()

    with pytest.raises(MissingRate, match="USD to EUR on or before 2026-01-15"):
        payment_record(by=finance, account_id=invoice.account_id, amount="100.00", received_on=date(2026, 1, 15))
    body = {"account": invoice.account_id, "amount": "100.00", "received_on": "2026-01-15"}
    response = api_as("finance").post("/api/v1/billing/payments/", body, format="json")

    assert response.status_code == 409 and "USD" in response.json()["message"]
    assert "2026-01-15" in response.json()["message"]
    assert not Payment.objects.exists() and JournalEntry.objects.count() == entries


def test_a_payment_in_another_currency_than_the_invoice_is_refused(periods, finance):
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 2, 1), rate=D("0.92"))
    ExchangeRate.objects.create(currency="GBP", quote="EUR", date=date(2026, 2, 1), rate=D("1.15"))
    _, draft = usd_draft("1000.00")
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 2))

    with pytest.raises(ValidationFailed, match="in USD and the payment in GBP"):
        payment_record(
            by=finance,
            account_id=invoice.account_id,
            amount="100.00",
            currency="GBP",
            received_on=date(2026, 2, 3),
            allocations=[{"invoice_id": invoice.pk, "amount": "100.00"}],
        )
    assert not Payment.objects.exists()


def test_a_foreign_write_off_leaves_ar_at_the_booked_rate_without_an_exchange_difference(periods, finance, finance2):
    usd_rates()
    _, draft = usd_draft("1000.00")
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 2))
    payment = payment_record(by=finance, account_id=invoice.account_id, amount="1000.00", received_on=date(2026, 3, 10))
    write_off = write_off_request(invoice_id=invoice.pk, by=finance, reason="Bank charges")

    write_off = write_off_approve(write_off_id=write_off.pk, by=finance2, on=date(2026, 3, 31))

    # paid 1,000 of 1,200: share round(1,104 x 1,000 / 1,200) = 920.00; the write-off takes the rest, 184.00
    assert payment.allocations.get().functional == D("920.00")
    assert write_off.functional == D("184.00")
    assert balance(SystemAccount.WRITE_OFFS) == D("184.00")
    assert balance(SystemAccount.RECEIVABLE) == 0 and currency_balance(SystemAccount.RECEIVABLE) == 0
    # the payment at 0.90 (900.00) settled 920.00 booked: a realised loss of 20.00, nothing on the write-off
    assert balance(SystemAccount.FX_REALISED_LOSS) == D("20.00")


def test_a_later_allocation_of_unapplied_credit_realises_the_difference(periods, finance):
    usd_rates()
    _, draft = usd_draft("1000.00")
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 2))
    payment = payment_record(
        by=finance, account_id=invoice.account_id, amount="1200.00", received_on=date(2026, 3, 20), auto_allocate=False
    )

    allocation = payment_allocate(payment_id=payment.pk, invoice_id=invoice.pk, amount="1200.00", by=finance)

    # 1,200 x 0.93 = 1,116.00 paid for 1,104.00 booked: a gain of 12.00
    assert (allocation.functional, allocation.source_functional) == (D("1104.00"), D("1116.00"))
    assert balance(SystemAccount.FX_REALISED_GAIN) == D("-12.00")
    assert balance(SystemAccount.RECEIVABLE) == 0


def test_issued_functional_amounts_are_immutable(periods, finance):
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 2, 1), rate=D("0.92"))
    _, draft = usd_draft("1000.00")
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 2))

    for field, value in (("fx_rate", D("0.5")), ("functional_gross", D("1.00")), ("fx_rate_date", date(2026, 1, 1))):
        with pytest.raises(Exception, match="is issued and cannot change"), transaction.atomic():
            Invoice.objects.filter(pk=invoice.pk).update(**{field: value})


def test_a_eur_invoice_keeps_rate_one_and_its_own_amounts(periods, finance):
    invoice = issued_invoice(finance, "1000.00")

    assert (invoice.fx_rate, invoice.fx_rate_date) == (D(1), None)
    assert invoice.functional_gross == invoice.gross_total == D("1200.00")
    receivable = invoice.journal_entry.lines.get(account__system_role=SystemAccount.RECEIVABLE)
    assert (receivable.currency, receivable.amount_currency, receivable.rate) == ("EUR", D("1200.00"), D(1))


def test_a_credit_note_amount_in_yen_must_be_whole_yen(periods, finance):
    ExchangeRate.objects.create(currency="JPY", quote="EUR", date=date(2026, 2, 1), rate=D("0.0061"))
    contract, _, _ = milestone_contract("100000", account=make_account(currency="JPY"))
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 2))

    with pytest.raises(ValidationFailed, match="whole JPY"):
        credit_note_create(invoice_id=invoice.pk, by=finance, amount=D("10.50"))


# --- e-invoice and PDF ------------------------------------------------------------------------------------------
CII = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


def test_a_usd_e_invoice_carries_the_vat_accounting_currency_and_its_vat_total_br_53(periods, finance):
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 2, 1), rate=D("0.92"))
    _, draft = usd_draft("855.00")
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 2))

    xml = documents.invoice_xml(invoice)

    documents.einvoice_validate(xml)  # the Factur-X EN 16931 XSD
    assert schematron_failures(xml) == []  # the EN 16931 schematron, BR-53 included
    without_bt_111 = xml.replace('<ram:TaxTotalAmount currencyID="EUR">157.32</ram:TaxTotalAmount>', "")
    assert any("BR-53" in failure for failure in schematron_failures(without_bt_111))
    root = etree.fromstring(xml.encode())
    settlement = root.find(".//ram:ApplicableHeaderTradeSettlement", CII)
    assert settlement.findtext("ram:TaxCurrencyCode", namespaces=CII) == "EUR"  # BT-6
    assert settlement.findtext("ram:InvoiceCurrencyCode", namespaces=CII) == "USD"  # BT-5
    totals = root.findall(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:TaxTotalAmount", CII)
    # BT-110 in the invoice currency, BT-111 in the accounting currency: 171.00 USD x 0.92 = 157.32 EUR
    assert [(t.get("currencyID"), t.text) for t in totals] == [("USD", "171.00"), ("EUR", "157.32")]
    # BR-53, as the EN 16931 CII schematron states it: with BT-6, a TaxTotalAmount in that currency exists
    assert root.xpath(
        "not(//ram:TaxCurrencyCode) or "
        "count(//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:TaxTotalAmount"
        "[@currencyID = //ram:TaxCurrencyCode]) = 1",
        namespaces=CII,
    )
    html = documents.invoice_html(invoice)
    assert "VAT in EUR at 1 USD = 0.92 EUR (2026-02-01)" in html and "157.32" in html


def test_a_eur_e_invoice_has_no_tax_currency(periods, finance):
    invoice = issued_invoice(finance, "1000.00")

    xml = documents.invoice_xml(invoice)

    documents.einvoice_validate(xml)
    assert schematron_failures(xml) == []
    assert "TaxCurrencyCode" not in xml and xml.count("<ram:TaxTotalAmount") == 1
    assert 'data-testid="vat-functional"' not in documents.invoice_html(invoice)


def test_a_yen_credit_note_e_invoice_is_valid(periods, finance):
    ExchangeRate.objects.create(currency="JPY", quote="EUR", date=date(2026, 2, 1), rate=D("0.0061"))
    contract, _, _ = milestone_contract("100003", account=make_account(currency="JPY"))
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 2))
    note = credit_note_create(invoice_id=invoice.pk, by=finance, amount=D("1000"))
    note = invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 3))

    xml = documents.invoice_xml(note)

    documents.einvoice_validate(xml)
    assert schematron_failures(xml) == []
    assert schematron_failures(documents.invoice_xml(invoice)) == []
    assert 'currencyID="EUR">1.22</ram:TaxTotalAmount>' in xml  # 200 JPY x 0.0061


# --- the settlement shares ----------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(
    total_cents=st.integers(min_value=1, max_value=10**9),
    rate=st.decimals(min_value=D("0.0001"), max_value=D("200"), places=4),
    cuts=st.lists(st.integers(min_value=1, max_value=10**9), max_size=8),
)
def test_settlement_shares_are_never_negative_and_sum_to_the_booked_value_exactly(total_cents, rate, cuts):
    total = D(total_cents) / 100
    functional = (total * rate).quantize(D("0.01"))
    # random settlement points in cents, ending at the whole amount
    points = [*sorted({c % total_cents for c in cuts} - {0}), total_cents]
    taken, shares = D(0), []
    for point in points:
        share = settled_share(functional=functional, total=total, settled_after=D(point) / 100, functional_before=taken)
        shares.append(share)
        taken += share
    assert taken == functional and all(share >= 0 for share in shares)
