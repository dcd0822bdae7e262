"""Exception queues: the rules and simple statistics that catch problems before month-end does.

Each rule is one or two set-based queries (grouped aggregates, never a loop of queries per row) and yields
`Item`s; an item names the object it is about (`key`), links to the page where its cause is fixed, and carries
the facts it was raised on. A dismissed item stays hidden while those facts are unchanged (their digest is the
dismissal's fingerprint); a snoozed one until its date. A fixed cause simply stops matching the rule.

Rules (thresholds are settings, defaults in brackets):
- missing_time: an active consultant logged (any status) less than capacity minus time off in the last full
  week (Monday to Sunday before this week); timesheets are due by the Monday after.
- unbilled_ageing: approved billable time not on any invoice (no unbilled source link), dated more than
  PSA_EXC_UNBILLED_DAYS [30] ago; one item per project with hours, amount (hours * snapshot bill rate) and
  the oldest date.
- milestone_uninvoiced: a milestone accepted more than PSA_EXC_MILESTONE_DAYS [7] days ago and not invoiced.
- cap_approaching: a contract line with a not-to-exceed cap whose consumption (billed + approved unbilled
  time) reached PSA_EXC_CAP_SHARE [80] % of the cap, or whose projected date — the remaining cap divided by
  the daily burn of approved time value over the last 28 days — falls within PSA_EXC_CAP_DAYS [30] days.
- estimate_over_price: a project whose estimate at completion (approved cost to date, hours x the cost rate
  copied at approval, plus the PM's latest estimate to complete on or before the scan day: its cost, or its hours
  at the project's average cost rate so far) exceeds the price of its contract lines. Cost is in the functional
  currency; prices in another currency are converted at the scan day's rates (psa.core.totals), and a project
  whose price has no rate is not compared (never 1:1).
- Every item's amount carries its currency (the project's, contract's or invoice's); items are never summed.
- time_outlier: a consultant's day in the last 14 days whose total hours exceed mean + 3 sigma of that
  consultant's daily totals over the 90 days before (at least 10 such days needed).
- invoice_outlier: an invoice issued in the last 30 days whose net total lies more than 3 sigma from the mean of
  the account's invoices in the same currency issued before that window (at least 3 needed; with sigma 0, more
  than 50 % off). Invoices are compared only within one currency, in their own amounts (never converted).
- outbox_failed: an outbox message (email, webhook delivery) that failed for good, or is still pending after
  attempts for longer than an hour.
- run_failed: a billing run with contracts that failed to invoice.
- budget_threshold: an open burn alert (ledger.services.budget_alerts): a project's approved hours or billable
  value reached its warning or budget level, or its forecast at completion exceeds the budget hours; it leaves
  the queue when the alert clears (a change order raising the budget, actual back below the level).
- einvoice_invalid: an issued invoice or credit note whose EN 16931 XML failed the Factur-X XSD at render, so
  no PDF was stored or sent; linked to the invoice page, which shows the reason and renders again.
- subcontract_mismatch: a (vendor, consultant, month) whose hours billed on the vendor's posted bills differ from
  the hours approved for that consultant by more than PSA_EXC_SUBCONTRACT_TOLERANCE_HOURS [0.50], for the twelve
  months that ended more than PSA_EXC_SUBCONTRACT_DAYS [15] days ago (time for the bill to arrive): so approved
  hours with no bill yet ("approved hours not billed") and hours billed with none approved are flagged too. The
  match is billing.selectors.subcontract_match (a bill line spanning months is pro-rated by calendar days); the
  item links to its page for the vendor and month and carries the cost difference when bill and cost share a
  currency. Its facts are the two hour totals: a dismissed item comes back when either changes.
"""

import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.urls import reverse
from django.utils import timezone

