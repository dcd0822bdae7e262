"""Billing demo data: past months invoiced through real billing runs (milestones, scheduled fees, approved
time and re-billable expenses), some paid, some partly paid, some overdue; the `client` login is linked to an
invoiced account and sees time-and-materials invoices with their time appendix.

Time comes from the projects demo (approved through its services) when it has logged time for the client's
account; otherwise this demo adds a small T&M line with two consultants' approved hours and expenses (rates
snapshotted as approval does), so the portal always shows an appendix.

Two of the clients are billed in their own currency (Union Pacific Freight in USD, Thames Analytics in GBP): their
contracts, projects, invoices and payments are in it, converted into the functional currency at the rate of each
document's date. The rates come from the kernel's demo (seeded before billing); `_demo_rates_until_core_seeds_them`
adds the business days' USD and GBP rates this demo needs when they are missing, and leaves existing ones alone.

Thames Analytics is a client of the UK entity (CLIENT_ENTITY, when psa.core.demo has seeded it): its invoices are
numbered in the GB-INV series and print the UK company as the seller.

Idempotent: runs have fixed keys, contracts and accounts natural keys, payments bank references. If the crm
and projects demos already made accounts and contracts, their schedules are generated and they are billed too.
"""

import importlib
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.choices import InvoiceKind, InvoiceStatus
from billing.demo import disputes as demo_disputes
from billing.demo import payables as demo_payables
from billing.models import Invoice
from billing.services import (
    billing_run_create,
    billing_run_execute,
    billing_run_start,
    billing_schedules_generate_for_contract,
    invoice_issue,
    payment_record,
)
from billing.services.tax import tax_categories_ensure_default
from crm.models import Account, Contact, DeliveryRole
from ledger.models import AccountingPeriod
from ledger.services import periods_ensure
from projects.choices import EntryStatus
from projects.models import Consultant, Contract, ContractLine, Expense, Milestone, Project, TimeEntry
from psa.core.countries import vat_prefix_country
from psa.core.currency import functional_currency
from psa.core.dates import month_end, next_month
from psa.core.entities import entity_default, seller_missing
from psa.core.exceptions import DomainError
from psa.core.models import ExchangeRate, LegalEntity
from psa.core.money import RATE_PLACES, round_amount, round_to

# The demo firm sells from Germany (psa/core/firm.py), so these clients exercise each VAT rule: two German
# businesses at the German standard rate (S 19 %), a Dutch business with a valid VAT id (reverse charge, AE), a US
# business (not subject, O) and a UK business (outside the EU: not subject, O). Their VAT ids pass python-stdnum's
# checks; the country is their VAT id's prefix.
CLIENTS = [
    (
        "billing-demo-contoso",
        "Contoso Retail",
        "Contoso Retail GmbH",
        "DE811234565",
        "Friedrichstrasse 44\n10117 Berlin",
    ),
    (
        "billing-demo-fabrikam",
        "Fabrikam Energy",
        "Fabrikam Energy AG",
        "DE298765435",
        "Maximilianstrasse 12\n80539 Munich",
    ),
    (
        "billing-demo-tailspin",
        "Tailspin Logistics",
        "Tailspin Logistics BV",
        "NL853746291B01",
        "Keizersgracht 101\n1015 CJ Amsterdam",
    ),
    (
        "billing-demo-unionpacific",
        "Union Pacific Freight",
        "Union Pacific Freight Inc.",
        "US123456789",
        "1400 Douglas Street\nOmaha, NE 68179\nUnited States",
    ),
    (
        "billing-demo-thames",
        "Thames Analytics",
        "Thames Analytics Ltd",
        "GB980780684",
        "1 Canada Square\nLondon E14 5AB\nUnited Kingdom",
    ),
]
# The currency each demo client is billed in (the others in EUR).
CLIENT_CURRENCY = {"billing-demo-unionpacific": "USD", "billing-demo-thames": "GBP"}
# The client contracted by another of the firm's entities (psa.core.demo seeds it): its contract, project and
# invoices are the UK entity's, numbered GB-INV-...; the others are the default entity's.
CLIENT_ENTITY = {"billing-demo-thames": "UK"}


