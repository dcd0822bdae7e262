"""Rate cards: dated lines never overlap for one role (service check and PostgreSQL exclusion constraint)."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from projects import services
from projects.models import RateCardLine
from psa.core.exceptions import PermissionDeniedError, ValidationFailed
from tests.crm.factories import RoleFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def card():
    return services.rate_card_create(by=UserFactory(roles=["finance"]), name="Std", currency="EUR", is_default=True)


def test_adjacent_lines_are_fine_and_overlaps_are_refused(card):
    finance, role = UserFactory(roles=["finance"]), RoleFactory()
    services.rate_card_line_create(
        by=finance, rate_card_id=card.pk, role=role, rate="100", valid_from=D(2027, 1, 1), valid_to=D(2027, 6, 30)
    )
    services.rate_card_line_create(by=finance, rate_card_id=card.pk, role=role, rate="110", valid_from=D(2027, 7, 1))
    with pytest.raises(ValidationFailed) as exc:
        services.rate_card_line_create(
            by=finance, rate_card_id=card.pk, role=role, rate="120", valid_from=D(2026, 1, 1), valid_to=D(2027, 1, 1)
        )
    assert "valid_from" in exc.value.fields
    other = RoleFactory()
    services.rate_card_line_create(by=finance, rate_card_id=card.pk, role=other, rate="90", valid_from=D(2027, 1, 1))
    assert RateCardLine.objects.count() == 3


def test_an_end_before_the_start_and_negative_rates_are_refused(card):
    finance, role = UserFactory(roles=["finance"]), RoleFactory()
    with pytest.raises(ValidationFailed):
        services.rate_card_line_create(
            by=finance, rate_card_id=card.pk, role=role, rate="100", valid_from=D(2027, 2, 1), valid_to=D(2027, 1, 1)
        )
    with pytest.raises(ValidationFailed):
        services.rate_card_line_create(by=finance, rate_card_id=card.pk, role=role, rate="-1", valid_from=D(2027, 2, 1))


def test_sales_may_not_change_rate_cards(card):
    with pytest.raises(PermissionDeniedError):
        services.rate_card_line_create(
            by=UserFactory(roles=["sales"]),
            rate_card_id=card.pk,
            role=RoleFactory(),
            rate="1",
            valid_from=D(2027, 1, 1),
        )


def test_a_new_default_card_replaces_the_old_default(card):
    new = services.rate_card_create(by=UserFactory(roles=["admin"]), name="New", currency="EUR", is_default=True)
    card.refresh_from_db()
    assert new.is_default and not card.is_default


@pytest.mark.postgres
def test_postgresql_refuses_overlapping_lines_written_around_the_service(card):
    role = RoleFactory()
    RateCardLine.objects.create(rate_card=card, role=role, rate=100, valid_from=D(2027, 1, 1), valid_to=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        RateCardLine.objects.create(rate_card=card, role=role, rate=100, valid_from=D(2030, 1, 1), valid_to=None)