from billing.choices import InvoiceKind, InvoiceStatus, ItemStatus, SourceKind
from billing.models import BillingRunItem, Invoice, SourceLink
from billing.selectors import time_summary
from billing.selectors.subcontract_match import subcontract_match
from ledger.choices import BudgetAlertKind
from ledger.models import BudgetAlert, ProjectEstimate
from projects.choices import EntryStatus, MilestoneStatus
from projects.models import Consultant, ContractLine, Milestone, Project, TimeEntry
from projects.selectors import time_off_hours
from psa.conf import settings_value
from psa.core.dates import month_start, next_month, week_start
from psa.core.models import OutboxMessage, OutboxStatus
from psa.core.money import ZERO, round_money
from psa.core.pagecache import shared_result
from psa.core.totals import currency_totals_many
from psa.web.models import DismissalAction, ExceptionDismissal

MONEY = DecimalField(max_digits=18, decimal_places=2)
HOURS_ALERTS = (BudgetAlertKind.HOURS_WARNING, BudgetAlertKind.HOURS_OVER, BudgetAlertKind.FORECAST_OVER)
VALUE = DecimalField(max_digits=24, decimal_places=6)


@dataclass
class Item:
    rule: str
    key: str
    title: str
    detail: str
    url: str
    fix: str  # the link's label: what to do there
    on: date | None = None
    amount: Decimal | None = None
    currency: str = ""  # the amount's currency (the project's, contract's or invoice's); never added across
    facts: tuple = ()
    dismissal: object = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(repr((self.rule, self.key, self.facts)).encode()).hexdigest()[:32]

    @property
    def ident(self) -> str:
        return f"{self.rule}|{self.key}"


RULES: dict[str, str] = {
    "missing_time": "Missing time",
    "unbilled_ageing": "Approved but unbilled time ageing",
    "milestone_uninvoiced": "Milestones accepted, not invoiced",
    "cap_approaching": "Contracts approaching their cap",
    "estimate_over_price": "Estimate at completion above the price",
    "time_outlier": "Time far outside a consultant's pattern",
    "invoice_outlier": "Invoice far outside the account's history",
    "outbox_failed": "Undelivered messages and webhooks",
    "run_failed": "Failed invoice runs",
    "einvoice_invalid": "E-invoices that failed validation (not sent)",
    "budget_threshold": "Projects burning through their budget",
    "subcontract_mismatch": "Subcontractor hours billed against approved",
}


def _not_billed(kind: str):
    return ~Exists(SourceLink.objects.filter(kind=kind, source_id=OuterRef("pk"), released_at__isnull=True))


# --- the rules -----------------------------------------------------------------------------------------------
def rule_missing_time(as_of: date) -> list[Item]:
    """Same rule as the projects missing-time page (capacity less time off against hours logged in any status),
    read as one grouped sum for the week instead of a subquery per consultant. Three queries."""
    monday = week_start(as_of) - timedelta(days=7)
    sunday = monday + timedelta(days=6)
    url = reverse("projects:missing-time") + f"?week={monday.isoformat()}"
    logged = dict(
        TimeEntry.objects.filter(date__gte=monday, date__lte=sunday)
        .values("consultant_id")
        .annotate(h=Sum("hours"))
        .values_list("consultant_id", "h")
        .order_by()
    )
    consultants = list(Consultant.objects.filter(is_active=True, weekly_capacity__gt=0).select_related("user"))
    off = time_off_hours(consultant_ids=[c.pk for c in consultants], first=monday, last=sunday)
    out = []
    for c in consultants:
        expected = max(ZERO, c.weekly_capacity - off.get((c.pk, monday), ZERO))
        got = logged.get(c.pk) or ZERO
        if got >= expected:
            continue
        out.append(
            Item(
                rule="missing_time",
                key=f"consultant:{c.pk}:{monday.isoformat()}",
                title=f"{c}: {got:.2f} of {expected:.2f} h logged",
                detail=f"Week of {monday:%d %b %Y}, due by {monday + timedelta(days=7):%d %b}",
                url=url,
                fix="Missing time",
                on=monday,
                amount=None,
                facts=(str(got), str(expected)),
            )
        )
    return sorted(out, key=lambda i: (Decimal(i.facts[0]) - Decimal(i.facts[1]), i.title))


