"""Payables demo: four vendors and their bills, entered, approved and posted through billing.services.payables.

- Lumière Conseil (FR): a subcontracting agency in another EU country. Its bills are reverse charge (the German
  firm self-assesses 19 %). It supplies two subcontractors (logins with the consultant role) who log approved
  hours on the first demo T&M contract line at the agency's rate; each of the last two full months is billed by the
  agency with one subcontract line per person, for exactly those hours.
- Kraft Digital (DE): a domestic freelancer firm charging German VAT: a project-cost line and a re-billable line
  (travel, re-billed to the client on the contract line).
- CloudDesk (US, USD): a software supplier, overhead on "Software and subscriptions", converted at the bill
  date's rate; reverse charge.
- Officeline (DE): a small supplier without a VAT id (no VAT), one bill still waiting for approval.
Every posted bill is left open: the payments demo pays some of them. Idempotent: vendors by external id, bills
by vendor and number (a bill already there is skipped).
"""

from contextlib import suppress
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Sum
from django.utils import timezone

from billing.models import VendorBill
from billing.services.payables import bill_approve, bill_approve_pm, bill_create, bill_submit
from crm.models import DeliveryRole, Vendor
from crm.services import vendor_create
from ledger.models import LedgerAccount
from projects.choices import EntryStatus
from projects.models import Consultant, ContractLine, TimeEntry
from psa.core.dates import month_end
from psa.core.exceptions import DomainError
from psa.core.roles import Role

VENDORS = [
    ("demo-vendor-lumiere", "Lumière Conseil", "Lumière Conseil SARL", "FR", "FR40303265045", "EUR", True, "70.00",
     "12 Rue de la Paix", "75002", "Paris", "FR7630006000011234567890189", "AGRIFRPP"),
    ("demo-vendor-kraft", "Kraft Digital", "Kraft Digital GmbH", "DE", "DE811234565", "EUR", False, None,
     "Torstrasse 5", "10119", "Berlin", "DE89370400440532013000", "COBADEFFXXX"),
    ("demo-vendor-clouddesk", "CloudDesk", "CloudDesk Inc.", "US", "", "USD", False, None,
     "500 Market Street", "94105", "San Francisco", "", ""),
    ("demo-vendor-officeline", "Officeline", "Officeline Bürobedarf e.K.", "DE", "", "EUR", False, None,
     "Hauptstrasse 1", "50667", "Köln", "DE02120300000000202051", "BYLADEM1001"),
]  # fmt: skip
SUBCONTRACTORS = [("demo.sub.julie", "Julie", "Marchand"), ("demo.sub.pierre", "Pierre", "Laurent")]


def _vendors(by) -> dict[str, Vendor]:
    out = {}
    for ext, name, legal, country, tax_id, currency, sub, rate, street, postcode, city, iban, bic in VENDORS:
        vendor = Vendor.objects.filter(external_id=ext).first() or vendor_create(
            by=by, legal_name=legal, country=country, name=name, tax_id=tax_id, currency=currency,
            is_subcontractor=sub, hourly_rate=Decimal(rate) if rate else None, street=street, postcode=postcode,
            city=city, iban=iban, bic=bic, external_id=ext, payment_terms_days=30,
        )  # fmt: skip
        out[ext] = vendor
    return out


def _subcontractors(agency: Vendor) -> list[Consultant]:
    role = DeliveryRole.objects.filter(name="Senior consultant").first() or DeliveryRole.objects.create(
        name="Senior consultant", code="payables-demo-senior"
    )
    group, _ = Group.objects.get_or_create(name=Role.CONSULTANT.value)
    people = []
    for username, first, last in SUBCONTRACTORS:
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@lumiere.example"}
        )
        if created:
            user.set_unusable_password()
            user.save()
            user.groups.add(group)
        consultant, _ = Consultant.objects.get_or_create(
            user=user, defaults={"role": role, "vendor": agency, "cost_currency": agency.currency}
        )
        people.append(consultant)
    return people