def _accounts(today: date) -> list[Account]:
    """Three invoiced clients; the first is the `client` login's account (crm's demo links it to one), so the
    portal shows real invoices."""
    client = get_user_model().objects.filter(username="client").first()
    contact = (
        Contact.objects.filter(user=client, portal_access=True).select_related("account").first() if client else None
    )
    accounts = []
    entities = {e.code: e for e in LegalEntity.objects.filter(code__in=CLIENT_ENTITY.values())}
    for n, (ext, name, legal, tax_id, address) in enumerate(CLIENTS):
        country = vat_prefix_country(tax_id)
        if n == 0 and contact is not None and not contact.account.billing_entity_missing():
            accounts.append(contact.account)
            continue
        account, _ = Account.objects.get_or_create(
            external_id=ext,
            defaults={
                "name": name,
                "legal_name": legal,
                "tax_id": tax_id,
                "country": country,
                "billing_address": address,
                "billing_email": f"accounts@{name.split()[0].lower()}.example",
                "currency": CLIENT_CURRENCY.get(ext, "EUR"),
                "payment_terms_days": 30,
                "entity": entities.get(CLIENT_ENTITY.get(ext, "")),
            },
        )
        accounts.append(account)
    if client is not None and contact is None:
        Contact.objects.create(
            account=accounts[0],
            first_name="Claire",
            last_name="Client",
            email=client.email,
            user=client,
            portal_access=True,
            is_billing_contact=True,
        )
    return accounts


def _contracts(accounts: list[Account], start: date) -> None:
    end = date(start.year + 1, start.month, 1) - timedelta(days=1)
    for n, account in enumerate(accounts, start=1):
        entity = {"entity_id": account.entity_id} if account.entity_id else {}  # else the default entity
        project, _ = Project.objects.get_or_create(
            code=f"BD-{n:03d}",
            defaults={
                "name": f"{account.name} transformation",
                "account": account,
                "currency": account.currency,
                "status": "active",
                "start_date": start,
                "end_date": end,
                **entity,
            },
        )
        contract, created = Contract.objects.get_or_create(
            number=f"BD-C-{n:03d}",
            defaults={
                # signed two weeks before the work it bills starts: no revenue before the signature
                "signed_at": timezone.make_aware(datetime.combine(start - timedelta(days=14), datetime.min.time())),
                "account": account,
                "project": project,
                "currency": account.currency,
                "payment_terms_days": 30,
                "start_date": start,
                "end_date": end,
                **entity,
            },
        )
        if not created:
            continue
        ContractLine.objects.create(
            contract=contract,
            position=1,
            description="Advisory retainer",
            billing_model="retainer",
            price=Decimal(48000 - 6000 * n),
            start_date=start,
            end_date=end,
        )
        ContractLine.objects.create(
            contract=contract,
            position=2,
            description="Platform implementation (fixed fee)",
            billing_model="fixed_fee",
            price=Decimal(30000 + 5000 * n),
            start_date=start,
            end_date=end,
        )
        milestones = ContractLine.objects.create(
            contract=contract,
            position=3,
            description="Delivery milestones",
            billing_model="milestone",
            price=Decimal("24000.00"),
            cap=Decimal("22500.00") if n == 2 else None,
            # The first client's engineering milestones hold back 10 % retainage until the project is accepted.
            retainage_percent=Decimal("10.00") if n == 1 and account.currency == functional_currency() else Decimal(0),
            start_date=start,
            end_date=end,
        )
        for name, amount, days in [("Discovery report", "8000.00", 40), ("Go-live", "16000.00", 100)]:
            at = timezone.make_aware(datetime.combine(start + timedelta(days=days + 7 * n), datetime.min.time()))
            Milestone.objects.create(
                project=project,
                contract_line=milestones,
                name=name,
                amount=Decimal(amount),
                due_date=at.date(),
                status="accepted",
                achieved_at=at,
                accepted_at=at,
            )


# Rates in units of EUR per unit of the currency, around which the demo's daily rates move.
_DEMO_RATE_BASE = {"USD": Decimal("0.9200"), "GBP": Decimal("1.1600")}


