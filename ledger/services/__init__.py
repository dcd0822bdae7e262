"""Every ledger write. Billing and revenue recognition post through `entry_post`; see ledger.services.posting.

from ledger.services import EntrySpec, LineSpec, entry_post

entry = entry_post(
    spec=EntrySpec(
        date=invoice.issue_date,
        memo=f"Invoice {invoice.number}",
        source=f"invoice:{invoice.pk}",
        lines=(
            LineSpec(account=receivable, debit=gross, client_id=invoice.account_id),
            LineSpec(account=tax_payable, credit=tax, client_id=invoice.account_id),
            LineSpec(account=deferred, credit=net, client_id=invoice.account_id, project_id=project_id),
        ),
    ),
    key=f"invoice:{invoice.pk}:issue",
)
"""

from ledger.services.accounts import account_code_for, account_create, account_update
from ledger.services.contract_position import contract_position_split
from ledger.services.history import periods_earlier_create
from ledger.services.journal_import import ImportEntry, journal_lines_import
from ledger.services.periods import period_close, period_reopen, periods_ensure
from ledger.services.posting import EntrySpec, LineSpec, entries_auto_reverse_due, entry_post, entry_reverse
from ledger.services.price_reductions import price_reduction_record, rebilled_cost_record

__all__ = [
    "EntrySpec",
    "ImportEntry",
    "LineSpec",
    "account_code_for",
    "account_create",
    "account_update",
    "contract_position_split",
    "entries_auto_reverse_due",
    "entry_post",
    "entry_reverse",
    "journal_lines_import",
    "period_close",
    "period_reopen",
    "periods_earlier_create",
    "periods_ensure",
    "price_reduction_record",
    "rebilled_cost_record",
]
