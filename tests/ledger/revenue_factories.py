"""Revenue recognition test data: books (periods, chart, tax), contracts from billing's factories, delivered
time and expenses, GL balances per project.

Time entries and expenses are written in their approved state with the snapshot rates the approval copies
(projects' approval service is tested in tests/projects); recognition reads only those snapshots. Invoices and
credit notes go through billing's services.
"""

from datetime import date, datetime
from decimal import Decimal
from itertools import count

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.services import invoice_draft_for_contract, invoice_issue
from billing.services.vat import account_tax_override_set
from ledger.choices import SystemAccount
from ledger.models import AccountingPeriod, JournalLine
from ledger.services.chart import chart_ensure_default
from projects.models import Consultant, Expense, TimeEntry
from tests.billing.factories import make_account
from tests.billing.factories import make_periods as billing_periods
from tests.crm.factories import RoleFactory
from tests.factories import UserFactory
from tests.ledger.factories import close_month

_n = count(1)
D = Decimal


def books():
    periods = billing_periods(start=date(2026, 1, 1), through=date(2027, 12, 31))
    chart_ensure_default()
    return periods


def zero_tax_account(**kw):
    account = make_account(**kw)
    account_tax_override_set(
        account_id=account.pk, category_code="Z", reason="Zero-rated: the revenue tests compare nets", by=None
    )
    return account


def period(on: date) -> AccountingPeriod:
    return AccountingPeriod.objects.get(start=on.replace(day=1))


def close(on: date, by) -> None:
    """Month-end as finance does it: the recognition run (the checklist's blocking item), then the close."""
    close_month(period_id=period(on).pk, by=by)


def consultant() -> Consultant:
    n = next(_n)
    return Consultant.objects.create(user=UserFactory(roles=["consultant"]), role=RoleFactory(code=f"rev-{n}"))


def approved_time(project, line, on: date, hours: str, *, rate="100", cost="60", who=None, billable=True) -> TimeEntry:
    at = timezone.make_aware(datetime(on.year, on.month, on.day, 18, 0))
    return TimeEntry.objects.create(
        consultant=who or consultant(),
        project=project,
        date=on,
        hours=D(hours),
        status="approved",
        contract_line=line,
        billable=billable,
        bill_rate=D(rate),
        cost_rate=D(cost),
        submitted_at=at,
        approved_at=at,
    )


def approved_expense(project, line, on: date, amount: str, rebill: str | None = None) -> Expense:
    return Expense.objects.create(
        consultant=consultant(),
        project=project,
        date=on,
        category="travel",
        amount=D(amount),
        currency="EUR",
        status="approved",
        contract_line=line,
        rebill_policy="at_cost",
        rebill_amount=D(rebill or amount),
        approved_at=timezone.now(),
    )


def invoice(contract, period_end: date, on: date, by):
    """Draft and issue the contract's invoice of everything billable by `period_end`; None when nothing is."""
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=period_end, by=by)
    return invoice_issue(invoice_id=draft.pk, by=by, on=on) if draft is not None else None


def gl_code(code: str, project=None) -> Decimal:
    row = JournalLine.objects.filter(account__code=code, project=project).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (row["d"] or D("0")) - (row["c"] or D("0"))


def gl(role: SystemAccount, project=None, through: date | None = None) -> Decimal:
    """Debit-positive balance of the account with `role` (optionally one project, through a date)."""
    lines = JournalLine.objects.filter(account__system_role=role)
    if project is not None:
        lines = lines.filter(project=project)
    if through is not None:
        lines = lines.filter(date__lte=through)
    row = lines.aggregate(d=Sum("debit"), c=Sum("credit"))
    return (row["d"] or D("0")) - (row["c"] or D("0"))


def revenue(project=None, through: date | None = None) -> Decimal:
    return -gl(SystemAccount.SERVICES_REVENUE, project, through)