def _demo_rates_until_core_seeds_them(first: date, today: date) -> int:
    """Business-day USD and GBP rates from `first` through `today` for the demo's foreign clients, where none is
    stored for a day (the kernel's demo seeds a year of them; this only fills in when it has not run). A small
    deterministic wave, so documents of different dates realise exchange differences. Returns how many were
    added."""
    quote = functional_currency()
    rows, day = [], first
    while day <= today:
        if day.weekday() < 5:
            for currency, base in _DEMO_RATE_BASE.items():
                if currency == quote:
                    continue
                wave = Decimal((day.toordinal() * 7 + len(currency)) % 41 - 20) / Decimal(1000)
                rate = round_to(base * (1 + wave / 4), RATE_PLACES)
                rows.append(ExchangeRate(currency=currency, quote=quote, date=day, rate=rate))
        day += timedelta(days=1)
    before = ExchangeRate.objects.count()
    ExchangeRate.objects.bulk_create(rows, ignore_conflicts=True)
    return ExchangeRate.objects.count() - before


def _time(account: Account, first_month: date, today: date) -> int:
    """Approved T&M hours and expenses on the client account's first demo contract, unless it has some."""
    if TimeEntry.objects.filter(project__account=account, status=EntryStatus.APPROVED, billable=True).exists():
        return 0
    contract = Contract.objects.filter(account=account).order_by("pk").first()
    if contract is None:
        return 0
    line, created = ContractLine.objects.get_or_create(
        contract=contract,
        position=4,
        defaults={
            "description": "Advisory hours (time and materials)",
            "billing_model": "tm",
            "rate": Decimal("140.00"),
            "hours": Decimal("600.00"),
            "price": Decimal("84000.00"),
            "start_date": contract.start_date,
            "end_date": contract.end_date,
        },
    )
    if not created:
        return 0
    role = DeliveryRole.objects.filter(name="Senior consultant").first() or DeliveryRole.objects.create(
        name="Senior consultant", code="billing-demo-senior"
    )
    users = get_user_model().objects
    people = []
    for username, first, last in (("demo.ana", "Ana", "Moreau"), ("demo.tom", "Tom", "Becker")):
        user, _ = users.get_or_create(username=username, defaults={"first_name": first, "last_name": last})
        consultant, _ = Consultant.objects.get_or_create(user=user, defaults={"role": role})
        people.append(consultant)
    notes = ["Steering committee prep", "Process mapping workshop", "Requirements review", "Data quality analysis"]
    now = timezone.now()
    entries, day, n = [], first_month, 0
    last_day = month_end(today.replace(day=1) - timedelta(days=1))
    while day <= min(last_day, contract.end_date):
        if day.weekday() < 5 and day.day % 3 != 0:
            for k, person in enumerate(people):
                n += 1
                entries.append(
                    TimeEntry(
                        consultant=person,
                        project=contract.project,
                        date=day,
                        hours=Decimal(("2.50", "4.00", "6.00", "3.25")[(n + k) % 4]),
                        note=notes[n % len(notes)],
                        status=EntryStatus.APPROVED,
                        contract_line=line,
                        billable=True,
                        bill_rate=Decimal("140.00") if k == 0 else Decimal("165.00"),
                        cost_rate=Decimal("70.00"),
                        submitted_at=now,
                        approved_at=now,
                    )
                )
        day += timedelta(days=1)
    TimeEntry.objects.bulk_create(entries)
    expenses = []
    month = first_month
    while month_end(month) <= last_day:
        expenses.append(
            Expense(
                consultant=people[0],
                project=contract.project,
                date=month + timedelta(days=9),
                category="travel",
                description="Train to the client site",
                amount=Decimal("184.60"),
                currency=contract.currency,
                status=EntryStatus.APPROVED,
                contract_line=line,
                rebill_policy="markup",
                markup_percent=Decimal("10.00"),
                rebill_amount=Decimal("203.06"),
                approved_at=now,
            )
        )
        month = next_month(month)
    Expense.objects.bulk_create(expenses)
    return len(entries)


