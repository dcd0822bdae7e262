"""Tax per category on the summed basis and the EN 16931 totals."""

from decimal import Decimal

import pytest

from billing.models import TaxCategory
from billing.services.tax import totals_for
from psa.core.money import line_net

pytestmark = pytest.mark.django_db


def test_three_lines_of_10_04_at_20_percent_give_tax_6_02(periods):
    std = TaxCategory.objects.get(code="S20")
    totals = totals_for([(Decimal("10.04"), std)] * 3, currency="EUR")
    assert totals.net == Decimal("30.12")
    assert totals.tax == Decimal("6.02")
    assert totals.gross == Decimal("36.14")


def test_a_yen_invoice_is_taxed_to_the_whole_yen(periods):
    std = TaxCategory.objects.get(code="S20")
    totals = totals_for([(Decimal("10003"), std)], currency="JPY")
    assert (totals.net, totals.tax, totals.gross) == (Decimal("10003"), Decimal("2001"), Decimal("12004"))


def test_a_yen_line_net_rounds_to_the_whole_yen():
    assert line_net(Decimal("1.5"), Decimal("1001"), "JPY") == Decimal("1502")
    assert line_net(Decimal("1.5"), Decimal("10.005"), "EUR") == Decimal("15.01")


def test_each_category_is_taxed_on_its_own_summed_basis(periods):
    std, red, zero = (TaxCategory.objects.get(code=c) for c in ("S20", "S10", "Z"))
    totals = totals_for(
        [(Decimal("10.05"), std), (Decimal("0.05"), red), (Decimal("0.05"), red), (Decimal("99.99"), zero)],
        currency="EUR",
    )
    assert [(r.category.code, r.basis, r.amount) for r in totals.rows] == [
        ("S20", Decimal("10.05"), Decimal("2.01")),
        ("S10", Decimal("0.10"), Decimal("0.01")),
        ("Z", Decimal("99.99"), Decimal("0.00")),
    ]
    assert totals.net == sum(r.basis for r in totals.rows)
    assert totals.tax == sum(r.amount for r in totals.rows)
    assert totals.gross == totals.net + totals.tax


def test_only_standard_categories_carry_a_rate():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        TaxCategory.objects.create(code="BAD", name="Bad", kind="Z", rate=Decimal("5"))


def test_the_database_refuses_an_unknown_status_and_a_numbered_draft(periods):
    from django.db import IntegrityError, transaction

    from billing.models import Invoice
    from tests.billing.factories import make_account

    account = make_account()
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(account=account, buyer_name="X", status="sent")
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(account=account, buyer_name="X", number="INV-2026-999999")


def test_totals_are_sums_of_rounded_parts_for_any_lines(periods):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    categories = list(TaxCategory.objects.order_by("code"))
    cents = st.integers(min_value=0, max_value=10_000_000).map(lambda c: Decimal(c) / 100)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(cents, st.sampled_from(categories)), min_size=1, max_size=30))
    def check(lines):
        totals = totals_for(lines, currency="EUR")
        assert totals.net == sum((n for n, _ in lines), Decimal("0"))
        for row in totals.rows:
            basis = sum((n for n, c in lines if c.pk == row.category.pk), Decimal("0"))
            assert row.basis == basis
            assert row.amount == (basis * row.category.rate / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert totals.tax == sum(r.amount for r in totals.rows)
        assert totals.gross == totals.net + totals.tax

    check()
