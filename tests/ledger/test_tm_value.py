"""Billing and recognition value approved work the same way, so the contract position ends at zero.

T&M time is valued per contract line x role x rate, rounded once per group (what an invoice line bills), not
per entry; a re-billed expense is revenue when it is billable, whatever the method of its contract line."""

from datetime import date

import pytest

from billing.services import billing_schedule_generate
from ledger.choices import SystemAccount
from ledger.services.revenue import estimate_set, recognition_run
from tests.billing.factories import make_contract, make_line
from tests.ledger.revenue_factories import (
    D,
    approved_expense,
    approved_time,
    books,
    consultant,
    gl,
    invoice,
    period,
    revenue,
    zero_tax_account,
)

pytestmark = pytest.mark.django_db

UNBILLED, DEFERRED = SystemAccount.UNBILLED, SystemAccount.DEFERRED
JAN = date(2026, 1, 31)


@pytest.fixture
def finance(make_user):
    books()
    return make_user("finance")


@pytest.mark.parametrize(
    ("hours", "rate", "value"),
    [
        (["0.25", "0.25"], "150.50", "75.25"),  # per entry: 2 x 37.63 = 75.26
        (["0.10", "0.10", "0.10"], "141.75", "42.53"),  # per entry: 3 x 14.18 = 42.54
    ],
)
def test_tm_time_is_recognised_as_invoiced_and_the_contract_position_ends_at_zero(finance, hours, rate, value):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "tm", price="0.00")
    project, who = contract.project, consultant()
    for day, h in enumerate(hours, start=5):
        approved_time(project, line, date(2026, 1, day), h, rate=rate, who=who)

    billed = invoice(contract, JAN, JAN, finance)
    recognition_run(period_id=period(JAN).pk, by=finance)

    assert billed.net_total == D(value)
    assert revenue(project) == D(value)
    assert gl(UNBILLED, project) == D("0.00")
    assert gl(DEFERRED, project) == D("0.00")


def test_a_rebilled_expense_on_a_fixed_fee_line_is_recognised_when_billable(finance):
    """Price 1,000 + a 20.00 re-billed expense: invoiced 1,020.00, recognised 1,020.00 at 100 % complete."""
    contract = make_contract(zero_tax_account(), start=date(2026, 1, 1), end=date(2026, 1, 31))
    line = make_line(contract, "fixed_fee", price="1000.00", hours=D("10"))
    project = contract.project
    billing_schedule_generate(contract_line_id=line.pk, by=finance)
    approved_time(project, line, date(2026, 1, 12), "10.00", billable=False)  # fixed fee: hours bill nothing
    approved_expense(project, line, date(2026, 1, 13), "20.00")
    estimate_set(project_id=project.pk, etc_hours="0", as_of=JAN, by=finance)

    billed = invoice(contract, JAN, JAN, finance)
    recognition_run(period_id=period(JAN).pk, by=finance)

    assert billed.net_total == D("1020.00")
    assert revenue(project) == D("1020.00")
    assert gl(DEFERRED, project) == D("0.00")
    assert gl(UNBILLED, project) == D("0.00")
