"""The VAT return: output tax by category and rate in the functional currency (invoices less credit notes, a
foreign-currency invoice at its booked rate), reverse-charge and not-subject turnover apart, equal to the
tax-payable account's movements of the period; the finance page and endpoint, their refusals and query budget."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from billing.choices import TaxKind
from billing.selectors import vat_return
from billing.services import credit_note_create, invoice_draft_for_contract, invoice_issue
from ledger.choices import SystemAccount
from ledger.services import EntrySpec, account_code_for, entry_post
from ledger.services.posting import LineSpec
from projects.models import Contract
from psa.core.entities import bank_account_add, entity_create, entity_default_id
from psa.core.models import ExchangeRate
from tests.billing.factories import make_account, milestone_contract
from tests.querycount import count_queries

D = Decimal
pytestmark = pytest.mark.django_db
FEB = (date(2026, 2, 1), date(2026, 2, 28))


def _issue(account, amount: str, *, by, on: date, service_end: date = date(2026, 1, 31)):
    contract, _, _ = milestone_contract(amount, account=account, on=service_end)
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=service_end)
    return invoice_issue(invoice_id=draft.pk, by=by, on=on)


@pytest.fixture
def firm(periods, finance, de_seller):
    """A German seller's February: two German clients (one billed in USD), a French business (reverse charge),
    a US business (not subject), a credit note on the first German invoice, and a January invoice outside the
    period."""
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 2, 3), rate=D("0.92"))
    german = make_account(country="DE", tax_id="DE811234565")
    _issue(german, "400.00", by=finance, on=date(2026, 1, 30))  # January: not in February's return
    first = _issue(german, "1000.00", by=finance, on=date(2026, 2, 2))
    usd = _issue(
        make_account(country="DE", tax_id="DE298765435", currency="USD"), "1000.00", by=finance, on=date(2026, 2, 3)
    )
    _issue(make_account(country="FR", tax_id="FR40303265045"), "500.00", by=finance, on=date(2026, 2, 4))
    _issue(make_account(country="US", tax_id=""), "300.00", by=finance, on=date(2026, 2, 5))
    note = credit_note_create(invoice_id=first.pk, by=finance, amount=D("100.00"), reason="Discount")
    invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 6))
    return {"usd": usd}


def test_the_return_splits_output_tax_by_rate_and_reconciles_to_tax_payable(firm):
    result = vat_return(start=FEB[0], end=FEB[1], entity_id=entity_default_id())
    usd = firm["usd"]
    # The USD invoice at its booked rate: 190 USD of tax x 0.92 = 174.80 EUR; net 1,190 x 0.92 - 174.80 = 920.00
    assert (usd.functional_tax, usd.functional_net) == (D("174.80"), D("920.00"))
    [standard] = result.output
    assert (standard.kind, standard.rate) == (TaxKind.STANDARD, D("19.00"))
    assert standard.basis == D("1000.00") + D("920.00") - D("100.00")
    assert standard.tax == D("190.00") + D("174.80") - D("19.00")
    assert standard.documents == 3
    assert result.reverse_charge is not None and result.reverse_charge.basis == D("500.00")
    assert result.not_subject is not None and result.not_subject.basis == D("300.00")
    assert result.reverse_charge.tax == 0 and result.not_subject.tax == 0
    assert result.documents == 5
    # The output tax is what the tax-payable account moved in February
    assert result.ledger_tax == result.output_tax == D("345.80")
    assert result.reconciled and result.currency == "EUR"


def test_a_posting_to_tax_payable_that_is_no_documents_tax_shows_as_a_difference(firm):
    entry_post(
        spec=EntrySpec(
            date=date(2026, 2, 10),
            memo="Manual VAT correction",
            lines=[
                LineSpec(account_code_for(SystemAccount.TAX_PAYABLE), credit=D("5.00")),
                LineSpec(account_code_for(SystemAccount.CASH), debit=D("5.00")),
            ],
        ),
        key="test:manual-vat",
    )
    result = vat_return(start=FEB[0], end=FEB[1], entity_id=entity_default_id())
    assert result.difference == D("5.00") and not result.reconciled


def test_the_page_shows_the_return_to_finance_and_refuses_others(firm, client_as):
    page = client_as("finance").get(reverse("billing:vat-return"), {"month": "2026-02"})
    text = page.content.decode()
    assert page.status_code == 200 and "Reconciled" in text and "345.80" in text and "Reverse charge (AE)" in text
    for role in ("sales", "consultant", "client"):
        assert client_as(role).get(reverse("billing:vat-return")).status_code == 403


def test_a_bad_month_on_the_page_shows_last_month_with_a_message(db, client_as):
    page = client_as("finance").get(reverse("billing:vat-return"), {"month": "2026-13"}, follow=True)
    assert page.status_code == 200 and "is not a month" in page.content.decode()


def test_the_endpoint_answers_finance_refuses_others_and_bad_months(firm, api_as):
    body = api_as("finance").get("/api/v1/billing/vat-return/", {"month": "2026-02"}).json()
    assert body["output_tax"] == "345.80" and body["ledger_tax"] == "345.80" and body["reconciled"] is True
    assert body["output"][0]["rate"] == "19.00" and body["reverse_charge"]["basis"] == "500.00"
    assert body["not_subject"]["basis"] == "300.00" and body["start"] == "2026-02-01"
    assert api_as("sales").get("/api/v1/billing/vat-return/").status_code == 403
    bad = api_as("finance").get("/api/v1/billing/vat-return/", {"month": "February"})
    assert bad.status_code == 400 and "month" in bad.json()["fields"]


def test_the_page_and_endpoint_cost_the_same_queries_at_two_sizes(periods, finance, de_seller, client_as, api_as):
    page, api = client_as("finance"), api_as("finance")
    german = make_account(country="DE", tax_id="DE811234565")
    day = iter(range(2, 28))

    def counts():
        return (
            count_queries(lambda: page.get(reverse("billing:vat-return"), {"month": "2026-02"}), status=200)[0],
            count_queries(lambda: api.get("/api/v1/billing/vat-return/", {"month": "2026-02"}), status=200)[0],
        )

    _issue(german, "100.00", by=finance, on=date(2026, 2, next(day)))
    counts()  # the first request of each client reads its user's roles once
    small = counts()
    for _ in range(6):
        _issue(make_account(country="FR", tax_id="FR40303265045"), "100.00", by=finance, on=date(2026, 2, next(day)))
        _issue(german, "100.00", by=finance, on=date(2026, 2, next(day)))
    assert counts() == small


def test_each_entity_files_its_own_return_reconciled_to_its_own_books(firm, finance, api_as):
    # Given a UK entity of the same firm that invoices a UK client in February
    uk = entity_create(
        by=finance,
        values={
            "code": "UK", "series_prefix": "GB", "name": "Northwind UK", "legal_name": "Northwind Consulting UK Ltd",
            "street": "1 King Street", "postcode": "EC2V 8AU", "city": "London", "country": "GB",
            "vat_id": "GB123456727", "functional_currency": "EUR",
        },
    )  # fmt: skip
    bank_account_add(by=finance, entity_id=uk.pk, iban="GB29NWBK60161331926819", currency="EUR")
    contract, _, _ = milestone_contract("200.00", account=make_account(country="GB", tax_id="GB980780684"))
    Contract.objects.filter(pk=contract.pk).update(entity=uk)
    contract.refresh_from_db()
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 10))
    # Then the UK's return holds its own invoice at the UK rate, reconciled to its own tax payable
    uk_return = vat_return(start=FEB[0], end=FEB[1], entity_id=uk.pk)
    [standard] = uk_return.output
    assert (standard.rate, standard.basis, standard.tax) == (D("20.00"), D("200.00"), D("40.00"))
    assert uk_return.reconciled and uk_return.ledger_tax == D("40.00") and uk_return.documents == 1
    # And the German entity's return is unchanged by it
    home = vat_return(start=FEB[0], end=FEB[1], entity_id=entity_default_id())
    assert home.output_tax == home.ledger_tax == D("345.80")
    # The endpoint answers per entity and refuses an unknown one naming the field
    api = api_as("finance")
    body = api.get("/api/v1/billing/vat-return/", {"month": "2026-02", "entity": uk.pk}).json()
    assert (body["entity"], body["output_tax"]) == (uk.pk, "40.00")
    refused = api.get("/api/v1/billing/vat-return/", {"month": "2026-02", "entity": "999999"})
    assert refused.status_code == 400 and "entity" in refused.json()["fields"]
