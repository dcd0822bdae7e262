import pytest

from tests.billing.factories import make_periods
from tests.billing.golive_fixtures import admin, golive, moved_in  # noqa: F401  (go-live fixtures)


@pytest.fixture
def periods(db):
    return make_periods()


@pytest.fixture
def finance2(make_user):
    return make_user("finance")


@pytest.fixture
def de_seller(settings):
    """The seller in Germany (the demo firm's country) instead of the tests' GB seller."""
    settings.PSA_FIRM_COUNTRY = "DE"
    settings.PSA_FIRM_TAX_ID = "DE136695976"
    settings.PSA_FIRM_ADDRESS = "12 Harbour Street\n10115 Berlin"
    return settings
