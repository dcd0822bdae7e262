"""The exception queue page is paged (a page of items, each with its one dismiss form) and filtered by rule,
the filter kept on every page link, at a query count that does not grow with the items."""

import pytest
from django.utils import timezone

from psa.core.models import OutboxMessage
from psa.web.views.exception_queue import PAGE_SIZE
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _stuck(n: int, start: int = 0) -> None:
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            kind="email",
            dedupe_key=f"stuck-{i}",
            payload={},
            status="failed",
            attempts=2,
            next_attempt_at=timezone.now(),
        )
        for i in range(start, start + n)
    )


def test_a_long_queue_is_paged_with_one_dismiss_form_per_item_on_the_page(client_as):
    client = client_as("finance")
    _stuck(PAGE_SIZE + 7)
    first = client.get("/exceptions/")
    body = first.content.decode()
    assert first.status_code == 200
    assert body.count('data-testid="exception-item"') == PAGE_SIZE
    assert body.count('action="/exceptions/dismiss/"') == PAGE_SIZE
    assert 'data-testid="exception-total">' + str(PAGE_SIZE + 7) in body  # the total counts every page
    second = client.get("/exceptions/", {"page": 2}).content.decode()
    assert second.count('data-testid="exception-item"') == 7


def test_the_rule_filter_keeps_to_one_rule_and_is_kept_by_the_page_links(client_as):
    client = client_as("finance")
    _stuck(PAGE_SIZE + 1)
    response = client.get("/exceptions/", {"rule": "outbox_failed"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "rule=outbox_failed&amp;page=2" in body or "page=2&amp;rule=outbox_failed" in body
    assert 'data-testid="rule-missing_time"' not in body
    empty = client.get("/exceptions/", {"rule": "run_failed"}).content.decode()
    assert empty.count('data-testid="exception-item"') == 0


def test_an_unknown_rule_is_an_inline_error_not_a_500(client_as):
    response = client_as("finance").get("/exceptions/", {"rule": "nonsense"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_the_page_costs_the_same_queries_at_two_sizes(client_as, settings):
    settings.PSA_PAGE_CACHE_SECONDS = 0  # computed on each view (reuse: tests/web/test_pagecache.py)
    client = client_as("finance")
    _stuck(3)
    small, _ = count_queries(lambda: client.get("/exceptions/"), status=200)
    _stuck(PAGE_SIZE * 2, start=3)
    large, response = count_queries(lambda: client.get("/exceptions/"), status=200)
    assert response.content.decode().count('data-testid="exception-item"') == PAGE_SIZE
    assert large == small
