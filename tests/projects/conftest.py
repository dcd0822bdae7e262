"""Fixtures most project tests share: a won project and a consultant staffed on it."""

import pytest

from tests.projects.time_factories import consultant_on, won_project


@pytest.fixture
def setup():
    """A won implementation project (its PM, an admin, the consultants' role, the default EUR card)."""
    return won_project()


@pytest.fixture
def carl(setup):
    """A consultant allocated to `setup`'s project for the whole deal."""
    return consultant_on(setup)
