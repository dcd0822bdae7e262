"""Billed and recognised per contract line, for the project page's budget (DESIGN.md 5.7 per line): what each
line is worth, what was invoiced net of credit notes, what the ledger recognised, and the difference (unbilled
work when recognised runs ahead, billed in advance when invoicing does). Three queries whatever the size."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from billing.choices import FINAL_STATUSES, InvoiceKind
from billing.models import InvoiceLine
from ledger.models import Recognition
from projects.models import ContractLine
from psa.core.money import ZERO


@dataclass
class LineBilling:
    contract_line_id: int
    description: str
    billing_model: str
    currency: str
    price: Decimal  # the line's value (a T&M line's cap, when it has one; else zero: it is worth what is delivered)
    billed: Decimal  # net of issued invoices less issued credit notes
    recognised: Decimal
    retainage_percent: Decimal = ZERO
    contract_id: int = 0

    @property
    def position(self) -> Decimal:
        """Recognised less billed: positive is unbilled work (contract asset), negative is billed in advance."""
        return self.recognised - self.billed

    @property
    def left_to_bill(self) -> Decimal | None:
        return self.price - self.billed if self.price else None


def contract_line_billing(*, project_id: int) -> list[LineBilling]:
    """Each contract line of the project's contract, in its order, with billed and recognised to date, in the
    contract's currency."""
    lines = list(
        ContractLine.objects.filter(contract__project_id=project_id)
        .select_related("contract")
        .order_by("position", "pk")
    )
    ids = [line.pk for line in lines]
    billed: dict[int, Decimal] = {}
    for line_id, kind, net in (
        InvoiceLine.objects.filter(contract_line_id__in=ids, invoice__status__in=FINAL_STATUSES)
        .values("contract_line_id", "invoice__kind")
        .annotate(net=Sum("net"))
        .values_list("contract_line_id", "invoice__kind", "net")
    ):
        sign = -1 if kind == InvoiceKind.CREDIT_NOTE else 1
        billed[line_id] = billed.get(line_id, ZERO) + sign * net
    recognised = dict(
        Recognition.objects.filter(schedule__contract_line_id__in=ids)
        .values("schedule__contract_line_id")
        .annotate(v=Sum("amount"))
        .values_list("schedule__contract_line_id", "v")
    )
    return [
        LineBilling(
            contract_line_id=line.pk,
            description=line.description,
            billing_model=line.get_billing_model_display(),
            currency=line.contract.currency,
            price=line.price or line.cap or ZERO,
            billed=billed.get(line.pk, ZERO),
            recognised=recognised.get(line.pk, ZERO),
            retainage_percent=line.retainage_percent,
            contract_id=line.contract_id,
        )
        for line in lines
    ]
