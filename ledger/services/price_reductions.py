"""Price cuts the ledger is told about (ledger.models.PriceReduction): the layer above calls
`price_reduction_record` when it issues a document that cuts a contract's price (billing: a credit note crediting a
plain amount, billing.services.posting), and recognition reads them (ledger.selectors.revenue.price_reductions).
The ledger never asks billing; billing tells it, in the transaction that issues the document."""

from datetime import date
from decimal import Decimal

from django.db import transaction

from ledger.models import PriceReduction
from psa.core.exceptions import IdempotencyConflict


@transaction.atomic
def price_reduction_record(*, project_id: int, on: date, amount: Decimal, source: str) -> PriceReduction:
    """Record that `source` cut the project's price by `amount` on `on`. Idempotent by `source`: the same
    document told twice records one cut; the same document with another project, date or amount is refused."""
    cut, created = PriceReduction.objects.get_or_create(
        source=source, defaults={"project_id": project_id, "on": on, "amount": amount}
    )
    if not created and (cut.project_id, cut.on, cut.amount) != (project_id, on, amount):
        raise IdempotencyConflict(f"{source} already cut the price of project {cut.project_id} by {cut.amount}.")
    return cut
