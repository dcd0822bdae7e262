"""Vendors, subcontractors and posted vendor bills for the re-billing and hours-matching tests.

Bills are written with the ORM in their posted state (status posted, `rebill_amount` set as the posting service
would set it from the contract line's expense policy, and the ledger told what it re-bills, as the posting service
must do in its transaction: billing.services.vendor_costs.vendor_bill_rebill_record): the posting service itself
belongs to the payables work.
"""

import itertools
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from billing.choices import VendorBillLineKind, VendorBillStatus
from billing.models import VendorBill, VendorBillLine
from billing.services.sources import POSTED_BILL_STATUSES
from billing.services.vendor_costs import vendor_bill_rebill_record
from crm.models import Vendor
from projects.models import Consultant, TimeEntry
from tests.billing.factories import make_consultant

_n = itertools.count(1)


def make_vendor(name: str = "Northwind Consulting", *, subcontractor: bool = True, rate: str = "70") -> Vendor:
    return Vendor.objects.create(
        name=f"{name}" if not Vendor.objects.filter(name=name).exists() else f"{name} {next(_n)}",
        legal_name=f"{name} Ltd",
        country="DE",
        currency="EUR",
        is_subcontractor=subcontractor,
        hourly_rate=Decimal(rate) if subcontractor else None,
    )


def make_subcontractor(vendor: Vendor, first: str = "Sam", last: str = "Sub") -> Consultant:
    consultant = make_consultant("Subcontractor", first, last)
    consultant.vendor = vendor
    consultant.save(update_fields=["vendor"])
    return consultant


def posted_bill(
    vendor: Vendor,
    *,
    on: date = date(2026, 1, 15),
    number: str | None = None,
    status: str = VendorBillStatus.POSTED,
    currency: str = "EUR",
) -> VendorBill:
    """An empty posted bill; lines are added with `rebillable_line` / `subcontract_line` (which keep the totals)."""
    return VendorBill.objects.create(
        vendor=vendor,
        number=number or f"VB-{next(_n):05d}",
        bill_date=on,
        due_date=on + timedelta(days=30),
        currency=currency,
        status=status,
    )


# The triggers that keep a posted bill and its lines from changing (billing 0020). The table owner may switch them
# off inside a transaction: the test database's owner, not only a superuser (CI's role is not one).
POSTED_BILL_TRIGGERS = (
    ("billing_vendorbillline", "billing_vendorbillline_of_posted"),
    ("billing_vendorbill", "billing_vendorbill_immutable"),
)


def _triggers(cursor, action: str) -> None:
    if connection.vendor == "postgresql":
        for table, trigger in POSTED_BILL_TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} {action} TRIGGER {trigger}")


def _add(bill: VendorBill, line: VendorBillLine) -> VendorBillLine:
    """Add a line to a bill written in its posted state. PostgreSQL refuses any change to a posted bill's lines
    and amounts (billing 0020); this test data is built after the fact, so its writes switch those two triggers off
    for their own transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        # A table with pending deferred checks (the bill's foreign keys) cannot be altered: run them now, and
        # defer them again afterwards (every deferrable constraint here is initially deferred).
        postgres = connection.vendor == "postgresql"
        if postgres:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _triggers(cursor, "DISABLE")
        line.save()
        bill.net_total += line.net_amount
        bill.gross_total += line.net_amount
        bill.save(update_fields=["net_total", "gross_total"])
        _triggers(cursor, "ENABLE")
        if postgres:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return line


def rebillable_line(
    bill: VendorBill, contract_line, net: str, *, rebill: str | None = None, description: str = "Hosting for UAT"
) -> VendorBillLine:
    """A re-billable line on `contract_line`; `rebill` defaults to the cost (policy at cost), None-able by
    passing rebill="" (a policy that re-bills nothing)."""
    amount = Decimal(net)
    rebill_amount = amount if rebill is None else (Decimal(rebill) if rebill else None)
    line = _add(
        bill,
        VendorBillLine(
            bill=bill,
            kind=VendorBillLineKind.REBILLABLE,
            description=description,
            project=contract_line.contract.project,
            contract_line=contract_line,
            net_amount=amount,
            rebill_amount=rebill_amount,
        ),
    )
    if bill.status in POSTED_BILL_STATUSES:
        vendor_bill_rebill_record(bill=bill)
    return line


def subcontract_line(
    bill: VendorBill, project, consultant: Consultant, hours: str, net: str, start: date, end: date
) -> VendorBillLine:
    return _add(
        bill,
        VendorBillLine(
            bill=bill,
            kind=VendorBillLineKind.SUBCONTRACT,
            description=f"{consultant} {start:%b %Y}",
            project=project,
            consultant=consultant,
            hours=Decimal(hours),
            period_start=start,
            period_end=end,
            net_amount=Decimal(net),
        ),
    )


def approved_sub_time(line, consultant: Consultant, day: date, hours: str, *, cost: str = "70", status="approved"):
    """An approved (by default) entry of a subcontractor with the vendor's rate as its snapshot cost rate."""
    return TimeEntry.objects.create(
        consultant=consultant,
        project=line.contract.project,
        date=day,
        hours=Decimal(hours),
        status=status,
        contract_line=line,
        billable=True,
        bill_rate=Decimal("120"),
        cost_rate=Decimal(cost),
        approved_at=timezone.now() if status == "approved" else None,
    )
