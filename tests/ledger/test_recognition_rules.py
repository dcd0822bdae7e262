"""Recognition rules: refusals leave nothing behind, invariants 6-8 of DESIGN.md section 5, change orders and
price-cutting credit notes, and a query count that does not grow with time entries."""

import random
from datetime import date

import pytest

from billing.models import Invoice
from billing.services import billing_schedule_generate, credit_note_create, invoice_issue
from ledger.choices import RecognitionMethod, SystemAccount
from ledger.models import JournalEntry, ProjectEstimate, Recognition, RevenueSchedule
from ledger.selectors.revenue import rollforward
from ledger.services.revenue import (
    estimate_set,
    recognition_run,
    recognition_run_start,
    revenue_schedule_method_set,
    revenue_schedule_plan_set,
    revenue_schedules_ensure,
)
from psa.core.exceptions import PeriodClosed, ValidationFailed
from tests.billing.factories import accept_milestone, make_contract, make_line
from tests.ledger.revenue_factories import (
    D,
    approved_time,
    books,
    close,
    consultant,
    gl,
    invoice,
    period,
    revenue,
    zero_tax_account,
)
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

UNBILLED, DEFERRED, AR = SystemAccount.UNBILLED, SystemAccount.DEFERRED, SystemAccount.RECEIVABLE


@pytest.fixture
def finance(make_user):
    books()
    return make_user("finance")


# --- bad input ----------------------------------------------------------------------------------------------


def test_a_run_into_a_closed_month_is_refused_and_posts_nothing(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "tm", price="0.00")
    approved_time(contract.project, line, date(2026, 1, 5), "3.00")
    close(date(2026, 1, 1), finance)  # January's run (the checklist asks for it), then the close
    entries, recognitions = JournalEntry.objects.count(), Recognition.objects.count()

    with pytest.raises(PeriodClosed, match="2026-01 is closed"):
        recognition_run_start(period_id=period(date(2026, 1, 1)).pk, by=finance, enqueue=False)

    assert JournalEntry.objects.count() == entries
    assert Recognition.objects.count() == recognitions


def test_a_plan_that_does_not_sum_to_the_price_is_refused_and_the_old_plan_stays(finance):
    contract = make_contract(zero_tax_account(), start=date(2026, 1, 1), end=date(2026, 3, 31))
    line = make_line(contract, "subscription", price="300.00")
    revenue_schedules_ensure()
    schedule = RevenueSchedule.objects.get(contract_line=line)

    with pytest.raises(ValidationFailed, match=r"sum to 290\.00; the line's price is 300\.00"):
        revenue_schedule_plan_set(
            schedule_id=schedule.pk,
            amounts={date(2026, 1, 1): D("100.00"), date(2026, 2, 1): D("100.00"), date(2026, 3, 1): D("90.00")},
            by=finance,
        )
    assert [p.amount for p in schedule.plan.order_by("month")] == [D("100.00")] * 3

    revenue_schedule_plan_set(
        schedule_id=schedule.pk,
        amounts={date(2026, 1, 1): D("50.00"), date(2026, 2, 1): D("100.00"), date(2026, 3, 1): D("150.00")},
        by=finance,
    )
    recognition_run(period_id=period(date(2026, 2, 1)).pk, by=finance)
    assert revenue(contract.project) == D("150.00")  # January 50 + February 100, a custom plan


def test_milestones_that_do_not_sum_to_the_price_refuse_the_line_and_post_nothing_for_it(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "milestone", price="1000.00")
    accept_milestone(line, "400.00", on=date(2026, 1, 10))  # 400 of 1,000: the other 600 is missing
    other = make_contract(zero_tax_account())
    fine = make_line(other, "milestone", price="500.00")
    accept_milestone(fine, "500.00", on=date(2026, 1, 10))

    run = recognition_run(period_id=period(date(2026, 1, 1)).pk, by=finance)

    assert run.status == "done_with_errors"
    assert "milestones sum to 400.00 but its price is 1,000.00" in run.errors[0]["error"]
    assert revenue(contract.project) == D("0.00")
    assert revenue(other.project) == D("500.00")


def test_a_negative_estimate_is_refused_by_name(finance):
    contract = make_contract(zero_tax_account())
    with pytest.raises(ValidationFailed) as error:
        estimate_set(project_id=contract.project_id, etc_hours="-5", by=finance)
    assert "etc_hours" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        estimate_set(project_id=contract.project_id, etc_hours="5", etc_cost="-1.00", by=finance)
    assert "etc_cost" in error.value.fields
    assert not ProjectEstimate.objects.exists()


