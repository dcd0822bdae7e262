"""Balance history brought in by a go-live: the monthly figures the previous system reported per account, kept
for comparison reports (P&L last year against this year). They are not postings: the books in PSA start with
the opening entry at the cut-over, so the trial balance and the balance sheet never read them; the P&L adds
them for the months they cover (ledger.selectors.books.pnl)."""

from django.db import models
from django.db.models import Q

from psa.core.money import AMOUNT_FIELD


class HistoricalBalance(models.Model):
    entity = models.ForeignKey("core.LegalEntity", on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey("ledger.AccountingPeriod", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey("ledger.LedgerAccount", on_delete=models.PROTECT, related_name="+")
    debit = models.DecimalField(**AMOUNT_FIELD, default=0, help_text="The month's debits (movement).")
    credit = models.DecimalField(**AMOUNT_FIELD, default=0, help_text="The month's credits (movement).")
    source = models.CharField(max_length=100, blank=True, help_text="What brought it in, e.g. 'golive:3'.")

    class Meta:
        ordering = ["period_id", "account_id"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "period", "account"], name="ledger_history_unique"),
            models.CheckConstraint(condition=Q(debit__gte=0) & Q(credit__gte=0), name="ledger_history_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.period_id} {self.account_id} {self.debit - self.credit}"
