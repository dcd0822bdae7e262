"""The go-live reconciliation: the checks that prove the move. Each check function takes the go-live and
returns its Check rows (one per account where the check is per account); `golive_reconciliation` runs every
function in CHECKS. Adding a check is one function and one entry in CHECKS.

- Trial balance: per account, the books at the cut-over (the go-live's own entries plus anything dated before
  the cut-over) against the source trial balance's rows for it; and the source itself balances.
- Receivables: the AR sub-ledger (open invoices of the entity, less unapplied payments) against the AR control
  account of the entity's books, with the clients whose two figures differ named.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Q, Sum

from billing.choices import InvoiceKind, InvoiceStatus
from billing.models import GoLive, GoLiveBalance, Invoice, Payment
from billing.selectors.open_items import ap_check, contract_positions_check
from crm.models import Account
from ledger.choices import SystemAccount
from ledger.models import JournalLine, LedgerAccount
from psa.core.money import ZERO


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


def golive_entry_sources(golive: GoLive) -> Q:
    """The journal entries a go-live posted (the opening entry, the receivables entry...): source golive:<id>:…"""
    return Q(entry__source__startswith=f"golive:{golive.pk}:")


def _books_at_cutover(golive: GoLive) -> Q:
    """The lines that make the entity's books at the cut-over: anything dated before it and the go-live's own."""
    return Q(entity_id=golive.entity_id) & (Q(date__lt=golive.cutover_date) | golive_entry_sources(golive))


def trial_balance_checks(golive: GoLive) -> list[Check]:
    source: dict[int, Decimal] = defaultdict(lambda: ZERO)
    rows: dict[int, list[str]] = defaultdict(list)
    debits = credits = ZERO
    for b in GoLiveBalance.objects.filter(golive=golive).order_by("row"):
        source[b.account_id] += b.debit - b.credit
        rows[b.account_id].append(f"Opening balances row {b.row} ({b.source_code}): {b.debit - b.credit:,.2f}")
        debits += b.debit
        credits += b.credit
    if not source:
        return []
    books = {
        r["account_id"]: r["d"] - r["c"]
        for r in JournalLine.objects.filter(_books_at_cutover(golive))
        .values("account_id")
        .annotate(d=Sum("debit"), c=Sum("credit"))
        .order_by()
    }
    accounts = LedgerAccount.objects.in_bulk(set(source) | set(books))
    checks = [Check("The source trial balance balances", debits, credits, group="Trial balance")]
    for account_id in sorted(accounts, key=lambda pk: accounts[pk].code):
        account = accounts[account_id]
        expected, actual = source.get(account_id, ZERO), books.get(account_id, ZERO)
        if expected == 0 and actual == 0:
            continue
        causes = list(rows.get(account_id, []))
        if expected != actual:
            causes.append(f"Books at the cut-over for {account.code}: {actual:,.2f}")
            if account_id not in source:
                causes.append(f"No row of the source trial balance names {account.code}.")
        checks.append(Check(f"{account.code} {account.name}", expected, actual, causes, group="Trial balance"))
    return checks


def receivables_checks(golive: GoLive) -> list[Check]:
    """AR sub-ledger = AR control, for the go-live's entity (functional currency), with the clients that differ."""
    entity = golive.entity_id
    ledger: dict[int | None, Decimal] = defaultdict(lambda: ZERO)
    for client_id, d, c in (
        JournalLine.objects.filter(entity_id=entity, account__system_role=SystemAccount.RECEIVABLE)
        .values_list("client_id")
        .annotate(d=Sum("debit"), c=Sum("credit"))
        .order_by()
    ):
        ledger[client_id] += d - c
    sub: dict[int | None, Decimal] = defaultdict(lambda: ZERO)
    issued = Invoice.objects.filter(entity_id=entity, number__isnull=False).exclude(
        status__in=[InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED]
    )
    for account_id, kind, gross, settled in (
        issued.values_list("account_id", "kind")
        .annotate(g=Sum("functional_gross"), s=Sum("functional_settled"))
        .order_by()
    ):
        sign = -1 if kind == InvoiceKind.CREDIT_NOTE else 1
        sub[account_id] += sign * ((gross or ZERO) - (settled or ZERO))
    for account_id, unapplied in (
        Payment.objects.filter(entity_id=entity)
        .values_list("account_id")
        .annotate(u=Sum(F("functional_amount") - F("functional_allocated")))
        .order_by()
    ):
        sub[account_id] -= unapplied or ZERO
    control = sum(ledger.values(), ZERO)
    open_total = sum(sub.values(), ZERO)
    causes = []
    names = dict(Account.objects.filter(pk__in=[k for k in set(ledger) | set(sub) if k]).values_list("pk", "name"))
    for client in sorted(set(ledger) | set(sub), key=lambda k: (k is None, names.get(k or 0, ""))):
        gl, op = ledger.get(client, ZERO), sub.get(client, ZERO)
        if gl != op:
            who = names.get(client, "No client") if client else "No client (AR not yet on invoices)"
            causes.append(f"{who}: AR control {gl:,.2f}, open invoices {op:,.2f}")
    if not ledger and not sub:
        return []
    return [Check("Receivables: open invoices = AR control account", control, open_total, causes, group="Receivables")]


CHECKS: list[Callable[[GoLive], list[Check]]] = [
    trial_balance_checks,
    receivables_checks,
    contract_positions_check,
    ap_check,
]


def golive_reconciliation(golive: GoLive) -> list[Check]:
    """Every check of the go-live, in CHECKS order."""
    return [check for function in CHECKS for check in function(golive)]


def golive_reconciled(golive: GoLive) -> bool:
    checks = golive_reconciliation(golive)
    return bool(checks) and all(c.ok for c in checks)
