"""The go-live reconciliation: the checks that prove the move. Each check function takes the go-live and
returns its Check rows (one per account where the check is per account); `golive_reconciliation` runs every
function in CHECKS. Adding a check is one function and one entry in CHECKS."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from billing.models import GoLive
from billing.selectors.open_items import ap_check, contract_positions_check


@dataclass
class Check:
    name: str
    expected: Decimal
    actual: Decimal
    rows: list[str] = field(default_factory=list)  # what causes a difference: file rows, documents, accounts
    group: str = ""  # the check's family ("Trial balance", "Receivables"), for the report's headings

    @property
    def difference(self) -> Decimal:
        return self.actual - self.expected

    @property
    def ok(self) -> bool:
        return self.difference == 0


CHECKS: list[Callable[[GoLive], list[Check]]] = [contract_positions_check, ap_check]


def golive_reconciliation(golive: GoLive) -> list[Check]:
    """Every check of the go-live, in CHECKS order."""
    return [check for function in CHECKS for check in function(golive)]


def golive_reconciled(golive: GoLive) -> bool:
    checks = golive_reconciliation(golive)
    return bool(checks) and all(c.ok for c in checks)
