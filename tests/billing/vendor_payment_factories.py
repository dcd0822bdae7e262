"""Vendors and posted vendor bills for the payment tests, made without the payables service (another branch):
a bill in status posted with one project-cost line, posted Dr cost of services (project) / Cr accounts payable
under the key "vendor-bill:<id>" in its entity's books, at the rate of its bill date."""

import importlib
from datetime import date, timedelta
from decimal import Decimal
from itertools import count

from django.apps import apps
from django.db import transaction

from billing.choices import VendorBillLineKind, VendorBillStatus
from billing.models import VendorBill, VendorBillLine
from billing.services.posting import booked_rate
from billing.services.vendor_payments import bill_share
from crm.models import Vendor
from ledger.choices import SystemAccount
from ledger.models import JournalLine
from ledger.services import account_code_for, entry_post
from ledger.services.chart import chart_ensure_default
from ledger.services.posting import EntrySpec, fx_line
from projects.models import Project
from psa.core.entities import entity_default
from psa.core.fx import convert, rate_for
from psa.core.models import EntityBankAccount, ExchangeRate, LegalEntity
from psa.core.money import ZERO
from tests.billing.factories import make_account

_n = count(1)
IBANS = ("DE89370400440532013000", "GB33BUKB20201555555555", "FR1420041010050500013M02606", "NL91ABNA0417164300")


def make_vendor(name: str = "", *, currency: str = "EUR", iban: str | None = None, **kw) -> Vendor:
    n = next(_n)
    return Vendor.objects.create(
        name=name or f"Vendor {n}",
        legal_name=kw.pop("legal_name", f"{name or f'Vendor {n}'} Ltd"),
        country=kw.pop("country", "DE"),
        currency=currency,
        iban=IBANS[n % len(IBANS)] if iban is None else iban,
        bic=kw.pop("bic", ""),
        **kw,
    )


def make_project() -> Project:
    account = make_account()
    n = next(_n)
    return Project.objects.create(code=f"VP{n:05d}", name=f"Cost project {n}", account=account, currency="EUR")


def make_bank_account(entity: LegalEntity | None = None, currency: str = "EUR", iban: str = "") -> EntityBankAccount:
    entity = entity or entity_default()
    account, _ = EntityBankAccount.objects.get_or_create(
        entity=entity,
        iban=iban or {"EUR": "DE02120300000000202051", "USD": "GB71CITI18500812345678"}.get(currency, IBANS[1]),
        defaults={"bic": "BYLADEM1001" if currency == "EUR" else "", "currency": currency},
    )
    return account


def set_rate(currency: str, on: date, rate: str) -> None:
    ExchangeRate.objects.update_or_create(currency=currency, quote="EUR", date=on, defaults={"rate": Decimal(rate)})


def ensure_payables_chart() -> None:
    """After a transactional test's flush the chart comes back from migration 0002, where accounts payable has no
    role yet; migration 0016 gives it (as it does to a migrated database), and the exchange accounts return."""
    chart_ensure_default()
    importlib.import_module("ledger.migrations.0016_cost_side_accounts").create_accounts(apps, None)


@transaction.atomic
def posted_bill(
    vendor: Vendor,
    gross: str,
    *,
    entity: LegalEntity | None = None,
    currency: str | None = None,
    bill_date: date = date(2026, 2, 1),
    due_date: date | None = None,
    project: Project | None = None,
    number: str = "",
) -> VendorBill:
    ensure_payables_chart()
    entity = entity or entity_default()
    currency = currency or vendor.currency
    amount = Decimal(gross)
    rate = rate_for(currency=currency, on=bill_date)
    functional = convert(amount=amount, rate=rate)
    bill = VendorBill.objects.create(
        vendor=vendor,
        entity=entity,
        number=number or f"B-{next(_n):05d}",
        bill_date=bill_date,
        due_date=due_date or bill_date + timedelta(days=30),
        currency=currency,
        net_total=amount,
        gross_total=amount,
        fx_rate=rate.rate if rate.date else None,
        fx_rate_date=rate.date,
        functional_gross=functional,
        status=VendorBillStatus.DRAFT,  # posted below, once its line is in (a posted bill's lines cannot change)
    )
    project = project or make_project()
    VendorBillLine.objects.create(
        bill=bill, kind=VendorBillLineKind.PROJECT_COST, description="Work", project=project, net_amount=amount
    )
    key = f"vendor-bill:{bill.pk}"
    rate = booked_rate(currency, bill.fx_rate, bill.fx_rate_date)
    entry = entry_post(
        spec=EntrySpec(
            date=bill_date,
            memo=f"Bill {bill.number} of {vendor.name}",
            source=key,
            entity_id=entity.pk,
            lines=(
                fx_line(
                    account_code_for(SystemAccount.COST_OF_SERVICES),
                    rate=rate,
                    debit=amount,
                    functional=functional,
                    project_id=project.pk,
                ),
                fx_line(account_code_for(SystemAccount.PAYABLE), rate=rate, credit=amount, functional=functional),
            ),
        ),
        key=key,
    )
    VendorBill.objects.filter(pk=bill.pk).update(journal_entry=entry, status=VendorBillStatus.POSTED)
    bill.journal_entry, bill.status = entry, VendorBillStatus.POSTED
    return bill


def gl_balance(role: str, entity: LegalEntity | None = None) -> Decimal:
    """Debits minus credits of the account of `role` in `entity`'s books."""
    entity = entity or entity_default()
    total = ZERO
    for debit, credit in JournalLine.objects.filter(
        account__code=account_code_for(role), entry__entity_id=entity.pk
    ).values_list("debit", "credit"):
        total += debit - credit
    return total


def open_functional(entity: LegalEntity | None = None) -> Decimal:
    """Σ of the open posted bills' functional open amount (each bill's booked value less what payments took)."""
    entity = entity or entity_default()
    total = ZERO
    for bill in VendorBill.objects.filter(entity=entity, status__in=("posted", "partly_paid")):
        assert bill.functional_gross is not None
        if bill.amount_paid == 0:
            total += bill.functional_gross
        else:
            total += bill.functional_gross - convert_share(bill)
    return total


def convert_share(bill: VendorBill) -> Decimal:
    """What payments took off the bill's booked value (the cumulative share of its functional gross)."""
    paid_before = bill.amount_paid
    bill.amount_paid = ZERO
    try:
        return bill_share(bill, paid_before)
    finally:
        bill.amount_paid = paid_before
