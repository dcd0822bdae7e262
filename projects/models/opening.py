"""Where open work stood in the firm's previous system at the go-live cut-over.

A contract brought in at go-live is half delivered: its lines have been billed and recognised in part by the old
system. `ContractLineOpening` keeps, per contract line, what was billed and recognised before the cut-over date
(`as_of`), so that PSA carries on from there instead of starting again:
- recognition (ledger.services.recognition) counts the line's opening recognised revenue as already earned and
  measures only the work from `as_of` on (time, expenses, progress, planned months), over the price still to
  recognise (price - recognised);
- billing (billing.services.sources) schedules only what is left to bill (price - billed) and counts the opening
  billed amount against a not-to-exceed cap;
- the contract position at the cut-over is recognised - billed per contract (unbilled receivable when positive,
  deferred revenue when negative), which the go-live import posts onto the project in the GL.

Time and expenses dated before the cut-over that were approved but not billed are imported as approved entries
flagged `opening` (projects.models.TimeEntry / Expense): billable by the next run, and left out of the labour cost
run (their cost is in the old system's books, which the opening balances carry).
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from psa.core.money import AMOUNT_FIELD, HOURS_FIELD


class ContractLineOpening(models.Model):
    """What one contract line had billed and recognised, and the hours delivered, before `as_of` (the go-live
    cut-over date) in the previous system."""

    contract_line = models.OneToOneField("projects.ContractLine", on_delete=models.CASCADE, related_name="opening")
    as_of = models.DateField(help_text="The cut-over date: the amounts are everything dated before it.")
    billed = models.DecimalField(**AMOUNT_FIELD, default=Decimal("0.00"), help_text="Net invoiced to date.")
    recognised = models.DecimalField(**AMOUNT_FIELD, default=Decimal("0.00"), help_text="Revenue recognised to date.")
    hours = models.DecimalField(**HOURS_FIELD, default=Decimal("0.00"), help_text="Hours delivered to date.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract_line_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(billed__gte=0) & Q(recognised__gte=0) & Q(hours__gte=0),
                name="projects_clopening_amounts_nonneg",
            ),
        ]

    def __str__(self) -> str:
        line = self.contract_line_id
        return f"Opening of line {line} at {self.as_of}: billed {self.billed}, recognised {self.recognised}"

    @property
    def position(self) -> Decimal:
        """Unbilled receivable (positive) or deferred revenue (negative) of the line at the cut-over."""
        return self.recognised - self.billed