def _time(people: list[Consultant], line: ContractLine, agency: Vendor, months: list[date]) -> None:
    """Approved hours of the subcontractors in `months` (rates snapshotted as approval does: the agency's rate is
    their cost), unless they have some."""
    if TimeEntry.objects.filter(consultant__in=people).exists():
        return
    now, entries = timezone.now(), []
    contract = line.contract
    closed = contract.opportunity.closed_at if contract.opportunity_id and contract.opportunity else None
    # No work before the deal closed or the line started (the demo's history stays consistent).
    earliest = max(line.start_date, timezone.localdate(closed) + timedelta(days=1) if closed else line.start_date)
    for first in months:
        day = max(first, earliest)
        while day <= month_end(first):
            if day.weekday() < 5 and day.day % 4 != 0:
                for k, person in enumerate(people):
                    entries.append(
                        TimeEntry(
                            consultant=person,
                            project=line.contract.project,
                            date=day,
                            hours=Decimal(("6.00", "7.50")[(day.day + k) % 2]),
                            note="Data migration (subcontracted)",
                            status=EntryStatus.APPROVED,
                            contract_line=line,
                            billable=True,
                            bill_rate=line.rate or Decimal("140.00"),
                            cost_rate=agency.hourly_rate or Decimal("70.00"),
                            submitted_at=now,
                            approved_at=now,
                        )
                    )
            day += timedelta(days=1)
    TimeEntry.objects.bulk_create(entries)


def _post(finance, pm, vendor: Vendor, number: str, on: date, lines: list[dict], *, submit_only=False) -> int:
    if VendorBill.objects.filter(vendor=vendor, number__iexact=number).exists():
        return 0
    try:
        bill = bill_create(by=finance, vendor_id=vendor.pk, number=number, bill_date=on, lines=lines)
        bill_submit(bill_id=bill.pk, by=finance)
        if submit_only:
            return 1
        if pm is not None and any(ln.get("project_id") for ln in lines):
            with suppress(DomainError):  # below the threshold, or not this manager's project
                bill_approve_pm(bill_id=bill.pk, by=pm)
        bill_approve(bill_id=bill.pk, by=finance)
    except DomainError:
        return 0
    return 1


def seed() -> list[str]:
    User = get_user_model()
    finance = User.objects.filter(username="finance").first()
    line = (
        ContractLine.objects.filter(billing_model="tm", rate__isnull=False)
        .select_related("contract__project", "contract__opportunity")
        .order_by("pk")
        .first()
    )
    if finance is None or line is None:
        return ["payables: skipped (no finance login or no T&M contract line)"]
    project = line.contract.project
    pm = project.project_manager
    vendors = _vendors(finance)
    agency = vendors["demo-vendor-lumiere"]
    people = _subcontractors(agency)
    today = timezone.localdate()
    this_month = today.replace(day=1)
    last = (this_month - timedelta(days=1)).replace(day=1)
    before = (last - timedelta(days=1)).replace(day=1)
    _time(people, line, agency, [before, last])
    posted = 0
    for first in (before, last):
        sub_lines = []
        for person in people:
            hours = TimeEntry.objects.filter(
                consultant=person, date__gte=first, date__lte=month_end(first), status=EntryStatus.APPROVED
            ).aggregate(h=Sum("hours"))["h"]
            if hours:
                sub_lines.append({
                    "kind": "subcontract", "description": f"{person} — {first:%B %Y}", "project_id": project.pk,
                    "consultant_id": person.pk, "hours": hours, "period_start": first, "period_end": month_end(first),
                    "net_amount": hours * (agency.hourly_rate or Decimal("70.00")),
                })  # fmt: skip
        if sub_lines:
            posted += _post(finance, pm, agency, f"LC-{first:%Y%m}", month_end(first) + timedelta(days=2), sub_lines)
    kraft = vendors["demo-vendor-kraft"]
    posted += _post(finance, pm, kraft, f"KD-{last:%Y}-118", last + timedelta(days=14), [
        {"kind": "project_cost", "description": "UX review, 3 days", "project_id": project.pk, "net_amount": "2400.00",
         "tax_rate": "19"},
        {"kind": "rebillable", "description": "Travel to the client's site", "project_id": project.pk,
         "contract_line_id": line.pk, "net_amount": "385.40", "tax_rate": "19"},
    ])  # fmt: skip
    software = LedgerAccount.objects.filter(code="6100").first()
    if software is not None:
        cloud = vendors["demo-vendor-clouddesk"]
        posted += _post(finance, None, cloud, f"CD-{last:%Y%m}-0042", last + timedelta(days=3), [
            {"kind": "overhead", "description": "Team workspace licences, 40 seats", "ledger_account_id": software.pk,
             "net_amount": "480.00"},
        ])  # fmt: skip
        posted += _post(finance, None, vendors["demo-vendor-officeline"], f"OL-{today:%Y%m}-7", today, [
            {"kind": "overhead", "description": "Office suite subscription, renewal", "ledger_account_id": software.pk,
             "net_amount": "96.50"},
        ], submit_only=True)  # fmt: skip
    return [f"payables: {len(vendors)} vendors, {len(people)} subcontractors, {posted} bills entered"]