def test_a_method_that_does_not_fit_the_billing_model_is_refused(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "tm", price="0.00")
    revenue_schedules_ensure()
    schedule = RevenueSchedule.objects.get(contract_line=line)

    with pytest.raises(ValidationFailed, match="cannot be recognised by 'straight_line'") as error:
        revenue_schedule_method_set(schedule_id=schedule.pk, method=RecognitionMethod.STRAIGHT_LINE, by=finance)

    assert error.value.code == "method_mismatch" and "method" in error.value.fields
    schedule.refresh_from_db()
    assert schedule.method == RecognitionMethod.AS_DELIVERED


# --- invariants ---------------------------------------------------------------------------------------------


def _position_invariant(project) -> None:
    """Invariant 7: unbilled - deferred = revenue recognised - net invoiced; at most one of the two non-zero."""
    unbilled, deferred = gl(UNBILLED, project), -gl(DEFERRED, project)
    invoices = Invoice.objects.filter(project=project, number__isnull=False)
    net_invoiced = sum((i.net_total for i in invoices if not i.is_credit_note), D("0")) - sum(
        (i.net_total for i in invoices if i.is_credit_note), D("0")
    )
    assert unbilled - deferred == revenue(project) - net_invoiced
    assert unbilled == 0 or deferred == 0, (unbilled, deferred)


def test_invariants_hold_over_random_months_of_delivery_billing_and_recognition(finance):
    """Random T&M time, milestone acceptances and retainer months, invoiced at random and recognised month by
    month: after every step invariant 7 holds per contract and the GL's AR equals the open invoice balances
    (invariant 8); at the end each fixed-price line's revenue equals its price (invariant 6)."""
    rng = random.Random(20260101)
    account = zero_tax_account()
    tm = make_contract(account)
    tm_line = make_line(tm, "tm", price="0.00")
    ms = make_contract(account)
    ms_line = make_line(ms, "milestone", price="900.00")
    ret = make_contract(account)
    ret_line = make_line(ret, "retainer", price="1000.00")
    billing_schedule_generate(contract_line_id=ret_line.pk, by=finance)
    who = consultant()
    milestones = ["300.00", "200.00", "400.00"]
    for month in range(1, 13):
        end = period(date(2026, month, 1)).end
        for day in rng.sample(range(1, 28), 3):
            approved_time(tm.project, tm_line, date(2026, month, day), str(rng.choice([1, 2.5, 4])), who=who)
        if (milestones and rng.random() < 0.4) or (month >= 10 and milestones):
            accept_milestone(ms_line, milestones.pop(0), on=date(2026, month, 15))
        for contract in (tm, ms, ret):
            if rng.random() < 0.5 or month == 12:
                invoice(contract, end, date(2026, month, 28), finance)
        recognition_run(period_id=period(end).pk, by=finance)
        for contract in (tm, ms, ret):
            _position_invariant(contract.project)
        open_balances = sum(
            (i.balance for i in Invoice.objects.filter(number__isnull=False) if not i.is_credit_note), D("0")
        )
        assert gl(AR) == open_balances
        close(end, finance)
    assert revenue(ms.project) == D("900.00")
    assert revenue(ret.project) == D("1000.00")
    assert RevenueSchedule.objects.get(contract_line=ret_line).recognised == D("1000.00")


def test_the_rollforward_reconciles_to_the_gl_to_the_cent(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "retainer", price="1000.00")
    billing_schedule_generate(contract_line_id=line.pk, by=finance)
    invoice(contract, date(2026, 6, 30), date(2026, 1, 2), finance)  # 6 x 83.33 billed ahead
    for month in (1, 2, 3):
        recognition_run(period_id=period(date(2026, month, 1)).pk, by=finance)

    report = rollforward(start=date(2026, 2, 1), end=date(2026, 3, 31))

    (row,) = report.rows
    assert row["opening"] == D("-416.65")  # billed 499.98, January recognised 83.33
    assert row["billed"] == D("0.00") and row["recognised"] == D("166.66")
    assert row["closing"] == D("-249.99") == row["opening"] - row["billed"] + row["recognised"]
    assert row["deferred"] == D("249.99") and row["unbilled"] == D("0.00")
    assert report.reconciles and report.gl_closing == gl(UNBILLED) + gl(DEFERRED) == D("-249.99")


