"""Price cuts and re-billed costs the ledger is told about (ledger.models.PriceReduction, RebilledCost): the layer
above calls `price_reduction_record` when it issues a document that cuts a contract's price (billing: a credit note
crediting a plain amount, billing.services.posting) and `rebilled_cost_record` when it posts a vendor bill with
re-billable lines (billing.services.vendor_costs), and recognition reads them (ledger.selectors.revenue,
ledger.services.recognition). The ledger never asks billing; billing tells it, in the transaction that posts the
document."""

from datetime import date
from decimal import Decimal

from django.db import transaction

from ledger.models import PriceReduction, RebilledCost
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


@transaction.atomic
def rebilled_cost_record(*, contract_line_id: int, on: date, amount: Decimal, source: str) -> RebilledCost:
    """Record that `source` (a re-billable vendor-bill line, posted) re-bills `amount` to the client through the
    contract line from `on`: recognition recognises it with the line (ledger.models.RebilledCost). Idempotent by
    `source` like a price cut: the same line told twice records one cost; told with another line, date or
    amount it is refused (a posted bill never changes)."""
    cost, created = RebilledCost.objects.get_or_create(
        source=source, defaults={"contract_line_id": contract_line_id, "on": on, "amount": amount}
    )
    if not created and (cost.contract_line_id, cost.on, cost.amount) != (contract_line_id, on, amount):
        raise IdempotencyConflict(f"{source} already re-bills {cost.amount} on contract line {cost.contract_line_id}.")
    return cost
