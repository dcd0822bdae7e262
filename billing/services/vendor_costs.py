"""Re-billed vendor costs on the ledger's side: the one call the payables posting makes so that revenue recognition
recognises what a posted vendor bill re-bills to clients.

The ledger computes revenue to date from the sources it may read (time, expenses, milestones) and cannot read
billing's vendor bills (layers: the ledger is below billing). Billing therefore tells it, in the transaction that
posts the bill, what each re-billable line re-bills (ledger.services.rebilled_cost_record), as it tells it about
price cuts; recognition adds them to the contract line's re-billed expenses. The invoice that later bills the
cost (billing.services.sources.VendorCostSource) puts its net through the contract position like an expense line,
so it relieves the unbilled receivable that recognition opened.
"""

from django.db import transaction

from billing.choices import VendorBillLineKind
from billing.models import VendorBill
from ledger.models import RebilledCost
from ledger.services import rebilled_cost_record


def vendor_cost_source(line_id: int) -> str:
    """The ledger's key of a re-billable vendor-bill line (RebilledCost.source)."""
    return f"vendor_bill_line:{line_id}"


@transaction.atomic
def vendor_bill_rebill_record(*, bill: VendorBill) -> list[RebilledCost]:
    """Tell the ledger what the posted `bill` re-bills: one RebilledCost per re-billable line with a re-bill
    amount (a line whose contract line re-bills nothing has none), dated at the bill's date. Call it from the
    posting service once `rebill_amount` is set, in the same transaction; idempotent (posting told twice records
    each line once)."""
    lines = bill.lines.filter(kind=VendorBillLineKind.REBILLABLE, rebill_amount__gt=0).order_by("pk")
    recorded = []
    for line in lines:
        # a re-billable line names its contract line (billing_vbline_rebill_contract_line); the filter its amount
        assert line.contract_line_id is not None and line.rebill_amount is not None
        recorded.append(
            rebilled_cost_record(
                contract_line_id=line.contract_line_id,
                on=bill.bill_date,
                amount=line.rebill_amount,
                source=vendor_cost_source(line.pk),
            )
        )
    return recorded
