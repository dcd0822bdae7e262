"""psa.core.sql.unnest sends each column as one array literal: every value comes back from PostgreSQL as it was
sent, whatever characters a text holds."""

from datetime import date
from decimal import Decimal
from typing import NamedTuple

import pytest
from django.db import connection

from psa.core.sql import unnest

pytestmark = pytest.mark.django_db


class Row(NamedTuple):
    n: int
    amount: Decimal
    day: date | None
    text: str
    ref: int | None


AWKWARD = ["plain", "", "NULL", "a,b", "{x}", 'say "hi"', "back\\slash", '\\"', " spaced ", "it's", "é ✓", "x\ny"]


def test_every_value_comes_back_as_it_was_sent():
    rows = [
        Row(i, Decimal("-12.34") * i, date(2026, 1, 1 + i) if i % 2 else None, text, i if i % 3 else None)
        for i, text in enumerate(AWKWARD)
    ] + [Row(99, 7, None, "an int in a numeric column", None)]  # type: ignore[arg-type]
    params: list = []
    source = unnest(Row, rows, params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n, amount, day, text, ref FROM {source}", params)
        back = [Row(*r) for r in cursor.fetchall()]
    assert back == rows


def test_a_value_of_another_type_is_refused():
    with pytest.raises(TypeError):
        unnest(Row, [Row(1, "1.5", None, "x", None)], [])  # type: ignore[arg-type]  # text in a number column
    with pytest.raises(TypeError):
        unnest(Row, [Row(True, Decimal(1), None, "x", None)], [])  # a bool is not a number
