"""entries_post: many system entries posted as entry_post posts each (same checks, key replay and conflict), with
the look-ups shared by the batch, so the statements grow by one per entry."""

from decimal import Decimal

import pytest
from django.db import transaction

from ledger.models import JournalEntry
from ledger.services.posting import entries_post
from psa.core.exceptions import IdempotencyConflict, ValidationFailed
from tests.ledger.factories import balanced
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _items(n: int, prefix: str = "batch"):
    return [(balanced(f"{i + 1}.00", debit="5000", credit="5150"), f"{prefix}:{i}") for i in range(n)]


def test_a_batch_posts_each_entry_once_and_replays_on_a_second_call(periods):
    first = entries_post(items=_items(3))
    again = entries_post(items=_items(3))
    assert [e.pk for e in first] == [e.pk for e in again]
    assert JournalEntry.objects.filter(idempotency_key__startswith="batch:").count() == 3
    assert [e.total for e in first] == [Decimal("1.00"), Decimal("2.00"), Decimal("3.00")]


def test_a_reused_key_with_other_content_and_a_bad_entry_refuse_the_whole_batch(periods):
    entries_post(items=_items(1))
    with pytest.raises(IdempotencyConflict):
        entries_post(items=[(balanced("9.00", debit="5000", credit="5150"), "batch:0")])
    bad = balanced("1.00", debit="5000", credit="9999")
    with pytest.raises(ValidationFailed, match="9999"):
        entries_post(items=[*_items(2, "more"), (bad, "more:bad")])
    assert not JournalEntry.objects.filter(idempotency_key__startswith="more:").exists()


def test_the_statements_grow_by_one_per_entry(periods):
    counts = []
    for n in (2, 12):
        with transaction.atomic():
            counts.append(count_queries(lambda n=n: entries_post(items=_items(n, f"q{n}")))[0])
            transaction.set_rollback(True)
    assert counts[1] - counts[0] == 10