def rule_unbilled_ageing(as_of: date, summary: time_summary.SummaryState | None = None) -> list[Item]:
    before = as_of - timedelta(days=settings_value("PSA_EXC_UNBILLED_DAYS"))
    rows: list[Any]  # rows of values()
    if summary:
        rows = time_summary.unbilled_by_project(before=before)
    else:
        rows = list(
            TimeEntry.objects.filter(status=EntryStatus.APPROVED, billable=True, date__lte=before)
            .filter(_not_billed(SourceKind.TIME_ENTRY))
            .values("project_id", "project__currency")
            .annotate(
                n=Count("id"),
                total_hours=Sum("hours"),
                value=Sum(ExpressionWrapper(F("hours") * F("bill_rate"), output_field=VALUE)),
                oldest=Min("date"),
            )
            .order_by("oldest", "project_id")
        )
    names = (
        dict(Project.objects.filter(pk__in=[r["project_id"] for r in rows]).values_list("pk", "code").order_by())
        if rows
        else {}
    )
    out = []
    for r in rows:
        amount = round_money(r["value"] or ZERO)
        age = (as_of - r["oldest"]).days
        out.append(
            Item(
                rule="unbilled_ageing",
                key=f"project:{r['project_id']}",
                title=f"{names.get(r['project_id'], r['project_id'])}: {r['total_hours']:.2f} h unbilled",
                detail=f"{r['n']} approved entr{'y' if r['n'] == 1 else 'ies'}, oldest {r['oldest']:%d %b %Y} "
                f"({age} days)",
                url=reverse("billing:run-new"),
                fix="Start an invoice run",
                on=r["oldest"],
                amount=amount,
                currency=r["project__currency"],
                facts=(r["n"], str(amount)),
            )
        )
    return out


def rule_milestone_uninvoiced(as_of: date) -> list[Item]:
    before = as_of - timedelta(days=settings_value("PSA_EXC_MILESTONE_DAYS"))
    rows = (
        Milestone.objects.filter(status=MilestoneStatus.ACCEPTED, accepted_at__date__lte=before, amount__gt=0)
        .filter(_not_billed(SourceKind.MILESTONE))
        .select_related("project")
        .order_by("accepted_at", "pk")
    )
    return [
        Item(
            rule="milestone_uninvoiced",
            key=f"milestone:{m.pk}",
            title=f"{m.project.code}: {m.name}",
            detail=f"Accepted {m.accepted_at:%d %b %Y}, not invoiced",
            url=reverse("billing:run-new"),
            fix="Start an invoice run",
            on=m.accepted_at.date() if m.accepted_at else as_of,
            amount=m.amount,
            currency=m.project.currency,
            facts=(str(m.amount),),
        )
        for m in rows
    ]


