"""How the objects a go-live created are undone when it is rolled back (listed in billing.services.golive.UNDO).

- Journal entries (the opening entry, the receivables entry) are posted and immutable, and their numbers are
  gapless: they are REVERSED (entry_reverse) on their own date, never deleted; the pair nets to nothing in every
  report.
- Imported invoices are deleted through the database's one sanctioned path for them (receivables.py).
- Months and closes before the cut-over go through the ledger's services (ledger.services.history).
- Accounts the chart import created are deleted, or deactivated when postings (the reversed opening entry)
  refer to them.
"""

from billing.services.golive.base import GoLiveContext
from ledger.models import JournalEntry, JournalLine, LedgerAccount
from ledger.services import account_update, entry_reverse
from ledger.services.history import history_closes_remove, history_periods_remove


def entries_reverse(ids: list[int], ctx: GoLiveContext) -> None:
    """Reversed on their own date (the cut-over), so the books at the cut-over are as before the go-live and a
    new go-live of the entity starts clean; a closed month moves the reversal to the first open one."""
    for entry in JournalEntry.objects.filter(pk__in=ids, reversed_by__isnull=True).order_by("-pk"):
        entry_reverse(
            entry_id=entry.pk,
            on=entry.date,
            memo=f"Go-live {ctx.golive.pk} rolled back: reversal of {entry.number}",
            key=f"golive:{ctx.golive.pk}:rollback:{entry.pk}",
        )


def accounts_remove(ids: list[int], ctx: GoLiveContext) -> None:
    used = set(JournalLine.objects.filter(account_id__in=ids).values_list("account_id", flat=True).distinct())
    for account_id in sorted(used):
        account_update(account_id=account_id, by=ctx.user, is_active=False)
    LedgerAccount.objects.filter(pk__in=set(ids) - used).delete()


def closes_remove(ids: list[int], ctx: GoLiveContext) -> None:
    history_closes_remove(close_ids=ids)


def periods_remove(ids: list[int], ctx: GoLiveContext) -> None:
    history_periods_remove(period_ids=ids)
