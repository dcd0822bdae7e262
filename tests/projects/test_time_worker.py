"""The missing-time reminder job on a real Celery worker over Redis: the beat task finds last week's gaps,
queues one e-mail per consultant through the outbox, the worker delivers it, and a second run sends nothing."""

from decimal import Decimal

import pytest

from projects.services import staffing
from projects.tasks import missing_time_remind_task
from psa.core.models import OutboxMessage, OutboxStatus
from tests.crm.factories import RoleFactory
from tests.factories import UserFactory
from tests.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.postgres]


def test_the_reminder_job_runs_on_a_worker_and_mails_each_consultant_once(celery_worker_process):
    admin = UserFactory(roles=["admin"])
    role = RoleFactory(name="Consultant", code="cons")
    for name, capacity in (("ada", "40"), ("bob", "32"), ("cy", "0")):
        user = UserFactory(roles=["consultant"], username=name, email=f"{name}@firm.test")
        staffing.consultant_create(by=admin, user=user, role=role, weekly_capacity=Decimal(capacity))

    missing_time_remind_task.delay()
    assert wait_for(lambda: OutboxMessage.objects.filter(kind="email", status=OutboxStatus.DELIVERED).count() == 2), (
        celery_worker_process.log()[-3000:]
    )
    mails = sorted(p.read_text() for p in celery_worker_process.mail_dir.glob("*.log"))
    assert len(mails) == 2
    assert any("To: ada@firm.test" in m and "40.00 h missing" in m for m in mails)
    assert any("To: bob@firm.test" in m and "32.00 h missing" in m for m in mails)
    assert not any("cy@firm.test" in m for m in mails)  # no capacity: nothing expected, no reminder

    # The beat fires again (or the job is redelivered): same week, same keys, nothing new is sent.
    missing_time_remind_task.delay()
    assert wait_for(lambda: celery_worker_process.log().count("missing_time_remind_task[") >= 4), (
        celery_worker_process.log()[-3000:]
    )  # received + succeeded, twice
    celery_worker_process.drain()  # any delivery the second run queued has run
    assert OutboxMessage.objects.filter(kind="email").count() == 2
    assert len(list(celery_worker_process.mail_dir.glob("*.log"))) == 2