def cap_positions(as_of: date, summary: time_summary.SummaryState | None = None) -> list[dict]:
    """Per capped contract line: cap, billed (unreleased source links), approved unbilled time value and the
    approved time value of the last 28 days (the burn). Four grouped queries, one pass each over the rows; the
    time values from billing's approved-time summary when `summary` (it is current)."""
    lines: list[Any] = list(  # rows of values()
        ContractLine.objects.filter(cap__isnull=False, cap__gt=0, contract__end_date__gte=as_of - timedelta(days=31))
        .values("pk", "description", "cap", "contract__number", "contract__project_id", "contract__currency")
        .order_by("pk")
    )
    ids = [r["pk"] for r in lines]
    value = ExpressionWrapper(F("hours") * F("bill_rate"), output_field=VALUE)
    approved = TimeEntry.objects.filter(contract_line_id__in=ids, status=EntryStatus.APPROVED, billable=True)

    def by_line(qs, expr) -> dict[int, Decimal]:
        return dict(qs.values("contract_line_id").annotate(s=expr).values_list("contract_line_id", "s").order_by())

    billed = by_line(SourceLink.objects.filter(contract_line_id__in=ids, released_at__isnull=True), Sum("amount"))
    if summary:
        unbilled = time_summary.line_values(line_ids=ids, billed=False)
        burn = time_summary.line_values(line_ids=ids, first=as_of - timedelta(days=27), last=as_of)
    else:
        unbilled = by_line(approved.filter(_not_billed(SourceKind.TIME_ENTRY)), Sum(value))
        burn = by_line(approved.filter(date__gt=as_of - timedelta(days=28), date__lte=as_of), Sum(value))
    for r in lines:
        r["billed"] = billed.get(r["pk"]) or ZERO
        r["unbilled"] = unbilled.get(r["pk"]) or ZERO
        r["burn"] = burn.get(r["pk"]) or ZERO
    return lines


def projected_cap_date(*, cap: Decimal, consumed: Decimal, burn_28d: Decimal, as_of: date) -> date | None:
    """The day consumption reaches the cap at the last 28 days' burn rate; `as_of` when already reached;
    None when nothing burns."""
    remaining = cap - consumed
    if remaining <= 0:
        return as_of
    if burn_28d <= 0:
        return None
    return as_of + timedelta(days=math.ceil(remaining / (burn_28d / 28)))


def rule_cap_approaching(as_of: date, summary: time_summary.SummaryState | None = None) -> list[Item]:
    share = Decimal(settings_value("PSA_EXC_CAP_SHARE"))
    horizon = as_of + timedelta(days=settings_value("PSA_EXC_CAP_DAYS"))
    out = []
    for r in cap_positions(as_of, summary):
        consumed = round_money(r["billed"] + r["unbilled"])
        projected = projected_cap_date(cap=r["cap"], consumed=consumed, burn_28d=r["burn"], as_of=as_of)
        used = (consumed * 100 / r["cap"]).quantize(Decimal("0.1"))
        if used < share and (projected is None or projected > horizon):
            continue
        when = f"cap reached {projected:%d %b %Y}" if projected else "no recent burn"
        out.append(
            Item(
                rule="cap_approaching",
                key=f"contract_line:{r['pk']}",
                title=f"{r['contract__number']} · {r['description']}: {used}% of cap used",
                detail=f"{r['contract__currency']} {consumed:,.2f} of {r['cap']:,.2f}; {when}",
                url=reverse("projects:change-order-create", args=[r["contract__project_id"]]),
                fix="Raise the cap with a change order",
                on=projected,
                amount=consumed,
                currency=r["contract__currency"],
                facts=(str(consumed), str(r["cap"]), projected.isoformat() if projected else ""),
            )
        )
    return out


