"""Stalled billing runs: the worker holds a lease on the item it works on and renews it while it works; the
beat job resumes a run whose leases all expired, within a minute of a worker's death, and nothing is billed
twice."""

import threading
import time
import uuid
from datetime import date, timedelta
from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from billing.choices import ItemStatus, RunStatus
from billing.models import BillingRun, BillingRunItem, Invoice, SourceLink
from billing.services import (
    billing_run_create,
    billing_run_execute,
    billing_run_start,
    billing_runs_resume_stalled,
)
from billing.services import runs as run_services
from tests.billing.factories import make_account, make_periods, milestone_contract, retainer_contract
from tests.fixtures_worker import WorkerProcess
from tests.waiting import wait_for

END = date(2026, 1, 31)


def _started_run(finance, contracts: int = 3) -> BillingRun:
    for i in range(contracts):
        if i % 2:
            milestone_contract("100.00", account=make_account())
        else:
            retainer_contract("1200.00", account=make_account())
    run = billing_run_create(by=finance, period_end=END, key=f"lease-{uuid.uuid4()}")
    with mock.patch("billing.services.runs._enqueue"):
        billing_run_start(run_id=run.pk, by=finance)
    return run


def _queued_long_ago(run: BillingRun) -> None:
    BillingRun.objects.filter(pk=run.pk).update(queued_at=timezone.now() - timedelta(minutes=5))


def _lease(item: BillingRunItem, owner: str, seconds: float) -> None:
    BillingRunItem.objects.filter(pk=item.pk).update(
        lease_owner=owner, leased_until=timezone.now() + timedelta(seconds=seconds)
    )


