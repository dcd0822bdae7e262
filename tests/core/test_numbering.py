"""Gapless number series: per series and year, assigned in the caller's transaction, returned on rollback."""

import threading
from datetime import date

import pytest
from django.db import connection, transaction

from psa.core.models import NumberSeries
from psa.core.numbering import number_next, number_peek

pytestmark = pytest.mark.django_db


def test_numbers_count_up_per_series_and_year():
    with transaction.atomic():
        assert number_next(series="JE", on=date(2026, 3, 1)) == "JE-2026-000001"
        assert number_next(series="JE", on=date(2026, 12, 31)) == "JE-2026-000002"
        assert number_next(series="JE", on=date(2027, 1, 1)) == "JE-2027-000001"
        assert number_next(series="INV", on=date(2026, 3, 1)) == "INV-2026-000001"
    assert number_peek(series="JE", year=2026) == 2


def test_a_rollback_gives_the_number_back():
    with transaction.atomic():
        number_next(series="JE", on=date(2026, 1, 5))
    with pytest.raises(RuntimeError), transaction.atomic():
        assert number_next(series="JE", on=date(2026, 1, 5)) == "JE-2026-000002"
        raise RuntimeError("the document failed to post")
    with transaction.atomic():
        assert number_next(series="JE", on=date(2026, 1, 5)) == "JE-2026-000002"


def test_a_number_is_refused_outside_a_transaction(transactional_db):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        number_next(series="JE", on=date(2026, 1, 5))


@pytest.mark.parametrize("series", ["", "JE 1", "X" * 21, "JE;DROP"])
def test_bad_series_names_are_refused(series):
    with pytest.raises(ValueError), transaction.atomic():
        number_next(series=series, on=date(2026, 1, 5))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_with_rollbacks_leave_no_gaps_or_duplicates():
    committed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        barrier.wait()
        try:
            for i in range(15):
                try:
                    with transaction.atomic():
                        number = number_next(series="JE", on=date(2026, 6, 1))
                        if (n + i) % 4 == 0:
                            raise LookupError("forced rollback")
                    with lock:
                        committed.append(number)
                except LookupError:
                    pass
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in committed)
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) == 8 * 15 - sum(1 for n in range(8) for i in range(15) if (n + i) % 4 == 0)
    assert NumberSeries.objects.get(series="JE", year=2026).last == len(numbers)
