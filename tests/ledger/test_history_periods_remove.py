"""A go-live's rollback removes the months it created only while nothing is posted or closed in them
(ledger.services.history.history_periods_remove)."""

from datetime import date

import pytest

from ledger.models import AccountingPeriod
from ledger.services.history import history_periods_remove
from psa.core.exceptions import ConflictError
from tests.ledger.factories import balanced, post

pytestmark = pytest.mark.django_db


def test_months_holding_an_entry_are_not_removed(periods):
    march, april = periods[2], periods[3]
    post(balanced("10.00", on=date(2026, 3, 10)))
    with pytest.raises(ConflictError, match="hold postings or closes"):
        history_periods_remove(period_ids=[march.pk, april.pk])
    assert AccountingPeriod.objects.filter(pk__in=[march.pk, april.pk]).count() == 2


def test_months_with_nothing_in_them_are_removed(periods):
    post(balanced("10.00", on=date(2026, 3, 10)))
    november, december = periods[10], periods[11]
    assert history_periods_remove(period_ids=[november.pk, december.pk]) == 2
    assert not AccountingPeriod.objects.filter(pk__in=[november.pk, december.pk]).exists()