def _resume(django_capture_on_commit_callbacks) -> tuple[list[int], list[int]]:
    with (
        mock.patch("billing.tasks.billing_run_execute_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        resumed = billing_runs_resume_stalled()
    return resumed, [call.kwargs["run_id"] for call in delay.call_args_list]


def _assert_billed_once(contracts: int) -> None:
    dupes = SourceLink.objects.values("kind", "source_id").annotate(n=Count("id")).filter(n__gt=1)
    assert not dupes.exists()
    per_contract = Invoice.objects.values("contract_id").annotate(n=Count("id"))
    assert per_contract.count() == contracts and all(row["n"] == 1 for row in per_contract)


@pytest.mark.django_db
def test_a_run_whose_worker_died_holding_an_item_is_queued_again_and_bills_once(
    periods, finance, settings, django_capture_on_commit_callbacks
):
    settings.PSA_BILLING_LEASE_S = 30
    run = _started_run(finance)
    _queued_long_ago(run)
    _lease(run.items.order_by("contract_id").first(), "dead-worker", -1)
    resumed, enqueued = _resume(django_capture_on_commit_callbacks)
    assert resumed == [run.pk] and enqueued == [run.pk]
    billing_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert not run.items.filter(status=ItemStatus.PENDING).exists()
    _assert_billed_once(3)


@pytest.mark.django_db
def test_a_live_lease_or_a_fresh_queue_is_not_a_stalled_run(
    periods, finance, settings, django_capture_on_commit_callbacks
):
    settings.PSA_BILLING_LEASE_S = 30
    run = _started_run(finance)
    assert _resume(django_capture_on_commit_callbacks) == ([], []), "just queued: a worker has a lease period"
    _queued_long_ago(run)
    item = run.items.order_by("contract_id").first()
    _lease(item, "live-worker", 20)
    assert _resume(django_capture_on_commit_callbacks) == ([], []), "a worker renews its lease: it is alive"
    _lease(item, "live-worker", -1)
    assert _resume(django_capture_on_commit_callbacks) == ([run.pk], [run.pk])
    assert _resume(django_capture_on_commit_callbacks) == ([], []), "queued again: once per lease period"


@pytest.mark.django_db
def test_an_item_a_dead_worker_leased_is_taken_at_once_by_the_next_job(periods, finance, settings):
    """Its lease has not expired yet, but its worker's row lock went with its connection: pressing start
    again (or the beat's resume) finishes the run now, billing once."""
    settings.PSA_BILLING_LEASE_S = 30
    run = _started_run(finance)
    orphan = run.items.order_by("contract_id").first()
    _lease(orphan, "dead-worker", 25)
    billing_run_execute(run_id=run.pk)
    orphan.refresh_from_db()
    assert orphan.status == ItemStatus.DONE and orphan.lease_owner != "dead-worker"
    assert BillingRun.objects.get(pk=run.pk).status == RunStatus.DONE
    _assert_billed_once(3)


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_an_item_a_live_worker_is_processing_is_left_to_it(settings, make_user):
    """A live worker holds a row lock on the item it processes; another job passes over it, and the run stays
    running until that item is done."""
    settings.PSA_BILLING_LEASE_S = 30
    make_periods()
    run = _started_run(make_user("finance"))
    busy = run.items.order_by("contract_id").first()
    locked, release = threading.Event(), threading.Event()

    def live_worker():
        with transaction.atomic():
            with connection.cursor() as cursor:  # the lock billing_run_execute holds while it drafts
                cursor.execute(f"SELECT id FROM {BillingRunItem._meta.db_table} WHERE id = %s FOR KEY SHARE", [busy.pk])
            locked.set()
            release.wait(30)
        connection.close()

    holder = threading.Thread(target=live_worker)
    holder.start()
    try:
        assert locked.wait(10)
        billing_run_execute(run_id=run.pk)
        busy.refresh_from_db()
        assert busy.status == ItemStatus.PENDING
        assert not run.items.exclude(pk=busy.pk).filter(status=ItemStatus.PENDING).exists()
        assert BillingRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
    finally:
        release.set()
        holder.join(10)
    billing_run_execute(run_id=run.pk)
    assert BillingRun.objects.get(pk=run.pk).status == RunStatus.DONE
    _assert_billed_once(3)


@pytest.mark.django_db(transaction=True)
def test_the_worker_renews_its_lease_while_one_contract_takes_longer_than_the_lease(settings, make_user):
    """A slow contract is not mistaken for a dead worker: the lease outlives its first term."""
    settings.PSA_BILLING_LEASE_S = 1
    make_periods()
    finance = make_user("finance")
    run = _started_run(finance, contracts=1)
    seen = {}
    draft = run_services.invoice_draft_for_contract

    def slow_draft(**kwargs):
        started = timezone.now()

        def outlived_its_first_term_and_still_leased() -> bool:
            item = BillingRunItem.objects.get(run=run)
            seen["owner"] = item.lease_owner
            now = timezone.now()
            return now > started + timedelta(seconds=1.5) and item.leased_until > now

        seen["live"] = wait_for(outlived_its_first_term_and_still_leased, timeout=10, step=0.05)
        return draft(**kwargs)

    with mock.patch("billing.services.runs.invoice_draft_for_contract", slow_draft):
        billing_run_execute(run_id=run.pk)
    assert seen["owner"] and seen["live"], seen
    assert BillingRun.objects.get(pk=run.pk).status == RunStatus.DONE
    assert not [t for t in threading.enumerate() if t.name.startswith("billing-lease")], "the heartbeat stops"


LEASE_S = 5


@pytest.fixture
def short_lease(monkeypatch, settings):
    """A 5 s lease for this process and for the worker the next fixture starts (it copies the environment)."""
    monkeypatch.setenv("PSA_BILLING_LEASE_S", str(LEASE_S))
    settings.PSA_BILLING_LEASE_S = LEASE_S


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.postgres
def test_a_killed_worker_is_detected_by_its_expired_lease_and_the_run_resumes_without_a_restart(
    short_lease, celery_worker_process, make_user, tmp_path
):
    """Kill -9 mid-run; nobody presses start again. The beat job's service finds the expired lease within the
    lease period (5 s here; 30 s by default with the beat every 20 s: under a minute), queues the run, and a
    fresh worker finishes it with every source billed once."""
    make_periods()
    finance = make_user("finance")
    contracts = 80
    for i in range(contracts):
        if i % 2:
            milestone_contract("100.00", "250.00", account=make_account())
        else:
            retainer_contract("1200.00", account=make_account())
    run = billing_run_create(by=finance, period_end=date(2026, 3, 31), key="lease-kill")
    billing_run_start(run_id=run.pk, by=finance)
    assert wait_for(lambda: run.items.exclude(status="pending").count() >= 3, step=0.01)
    celery_worker_process.kill()
    killed_at = time.monotonic()
    assert run.items.filter(status="pending").exists(), "the run finished before the kill; make it longer"
    assert BillingRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
    resumed: list[int] = []

    def stalled_run_resumed() -> bool:
        resumed[:] = billing_runs_resume_stalled()
        return bool(resumed)

    wait_for(stalled_run_resumed, timeout=LEASE_S + 10, step=0.2)
    detected_after = time.monotonic() - killed_at
    assert resumed == [run.pk], f"not detected {detected_after:.1f} s after the kill"
    assert detected_after <= LEASE_S + 3
    fresh = WorkerProcess(
        celery_worker_process.queue, dict(celery_worker_process.env, PSA_VAR_DIR=str(tmp_path / "w2"))
    )
    fresh.start()  # takes the queued job
    try:
        assert wait_for(lambda: BillingRun.objects.get(pk=run.pk).status == RunStatus.DONE), fresh.log()[-3000:]
    finally:
        fresh.stop()
    assert not run.items.exclude(error="").exists()
    _assert_billed_once(contracts)


@pytest.mark.postgres
@pytest.mark.django_db
def test_leasing_the_next_item_reads_one_index_entry_not_every_pending_or_finished_item():
    """The next pending item in contract order comes straight from an index on (run, status, contract): without it
    the lease sorted every pending item, or stepped over every finished one, for each contract, so a run's cost per
    contract grew with its size (13 ms at 20,000 contracts against 8.7 at 2,000; make bench BENCH_SIZE=L)."""
    from billing import sql

    statement = sql.ITEM_LEASE_NEXT.format(lock="FOR UPDATE SKIP LOCKED")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # as on a table of thousands of items
        cursor.execute("EXPLAIN " + statement, ["owner", timezone.now(), 1, ItemStatus.PENDING])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "billing_runitem_next_idx" in plan, plan
    assert "Sort" not in plan and "Filter" not in plan, plan
