import pytest


@pytest.fixture(autouse=True)
def _default_stages(request):
    """Stages are seeded by a data migration; restore them when an earlier transactional test flushed them."""
    if (
        "db" in request.fixturenames
        or "transactional_db" in request.fixturenames
        or request.node.get_closest_marker("django_db")
    ):
        request.getfixturevalue("transactional_db" if _transactional(request) else "db")
        from tests.crm.factories import ensure_default_stages

        ensure_default_stages()


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return "transactional_db" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))
