"""Revenue recognition: the issue's three worked cases, computed by hand, and the run's idempotency.

Amounts are written out in the tests; balances are read straight from the journal (debit-positive)."""

from datetime import date

import pytest

from ledger.choices import LOSS_PROVISION_CODE, RecognitionMethod, SystemAccount
from ledger.models import JournalEntry, Recognition, RevenueSchedule
from ledger.services.revenue import (
    estimate_set,
    plan_equal,
    recognition_run,
    revenue_schedule_method_set,
    revenue_schedules_ensure,
)
from projects.models import Milestone
from tests.billing.factories import accept_milestone, make_contract, make_line
from tests.ledger.revenue_factories import (
    D,
    approved_expense,
    approved_time,
    books,
    close,
    gl,
    gl_code,
    invoice,
    period,
    revenue,
    zero_tax_account,
)

pytestmark = pytest.mark.django_db

UNBILLED, DEFERRED, AR = SystemAccount.UNBILLED, SystemAccount.DEFERRED, SystemAccount.RECEIVABLE


@pytest.fixture
def finance(make_user):
    books()
    return make_user("finance")


def month_ends_2026() -> list[date]:
    return [period(date(2026, m, 1)).end for m in range(1, 13)]


def test_straight_line_plan_is_equal_cents_with_the_remainder_in_the_last_month():
    plan = plan_equal(D("1000.00"), date(2026, 1, 1), date(2026, 12, 31))
    assert [a for _, a in plan] == [D("83.33")] * 11 + [D("83.37")]
    assert plan[0][0] == date(2026, 1, 1) and plan[-1][0] == date(2026, 12, 1)


def test_retainer_billed_in_advance_recognises_1000_a_month_and_empties_deferred_revenue(finance):
    """12,000 billed on 1 January for the year: 1,000 revenue each month; deferred 11,000 after January, 0 at
    the end."""
    from billing.services import billing_schedule_generate

    contract = make_contract(zero_tax_account())
    line = make_line(contract, "retainer", price="12000.00")
    billing_schedule_generate(contract_line_id=line.pk, by=finance)
    invoice(contract, date(2026, 12, 31), date(2026, 1, 1), finance)
    project = contract.project
    assert gl(DEFERRED, project) == D("-12000.00")

    for month, end in enumerate(month_ends_2026(), start=1):
        run = recognition_run(period_id=period(end).pk, by=finance)
        assert run.status == "done", run.errors
        assert revenue(project, end) == D("1000.00") * month
        assert gl(DEFERRED, project) == D("-12000.00") + D("1000.00") * month
        assert gl(UNBILLED, project) == D("0.00")
        if month == 1:
            assert gl(DEFERRED, project) == D("-11000.00")
        close(end, finance)
    assert gl(DEFERRED, project) == D("0.00")
    assert revenue(project) == D("12000.00")
    schedule = RevenueSchedule.objects.get(contract_line=line)
    assert schedule.method == RecognitionMethod.STRAIGHT_LINE and schedule.recognised == D("12000.00")


def test_two_milestones_recognise_unbilled_then_the_invoice_relieves_it(finance):
    """1,000 sold as 400 + 600, payable after the second: first acceptance -> unbilled 400, revenue 400; second
    acceptance and the invoice -> AR 1,000, unbilled 0, revenue 1,000."""
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "milestone", price="1000.00")
    accept_milestone(line, "400.00", on=date(2026, 1, 20), name="Design")
    second = Milestone.objects.create(
        project=contract.project, contract_line=line, name="Go-live", amount=D("600.00"), due_date=date(2026, 2, 20)
    )
    project = contract.project

    recognition_run(period_id=period(date(2026, 1, 1)).pk, by=finance)
    assert gl(UNBILLED, project) == D("400.00")
    assert revenue(project) == D("400.00")
    assert gl(AR, project) == D("0.00")

    accepted = accept_milestone(line, "600.00", on=date(2026, 2, 20), name="Go-live (accepted)")
    Milestone.objects.filter(pk=second.pk).delete()  # the accepted copy replaces the planned one
    assert accepted.amount == D("600.00")
    invoice(contract, date(2026, 2, 28), date(2026, 2, 21), finance)  # bills 400 + 600
    recognition_run(period_id=period(date(2026, 2, 1)).pk, by=finance)

    assert gl(AR, project) == D("1000.00")
    assert gl(UNBILLED, project) == D("0.00")
    assert gl(DEFERRED, project) == D("0.00")
    assert revenue(project) == D("1000.00")