def rule_estimate_over_price(as_of: date, summary: time_summary.SummaryState | None = None) -> list[Item]:
    latest = ProjectEstimate.objects.filter(project=OuterRef("pk"), as_of__lte=as_of).order_by("-as_of")
    projects = list(
        Project.objects.filter(Exists(latest))
        .annotate(etc_hours=Subquery(latest.values("etc_hours")[:1]), etc_cost=Subquery(latest.values("etc_cost")[:1]))
        .values("pk", "code", "name", "etc_hours", "etc_cost")
        .order_by("pk")
    )
    if not projects:
        return []
    ids = [p["pk"] for p in projects]
    actuals = (
        time_summary.project_actuals(project_ids=ids)
        if summary
        else {
            r["project_id"]: r
            for r in TimeEntry.objects.filter(project_id__in=ids, status=EntryStatus.APPROVED)
            .values("project_id")
            .annotate(h=Sum("hours"), c=Sum(ExpressionWrapper(F("hours") * F("cost_rate"), output_field=VALUE)))
            .order_by()
        }
    )
    by_currency: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for pk, code, price in (
        ContractLine.objects.filter(contract__project_id__in=ids)
        .values("contract__project_id", "contract__currency")
        .annotate(p=Sum("price"))
        .values_list("contract__project_id", "contract__currency", "p")
        .order_by()
    ):
        by_currency[pk].append((code, price or ZERO))
    converted = currency_totals_many({str(pk): parts for pk, parts in by_currency.items()}, on=as_of)
    prices = {int(pk): t.total for pk, t in converted.items() if t.total is not None}
    out = []
    for p in projects:
        if p["pk"] not in prices:
            continue  # no contract: nothing to compare against
        a: Mapping[str, Any] = actuals.get(p["pk"], {})
        cost, hours = a.get("c") or ZERO, a.get("h") or ZERO
        etc = p["etc_cost"] if p["etc_cost"] is not None else (p["etc_hours"] * cost / hours if hours else ZERO)
        eac, price = round_money(cost + etc), prices[p["pk"]]
        if eac <= price:
            continue
        fx = converted[str(p["pk"])]
        out.append(
            Item(
                rule="estimate_over_price",
                key=f"project:{p['pk']}",
                title=f"{p['code']} {p['name']}: estimate at completion {fx.functional} {eac:,.2f} > price "
                f"{fx.functional} {price:,.2f}",
                detail=f"Cost to date {round_money(cost):,.2f} + estimate to complete {round_money(etc):,.2f}"
                + (f"; price converted at {fx.rates_text}" if fx.converted else ""),
                url=reverse("projects:project", args=[p["pk"]]),
                fix="Review the estimate or agree a change order",
                on=as_of,
                amount=eac - price,
                currency=fx.functional,
                facts=(str(eac), str(price)),
            )
        )
    return out


def _mean_sd(values: list[Decimal]) -> tuple[Decimal, Decimal]:
    n = len(values)
    mean = sum(values, ZERO) / n
    var = sum(((v - mean) ** 2 for v in values), ZERO) / n
    return mean, var.sqrt()


def rule_time_outlier(as_of: date) -> list[Item]:
    recent_from = as_of - timedelta(days=13)
    base_from = recent_from - timedelta(days=90)
    # (consultant, day, hours) tuples: a firm has tens of thousands of consultant-days in the window, and a
    # dict per row cost more than the query
    days = (
        TimeEntry.objects.filter(date__gte=base_from, date__lte=as_of)
        .values("consultant_id", "date")
        .annotate(h=Sum("hours"))
        .values_list("consultant_id", "date", "h")
        .order_by("consultant_id", "date")
    )
    baseline: dict[int, list[Decimal]] = defaultdict(list)
    recent: list[tuple[int, date, Decimal]] = []
    for consultant_id, day, hours in days:
        (recent.append((consultant_id, day, hours)) if day >= recent_from else baseline[consultant_id].append(hours))
    stats = {c: _mean_sd(v) for c, v in baseline.items() if len(v) >= 10}
    flagged = [
        (consultant_id, day, hours)
        for consultant_id, day, hours in recent
        if consultant_id in stats and hours > stats[consultant_id][0] + 3 * stats[consultant_id][1]
    ]
    if not flagged:
        return []
    consultants = Consultant.objects.filter(pk__in={c for c, _day, _h in flagged}).select_related("user")
    names = {c.pk: str(c) for c in consultants}
    out = []
    for consultant_id, day, hours in flagged:
        mean, sd = stats[consultant_id]
        out.append(
            Item(
                rule="time_outlier",
                key=f"consultant:{consultant_id}:{day.isoformat()}",
                title=f"{names[consultant_id]}: {hours:.2f} h on {day:%a %d %b}",
                detail=f"Usually {mean:.2f} ± {sd:.2f} h a day (90 days)",
                url=reverse("projects:approvals"),
                fix="Check or reject in approvals",
                on=day,
                facts=(str(hours),),
            )
        )
    return out


