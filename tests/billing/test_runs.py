"""Billing runs: idempotent creation, a preview that claims nothing, one contract per transaction, errors per
item with retry, and re-running never bills twice."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.choices import ItemStatus, RunScope, RunStatus
from billing.models import BillingRun, Invoice, SourceLink
from billing.services import (
    billing_run_create,
    billing_run_execute,
    billing_run_preview,
    billing_run_retry,
    billing_run_start,
    run_progress,
)
from ledger.services.periods import month_end, next_month
from psa.core.exceptions import IdempotencyConflict, InvalidTransition, PermissionDeniedError, ValidationFailed
from tests.billing.factories import make_account, milestone_contract, retainer_contract
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

END = date(2026, 1, 31)


def test_the_same_key_gives_the_same_run_and_another_payload_is_a_conflict(finance):
    run = billing_run_create(by=finance, period_end=END, key="k1")
    assert billing_run_create(by=finance, period_end=END, key="k1").pk == run.pk
    with pytest.raises(IdempotencyConflict):
        billing_run_create(by=finance, period_end=date(2026, 2, 28), key="k1")
    assert BillingRun.objects.count() == 1


def test_a_run_needs_finance_and_a_complete_scope(finance, make_user):
    with pytest.raises(PermissionDeniedError):
        billing_run_create(by=make_user("sales"), period_end=END)
    with pytest.raises(ValidationFailed) as err:
        billing_run_create(by=finance, period_end=END, scope=RunScope.ACCOUNTS)
    assert "account_ids" in err.value.fields


def test_the_preview_shows_what_would_be_invoiced_per_account_and_claims_nothing(periods, finance):
    a, _, _ = milestone_contract("100.00", "50.00")
    b, _ = retainer_contract("1200.00")
    run = billing_run_create(by=finance, period_end=END)
    preview = billing_run_preview(run=run)
    assert {(r.contract.pk, r.net) for r in preview.rows} == {(a.pk, Decimal("150.00")), (b.pk, Decimal("100.00"))}
    assert preview.net == Decimal("250.00") and preview.accounts == 2
    assert not SourceLink.objects.exists()


def test_the_preview_costs_the_same_queries_for_more_contracts(periods, finance):
    milestone_contract("100.00")
    run = billing_run_create(by=finance, period_end=END)
    small, _ = count_queries(lambda: billing_run_preview(run=run))
    for _ in range(6):
        milestone_contract("100.00", "20.00")
        retainer_contract("1200.00")
    large, _ = count_queries(lambda: billing_run_preview(run=run))
    assert large == small


def test_a_run_makes_one_draft_per_contract_and_a_rerun_bills_nothing_again(
    periods, finance, django_capture_on_commit_callbacks
):
    account = make_account()
    milestone_contract("100.00", account=account)
    retainer_contract("1200.00", account=account)
    run = billing_run_create(by=finance, period_end=END, scope=RunScope.ACCOUNTS, account_ids=[account.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        billing_run_start(run_id=run.pk, by=finance)
    assert len(callbacks) == 1, "the job is enqueued after commit"
    billing_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert run_progress(run) | {} == {
        "total": 2,
        "processed": 2,
        "invoiced": 2,
        "empty": 0,
        "failed": 0,
        "percent": 100,
    }
    assert Invoice.objects.filter(run=run).count() == 2
    billing_run_execute(run_id=run.pk)
    second = billing_run_create(by=finance, period_end=END)
    billing_run_start(run_id=second.pk, by=finance)
    billing_run_execute(run_id=second.pk)
    assert Invoice.objects.count() == 2
    assert SourceLink.objects.count() == 2


def test_an_item_that_fails_is_reported_with_its_reason_and_retried(periods, finance):
    broken = make_account(billing_email="")
    milestone_contract("100.00", account=broken)
    milestone_contract("100.00")
    run = billing_run_create(by=finance, period_end=END)
    billing_run_start(run_id=run.pk, by=finance)
    billing_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE_WITH_ERRORS
    failed = run.items.get(status=ItemStatus.FAILED)
    assert "billing_email" in failed.error
    broken.billing_email = "ap@broken.example"
    broken.save()
    billing_run_retry(run_id=run.pk, by=finance)
    billing_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and Invoice.objects.count() == 2
    with pytest.raises(InvalidTransition):
        billing_run_retry(run_id=run.pk, by=finance)


def test_a_change_order_resyncs_the_unbilled_schedule_and_keeps_the_billed_part(periods, finance):
    from billing.services.sources import billing_schedules_sync

    contract, line = retainer_contract("1200.00")
    run = billing_run_create(by=finance, period_end=date(2026, 2, 28))
    billing_run_start(run_id=run.pk, by=finance)
    billing_run_execute(run_id=run.pk)
    line.price = Decimal("2200.00")  # a change order adds 1,000.00 over the rest of the year
    line.save()
    assert billing_schedules_sync(contract_ids=[contract.pk]) == 1
    events = list(line.schedule_events.order_by("sequence"))
    assert sum(e.amount for e in events) == Decimal("2200.00")
    assert [e.amount for e in events[:2]] == [Decimal("100.00"), Decimal("100.00")]
    assert events[2].amount == Decimal("200.00")


def test_the_sweep_resumes_a_stale_run_and_renders_missing_pdfs(periods, finance, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from billing.services.runs import billing_sweep

    milestone_contract("100.00")
    run = billing_run_create(by=finance, period_end=END)
    billing_run_start(run_id=run.pk, by=finance)
    BillingRun.objects.filter(pk=run.pk).update(queued_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks() as callbacks:
        assert billing_sweep() == {"runs": 1, "pdfs": 0}
    assert len(callbacks) == 1


def test_a_run_ending_after_next_month_is_refused(finance):
    today = timezone.localdate()
    latest = month_end(next_month(today))
    assert billing_run_create(by=finance, period_end=latest).period_end == latest
    for too_far in (latest + timedelta(days=1), date(2099, 12, 31), date(9999, 12, 31)):
        with pytest.raises(ValidationFailed) as err:
            billing_run_create(by=finance, period_end=too_far)
        assert "period_end" in err.value.fields
    assert BillingRun.objects.count() == 1


def test_the_api_refuses_a_far_future_run_with_the_field_named(api_as):
    response = api_as("finance").post("/api/v1/billing/runs/", {"period_end": "2099-12-31"}, format="json")
    assert response.status_code == 400
    assert "period_end" in response.json()["fields"]
    assert not BillingRun.objects.exists()