def test_fixed_fee_estimate_rises_in_period_two_and_the_catch_up_lands_there(finance):
    """Price 10,000, hours to hours. January: 40 h done, 60 to go -> 40 % = 4,000. February: 80 h done, the PM
    now expects 70 more -> EAC 150 -> 53.33 % -> 5,333.33 cumulative, so February posts 1,333.33. March: 150 h
    done, nothing to go -> 10,000, March posts 4,666.67. Total = the price."""
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "fixed_fee", price="10000.00", hours=D("100"))
    project = contract.project
    jan, feb, mar = date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)

    approved_time(project, line, date(2026, 1, 15), "8.00")
    for day in (16, 19, 20, 21):
        approved_time(project, line, date(2026, 1, day), "8.00")
    estimate_set(project_id=project.pk, etc_hours="60", as_of=jan, by=finance)
    recognition_run(period_id=period(jan).pk, by=finance)
    assert revenue(project, jan) == D("4000.00")
    close(jan, finance)

    for day in (2, 3, 4, 5, 6):
        approved_time(project, line, date(2026, 2, day), "8.00")
    estimate_set(project_id=project.pk, etc_hours="70", as_of=feb, by=finance)
    recognition_run(period_id=period(feb).pk, by=finance)
    feb_revenue = revenue(project, feb) - revenue(project, jan)
    assert feb_revenue == D("1333.33")  # 10,000 x 80/150 = 5,333.33 - 4,000
    close(feb, finance)

    for day in (2, 3, 4, 5, 6, 9, 10, 11, 12):  # 8 x 7.75 + 8.00 = 70 h
        approved_time(project, line, date(2026, 3, day), "7.75" if day != 12 else "8.00")
    estimate_set(project_id=project.pk, etc_hours="0", as_of=mar, by=finance)
    recognition_run(period_id=period(mar).pk, by=finance)
    assert revenue(project, mar) - revenue(project, feb) == D("4666.67")
    assert revenue(project) == D("10000.00")  # invariant 6: the price to the cent
    assert gl(UNBILLED, project) == D("10000.00")  # nothing invoiced yet: all unbilled


def test_running_the_month_twice_posts_nothing_new(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "tm", price="0.00")
    approved_time(contract.project, line, date(2026, 3, 3), "7.50", rate="120")
    approved_expense(contract.project, line, date(2026, 3, 4), "80.00")
    jan = period(date(2026, 3, 1))

    first = recognition_run(period_id=jan.pk, by=finance)
    entries = JournalEntry.objects.count()
    second = recognition_run(period_id=jan.pk, by=finance)

    assert first.posted_lines == 1 and first.amount == D("980.00")  # 7.5 x 120 + 80
    assert second.posted_lines == 0 and second.amount == D("0.00")
    assert JournalEntry.objects.count() == entries
    assert revenue(contract.project) == D("980.00")


def test_a_late_approval_posts_only_the_difference_in_the_first_open_period(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "tm", price="0.00")
    project = contract.project
    approved_time(project, line, date(2026, 1, 12), "5.00", rate="100")
    recognition_run(period_id=period(date(2026, 1, 1)).pk, by=finance)
    close(date(2026, 1, 1), finance)

    approved_time(project, line, date(2026, 1, 30), "2.00", rate="100")  # approved after January closed
    run = recognition_run(period_id=period(date(2026, 2, 1)).pk, by=finance)

    late = Recognition.objects.get(run=run)
    assert late.amount == D("200.00") and late.cumulative == D("700.00")
    assert late.period == period(date(2026, 2, 1))
    assert late.entry.date == date(2026, 2, 28)
    assert revenue(project, date(2026, 1, 31)) == D("500.00")  # the closed month is untouched
    assert revenue(project) == D("700.00")


def test_method_change_to_cost_to_cost_catches_up_and_provides_for_a_loss(finance):
    """Price 1,000; 10 h at cost 60 = 600 spent, 600 more expected -> EAC cost 1,200 > price: 50 % -> revenue 500,
    expected loss 200, half of it still to come -> provision 100."""
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "fixed_fee", price="1000.00", hours=D("20"))
    project = contract.project
    revenue_schedules_ensure()
    schedule = RevenueSchedule.objects.get(contract_line=line)
    assert schedule.method == RecognitionMethod.PERCENT_HOURS  # the default for fixed fee
    revenue_schedule_method_set(schedule_id=schedule.pk, method=RecognitionMethod.PERCENT_COST, by=finance)
    approved_time(project, line, date(2026, 4, 6), "10.00", cost="60")
    estimate_set(project_id=project.pk, etc_hours="10", etc_cost="600.00", as_of=date(2026, 4, 30), by=finance)

    recognition_run(period_id=period(date(2026, 4, 1)).pk, by=finance)

    assert revenue(project) == D("500.00")
    assert gl_code(LOSS_PROVISION_CODE, project) == D("-100.00")
    assert gl(SystemAccount.COST_OF_SERVICES, project) == D("100.00")
