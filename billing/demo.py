"""Billing demo data: past months invoiced through real billing runs (milestones and scheduled fees), some
paid, some partly paid, some overdue; the `client` login is linked to an invoiced account.

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
from billing.models import Invoice
from billing.services import (
    billing_run_create,
    billing_run_execute,
    billing_run_start,
    invoice_issue,
    payment_record,
    schedules_generate_for_contract,
)
from billing.services.tax import tax_categories_ensure_default
from crm.models import Account, Contact
from ledger.services import periods_ensure
from projects.models import Contract, ContractLine, Milestone, Project
from psa.core.exceptions import DomainError

CLIENTS = [
    (
        "billing-demo-contoso",
        "Contoso Retail",
        "Contoso Retail GmbH",
        "DE811234567",
        "Friedrichstrasse 44\n10117 Berlin",
    ),
    (
        "billing-demo-fabrikam",
        "Fabrikam Energy",
        "Fabrikam Energy AG",
        "DE298765432",
        "Maximilianstrasse 12\n80539 Munich",
    ),
    (
        "billing-demo-tailspin",
        "Tailspin Logistics",
        "Tailspin Logistics BV",
        "NL853746291B01",
        "Keizersgracht 101\n1015 CJ Amsterdam",
    ),
]


def _month_end(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _accounts(today: date) -> list[Account]:
    """Three invoiced clients; the first is the `client` login's account (crm's demo links it to one), so the
    portal shows real invoices."""
    client = get_user_model().objects.filter(username="client").first()
    contact = (
        Contact.objects.filter(user=client, portal_access=True).select_related("account").first() if client else None
    )
    accounts = []
    for n, (ext, name, legal, tax_id, address) in enumerate(CLIENTS):
        if n == 0 and contact is not None and not contact.account.billing_entity_missing():
            accounts.append(contact.account)
            continue
        account, _ = Account.objects.get_or_create(
            external_id=ext,
            defaults={
                "name": name,
                "legal_name": legal,
                "tax_id": tax_id,
                "billing_address": address,
                "billing_email": f"accounts@{name.split()[0].lower()}.example",
                "currency": "EUR",
                "payment_terms_days": 30,
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
        project, _ = Project.objects.get_or_create(
            code=f"BD-{n:03d}",
            defaults={
                "name": f"{account.name} transformation",
                "account": account,
                "currency": "EUR",
                "status": "active",
                "start_date": start,
                "end_date": end,
            },
        )
        contract, created = Contract.objects.get_or_create(
            number=f"BD-C-{n:03d}",
            defaults={
                "account": account,
                "project": project,
                "currency": "EUR",
                "payment_terms_days": 30,
                "start_date": start,
                "end_date": end,
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


def seed() -> list[str]:
    today = timezone.localdate()
    first_month = (today.replace(day=1) - timedelta(days=150)).replace(day=1)
    importlib.import_module("ledger.migrations.0002_default_chart").create_chart(apps, None)
    tax_categories_ensure_default()
    from ledger.models import AccountingPeriod

    if AccountingPeriod.objects.exists():
        periods_ensure(through=date(today.year + 1, 12, 31))
    else:
        periods_ensure(start=first_month.replace(month=1), through=date(today.year + 1, 12, 31))
    last_closed = (
        AccountingPeriod.objects.filter(status="closed").order_by("-end").values_list("end", flat=True).first()
    )
    first_open_day = last_closed + timedelta(days=1) if last_closed else first_month
    accounts = _accounts(today)
    _contracts(accounts, first_month)
    for contract_id in Contract.objects.values_list("pk", flat=True):
        try:
            schedules_generate_for_contract(contract_id=contract_id)
        except DomainError:
            continue
    finance = get_user_model().objects.filter(username="finance").first()
    month = first_month
    runs = issued = 0
    while _month_end(month) < today:
        period_end = _month_end(month)
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
        month = period_end + timedelta(days=1)
    paid = _payments(finance, today, paid_through=today - timedelta(days=80))
    return [f"billing: {runs} runs, {issued} invoices issued, {paid} payments recorded"]


def _payments(finance, today: date, paid_through: date) -> int:
    """Invoices for service periods ended before `paid_through` are paid (every fourth only half); the
    later ones stay open, the older of them overdue."""
    made = 0
    invoices = list(
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE,
            number__isnull=False,
            status=InvoiceStatus.ISSUED,
            run__period_end__lt=paid_through,
        ).order_by("issue_date", "pk")
    )
    for n, invoice in enumerate(invoices):
        amount = invoice.balance if n % 4 else (invoice.balance / 2).quantize(Decimal("0.01"))
        try:
            payment_record(
                by=finance,
                account_id=invoice.account_id,
                amount=amount,
                received_on=min(invoice.issue_date + timedelta(days=10 + n % 7), today),
                reference=f"Payment {invoice.number}",
                bank_ref=f"demo-{invoice.number}",
                allocations=[{"invoice_id": invoice.pk, "amount": amount}],
            )
            made += 1
        except DomainError:
            continue
    return made
