import pytest

from tests.ledger.factories import make_periods


@pytest.fixture
def periods(db):
    """Monthly periods for 2026, all open."""
    return make_periods()