def rule_invoice_outlier(as_of: date) -> list[Item]:
    window_from = as_of - timedelta(days=29)
    issued = Invoice.objects.filter(kind=InvoiceKind.INVOICE, issue_date__isnull=False).exclude(
        status__in=[InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED]
    )
    history = {
        (r["account_id"], r["currency"]): r
        for r in issued.filter(issue_date__lt=window_from)
        .values("account_id", "currency")
        .annotate(
            n=Count("id"),
            mean=Avg("net_total"),
            sq=Avg(ExpressionWrapper(F("net_total") * F("net_total"), output_field=VALUE)),
        )
        .order_by()
    }
    accounts = list({account for account, _ in history})
    recent = issued.filter(issue_date__gte=window_from, issue_date__lte=as_of, account_id__in=accounts).values(
        "pk", "number", "account_id", "account__name", "net_total", "currency", "issue_date"
    )
    out = []
    for inv in recent.order_by("issue_date", "pk"):
        h = history.get((inv["account_id"], inv["currency"]))  # compared only with invoices in its own currency
        if h is None or h["n"] < 3:
            continue
        mean = Decimal(h["mean"])
        sd = max(Decimal(h["sq"]) - mean * mean, ZERO).sqrt()
        off = abs(inv["net_total"] - mean)
        if not (off > 3 * sd if sd > 0 else off > mean / 2):
            continue
        out.append(
            Item(
                rule="invoice_outlier",
                key=f"invoice:{inv['pk']}",
                title=f"{inv['number']} to {inv['account__name']}: {inv['net_total']:,.2f} {inv['currency']}",
                detail=f"The account's {inv['currency']} invoices average {round_money(mean):,.2f} "
                f"± {round_money(sd):,.2f} ({h['n']} before)",
                url=reverse("billing:invoice-detail", args=[inv["pk"]]),
                fix="Review; credit if wrong",
                on=inv["issue_date"],
                amount=inv["net_total"],
                currency=inv["currency"],
                facts=(str(inv["net_total"]),),
            )
        )
    return out


def rule_outbox_failed(as_of: date) -> list[Item]:
    stale = timezone.now() - timedelta(hours=1)
    rows = OutboxMessage.objects.filter(
        Q(status=OutboxStatus.FAILED) | Q(status=OutboxStatus.PENDING, attempts__gt=0, created_at__lt=stale)
    ).order_by("created_at")
    out = []
    for m in rows:
        sub = (m.payload or {}).get("subscription_id") if m.kind == "webhook" else None
        url = reverse("webhook-detail", args=[sub]) if sub else reverse("admin:core_outboxmessage_change", args=[m.pk])
        out.append(
            Item(
                rule="outbox_failed",
                key=f"outbox:{m.pk}",
                title=f"{m.kind} {m.dedupe_key}: {m.get_status_display().lower()} after {m.attempts} attempts",
                detail=(m.last_error or "no error recorded")[:200],
                url=url,
                fix="Replay (administrators)" if sub else "Open the message (administrators)",
                on=m.created_at.date(),
                facts=(m.status, m.attempts),
            )
        )
    return out


def rule_run_failed(as_of: date) -> list[Item]:
    rows = (
        BillingRunItem.objects.filter(status=ItemStatus.FAILED)
        .values("run_id", "run__period_end")
        .annotate(n=Count("id"), last=Max("processed_at"))
        .order_by("run_id")
    )
    return [
        Item(
            rule="run_failed",
            key=f"run:{r['run_id']}",
            title=f"Invoice run {r['run_id']} (period end {r['run__period_end']:%d %b %Y})",
            detail=f"{r['n']} contract{'s' if r['n'] != 1 else ''} failed to invoice",
            url=reverse("billing:run-detail", args=[r["run_id"]]),
            fix="Fix and retry the run",
            on=r["run__period_end"],
            facts=(r["n"],),
        )
        for r in rows
    ]


