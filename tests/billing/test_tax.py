"""Tax per category on the summed basis and the EN 16931 totals."""

from decimal import Decimal

import pytest

from billing.models import TaxCategory
from billing.services.tax import totals_for

pytestmark = pytest.mark.django_db


def test_three_lines_of_10_04_at_20_percent_give_tax_6_02(periods):
    std = TaxCategory.objects.get(code="S20")
    totals = totals_for([(Decimal("10.04"), std)] * 3)
    assert totals.net == Decimal("30.12")
    assert totals.tax == Decimal("6.02")
    assert totals.gross == Decimal("36.14")


def test_each_category_is_taxed_on_its_own_summed_basis(periods):
    std, red, zero = (TaxCategory.objects.get(code=c) for c in ("S20", "S10", "Z"))
    totals = totals_for(
        [(Decimal("10.05"), std), (Decimal("0.05"), red), (Decimal("0.05"), red), (Decimal("99.99"), zero)]
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
