from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psa.core.money import allocate, line_net, round_money, split_evenly, sum_money, to_decimal


def test_round_money_rounds_half_up():
    assert round_money(Decimal("2.345")) == Decimal("2.35")
    assert round_money(Decimal("2.344")) == Decimal("2.34")
    assert round_money(Decimal("-2.345")) == Decimal("-2.35")


def test_floats_are_refused():
    with pytest.raises(TypeError):
        to_decimal(0.1)


def test_line_net_rounds_the_product_once():
    assert line_net(Decimal("7.5"), Decimal("133.3333")) == Decimal("1000.00")
    assert line_net(Decimal("1.5"), Decimal("10.005")) == Decimal("15.01")


def test_split_evenly_puts_the_remainder_in_the_last_part():
    parts = split_evenly(Decimal("1000.00"), 12)
    assert parts[:11] == [Decimal("83.33")] * 11
    assert parts[11] == Decimal("83.37")


def test_split_evenly_refuses_fractions_of_a_cent():
    with pytest.raises(ValueError):
        split_evenly(Decimal("10.001"), 3)


def test_sum_money_does_not_round_again():
    assert sum_money([Decimal("10.04")] * 3) == Decimal("30.12")


cents = st.integers(min_value=-10_000_000_00, max_value=10_000_000_00).map(lambda c: Decimal(c) / 100)


@given(total=cents, parts=st.integers(min_value=1, max_value=60))
def test_split_evenly_always_sums_back_exactly(total, parts):
    result = split_evenly(total, parts)
    assert sum(result) == total
    assert len(result) == parts
    assert all(r == round_money(r) for r in result)


@given(
    total=cents,
    weights=st.lists(st.integers(min_value=0, max_value=10_000).map(Decimal), min_size=1, max_size=20).filter(
        lambda w: sum(w) > 0
    ),
)
def test_allocate_always_sums_back_exactly(total, weights):
    shares = allocate(total, weights)
    assert sum(shares) == total
    assert all(s == round_money(s) for s in shares)