def rule_budget_threshold(as_of: date) -> list[Item]:
    alerts = BudgetAlert.objects.filter(cleared_at__isnull=True).select_related("project").order_by("raised_at", "pk")
    items = []
    for a in alerts:
        unit = "h" if a.kind in HOURS_ALERTS else a.project.currency
        what = "Forecast at completion" if a.kind == BudgetAlertKind.FORECAST_OVER else "Actual"
        items.append(
            Item(
                rule="budget_threshold",
                key=f"budget-alert:{a.pk}",
                title=f"{a.project.code}: {a.get_kind_display()}",
                detail=f"{what} {a.actual:,.2f} {unit} of a {a.budget:,.2f} {unit} budget ({a.percent} %)",
                url=reverse("projects:project", args=[a.project_id]),
                fix="Review the budget",
                on=a.raised_at.date(),
                facts=(a.kind, str(a.percent)),
            )
        )
    return items


def rule_einvoice_invalid(as_of: date) -> list[Item]:
    rows = (
        Invoice.objects.filter(number__isnull=False, pdf_sha256="")
        .exclude(einvoice_error="")
        .values("pk", "number", "buyer_name", "issue_date", "gross_total", "currency", "einvoice_error")
        .order_by("issue_date", "pk")
    )
    return [
        Item(
            rule="einvoice_invalid",
            key=f"invoice:{r['pk']}",
            title=f"{r['number']} to {r['buyer_name']}: e-invoice XML not valid, not sent",
            detail=r["einvoice_error"][:200],
            url=reverse("billing:invoice-detail", args=[r["pk"]]),
            fix="See why, fix it and render again",
            on=r["issue_date"],
            amount=r["gross_total"],
            currency=r["currency"],
            facts=(hashlib.sha256(r["einvoice_error"].encode()).hexdigest()[:16],),
        )
        for r in rows
    ]


SUBCONTRACT_LOOKBACK_MONTHS = 12


def rule_subcontract_mismatch(as_of: date) -> list[Item]:
    """Vendor, consultant and month where billed and approved subcontractor hours differ beyond the tolerance,
    for months ended more than PSA_EXC_SUBCONTRACT_DAYS ago. Four queries (the match selector)."""
    tolerance = Decimal(str(settings_value("PSA_EXC_SUBCONTRACT_TOLERANCE_HOURS")))
    cutoff = as_of - timedelta(days=settings_value("PSA_EXC_SUBCONTRACT_DAYS"))
    last = month_start(month_start(cutoff) - timedelta(days=1))  # the latest month that ended before the cutoff
    first = next_month(date(last.year - 1, last.month, 1))  # twelve months through `last`
    out = []
    for r in subcontract_match(start=first, end=last):
        if abs(r.hours_difference) <= tolerance:
            continue
        if not r.billed_hours:
            what = "approved hours not billed"
        elif not r.approved_hours:
            what = "hours billed with none approved"
        else:
            more = "more" if r.hours_difference > 0 else "fewer"
            what = f"{abs(r.hours_difference):.2f} h {more} billed than approved"
        out.append(
            Item(
                rule="subcontract_mismatch",
                key=f"subcontract:{r.vendor_id}:{r.consultant_id}:{r.month:%Y-%m}",
                title=f"{r.vendor} · {r.consultant}, {r.month:%b %Y}: {r.billed_hours:.2f} h billed, "
                f"{r.approved_hours:.2f} h approved",
                detail=what[:1].upper() + what[1:],
                url=reverse("billing:subcontract-match")
                + f"?vendor={r.vendor_id}&from={r.month:%Y-%m}&to={r.month:%Y-%m}",
                fix="Match the hours",
                on=r.month_end,
                amount=r.amount_difference,
                currency=(r.billed_currency or r.accrued_currency) if r.amount_difference is not None else "",
                facts=(str(r.approved_hours), str(r.billed_hours)),
            )
        )
    return out


