"""Exception queue rules against hand-built data with known answers; dismiss, snooze, restore; roles."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from billing.models import BillingRun, BillingRunItem
from billing.services import invoice_draft_for_contract, invoice_issue
from projects.models import TimeEntry
from psa.core.exceptions import NotFoundError, ValidationFailed
from psa.core.models import AuditEvent, OutboxMessage, WebhookSubscription
from psa.web.exception_queue import (
    exception_scan,
    projected_cap_date,
    rule_cap_approaching,
    rule_estimate_over_price,
    rule_invoice_outlier,
    rule_milestone_uninvoiced,
    rule_missing_time,
    rule_outbox_failed,
    rule_run_failed,
    rule_time_outlier,
    rule_unbilled_ageing,
)
from psa.web.models import ExceptionDismissal
from psa.web.services import exception_dismiss, exception_restore
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

AS_OF = date(2026, 6, 15)  # a Monday


@pytest.fixture
def periods(db):
    return make_periods(start=date(2026, 1, 1), through=date(2026, 12, 31))


def _draft(contract, period_end=AS_OF):
    with transaction.atomic():
        return invoice_draft_for_contract(contract=contract, period_end=period_end)


# --- missing time --------------------------------------------------------------------------------------------
def test_missing_time_lists_who_logged_less_than_capacity_last_week_and_leaves_when_logged():
    _contract, line = tm_contract()
    short = make_consultant(first="Sam", last="Short")
    full = make_consultant(first="Fay", last="Full")
    monday = AS_OF - timedelta(days=7)
    for i in range(4):  # Sam: 4 x 8 = 32 h; Fay: 5 x 8 = 40 h
        TimeEntry.objects.create(
            consultant=short, project=line.contract.project, date=monday + timedelta(days=i), hours=8
        )
    for i in range(5):
        TimeEntry.objects.create(
            consultant=full, project=line.contract.project, date=monday + timedelta(days=i), hours=8
        )

    items = rule_missing_time(AS_OF)
    assert [(i.key, i.title) for i in items] == [
        (f"consultant:{short.pk}:2026-06-08", "Sam Short: 32.00 of 40.00 h logged")
    ]
    TimeEntry.objects.create(consultant=short, project=line.contract.project, date=monday + timedelta(days=4), hours=8)
    assert rule_missing_time(AS_OF) == []


# --- approved but unbilled -----------------------------------------------------------------------------------
def test_unbilled_time_older_than_30_days_is_one_item_per_project_until_invoiced(periods):
    contract, line = tm_contract()
    ada = make_consultant()
    approved_entry(line, ada, AS_OF - timedelta(days=31), "5", "100")
    approved_entry(line, ada, AS_OF - timedelta(days=45), "2.5", "120")
    approved_entry(line, ada, AS_OF - timedelta(days=10), "3", "100")  # too young
    approved_entry(line, ada, AS_OF - timedelta(days=40), "4", "100", billable=False)  # not billable

    (item,) = rule_unbilled_ageing(AS_OF)
    assert item.key == f"project:{contract.project_id}"
    assert item.amount == Decimal("800.00")  # 5 x 100 + 2.5 x 120
    assert "7.50 h unbilled" in item.title and "2 approved entries" in item.detail
    assert item.on == AS_OF - timedelta(days=45)

    _draft(contract)
    assert rule_unbilled_ageing(AS_OF) == []


# --- milestones --------------------------------------------------------------------------------------------
def test_a_milestone_accepted_over_a_week_ago_and_not_invoiced_is_listed_until_invoiced(periods):
    contract = make_contract()
    line = make_line(contract, "milestone", price="3000.00")
    old = accept_milestone(line, "1000.00", on=AS_OF - timedelta(days=8), name="Design signed off")
    accept_milestone(line, "2000.00", on=AS_OF - timedelta(days=3), name="Too recent")

    items = rule_milestone_uninvoiced(AS_OF)
    assert [(i.key, i.amount) for i in items] == [(f"milestone:{old.pk}", Decimal("1000.00"))]
    _draft(contract)
    assert rule_milestone_uninvoiced(AS_OF) == []


# --- caps ------------------------------------------------------------------------------------------------------
def test_projected_cap_date_divides_the_remaining_cap_by_the_daily_burn():
    # 200 left at 800 per 28 days = 28.57 a day -> 7 days
    assert projected_cap_date(
        cap=Decimal("1000"), consumed=Decimal("800"), burn_28d=Decimal("800"), as_of=AS_OF
    ) == AS_OF + timedelta(days=7)
    assert (
        projected_cap_date(cap=Decimal("1000"), consumed=Decimal("1000"), burn_28d=Decimal("0"), as_of=AS_OF) == AS_OF
    )
    assert projected_cap_date(cap=Decimal("1000"), consumed=Decimal("10"), burn_28d=Decimal("0"), as_of=AS_OF) is None


def test_a_capped_line_at_80_percent_is_listed_with_its_projected_date_and_a_roomy_one_is_not():
    near, near_line = tm_contract(cap="1000.00")
    _far, far_line = tm_contract(cap="10000.00")
    ada = make_consultant()
    for i in range(4):  # 4 x 2 h x 100 = 800 in the last 28 days on each line
        approved_entry(near_line, ada, AS_OF - timedelta(days=i + 1), "2", "100")
        approved_entry(far_line, ada, AS_OF - timedelta(days=i + 1), "1", "100")
        approved_entry(far_line, ada, AS_OF - timedelta(days=i + 10), "1", "100")

    (item,) = rule_cap_approaching(AS_OF)
    assert item.key == f"contract_line:{near_line.pk}"
    assert item.amount == Decimal("800.00")
    assert item.on == AS_OF + timedelta(days=7)
    assert "80.0% of cap used" in item.title
    assert item.url == f"/projects/{near.project_id}/change-orders/"


def test_a_cap_reached_within_30_days_is_listed_even_below_80_percent():
    _c, line = tm_contract(cap="1000.00")
    ada = make_consultant()
    approved_entry(line, ada, AS_OF - timedelta(days=1), "7", "100")  # 700 = 70 %; 300 left at 25/day -> 12 days
    (item,) = rule_cap_approaching(AS_OF)
    assert item.on == AS_OF + timedelta(days=12)


# --- estimate at completion -----------------------------------------------------------------------------------
def test_a_project_whose_estimate_at_completion_exceeds_its_price_is_listed_until_the_estimate_drops(make_user):
    from ledger.services.revenue import estimate_set

    contract, line = tm_contract()  # price 100,000
    ada = make_consultant()
    for i in range(10):  # 10 x 8 h at cost 60 = 4,800 cost to date
        approved_entry(line, ada, AS_OF - timedelta(days=20 + i), "8", "100")
    pm = make_user("project_manager")
    project = contract.project
    type(project).objects.filter(pk=project.pk).update(project_manager=pm)  # the PM who runs it estimates it
    estimate_set(by=pm, project_id=project.pk, etc_hours=Decimal("100"), etc_cost=Decimal("95300.00"), as_of=AS_OF)

    (item,) = rule_estimate_over_price(AS_OF)  # 4,800 + 95,300 = 100,100 > 100,000
    assert item.key == f"project:{project.pk}" and item.amount == Decimal("100.00")
    assert "estimate at completion EUR 100,100.00 > price EUR 100,000.00" in item.title and item.currency == "EUR"

    # a later estimate by hours only: 1,000 h at the average cost so far (60) = 60,000 -> 64,800, under the price
    estimate_set(by=pm, project_id=project.pk, etc_hours=Decimal("1000"), as_of=AS_OF + timedelta(days=1))
    assert rule_estimate_over_price(AS_OF) != []  # the scan day still reads the estimate on or before it
    assert rule_estimate_over_price(AS_OF + timedelta(days=1)) == []


# --- time outliers --------------------------------------------------------------------------------------------
def test_a_day_above_mean_plus_three_sigma_of_the_consultants_history_is_flagged():
    _c, line = tm_contract()
    ada = make_consultant()
    start = AS_OF - timedelta(days=13) - timedelta(days=30)
    for i in range(20):  # ten days of 7 h and ten of 9 h: mean 8, sigma 1 -> threshold 11
        approved_entry(line, ada, start + timedelta(days=i), "7" if i % 2 else "9", "100")
    approved_entry(line, ada, AS_OF - timedelta(days=2), "11.5", "100")
    approved_entry(line, ada, AS_OF - timedelta(days=3), "11", "100")  # exactly the threshold: not flagged

    (item,) = rule_time_outlier(AS_OF)
    assert item.key == f"consultant:{ada.pk}:{(AS_OF - timedelta(days=2)).isoformat()}"
    assert "Usually 8.00 ± 1.00 h" in item.detail


def test_no_outlier_without_ten_days_of_history():
    _c, line = tm_contract()
    ada = make_consultant()
    for i in range(9):
        approved_entry(line, ada, AS_OF - timedelta(days=30 + i), "8", "100")
    approved_entry(line, ada, AS_OF - timedelta(days=1), "16", "100")
    assert rule_time_outlier(AS_OF) == []


# --- invoice outliers -------------------------------------------------------------------------------------------
def _issued(account, amount: str, on: date, finance):
    contract = make_contract(account)
    line = make_line(contract, "milestone", price=amount)
    accept_milestone(line, amount, on=on - timedelta(days=1))
    draft = _draft(contract, period_end=on)
    return invoice_issue(invoice_id=draft.pk, by=finance, on=on)


def test_an_invoice_three_sigma_from_the_accounts_history_is_flagged(periods, make_user):
    finance = make_user("finance")
    acc = make_account()
    for amount, month in (("900.00", 1), ("1000.00", 2), ("1100.00", 3)):  # mean 1000, sigma 81.65
        _issued(acc, amount, date(2026, month, 10), finance)
    normal = _issued(acc, "1200.00", AS_OF - timedelta(days=10), finance)  # 200 off < 244.95
    odd = _issued(acc, "1300.00", AS_OF - timedelta(days=5), finance)  # 300 off > 244.95

    items = rule_invoice_outlier(AS_OF)
    assert [i.key for i in items] == [f"invoice:{odd.pk}"]
    assert f"invoice:{normal.pk}" not in {i.key for i in items}
    assert "average 1,000.00 ± 81.65 (3 before)" in items[0].detail


# --- outbox and runs ------------------------------------------------------------------------------------------
def test_failed_and_stuck_outbox_messages_are_listed_and_delivered_ones_are_not():
    now = timezone.now()
    sub = WebhookSubscription.objects.create(name="ERP", url="http://127.0.0.1:9/", secret="s", event_types=[])
    failed = OutboxMessage.objects.create(
        kind="webhook", dedupe_key="w1", payload={"subscription_id": sub.pk}, status="failed", attempts=8,
        next_attempt_at=now, last_error="receiver answered 500",
    )  # fmt: skip
    stuck = OutboxMessage.objects.create(
        kind="email", dedupe_key="e1", payload={}, status="pending", attempts=2, next_attempt_at=now
    )
    OutboxMessage.objects.filter(pk=stuck.pk).update(created_at=now - timedelta(hours=2))
    OutboxMessage.objects.create(kind="email", dedupe_key="e2", payload={}, status="pending", next_attempt_at=now)
    OutboxMessage.objects.create(kind="email", dedupe_key="e3", payload={}, status="delivered", next_attempt_at=now)

    items = {i.key: i for i in rule_outbox_failed(AS_OF)}
    assert set(items) == {f"outbox:{failed.pk}", f"outbox:{stuck.pk}"}
    assert items[f"outbox:{failed.pk}"].url == f"/settings/webhooks/{sub.pk}/"
    assert items[f"outbox:{failed.pk}"].detail == "receiver answered 500"


def test_a_run_with_failed_contracts_is_listed_once_with_the_count():
    run = BillingRun.objects.create(period_end=date(2026, 5, 31), status="done_with_errors")
    for _ in range(2):
        BillingRunItem.objects.create(run=run, contract=make_contract(), status="failed", error="no tax id")
    BillingRunItem.objects.create(run=run, contract=make_contract(), status="done")
    (item,) = rule_run_failed(AS_OF)
    assert item.key == f"run:{run.pk}" and item.detail == "2 contracts failed to invoice"


# --- dismiss, snooze, restore ----------------------------------------------------------------------------------
def _stuck_email(key="e1", attempts=2):
    m = OutboxMessage.objects.create(
        kind="email", dedupe_key=key, payload={}, status="failed", attempts=attempts, next_attempt_at=timezone.now()
    )
    return m


def test_a_dismissed_item_stays_hidden_until_its_facts_change(make_user):
    finance = make_user("finance")
    m = _stuck_email()
    exception_dismiss(
        by=finance, rule="outbox_failed", item_key=f"outbox:{m.pk}", reason="Known SMTP outage", as_of=AS_OF
    )
    scan = exception_scan(as_of=AS_OF, rules=["outbox_failed"])
    assert scan.open["outbox_failed"] == [] and len(scan.hidden) == 1
    event = AuditEvent.objects.get(action="web.exception_dismiss")
    assert event.actor == finance and "Known SMTP outage" in event.summary

    OutboxMessage.objects.filter(pk=m.pk).update(attempts=3)  # it failed again: the facts changed
    scan = exception_scan(as_of=AS_OF, rules=["outbox_failed"])
    assert [i.key for i in scan.open["outbox_failed"]] == [f"outbox:{m.pk}"]


def test_a_snoozed_item_comes_back_after_its_date(make_user):
    finance = make_user("finance")
    m = _stuck_email()
    key = f"outbox:{m.pk}"
    exception_dismiss(
        by=finance, rule="outbox_failed", item_key=key, reason="Vendor fixes it Friday",
        until=AS_OF + timedelta(days=4), as_of=AS_OF,
    )  # fmt: skip
    assert exception_scan(as_of=AS_OF + timedelta(days=4), rules=["outbox_failed"]).open["outbox_failed"] == []
    back = exception_scan(as_of=AS_OF + timedelta(days=5), rules=["outbox_failed"]).open["outbox_failed"]
    assert [i.key for i in back] == [key]


def test_dismissing_needs_a_reason_a_future_snooze_date_and_an_item_in_the_queue(make_user):
    finance = make_user("finance")
    m = _stuck_email()
    with pytest.raises(ValidationFailed) as exc:
        exception_dismiss(by=finance, rule="outbox_failed", item_key=f"outbox:{m.pk}", reason="  ", as_of=AS_OF)
    assert "reason" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        exception_dismiss(
            by=finance, rule="outbox_failed", item_key=f"outbox:{m.pk}", reason="x", until=AS_OF, as_of=AS_OF
        )
    assert "until" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        exception_dismiss(by=finance, rule="nope", item_key="x", reason="x", as_of=AS_OF)
    assert "rule" in exc.value.fields
    with pytest.raises(NotFoundError):
        exception_dismiss(by=finance, rule="outbox_failed", item_key="outbox:missing", reason="x", as_of=AS_OF)
    assert not ExceptionDismissal.objects.exists()


def test_restore_brings_it_back_and_is_audited(make_user):
    finance = make_user("finance")
    m = _stuck_email()
    exception_dismiss(by=finance, rule="outbox_failed", item_key=f"outbox:{m.pk}", reason="noise", as_of=AS_OF)
    exception_restore(by=finance, rule="outbox_failed", item_key=f"outbox:{m.pk}")
    assert len(exception_scan(as_of=AS_OF, rules=["outbox_failed"]).open["outbox_failed"]) == 1
    assert AuditEvent.objects.filter(action="web.exception_restore").count() == 1
    with pytest.raises(NotFoundError):
        exception_restore(by=finance, rule="outbox_failed", item_key=f"outbox:{m.pk}")


# --- pages and API ---------------------------------------------------------------------------------------------
def test_the_queue_page_dismisses_with_a_reason_and_refuses_without(client_as):
    client = client_as("finance")
    m = _stuck_email()
    page = client.get("/exceptions/")
    assert page.status_code == 200 and f'data-key="outbox:{m.pk}"' in page.content.decode()
    client.post("/exceptions/dismiss/", {"rule": "outbox_failed", "item_key": f"outbox:{m.pk}", "reason": ""})
    assert not ExceptionDismissal.objects.exists()
    client.post("/exceptions/dismiss/", {"rule": "outbox_failed", "item_key": f"outbox:{m.pk}", "reason": "noise"})
    assert ExceptionDismissal.objects.get().reason == "noise"
    page = client.get("/exceptions/").content.decode()
    assert f'data-key="outbox:{m.pk}"' not in page and "Dismissed and snoozed" in page


@pytest.mark.parametrize("role", ["sales", "project_manager", "consultant", "client"])
def test_the_queue_is_for_finance_and_admin(client_as, role):
    assert client_as(role).get("/exceptions/").status_code == 403


def test_the_api_lists_open_items_per_rule_and_refuses_other_roles(api_as):
    m = _stuck_email()
    body = api_as("finance").get("/api/v1/exceptions/").json()
    outbox = next(r for r in body["rules"] if r["rule"] == "outbox_failed")
    assert [i["key"] for i in outbox["items"]] == [f"outbox:{m.pk}"]
    assert api_as("sales").get("/api/v1/exceptions/").status_code == 403


def test_the_scan_query_count_does_not_grow_with_data(periods):
    def build(n):
        for _ in range(n):
            contract, line = tm_contract(cap="500.00")
            ada = make_consultant()
            approved_entry(line, ada, AS_OF - timedelta(days=40), "5", "100")
            accept_milestone(make_line(contract, "milestone", price="100.00"), "100.00", on=AS_OF - timedelta(days=9))
            _stuck_email(key=f"k{contract.pk}")

    build(1)
    small, _ = count_queries(lambda: exception_scan(as_of=AS_OF))
    build(6)
    large, _ = count_queries(lambda: exception_scan(as_of=AS_OF))
    print(f"exception_scan queries: {small} at 1 contract, {large} at 7")
    assert large == small
