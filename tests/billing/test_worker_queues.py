"""Queues: each kind of long job on a queue of its own, and a billing run's contracts shared by two billing
workers with nothing billed twice."""

import os
import uuid
from collections import Counter
from datetime import date

import pytest
from django.conf import settings as django_settings

from billing.choices import RunStatus
from billing.models import BillingRun, BillingRunItem
from billing.services import billing_run_create, billing_run_start
from tests.billing.factories import make_periods
from tests.billing.test_worker import _assert_billed_once, _done, _firm
from tests.fixtures_worker import WorkerProcess, _database_url_for_worker
from tests.waiting import wait_for

END = date(2026, 3, 31)


def _queue_of(task_name: str) -> str:
    from psa.celery import app

    app.loader.import_default_modules()
    return app.amqp.router.route({}, task_name, (), {})["queue"].name


def test_each_long_job_goes_to_its_own_queue_and_the_rest_to_the_default():
    assert _queue_of("billing.tasks.billing_run_execute_task") == "billing"
    assert _queue_of("billing.tasks.invoice_render_task") == "rendering"
    assert _queue_of("ledger.tasks.recognition_run_task") == "revenue"
    assert _queue_of("psa.core.tasks.outbox_deliver_task") == "outbox"
    assert _queue_of("projects.tasks.missing_time_remind_task") == django_settings.CELERY_TASK_DEFAULT_QUEUE


def test_every_routed_job_is_a_registered_task_on_a_declared_queue():
    from psa.celery import app

    app.loader.import_default_modules()
    assert set(django_settings.JOB_QUEUE_OF_TASK) <= set(app.tasks)
    assert set(django_settings.JOB_QUEUE_OF_TASK.values()) == set(django_settings.JOB_QUEUE_NAMES)
    queues = django_settings.CELERY_TASK_QUEUES
    # A queue sharing another's exchange and routing key would receive that queue's messages too.
    assert len({(q.exchange.name, q.routing_key) for q in queues}) == len(queues)
    declared = {q.name for q in queues}
    assert {django_settings.CELERY_TASK_DEFAULT_QUEUE, *django_settings.JOB_QUEUE_NAMES} <= declared


def test_a_routed_job_follows_the_settings_at_send_time(settings):
    settings.JOB_QUEUE_OF_TASK = {}
    assert _queue_of("billing.tasks.billing_run_execute_task") == django_settings.CELERY_TASK_DEFAULT_QUEUE
    settings.CELERY_QUEUE_PREFIX = "firm-b-"
    settings.JOB_QUEUE_OF_TASK = {"billing.tasks.billing_run_execute_task": "billing"}
    assert _queue_of("billing.tasks.billing_run_execute_task") == "firm-b-billing"


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_billing_workers_share_one_runs_contracts_and_bill_each_once(settings, tmp_path, make_user):
    """Two workers started as production starts them (no -Q: every queue) on private queues; one run of 24
    contracts queues two jobs on the billing queue, each worker takes one, and the items they processed carry
    both workers' leases."""
    from psa.celery import app

    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=_database_url_for_worker(), CELERY_QUEUE_PREFIX=prefix, DB_CONN_MAX_AGE="0")
    env.pop("CELERY_TASK_DEFAULT_QUEUE", None)
    settings.CELERY_QUEUE_PREFIX = prefix
    settings.PSA_BILLING_RUN_JOBS = 2
    old_queue = app.conf.task_default_queue
    app.conf.task_default_queue = f"{prefix}celery"
    workers = [
        WorkerProcess(f"{prefix}w{n}", dict(env, PSA_VAR_DIR=str(tmp_path / f"var-{n}")), all_queues=True)
        for n in (1, 2)
    ]
    make_periods()
    finance = make_user("finance")
    sources = _firm(24)
    try:
        for worker in workers:
            worker.start()
        run = billing_run_create(by=finance, period_end=END, key=f"q-{uuid.uuid4()}")
        billing_run_start(run_id=run.pk, by=finance)
        assert wait_for(_done(run), timeout=120), workers[0].log()[-3000:] + workers[1].log()[-3000:]
    finally:
        for worker in workers:
            worker.stop()
        app.conf.task_default_queue = old_queue
    _assert_billed_once(sources, 24)
    assert BillingRun.objects.get(pk=run.pk).status == RunStatus.DONE
    processes = Counter(owner.split(":")[1] for owner in BillingRunItem.objects.values_list("lease_owner", flat=True))
    assert len(processes) == 2, processes
    for worker in workers:
        assert "billing.tasks.billing_run_execute_task" in worker.log()