# --- change orders and credit notes -------------------------------------------------------------------------


def test_a_change_order_raising_the_price_re_baselines_with_a_cumulative_catch_up(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "retainer", price="1200.00")
    for month in (1, 2, 3):
        recognition_run(period_id=period(date(2026, month, 1)).pk, by=finance)
    assert revenue(contract.project) == D("300.00")

    line.price = D("2400.00")  # what an approved change order does to the line
    line.save()
    run = recognition_run(period_id=period(date(2026, 4, 1)).pk, by=finance)

    (catch_up,) = Recognition.objects.filter(run=run)
    assert catch_up.amount == D("500.00")  # 4 x 200 = 800 to date, 300 recognised before
    assert RevenueSchedule.objects.get(contract_line=line).baseline == 2
    for month in range(5, 13):
        recognition_run(period_id=period(date(2026, month, 1)).pk, by=finance)
    assert revenue(contract.project) == D("2400.00")


def test_a_price_cutting_credit_note_reduces_recognised_revenue(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "milestone", price="1000.00")
    accept_milestone(line, "1000.00", on=date(2026, 1, 10))
    issued = invoice(contract, date(2026, 1, 31), date(2026, 1, 20), finance)
    recognition_run(period_id=period(date(2026, 1, 1)).pk, by=finance)
    assert revenue(contract.project) == D("1000.00")

    note = credit_note_create(invoice_id=issued.pk, by=finance, amount=D("150.00"), reason="Discount agreed")
    invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 3))
    recognition_run(period_id=period(date(2026, 2, 1)).pk, by=finance)

    assert revenue(contract.project) == D("850.00")
    _position_invariant(contract.project)
    assert gl(UNBILLED, contract.project) == gl(DEFERRED, contract.project) == D("0.00")


# --- performance shape --------------------------------------------------------------------------------------


def _run_queries(month: int, finance) -> int:
    return count_queries(lambda: recognition_run(period_id=period(date(2026, month, 1)).pk, by=finance))[0]


def test_the_run_query_count_does_not_grow_with_time_entries(finance):
    contract = make_contract(zero_tax_account())
    tm = make_line(contract, "tm", price="0.00")
    fixed = make_line(contract, "fixed_fee", price="5000.00", hours=D("500"))
    who = consultant()
    approved_time(contract.project, tm, date(2026, 3, 2), "1.00", who=who)
    approved_time(contract.project, fixed, date(2026, 3, 3), "1.00", who=who)
    revenue_schedules_ensure()
    small = _run_queries(3, finance)
    for day in range(4, 28):
        approved_time(contract.project, tm, date(2026, 4, day), "2.00", who=who)
        approved_time(contract.project, fixed, date(2026, 5, day), "2.00", who=consultant())
    large = _run_queries(5, finance)
    assert large == small, (small, large)
    # T&M 49 h x 100 = 4,900; fixed fee 49 of 500 h (its own hours, not the T&M line's) x 5,000 = 490
    assert revenue(contract.project) == D("5390.00")


def test_the_rollforward_filtered_by_client_or_project_reconciles_to_the_gl_filtered_the_same_way(finance):
    retainer = make_contract(zero_tax_account())
    ret_line = make_line(retainer, "retainer", price="1000.00")
    billing_schedule_generate(contract_line_id=ret_line.pk, by=finance)
    invoice(retainer, date(2026, 6, 30), date(2026, 1, 2), finance)  # 499.98 billed ahead
    other = make_contract(zero_tax_account())
    tm_line = make_line(other, "tm", price="0.00")
    approved_time(other.project, tm_line, date(2026, 1, 12), "4.00", rate="100")  # 400 unbilled
    close(date(2026, 1, 1), finance)  # January's run and close: the GL side reads its stored balances
    recognition_run(period_id=period(date(2026, 2, 1)).pk, by=finance)  # then February's lines

    by_client = rollforward(start=date(2026, 2, 1), end=date(2026, 2, 28), client_id=retainer.account_id)
    by_project = rollforward(start=date(2026, 1, 1), end=date(2026, 2, 28), project_id=other.project_id)

    assert by_client.totals["closing"] == D("-333.32") == by_client.gl_closing  # 499.98 billed, 166.66 recognised
    assert by_client.reconciles
    assert by_project.totals["closing"] == D("400.00") == by_project.gl_closing
    assert by_project.reconciles