RULE_FUNCS: dict[str, Callable[..., list[Item]]] = {
    "missing_time": rule_missing_time,
    "unbilled_ageing": rule_unbilled_ageing,
    "milestone_uninvoiced": rule_milestone_uninvoiced,
    "cap_approaching": rule_cap_approaching,
    "estimate_over_price": rule_estimate_over_price,
    "time_outlier": rule_time_outlier,
    "invoice_outlier": rule_invoice_outlier,
    "outbox_failed": rule_outbox_failed,
    "run_failed": rule_run_failed,
    "einvoice_invalid": rule_einvoice_invalid,
    "budget_threshold": rule_budget_threshold,
    "subcontract_mismatch": rule_subcontract_mismatch,
}


# Rules that read billing's approved-time summary when it is current (the others read what they read).
# time_outlier cannot: it needs each consultant's daily totals, which the summary (by project and line) lacks.
SUMMARY_RULES = frozenset({"unbilled_ageing", "cap_approaching", "estimate_over_price"})


@dataclass
class Scan:
    open: dict[str, list[Item]]
    hidden: list[Item]
    # the approved-time summary's last refresh (None: never run, or no rule reading it ran); when current, the
    # SUMMARY_RULES read it, else they computed from the entries
    summary: time_summary.SummaryState | None = None
    # when the items were computed, if they were reused across readers (psa.core.pagecache); None: just now
    computed_at: datetime | None = None

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.open.values())


def _rule_items(as_of: date, names: list[str]) -> tuple[list[Item], time_summary.SummaryState | None]:
    """The named rules' items on `as_of` (before any dismissal), and the summary state they were computed on."""
    state = time_summary.summary_state() if SUMMARY_RULES.intersection(names) else None
    summary = state if state is not None and state.current else None
    items = [
        item
        for name in names
        for item in (RULE_FUNCS[name](as_of, summary) if name in SUMMARY_RULES else RULE_FUNCS[name](as_of))
    ]
    return items, state


def exception_scan(
    *, as_of: date | None = None, rules: list[str] | None = None, shared: bool = False, fresh: bool = False
) -> Scan:
    """Run the rules and split their items into open and hidden (dismissed with unchanged facts, or snoozed
    through a date not yet passed). A fixed query count: each rule's own plus one for the dismissals.

    `shared` (the queue page): the rules' items are reused for PSA_PAGE_CACHE_SECONDS across readers
    (psa.core.pagecache) and `Scan.computed_at` says when they were computed; dismissals and snoozes are read on
    every call, so a dismissal hides its item at once. `fresh` (the reader wrote a moment ago): computed anew
    and stored for the others."""
    as_of = as_of or timezone.localdate()
    names = list(rules or RULE_FUNCS)
    computed_at = None
    if shared:
        result = shared_result(
            f"exceptions:{as_of.isoformat()}:{','.join(names)}", lambda: _rule_items(as_of, names), fresh=fresh
        )
        (items, state), computed_at = result.value, result.as_of
    else:
        items, state = _rule_items(as_of, names)
    decisions = {
        f"{d.rule}|{d.item_key}": d
        for d in ExceptionDismissal.objects.filter(rule__in=list(rules or RULE_FUNCS)).select_related("by")
    }
    open_items: dict[str, list[Item]] = {name: [] for name in (rules or RULE_FUNCS)}
    hidden = []
    for item in items:
        d = decisions.get(item.ident)
        hide = d is not None and (
            (d.action == DismissalAction.SNOOZE and d.until is not None and d.until >= as_of)
            or (d.action == DismissalAction.DISMISS and d.fingerprint == item.fingerprint)
        )
        if hide:
            item.dismissal = d
            hidden.append(item)
        else:
            open_items[item.rule].append(item)
    return Scan(open=open_items, hidden=hidden, summary=state, computed_at=computed_at)
