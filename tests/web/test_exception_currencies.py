"""The exception queue's money figures state their currency: unbilled time in the project's, caps in the
contract's, invoices in their own; invoice outliers compare invoices of one currency only; an estimate at
completion (cost, functional) is compared with a foreign price converted at the scan day's named rate."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from billing.services import invoice_draft_for_contract, invoice_issue
from ledger.services.revenue import estimate_set
from projects.models import Contract, Project
from psa.core.models import ExchangeRate
from psa.web.exception_queue import (
    exception_scan,
    rule_cap_approaching,
    rule_estimate_over_price,
    rule_invoice_outlier,
    rule_unbilled_ageing,
)
from tests.billing.factories import (
    accept_milestone,
    approved_entry,
    make_account,
    make_consultant,
    make_contract,
    make_line,
    make_periods,
    tm_contract,
)
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 15)


@pytest.fixture
def periods(db):
    return make_periods(start=date(2026, 1, 1), through=date(2026, 12, 31))


@pytest.fixture
def usd_rate(db):
    return ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 1, 2), rate=Decimal("0.9"))


def _usd(contract):
    """Turn a fresh contract and its project into USD ones (before anything is billed)."""
    Contract.objects.filter(pk=contract.pk).update(currency="USD")
    Project.objects.filter(pk=contract.project_id).update(currency="USD")
    contract.refresh_from_db()
    return contract


def test_unbilled_time_and_a_cap_state_the_projects_and_contracts_currency(client_as, periods):
    account = make_account(currency="USD")
    _contract, line = tm_contract(account=account, cap="1000.00")
    ada = make_consultant()
    approved_entry(line, ada, AS_OF - timedelta(days=31), "5", "100")
    approved_entry(line, ada, AS_OF - timedelta(days=45), "2.5", "120")
    (ageing,) = rule_unbilled_ageing(AS_OF)
    assert (ageing.amount, ageing.currency) == (Decimal("800.00"), "USD")
    (cap,) = rule_cap_approaching(AS_OF)
    assert (cap.amount, cap.currency) == (Decimal("800.00"), "USD") and cap.detail.startswith("USD 800.00 of")
    page = client_as("finance").get("/exceptions/")
    assert page.status_code == 200
    assert "· USD 800.00" in " ".join(re.sub(r"<[^>]+>", " ", page.content.decode()).split())


def _issued(contract, amount: str, on: date, finance):
    line = make_line(contract, "milestone", price=amount)
    accept_milestone(line, amount, on=on - timedelta(days=1))
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=on)
    return invoice_issue(invoice_id=draft.pk, by=finance, on=on)


def test_an_invoice_is_compared_only_with_the_accounts_invoices_in_its_own_currency(periods, usd_rate, make_user):
    finance = make_user("finance")
    account = make_account()
    eur, usd = make_contract(account), _usd(make_contract(account))
    for month, (e, u) in enumerate((("900.00", "5000.00"), ("1000.00", "5100.00"), ("1100.00", "4900.00")), start=1):
        _issued(eur, e, date(2026, month, 10), finance)  # EUR: mean 1,000.00, sigma 81.65
        _issued(usd, u, date(2026, month, 12), finance)  # USD: mean 5,000.00, sigma 81.65
    usual = _issued(usd, "5100.00", AS_OF - timedelta(days=6), finance)  # usual for USD
    odd = _issued(eur, "1300.00", AS_OF - timedelta(days=5), finance)  # 300 off > 244.95 in EUR
    assert usual.currency == "USD"

    items = rule_invoice_outlier(AS_OF)
    # Mixed together (mean 3,000, sigma about 2,000) neither would stand out; per currency the EUR one does.
    assert [(i.key, i.currency) for i in items] == [(f"invoice:{odd.pk}", "EUR")]
    assert "EUR invoices average 1,000.00 ± 81.65 (3 before)" in items[0].detail


def _estimated(make_user, etc_cost: str):
    contract, line = tm_contract()  # price 100,000.00
    _usd(contract)
    ada = make_consultant()
    for i in range(10):  # 10 x 8 h at cost 60 = 4,800.00 cost to date (functional)
        approved_entry(line, ada, AS_OF - timedelta(days=20 + i), "8", "100")
    estimate_set(
        by=make_user("finance"), project_id=contract.project_id, etc_hours=Decimal("100"),
        etc_cost=Decimal(etc_cost), as_of=AS_OF,
    )  # fmt: skip
    return contract


def test_a_foreign_price_is_converted_at_the_named_rate_before_the_estimate_is_compared(make_user, usd_rate):
    _estimated(make_user, "85300.00")  # 4,800 + 85,300 = 90,100 > USD 100,000 x 0.9 = 90,000
    (item,) = rule_estimate_over_price(AS_OF)
    assert (item.amount, item.currency) == (Decimal("100.00"), "EUR")
    assert "EUR 90,100.00 > price EUR 90,000.00" in item.title
    assert "price converted at 1 USD = 0.9 EUR (rates of 2026-01-02)" in item.detail


def test_without_a_rate_a_foreign_price_is_not_compared_and_the_page_still_answers(client_as, make_user):
    _estimated(make_user, "85300.00")
    assert rule_estimate_over_price(AS_OF) == []
    assert client_as("finance").get("/exceptions/").status_code == 200


def test_the_scan_reads_the_same_queries_with_more_currencies(periods, usd_rate, make_user):
    def build(n):
        for _ in range(n):
            contract = _estimated(make_user, "95300.00")
            approved_entry(contract.lines.first(), make_consultant(), AS_OF - timedelta(days=40), "5", "100")

    build(1)
    small, _ = count_queries(lambda: exception_scan(as_of=AS_OF))
    build(4)
    large, scan = count_queries(lambda: exception_scan(as_of=AS_OF))
    assert large == small and len(scan.open["estimate_over_price"]) == 5
