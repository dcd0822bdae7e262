"""The report pages reuse their line sums across readers while the journal is unchanged, and only then: a posting,
a close or a reopen shows on the next view, and sums computed inside a transaction are never stored for others."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledger import sql
from ledger.selectors import pnl, trial_balance
from ledger.services import period_reopen
from tests.ledger.factories import balanced, close_month, post

# Committed transactions: the reuse is off inside a transaction, which is where the other tests run.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LINE_SUMS = "FROM ledger_journalline"  # the statements that read the lines (trial balance and P&L sums)


def _line_reads(client, url: str) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return sum(LINE_SUMS in q["sql"] for q in ctx.captured_queries), response.content


def _table(page: bytes) -> bytes:
    """The report's table (the page around it carries a fresh nonce per response)."""
    return page[page.index(b"<table") : page.index(b"</table>")]


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def books(periods, finance):
    post(balanced("1000.00", debit="1000", credit="4000", on=date(2026, 1, 10)))
    post(balanced("250.00", debit="6000", credit="1000", on=date(2026, 2, 3)))
    return periods


def test_a_second_reader_reuses_the_sums_and_a_posting_shows_on_the_next_view(client, finance, books):
    client.force_login(finance)
    url = reverse("ledger:trial_balance") + "?at=2026-03-31"
    first, page = _line_reads(client, url)
    assert first >= 1 and b"1,000.00" in page
    again, page_again = _line_reads(client, url)
    assert again == 0, "the unchanged journal's sums are reused"
    assert _table(page_again) == _table(page), "the same figures"
    post(balanced("77.00", debit="1000", credit="4000", on=date(2026, 3, 5)))
    after, page_after = _line_reads(client, url)
    assert after >= 1, "a posting moves the stamp: the sums are read again"
    assert b"1,077.00" in page_after


def test_reused_sums_equal_fresh_ones_through_postings_a_close_and_a_reopen(finance, books):
    def both(**kwargs):
        return trial_balance(reuse=True, **kwargs), trial_balance(**kwargs)

    def same(a, b):
        return [(r.account.code, r.opening, r.debit, r.credit) for r in a.rows] == [
            (r.account.code, r.opening, r.debit, r.credit) for r in b.rows
        ]

    at = date(2026, 3, 31)
    assert same(*both(at=at))
    close_month(period_id=books[0].pk, by=finance, reason="month end")
    assert same(*both(at=at)) and same(*both(period=books[1]))
    post(balanced("40.00", debit="6000", credit="1000", on=date(2026, 2, 20)))
    reused, fresh = both(period=books[1])
    assert same(reused, fresh)
    assert next(r.debit for r in reused.rows if r.account.code == "6000") == Decimal("290.00")
    period_reopen(period_id=books[0].pk, by=finance, reason="correction")
    assert same(*both(at=at))
    year = pnl(start=date(2026, 1, 1), end=at, by="period", reuse=True)
    assert year.net_total == pnl(start=date(2026, 1, 1), end=at, by="period").net_total == Decimal("710.00")


def test_the_stamp_moves_with_a_posting_and_a_close_and_not_with_a_read(finance, books):
    stamp = sql.journal_stamp()
    assert stamp is not None
    trial_balance(at=date(2026, 3, 31), reuse=True)
    assert sql.journal_stamp() == stamp
    post(balanced("5.00", on=date(2026, 3, 1)))
    posted = sql.journal_stamp()
    assert posted != stamp
    close_month(period_id=books[0].pk, by=finance, reason="month end")
    assert sql.journal_stamp() not in (stamp, posted)


def test_inside_a_transaction_nothing_is_stamped_so_uncommitted_sums_are_never_stored(books):
    at = date(2026, 3, 31)
    with transaction.atomic():
        assert sql.journal_stamp() is None
        post(balanced("900.00", debit="1000", credit="4000", on=date(2026, 3, 9)))
        inside = trial_balance(at=at, reuse=True)
        assert next(r.debit for r in inside.rows if r.account.code == "1000") == Decimal("1900.00")
        transaction.set_rollback(True)
    outside = trial_balance(at=at, reuse=True)
    assert next(r.debit for r in outside.rows if r.account.code == "1000") == Decimal("1000.00")
