"""Currencies and exchange rates in the kernel, and journal lines in two currencies (DESIGN.md invariant 11)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from ledger.choices import SystemAccount
from ledger.models import JournalLine
from ledger.services import account_code_for, entry_reverse
from ledger.services.contract_position import (
    ContractPosition,
    contract_position_split,
    position_fx_difference,
    position_split,
)
from ledger.services.posting import EntrySpec, LineSpec, entry_post, fx_difference_line, fx_line
from psa.core.currency import minor_unit, quantum
from psa.core.exceptions import ValidationFailed
from psa.core.fx import MissingRate, convert, rate_for, rates_for
from psa.core.models import ExchangeRate
from psa.core.money import round_amount
from tests.ledger.revenue_factories import books

D = Decimal
pytestmark = pytest.mark.django_db


def rate(currency: str, on: date, value: str) -> ExchangeRate:
    return ExchangeRate.objects.create(currency=currency, quote="EUR", date=on, rate=D(value))


# --- currencies -----------------------------------------------------------------------------------------------


def test_minor_units_come_from_iso_4217_and_amounts_round_to_them():
    assert (minor_unit("JPY"), minor_unit("EUR"), minor_unit("USD")) == (0, 2, 2)
    assert quantum("JPY") == D("1")
    assert round_amount(D("1234.5"), "JPY") == D("1235")
    assert round_amount(D("10.005"), "USD") == D("10.01")


def test_a_three_decimal_currency_and_an_unknown_code_are_refused_by_name():
    with pytest.raises(ValidationFailed, match="BHD has 3 decimal places"):
        minor_unit("BHD")
    with pytest.raises(ValidationFailed, match="'XXY' is not an ISO 4217"):
        minor_unit("XXY")


# --- rates ----------------------------------------------------------------------------------------------------


def test_the_rate_for_a_date_is_the_latest_on_or_before_it():
    rate("USD", date(2026, 3, 2), "0.9100")
    rate("USD", date(2026, 3, 5), "0.9200")
    assert rate_for(currency="USD", on=date(2026, 3, 4)).rate == D("0.9100")
    found = rate_for(currency="USD", on=date(2026, 3, 31))
    assert (found.rate, found.date) == (D("0.9200"), date(2026, 3, 5))
    assert found.label == "1 USD = 0.92 EUR (2026-03-05)"
    assert rate_for(currency="EUR", on=date(2026, 3, 1)).rate == 1


def test_a_missing_rate_is_refused_naming_the_currency_and_the_date_never_one_to_one():
    rate("USD", date(2026, 3, 5), "0.92")
    with pytest.raises(MissingRate, match=r"USD to EUR on or before 2026-03-04") as caught:
        rate_for(currency="USD", on=date(2026, 3, 4))
    assert caught.value.status == 409 and caught.value.code == "missing_exchange_rate"
    with pytest.raises(MissingRate, match="GBP"):
        rates_for(pairs=[("USD", date(2026, 3, 9)), ("GBP", date(2026, 3, 9))])


def test_rates_for_many_pairs_is_one_query(django_assert_num_queries):
    rate("USD", date(2026, 1, 1), "0.90")
    rate("USD", date(2026, 2, 1), "0.95")
    rate("JPY", date(2026, 1, 1), "0.0061")
    with django_assert_num_queries(1):
        found = rates_for(pairs=[("USD", date(2026, 1, 31)), ("USD", date(2026, 2, 28)), ("JPY", date(2026, 2, 1)),
                                 ("EUR", date(2026, 2, 1))])  # fmt: skip
    assert [found[k].rate for k in sorted(found)] == [D(1), D("0.0061"), D("0.90"), D("0.95")]
    assert convert(amount=D("1000"), rate=found[("JPY", date(2026, 2, 1))]) == D("6.10")


def test_the_database_refuses_a_rate_that_is_not_positive():
    with pytest.raises(IntegrityError, match="fx_rate_positive"), transaction.atomic():
        rate("USD", date(2026, 1, 1), "0")


# --- journal lines in two currencies --------------------------------------------------------------------------


@pytest.fixture
def ledger_books():
    books()


def test_a_foreign_line_keeps_its_currency_amount_and_rate_and_the_entry_balances_in_the_functional_currency(
    ledger_books,
):
    usd = rate("USD", date(2026, 3, 1), "0.9")
    ar, revenue = account_code_for(SystemAccount.RECEIVABLE), account_code_for(SystemAccount.SERVICES_REVENUE)
    found = rate_for(currency="USD", on=date(2026, 3, 10))
    entry = entry_post(
        spec=EntrySpec(
            date=date(2026, 3, 10),
            memo="USD sale",
            lines=(fx_line(ar, debit=D("1000.00"), rate=found), fx_line(revenue, credit=D("1000.00"), rate=found)),
        ),
        key="fx-test:1",
    )
    lines = list(entry.lines.order_by("line_no").values_list("currency", "amount_currency", "rate", "debit", "credit"))
    assert lines == [
        ("USD", D("1000.00"), usd.rate, D("900.00"), D("0")),
        ("USD", D("1000.00"), usd.rate, D("0"), D("900.00")),
    ]
    reversal = entry_reverse(entry_id=entry.pk, on=date(2026, 3, 11))
    assert list(reversal.lines.order_by("line_no").values_list("currency", "amount_currency", "debit")) == [
        ("USD", D("1000.00"), D("0")),
        ("USD", D("1000.00"), D("900.00")),
    ]


def test_functional_lines_have_their_own_amount_at_rate_one(ledger_books):
    entry = entry_post(
        spec=EntrySpec(
            date=date(2026, 3, 10),
            memo="EUR",
            lines=(LineSpec("1000", debit=D("5.00")), LineSpec("3000", credit=D("5.00"))),
        ),
        key="fx-test:eur",
    )
    assert set(entry.lines.values_list("currency", "amount_currency", "rate")) == {("EUR", D("5.00"), D(1))}


def test_an_entry_all_in_one_foreign_currency_must_balance_in_it(ledger_books):
    with pytest.raises(ValidationFailed, match="In USD the debits"):
        entry_post(
            spec=EntrySpec(
                date=date(2026, 3, 10),
                memo="unbalanced in USD",
                lines=(
                    LineSpec("1000", debit=D("90.00"), currency="USD", amount_currency=D("100.00"), rate=D("0.9")),
                    LineSpec("3000", credit=D("90.00"), currency="USD", amount_currency=D("101.00"), rate=D("0.9")),
                ),
            ),
            key="fx-test:bad",
        )
    assert not JournalLine.objects.exists()


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        (dict(currency="USD", amount_currency=D("10.001"), rate=D("0.9")), "amount_currency", "2 decimal places"),
        (dict(currency="JPY", amount_currency=D("10.5"), rate=D("0.006")), "amount_currency", "0 decimal places"),
        (dict(currency="USD", amount_currency=D("10"), rate=None), "rate", "needs the exchange rate"),
        (dict(currency="USD", amount_currency=D("10"), rate=D("0")), "rate", "greater than zero"),
        (dict(currency="BHD", amount_currency=D("10"), rate=D("2")), "currency", "3 decimal places"),
        (dict(currency="EUR", amount_currency=D("11")), "amount_currency", "one amount"),
    ],
)
def test_a_bad_transaction_amount_or_rate_is_refused_naming_the_line(ledger_books, line, field, message):
    with pytest.raises(ValidationFailed) as caught:
        entry_post(
            spec=EntrySpec(
                date=date(2026, 3, 10),
                memo="bad",
                lines=(LineSpec("1000", debit=D("9.00"), **line), LineSpec("3000", credit=D("9.00"))),
            ),
            key="fx-test:bad-line",
        )
    assert message in " ".join(caught.value.fields[f"lines[0].{field}"])


def test_an_exchange_difference_line_moves_only_the_functional_amount(ledger_books):
    gain = account_code_for(SystemAccount.FX_UNREALISED_GAIN)
    entry = entry_post(
        spec=EntrySpec(
            date=date(2026, 3, 31),
            memo="revaluation",
            lines=(
                fx_difference_line(account_code_for(SystemAccount.RECEIVABLE), currency="USD", debit=D("12.34")),
                LineSpec(gain, credit=D("12.34")),
            ),
        ),
        key="fx-test:diff",
    )
    assert entry.lines.get(line_no=1).amount_currency == 0


# --- the contract position in a foreign currency (IFRIC 22) ----------------------------------------------------


def test_an_invoice_relieves_unbilled_receivable_at_its_booked_value_and_the_difference_is_an_exchange_gain():
    # 1,000.00 USD recognised at 0.90 = 900.00 EUR unbilled; an invoice of 1,200.00 USD net at 0.95.
    position = ContractPosition(unbilled=D("1000.00"), unbilled_booked=D("900.00"), currency="USD")
    rate("USD", date(2026, 2, 10), "0.95")
    parts = position_split(amount=D("-1200.00"), position=position, rate=rate_for(currency="USD", on=date(2026, 2, 10)))
    assert [(p.role, p.amount, p.value, p.debit) for p in parts] == [
        (SystemAccount.UNBILLED, D("1000.00"), D("900.00"), False),
        (SystemAccount.DEFERRED, D("200.00"), D("190.00"), False),
    ]
    # The invoice's net at its own rate is 1,140.00 EUR: 50.00 more than what it relieves and opens.
    assert position_fx_difference(parts=parts, functional_net=D("1140.00"), debit=False) == (
        SystemAccount.FX_REALISED_GAIN,
        D("50.00"),
        False,
    )


def test_revenue_released_from_deferred_revenue_takes_the_rate_of_the_deferral_in_proportion():
    # An advance of 1,000.00 USD invoiced at 0.95 (950.00 EUR deferred); 300.00 USD recognised at 0.90.
    position = ContractPosition(deferred=D("1000.00"), deferred_booked=D("950.00"), currency="USD")
    rate("USD", date(2026, 1, 31), "0.90")
    found = rate_for(currency="USD", on=date(2026, 1, 31))
    parts = position_split(amount=D("300.00"), position=position, rate=found)
    assert [(p.role, p.value) for p in parts] == [(SystemAccount.DEFERRED, D("285.00"))]
    # Beyond the advance, revenue is recognised at the recognition date's rate.
    parts = position_split(amount=D("1100.00"), position=position, rate=found)
    assert [(p.role, p.amount, p.value) for p in parts] == [
        (SystemAccount.DEFERRED, D("1000.00"), D("950.00")),
        (SystemAccount.UNBILLED, D("100.00"), D("90.00")),
    ]


def test_a_credit_note_worth_less_than_the_deferred_revenue_it_relieves_is_an_exchange_gain():
    position = ContractPosition(deferred=D("100.00"), deferred_booked=D("95.00"), currency="USD")
    rate("USD", date(2026, 4, 1), "0.80")
    parts = position_split(amount=D("100.00"), position=position, rate=rate_for(currency="USD", on=date(2026, 4, 1)))
    # The credit note debits the position 95.00 (booked) but is worth 80.00 at its own rate: 15.00 gain (credit).
    assert position_fx_difference(parts=parts, functional_net=D("80.00"), debit=True) == (
        SystemAccount.FX_REALISED_GAIN,
        D("15.00"),
        False,
    )


def test_a_functional_contract_splits_as_before():
    parts = contract_position_split(project_id=None, on=date(2026, 1, 1), amount=D("-10.00"))
    assert [(p.role, p.amount, p.value) for p in parts] == [(SystemAccount.DEFERRED, D("10.00"), D("10.00"))]
