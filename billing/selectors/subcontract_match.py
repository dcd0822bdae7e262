"""Subcontractor hours matched against the vendors' bills, per vendor, consultant and month.

Approved side: the approved time entries (any project, billable or not) of consultants a vendor supplies
(`Consultant.vendor`), per calendar month of the entry's date, with the cost accrued for them: Σ round(hours x
the cost rate copied at approval, 2), in the consultant's cost currency (for a subcontractor, the vendor's rate).

Billed side: the subcontractor-hours lines (kind `subcontract`) of the vendor's posted bills (posted, partly paid
or paid) for that consultant, with their net; the vendor is the bill's (a line naming another vendor's consultant
shows as its own row, unmatched). A line names a service period; a period spanning several months is
pro-rated over them by calendar days (a line for 16 January to 15 February of 62 h puts 32 h in January and 30 h
in February): hours and net are split with `psa.core.money.allocate`, so each line's parts sum back to it
exactly. Pro-rating (rather than assigning the whole line to its end month) keeps a vendor billing from mid-month
to mid-month comparable with the calendar months the time is approved in.

The difference is billed - approved (hours; and amount when the bill and the cost are in one currency, never
across currencies). Two grouped queries and two for the names, whatever the number of entries and lines.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import DecimalField, F, Sum, Value
from django.db.models.functions import Coalesce, Round, TruncMonth

from billing.choices import VendorBillLineKind, VendorBillStatus
from billing.models import VendorBillLine
from crm.models import Vendor
from projects.choices import EntryStatus
from projects.models import Consultant, TimeEntry
from psa.core.dates import in_range, month_end, month_spans, month_start, months_between
from psa.core.exceptions import ValidationFailed
from psa.core.money import ZERO, allocate

POSTED = (VendorBillStatus.POSTED, VendorBillStatus.PARTLY_PAID, VendorBillStatus.PAID)
MONEY = DecimalField(max_digits=18, decimal_places=2)


@dataclass
class MatchRow:
    vendor_id: int
    consultant_id: int
    month: date  # the first day of the month
    vendor: str = ""
    consultant: str = ""
    approved_hours: Decimal = ZERO
    billed_hours: Decimal = ZERO
    accrued: Decimal = ZERO  # approved hours at the snapshot cost rates
    accrued_currency: str = ""
    billed: Decimal = ZERO  # the bills' net (pro-rated)
    billed_currency: str = ""
    bill_ids: list[int] = field(default_factory=list)

    @property
    def hours_difference(self) -> Decimal:
        """Billed - approved: positive when the vendor billed more hours than were approved."""
        return self.billed_hours - self.approved_hours

    @property
    def amount_difference(self) -> Decimal | None:
        """Billed net - accrued cost, when both are in one currency (None otherwise: no implicit exchange)."""
        if self.accrued_currency and self.billed_currency and self.accrued_currency != self.billed_currency:
            return None
        return self.billed - self.accrued

    @property
    def month_end(self) -> date:
        return month_end(self.month)


def _prorated(start: date, end: date, hours: Decimal, net: Decimal, *, first: date, last: date) -> list[tuple]:
    """(month, hours, net) of a line's service period [start, end], split over its months by calendar days,
    only the months within [first, last]."""
    spans = month_spans(start, end)
    days = [Decimal((b - a).days + 1) for a, b in spans]
    parts = zip(spans, allocate(hours, days), allocate(net, days), strict=True)
    return [(month_start(a), h, n) for (a, _), h, n in parts if first <= month_start(a) <= last]


def subcontract_match(*, start: date, end: date, vendor_id: int | None = None) -> list[MatchRow]:
    """Per (vendor, consultant, month) from `start`'s month through `end`'s: approved hours and accrued cost
    against hours billed and billed net, ordered by month, vendor and consultant. Rows with nothing on either
    side are left out."""
    first, last = month_start(start), month_start(end)
    through = month_end(end)
    entries = TimeEntry.objects.filter(
        status=EntryStatus.APPROVED, consultant__vendor__isnull=False, date__gte=first, date__lte=through
    )
    lines = VendorBillLine.objects.filter(
        kind=VendorBillLineKind.SUBCONTRACT,
        bill__status__in=POSTED,
        period_start__lte=through,
        period_end__gte=first,
    )
    if vendor_id is not None:
        entries = entries.filter(consultant__vendor_id=vendor_id)
        lines = lines.filter(bill__vendor_id=vendor_id)
    rows: dict[tuple[int, int, date], MatchRow] = {}

    def row(vendor: int, consultant: int, month: date) -> MatchRow:
        key = (vendor, consultant, month)
        if key not in rows:
            rows[key] = MatchRow(vendor_id=vendor, consultant_id=consultant, month=month)
        return rows[key]

    approved = (
        entries.annotate(month=TruncMonth("date"))
        .values("consultant__vendor_id", "consultant_id", "month", "consultant__cost_currency")
        .annotate(
            approved_h=Sum("hours"),
            cost=Coalesce(Sum(Round(F("hours") * Coalesce(F("cost_rate"), Value(ZERO)), 2)), ZERO, output_field=MONEY),
        )
        .order_by()
    )
    for r in approved:
        m = row(r["consultant__vendor_id"], r["consultant_id"], r["month"])
        m.approved_hours += r["approved_h"]
        m.accrued += r["cost"]
        m.accrued_currency = r["consultant__cost_currency"]
    billed = lines.values(
        "bill_id", "bill__vendor_id", "bill__currency", "consultant_id", "hours", "net_amount", "period_start",
        "period_end",
    ).order_by("pk")  # fmt: skip
    for b in billed:
        # a subcontract line has its consultant, hours and period (billing_vbline_subcontract_hours)
        since, until, hours = b["period_start"], b["period_end"], b["hours"]
        assert since is not None and until is not None and hours is not None and b["consultant_id"] is not None
        for month, part_hours, net in _prorated(since, until, hours, b["net_amount"], first=first, last=last):
            m = row(b["bill__vendor_id"], b["consultant_id"], month)
            m.billed_hours += part_hours
            m.billed += net
            m.billed_currency = b["bill__currency"]
            if b["bill_id"] not in m.bill_ids:
                m.bill_ids.append(b["bill_id"])
    if rows:
        vendors = dict(Vendor.objects.filter(pk__in={k[0] for k in rows}).values_list("pk", "name"))
        people = {c.pk: str(c) for c in Consultant.objects.filter(pk__in={k[1] for k in rows}).select_related("user")}
        for m in rows.values():
            m.vendor, m.consultant = vendors.get(m.vendor_id, ""), people.get(m.consultant_id, "")
    return sorted(rows.values(), key=lambda m: (m.month, m.vendor, m.consultant, m.consultant_id))


MAX_MONTHS = 24


def match_months(raw_from: str | None, raw_to: str | None, *, today: date) -> tuple[date, date]:
    """The first day of the `from` month and the last day of the `to` month ("YYYY-MM" each; default: the three
    months before `today`'s). Refuses, naming the field, a malformed month, `to` before `from`, or more than
    MAX_MONTHS months."""

    def parse(raw: str | None, name: str, default: date) -> date:
        if not raw:
            return default
        try:
            first = datetime.strptime(raw, "%Y-%m").date()
        except ValueError:
            raise ValidationFailed(
                f"'{raw}' is not a month: write it as YYYY-MM, e.g. 2026-01.", fields={name: ["A month, YYYY-MM."]}
            ) from None
        if not in_range(first):
            raise ValidationFailed(f"'{raw}' is out of range.", fields={name: ["Out of range."]})
        return first

    last_month = month_start(month_start(today) - timedelta(days=1))
    to = parse(raw_to, "to", last_month)
    start = parse(raw_from, "from", month_start(month_start(month_start(to) - timedelta(days=1)) - timedelta(days=1)))
    if to < start:
        raise ValidationFailed("The last month is before the first.", fields={"to": [f"From {start:%Y-%m} on."]})
    if len(months_between(start, to)) > MAX_MONTHS:
        raise ValidationFailed(
            f"At most {MAX_MONTHS} months at a time.", fields={"from": [f"At most {MAX_MONTHS} months before 'to'."]}
        )
    return start, month_end(to)


def match_vendor(raw: str | None) -> int | None:
    """The `vendor` filter: an existing vendor's id, or nothing; anything else is refused naming the field."""
    if not raw:
        return None
    # ASCII digits only, and short enough for the id column ("²" is a digit to str.isdigit, not to int)
    if not re.fullmatch(r"[0-9]{1,15}", raw) or not Vendor.objects.filter(pk=int(raw)).exists():
        raise ValidationFailed(f"No vendor with id {raw}.", fields={"vendor": ["An existing vendor's id."]})
    return int(raw)
