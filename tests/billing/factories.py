"""Billing test data: a complete billing entity, a contract with lines, accepted milestones, schedules.

Accounts, projects and contracts are made with the ORM (their services belong to other apps and are not
all committed yet); billing states (issued, paid) are always reached through billing.services.
"""

from datetime import date, datetime
from decimal import Decimal
from itertools import count

from django.db import transaction
from django.utils import timezone

from billing.models import Invoice
from billing.services import billing_schedule_generate, invoice_draft_for_contract, invoice_issue
from billing.services.tax import tax_categories_ensure_default
from crm.models import Account, Contact
from ledger.services import periods_ensure
from ledger.services.chart import chart_ensure_default
from projects.models import Contract, ContractLine, Milestone, Project
from tests.factories import gb_vat_id

_n = count(1)


def make_periods(start: date = date(2025, 1, 1), through: date = date(2027, 12, 31)):
    """Open periods, and the chart of accounts and tax categories (gone after a transactional test's flush)."""
    import importlib

    from django.apps import apps

    importlib.import_module("ledger.migrations.0002_default_chart").create_chart(apps, None)
    importlib.import_module("ledger.migrations.0016_cost_side_accounts").create_accounts(apps, None)
    importlib.import_module("ledger.migrations.0019_retainage_receivable_account").create_account(apps, None)
    chart_ensure_default()  # the accounts added after 0002 (exchange differences, intercompany)
    tax_categories_ensure_default()
    return periods_ensure(start=start, through=through)


def make_account(**kw) -> Account:
    n = next(_n)
    defaults = {
        "name": f"Client {n}",
        "legal_name": f"Client {n} GmbH",
        # The test seller is in GB (tests/conftest.py): a GB business client is billed at the GB standard rate.
        "tax_id": gb_vat_id(n),
        "country": "GB",
        "billing_address": "1 High Street\nLondon EC1A 1BB",
        "billing_email": f"ap{n}@client.example",
        "currency": "EUR",
        "payment_terms_days": 30,
    }
    defaults.update(kw)
    return Account.objects.create(**defaults)


def make_contract(account: Account | None = None, *, start=date(2026, 1, 1), end=date(2026, 12, 31), **kw) -> Contract:
    """A contract on its own project. Numbered CF-/PF- so they never meet the numbers a won deal draws from the
    contract series (C-00006 from a hand-off in one test and from this counter in the next collided)."""
    account = account or make_account()
    n = next(_n)
    project = Project.objects.create(code=f"PF{n:05d}", name=f"Project {n}", account=account, currency=account.currency)
    return Contract.objects.create(
        number=f"CF-{n:05d}",
        account=account,
        project=project,
        currency=account.currency,
        payment_terms_days=kw.pop("payment_terms_days", 30),
        start_date=start,
        end_date=end,
        **kw,
    )


def make_line(contract: Contract, model: str = "milestone", price: str = "1000.00", **kw) -> ContractLine:
    return ContractLine.objects.create(
        contract=contract,
        position=kw.pop("position", next(_n)),
        description=kw.pop("description", f"{model} line"),
        billing_model=model,
        price=Decimal(price),
        start_date=kw.pop("start_date", contract.start_date),
        end_date=kw.pop("end_date", contract.end_date),
        **kw,
    )


def accept_milestone(line: ContractLine, amount: str, on: date = date(2026, 1, 20), name: str = "") -> Milestone:
    at = timezone.make_aware(datetime(on.year, on.month, on.day, 12, 0))
    return Milestone.objects.create(
        project=line.contract.project,
        contract_line=line,
        name=name or f"Milestone {next(_n)}",
        amount=Decimal(amount),
        due_date=on,
        status="accepted",
        achieved_at=at,
        accepted_at=at,
    )


def milestone_contract(*amounts: str, account=None, on: date = date(2026, 1, 20), cap: str | None = None):
    contract = make_contract(account)
    line = make_line(
        contract, "milestone", price=str(sum(Decimal(a) for a in amounts)), cap=Decimal(cap) if cap else None
    )
    milestones = [accept_milestone(line, a, on) for a in amounts]
    return contract, line, milestones


def issued_invoice(by, *amounts: str, account=None, on: date = date(2026, 2, 1)) -> Invoice:
    """An invoice issued by `by` on `on` for a new contract with one accepted milestone per amount (January)."""
    contract, _, _ = milestone_contract(*amounts, account=account)
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    return invoice_issue(invoice_id=draft.pk, by=by, on=on)


def retainer_contract(monthly_total: str = "12000.00", account=None, model: str = "retainer"):
    contract = make_contract(account)
    line = make_line(contract, model, price=monthly_total)
    billing_schedule_generate(contract_line_id=line.pk)
    return contract, line


def portal_user(account: Account, make_user):
    user = make_user("client")
    Contact.objects.create(account=account, first_name="Claire", user=user, portal_access=True)
    return user


# --- time and expenses (approved, with the rate snapshot the approval service copies) ---------------------
def make_consultant(role_name: str = "Senior consultant", first: str = "Ada", last: str = "Lovelace"):
    from django.contrib.auth import get_user_model

    from crm.models import DeliveryRole
    from projects.models import Consultant

    n = next(_n)
    role, _ = DeliveryRole.objects.get_or_create(name=role_name, defaults={"code": f"role-{n}"})
    user = get_user_model().objects.create_user(username=f"c{n}", first_name=first, last_name=last)
    return Consultant.objects.create(user=user, role=role)


def tm_contract(*, account=None, cap: str | None = None, start=date(2026, 1, 1), end=date(2026, 12, 31)):
    """A contract with one time-and-materials line (and an optional not-to-exceed cap)."""
    contract = make_contract(account, start=start, end=end)
    line = make_line(
        contract,
        "tm",
        price="100000.00",
        rate=Decimal("100"),
        cap=Decimal(cap) if cap else None,
        description="Implementation services",
    )
    return contract, line


def approved_entry(line, consultant, day: date, hours: str, rate: str, note: str = "", task=None, billable=True):
    from projects.models import TimeEntry

    return TimeEntry.objects.create(
        consultant=consultant,
        project=line.contract.project,
        task=task,
        date=day,
        hours=Decimal(hours),
        note=note or f"Work on {day:%d %b}",
        status="approved",
        contract_line=line,
        billable=billable,
        bill_rate=Decimal(rate),
        cost_rate=Decimal("60"),
        approved_at=timezone.now(),
    )


def approved_expense(line, consultant, day: date, amount: str, *, markup: str = "0", currency: str = "EUR", **kw):
    from projects.models import Expense

    amount_d, markup_d = Decimal(amount), Decimal(markup)
    rebill = (amount_d * (100 + markup_d) / 100).quantize(Decimal("0.01"))
    return Expense.objects.create(
        consultant=consultant,
        project=line.contract.project,
        date=day,
        category=kw.pop("category", "travel"),
        description=kw.pop("description", "Train Berlin-Munich"),
        amount=amount_d,
        currency=currency,
        status="approved",
        contract_line=line,
        rebill_policy="markup" if markup_d else "at_cost",
        markup_percent=markup_d,
        rebill_amount=rebill,
        approved_at=timezone.now(),
        **kw,
    )
