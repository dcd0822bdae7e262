"""A real Celery worker on Redis: concurrent runs, a run started twice, and a worker killed mid-run then
re-run all end with one draft per contract, every source billed once, and gapless numbers at issue."""

import uuid
from datetime import date

import pytest
from django.db.models import Count

from billing.choices import RunStatus
from billing.models import BillingRun, Invoice, ScheduleEvent, SourceLink
from billing.services import billing_run_create, billing_run_start, invoices_issue
from projects.models import Milestone
from tests.billing.factories import make_account, make_periods, milestone_contract, retainer_contract
from tests.fixtures_worker import WorkerProcess
from tests.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.postgres]

END = date(2026, 3, 31)


def _firm(contracts: int):
    for i in range(contracts):
        account = make_account()
        if i % 2:
            milestone_contract("100.00", "250.00", account=account)
        else:
            retainer_contract("1200.00", account=account)
    return ScheduleEvent.objects.filter(bill_on__lte=END).count() + Milestone.objects.count()


def _assert_billed_once(expected_sources: int, contracts: int):
    assert SourceLink.objects.count() == expected_sources
    dupes = SourceLink.objects.values("kind", "source_id").annotate(n=Count("id")).filter(n__gt=1)
    assert not dupes.exists()
    drafts = Invoice.objects.values("contract_id").annotate(n=Count("id"))
    assert drafts.count() == contracts and all(d["n"] == 1 for d in drafts)


def _done(*runs):
    return lambda: all(
        BillingRun.objects.get(pk=r.pk).status in (RunStatus.DONE, RunStatus.DONE_WITH_ERRORS) for r in runs
    )


def test_two_concurrent_runs_and_a_double_start_bill_everything_once(celery_worker_process, make_user):
    make_periods()
    finance = make_user("finance")
    sources = _firm(16)
    second = WorkerProcess(
        celery_worker_process.queue,
        dict(celery_worker_process.env, PSA_VAR_DIR=celery_worker_process.env["PSA_VAR_DIR"] + "-2"),
    )
    second.start()
    try:
        a = billing_run_create(by=finance, period_end=END, key=f"a-{uuid.uuid4()}")
        b = billing_run_create(by=finance, period_end=END, key=f"b-{uuid.uuid4()}")
        billing_run_start(run_id=a.pk, by=finance)
        billing_run_start(run_id=b.pk, by=finance)
        billing_run_start(run_id=a.pk, by=finance)  # started twice: resumes, never repeats
        assert wait_for(_done(a, b)), celery_worker_process.log()[-3000:]
    finally:
        second.stop()
    _assert_billed_once(sources, 16)
    assert BillingRun.objects.get(pk=a.pk).status == RunStatus.DONE
    issued = invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), by=finance, on=END)
    assert sorted(i.number for i in issued) == [f"INV-2026-{n:06d}" for n in range(1, 17)]


def test_a_worker_killed_mid_run_then_rerun_bills_everything_once(celery_worker_process, make_user, tmp_path):
    make_periods()
    finance = make_user("finance")
    contracts = 80
    sources = _firm(contracts)
    run = billing_run_create(by=finance, period_end=END, key="kill-test")
    billing_run_start(run_id=run.pk, by=finance)
    assert wait_for(lambda: run.items.exclude(status="pending").count() >= 3, step=0.01)
    celery_worker_process.kill()
    processed_at_kill = run.items.exclude(status="pending").count()
    assert processed_at_kill < contracts, "the run finished before the kill; make it longer"
    assert BillingRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
    fresh = WorkerProcess(
        celery_worker_process.queue, dict(celery_worker_process.env, PSA_VAR_DIR=str(tmp_path / "w2"))
    )
    fresh.start()
    try:
        again = billing_run_create(by=finance, period_end=END, key="kill-test")
        assert again.pk == run.pk
        billing_run_start(run_id=run.pk, by=finance)
        assert wait_for(_done(run)), fresh.log()[-3000:]
    finally:
        fresh.stop()
    assert list(run.items.exclude(error="").values_list("error", flat=True)[:3]) == []
    _assert_billed_once(sources, contracts)
    assert BillingRun.objects.get(pk=run.pk).status == RunStatus.DONE


def test_a_partial_credit_of_hours_is_billed_once_more_by_the_next_run_on_the_worker(celery_worker_process, make_user):
    from decimal import Decimal

    from billing.choices import SourceKind
    from billing.services import credit_note_create, invoice_issue
    from tests.billing.factories import approved_entry, make_consultant, tm_contract

    make_periods()
    finance = make_user("finance")
    _contract, line = tm_contract()
    ada, bob = make_consultant(first="Ada"), make_consultant(first="Bob")
    entries = [
        approved_entry(line, person, date(2026, 3, day), "2.50", "120") for person in (ada, bob) for day in (2, 3, 4, 5)
    ]
    first = billing_run_create(by=finance, period_end=END, key=f"tm-{uuid.uuid4()}")
    billing_run_start(run_id=first.pk, by=finance)
    assert wait_for(_done(first)), celery_worker_process.log()[-3000:]
    invoice = invoice_issue(invoice_id=Invoice.objects.get(run=first).pk, by=finance, on=END)
    assert invoice.net_total == Decimal("2400.00")  # 8 x 2.5 h x 120
    credited = [e.pk for e in entries if e.consultant_id == bob.pk][:3]
    links = SourceLink.objects.filter(line__invoice=invoice, source_id__in=credited)
    note = credit_note_create(invoice_id=invoice.pk, by=finance, link_ids=list(links.values_list("pk", flat=True)))
    invoice_issue(invoice_id=note.pk, by=finance, on=END)
    assert note.net_total == Decimal("900.00")

    second = billing_run_create(by=finance, period_end=END, key=f"tm2-{uuid.uuid4()}")
    billing_run_start(run_id=second.pk, by=finance)
    assert wait_for(_done(second)), celery_worker_process.log()[-3000:]
    again = Invoice.objects.get(run=second)
    assert again.net_total == Decimal("900.00")
    assert sorted(SourceLink.objects.filter(line__invoice=again).values_list("source_id", flat=True)) == credited
    active = SourceLink.objects.filter(kind=SourceKind.TIME_ENTRY, released_at__isnull=True)
    assert active.count() == len(entries) == active.values("source_id").distinct().count()
