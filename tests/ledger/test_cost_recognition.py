"""Percent complete by cost measures the cost the labour cost run posts (ledger.selectors.project_cost), and the
worked cases of test_recognition.py, with their costs now posted, give the same revenue and show gross profit in
the GL (revenue - project cost on the project's dimension)."""

from datetime import date

import pytest

from ledger.choices import LOSS_PROVISION_CODE, RecognitionMethod, SystemAccount
from ledger.models import RevenueSchedule
from ledger.selectors.project_cost import project_cost_to_date
from ledger.services.cost_posting import cost_posting_run
from ledger.services.posting import EntrySpec, LineSpec, entry_post
from ledger.services.revenue import estimate_set, recognition_run, revenue_schedule_method_set, revenue_schedules_ensure
from psa.core.rates import exchange_rate_set
from tests.billing.factories import make_contract, make_line
from tests.ledger.cost_factories import person, project_cost, vendor
from tests.ledger.revenue_factories import (
    D,
    approved_time,
    books,
    close,
    gl,
    gl_code,
    period,
    revenue,
    zero_tax_account,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(make_user):
    books()
    return make_user("finance")


def gross_profit(project) -> D:
    return revenue(project) - project_cost(project)


def _month_end(on: date, finance) -> None:
    """Month-end in the order finance runs it: labour cost, recognition, close."""
    cost_posting_run(period_id=period(on).pk, by=finance)
    recognition_run(period_id=period(on).pk, by=finance)
    close(on, finance)


def test_fixed_fee_hours_to_hours_same_revenue_and_gross_profit_in_the_gl(finance):
    """The worked case (price 10,000; 40 h, then 80 h of an EAC of 150, then done) at a cost of 60 an hour:
    revenue 4,000 / 5,333.33 / 10,000 as before; cost 2,400 / 4,800 / 9,000; gross profit 1,600 / 533.33 /
    1,000."""
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "fixed_fee", price="10000.00", hours=D("100"))
    project = contract.project
    jan, feb, mar = date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)
    for day in (15, 16, 19, 20, 21):
        approved_time(project, line, date(2026, 1, day), "8.00")
    estimate_set(project_id=project.pk, etc_hours="60", as_of=jan, by=finance)
    _month_end(jan, finance)
    assert revenue(project) == D("4000.00") and project_cost(project) == D("2400.00")
    assert gross_profit(project) == D("1600.00")

    for day in (2, 3, 4, 5, 6):
        approved_time(project, line, date(2026, 2, day), "8.00")
    estimate_set(project_id=project.pk, etc_hours="70", as_of=feb, by=finance)
    _month_end(feb, finance)
    assert revenue(project) == D("5333.33") and gross_profit(project) == D("533.33")

    for day in (2, 3, 4, 5, 6, 9, 10, 11, 12):
        approved_time(project, line, date(2026, 3, day), "7.75" if day != 12 else "8.00")
    estimate_set(project_id=project.pk, etc_hours="0", as_of=mar, by=finance)
    _month_end(mar, finance)
    assert revenue(project) == D("10000.00") and project_cost(project) == D("9000.00")
    assert gross_profit(project) == D("1000.00")


def test_cost_to_cost_with_a_loss_same_revenue_and_the_whole_loss_in_the_gl(finance):
    """Price 1,000; 10 h at 60 = 600 spent, 600 to go: revenue 500 and provision 100 as before; with the cost
    posted the GL shows the whole expected loss of 200 (500 - 600 - 100)."""
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "fixed_fee", price="1000.00", hours=D("20"))
    project = contract.project
    revenue_schedules_ensure()
    schedule = RevenueSchedule.objects.get(contract_line=line)
    revenue_schedule_method_set(schedule_id=schedule.pk, method=RecognitionMethod.PERCENT_COST, by=finance)
    approved_time(project, line, date(2026, 4, 6), "10.00", cost="60")
    estimate_set(project_id=project.pk, etc_hours="10", etc_cost="600.00", as_of=date(2026, 4, 30), by=finance)

    cost_posting_run(period_id=period(date(2026, 4, 1)).pk, by=finance)
    recognition_run(period_id=period(date(2026, 4, 1)).pk, by=finance)

    assert revenue(project) == D("500.00")
    assert gl_code(LOSS_PROVISION_CODE, project) == D("-100.00")
    assert gl(SystemAccount.COST_OF_SERVICES, project) == D("700.00")  # 600 labour + 100 provision
    assert gross_profit(project) == D("-200.00")


def test_cost_to_date_counts_subcontractors_in_their_currency_and_vendor_bills_in_the_gl(finance):
    """Progress by cost: 10 h employee at 50 (500) + 10 h subcontractor at 40 GBP x 1.25 (500) + a vendor bill of
    1,000 on the project = 2,000 of an EAC of 4,000 -> 50 % of 8,000 = 4,000."""
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "fixed_fee", price="8000.00", hours=D("100"))
    project = contract.project
    revenue_schedules_ensure()
    schedule = RevenueSchedule.objects.get(contract_line=line)
    revenue_schedule_method_set(schedule_id=schedule.pk, method=RecognitionMethod.PERCENT_COST, by=finance)
    exchange_rate_set(currency="GBP", on=date(2026, 5, 29), rate="1.25", by=None)
    approved_time(project, line, date(2026, 5, 4), "10.00", cost="50")
    approved_time(project, line, date(2026, 5, 5), "10.00", cost="40", who=person(supplier=vendor("GBP", "40")))
    entry_post(
        spec=EntrySpec(
            date=date(2026, 5, 20),
            memo="Vendor bill (the accounts payable side posts these)",
            source="vendor-bill:1",
            lines=(
                LineSpec("5000", debit=D("1000.00"), project_id=project.pk),
                LineSpec("2000", credit=D("1000.00")),
            ),
        ),
        key="test:vendor-bill:1",
    )
    estimate_set(project_id=project.pk, etc_hours="0", etc_cost="2000.00", as_of=date(2026, 5, 31), by=finance)

    cost = project_cost_to_date([project.pk], as_of=date(2026, 5, 31))[project.pk]
    assert cost.cost == D("2000.00") and not cost.error
    cost_posting_run(period_id=period(date(2026, 5, 1)).pk, by=finance)
    run = recognition_run(period_id=period(date(2026, 5, 1)).pk, by=finance)

    assert run.errors == []
    assert revenue(project) == D("4000.00")
    assert project_cost(project) == D("2000.00")  # labour 500 + subcontractor 500 + the bill 1,000: the same cost
    assert gross_profit(project) == D("2000.00")


def test_a_missing_cost_rate_is_the_schedules_error_not_a_guess(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "fixed_fee", price="1000.00", hours=D("10"))
    revenue_schedules_ensure()
    schedule = RevenueSchedule.objects.get(contract_line=line)
    revenue_schedule_method_set(schedule_id=schedule.pk, method=RecognitionMethod.PERCENT_COST, by=finance)
    approved_time(contract.project, line, date(2026, 6, 2), "5.00", cost="40", who=person(currency="CHF"))
    estimate_set(project_id=contract.project.pk, etc_hours="5", etc_cost="200", as_of=date(2026, 6, 30), by=finance)
    run = recognition_run(period_id=period(date(2026, 6, 1)).pk, by=finance)
    assert len(run.errors) == 1 and "CHF" in str(run.errors[0]) and revenue(contract.project) == D("0")