def seed() -> list[str]:
    if missing := seller_missing(entity_default(), functional_currency()):
        names = ", ".join(missing)
        return [
            f"billing: skipped, the default legal entity cannot invoice yet (missing {names}): set PSA_DEMO_FIRM=true "
            "(the demo firm) or the PSA_FIRM_* settings before the first start"
        ]
    today = timezone.localdate()
    first_month = (today.replace(day=1) - timedelta(days=150)).replace(day=1)
    importlib.import_module("ledger.migrations.0002_default_chart").create_chart(apps, None)
    tax_categories_ensure_default()
    if AccountingPeriod.objects.exists():
        periods_ensure(through=date(today.year + 1, 12, 31))
    else:
        periods_ensure(start=first_month.replace(month=1), through=date(today.year + 1, 12, 31))
    last_closed = (
        AccountingPeriod.objects.filter(status="closed").order_by("-end").values_list("end", flat=True).first()
    )
    first_open_day = last_closed + timedelta(days=1) if last_closed else first_month
    _demo_rates_until_core_seeds_them(first_month - timedelta(days=10), today)
    accounts = _accounts(today)
    _contracts(accounts, first_month)
    _time(accounts[0], first_month, today)
    for contract_id in Contract.objects.values_list("pk", flat=True):
        try:
            billing_schedules_generate_for_contract(contract_id=contract_id)
        except DomainError:
            continue
    finance = get_user_model().objects.filter(username="finance").first()
    assert finance is not None  # the demo accounts are seeded first
    month = first_month
    runs = issued = 0
    while month_end(month) < today:
        period_end = month_end(month)
        run = billing_run_create(by=finance, period_end=period_end, key=f"demo-run-{period_end:%Y-%m}")
        if run.status == "draft":
            billing_run_start(run_id=run.pk, by=finance)
            billing_run_execute(run_id=run.pk)
            runs += 1
        for invoice in Invoice.objects.filter(run=run, status=InvoiceStatus.DRAFT).order_by("pk"):
            try:
                # Issued the day after the period, or in the first open month when the ledger closed it.
                invoice_issue(invoice_id=invoice.pk, by=finance, on=max(period_end + timedelta(days=1), first_open_day))
                issued += 1
            except DomainError:
                continue  # a closed period or a later document: left as a draft for finance to look at
        month = next_month(month)
    paid = _payments(finance, today, paid_through=today - timedelta(days=80))
    report = [f"billing: {runs} runs, {issued} invoices issued, {paid} payments recorded"]
    return report + demo_disputes.seed() + demo_payables.seed()


# Each demo client's payment habit, in days after the due date (collections predicts from it): a prompt payer, a
# slow freight company, and the rest in between. A client not listed pays about a week late.
PAYMENT_HABIT = {
    "billing-demo-tailspin": -6,
    "billing-demo-contoso": 3,
    "billing-demo-thames": 9,
    "billing-demo-fabrikam": 16,
    "billing-demo-unionpacific": 34,
}


def _habit(account: Account) -> int:
    return PAYMENT_HABIT.get(account.external_id or "", 7)


def _payments(finance, today: date, paid_through: date) -> int:
    """Invoices for service periods ended before `paid_through` are paid (every fourth only half), each client
    around its own habit after the due date (PAYMENT_HABIT, give or take three days, never after today); the later
    ones stay open, the older of them overdue."""
    made = 0
    invoices = list(
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE,
            number__isnull=False,
            status=InvoiceStatus.ISSUED,
            run__period_end__lt=paid_through,
        )
        .select_related("account")
        .order_by("issue_date", "pk")
    )
    for n, invoice in enumerate(invoices):
        assert invoice.issue_date is not None  # issued above
        amount = invoice.balance if n % 4 else round_amount(invoice.balance / 2, invoice.currency)
        assert invoice.due_date is not None
        received_on = min(invoice.due_date + timedelta(days=_habit(invoice.account) + n % 7 - 3), today)
        try:
            payment_record(
                by=finance,
                account_id=invoice.account_id,
                amount=amount,
                received_on=received_on,
                reference=f"Payment {invoice.number}",
                bank_ref=f"demo-{invoice.number}",
                allocations=[{"invoice_id": invoice.pk, "amount": amount}],
            )
            made += 1
        except DomainError:
            continue
    return made
