"""Go-live open-items test data: a go-live at 1 April 2026 on the default entity, CSV files built from dicts,
and the import call the workspace makes (billing.services.golive.golive_import)."""

import csv
import io
from datetime import date
from decimal import Decimal

from billing.models import GoLive
from billing.services.golive import golive_create, golive_import
from ledger.choices import SystemAccount
from ledger.services import EntrySpec, LineSpec, entry_post
from ledger.services.accounts import account_code_for
from psa.core.entities import entity_default
from psa.core.imports import ImportReport

CUTOVER = date(2026, 4, 1)


def make_golive(user, cutover: date = CUTOVER) -> GoLive:
    return golive_create(entity=entity_default(), cutover_date=cutover, user=user)


def csv_file(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def run(golive: GoLive, kind: str, rows: list[dict], user, *, dry_run: bool) -> ImportReport:
    return golive_import(golive=golive, kind=kind, file=csv_file(rows), user=user, dry_run=dry_run, file_name="t.csv")


def errors(report: ImportReport) -> dict[int, tuple[str, str]]:
    """Row number -> (rule, reason) of every refused row."""
    return {r.row: (r.rule, r.reason) for r in report.rows if r.action == "error"}


def opening_balance(golive: GoLive, role: SystemAccount, amount: str, *, credit: bool) -> None:
    """What the opening trial balance puts on a control account (no project) against cash, as one of the go-live's
    own entries (source golive:<id>:..., dated the cut-over, as the opening balances import posts it)."""
    value, zero = Decimal(amount), Decimal("0")
    lines = (
        LineSpec(account_code_for(role), debit=zero if credit else value, credit=value if credit else zero),
        LineSpec(
            account_code_for(SystemAccount.CASH), debit=value if credit else zero, credit=zero if credit else value
        ),
    )
    entry_post(
        spec=EntrySpec(
            date=golive.cutover_date, memo="Opening balance (test)", lines=lines, source=f"golive:{golive.pk}:test"
        ),
        key=f"golive:{golive.pk}:test:{role}:{amount}:{credit}",
    )
