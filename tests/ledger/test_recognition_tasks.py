"""The monthly beat job: on the 1st it recognises the month just ended, or the first open month after it when
that month is closed; a second trigger resumes the same run instead of starting another."""

from datetime import date

import pytest
from django.conf import settings

from ledger.models import RecognitionRun
from ledger.services.revenue import recognition_month_end, recognition_run_execute
from tests.billing.factories import make_contract, make_line
from tests.ledger.revenue_factories import D, books, close, period, revenue, zero_tax_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(make_user):
    books()
    return make_user("finance")


def test_the_beat_entry_runs_on_the_first_of_each_month():
    entry = settings.CELERY_BEAT_SCHEDULE["ledger-revenue-recognition"]
    assert entry["task"] == "ledger.tasks.recognition_month_end_task"
    assert entry["schedule"].day_of_month == {1}


def test_on_the_first_the_job_recognises_the_month_just_ended_once(finance):
    contract = make_contract(zero_tax_account())
    make_line(contract, "subscription", price="1200.00")

    run = recognition_month_end(today=date(2026, 3, 1))
    again = recognition_month_end(today=date(2026, 3, 1))  # beat fired twice: the same run, resumed

    assert run.period == period(date(2026, 2, 1)) and again.pk == run.pk
    recognition_run_execute(run_id=run.pk)
    recognition_run_execute(run_id=run.pk)  # the task delivered twice: the second finds it done
    assert RecognitionRun.objects.count() == 1
    assert revenue(contract.project) == D("200.00")  # January and February, 100 each


def test_when_the_month_just_ended_is_closed_the_job_takes_the_first_open_month(finance):
    close(date(2026, 1, 1), finance)
    close(date(2026, 2, 1), finance)
    run = recognition_month_end(today=date(2026, 3, 1))
    assert run.period == period(date(2026, 3, 1))
