import pytest

from tests.billing.factories import make_periods


@pytest.fixture
def periods(db):
    return make_periods()


@pytest.fixture
def finance2(make_user):
    return make_user("finance")
