"""Billing reads: scoped invoice lists, AR aging, DSO, overdue list, panels for sales, traceability.
Each issues a fixed number of queries whatever the data size. The VAT return is in vat_return.py (re-exported)."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce

from billing.choices import OPEN_STATUSES, InvoiceKind, InvoiceStatus, SourceKind
from billing.models import AccountStatement, CapWriteDown, DunningReminder, Invoice, InvoiceLine, Payment, SourceLink
from billing.selectors.retainage import retainage_held_by_account
from billing.selectors.vat_return import VatReturn as VatReturn
from billing.selectors.vat_return import VatReturnRow as VatReturnRow
from billing.selectors.vat_return import vat_return as vat_return
from billing.selectors.vat_return import vat_return_month as vat_return_month
from billing.services.runs import Preview
from billing.services.sources import PROVIDER_BY_KIND
from crm.models import Account, Opportunity
from crm.selectors import account_for_client_user
from ledger.choices import SystemAccount
from ledger.models import JournalLine
from projects.models import ContractLine
from psa.core.money import ZERO, round_to
from psa.core.roles import Role, has_role
from psa.core.totals import CurrencyTotals, currency_totals_many

MONEY = DecimalField(max_digits=18, decimal_places=2)
# The part of a document on AR still open: the gross less the retainage held back (owed only once a release
# invoice bills it), payments, credits and write-offs (Invoice.balance).
BALANCE = ExpressionWrapper(
    F("gross_total") - F("retainage_total") - F("amount_paid") - F("amount_credited") - F("amount_written_off"),
    output_field=MONEY,
)


def invoices_for(user: User) -> QuerySet[Invoice]:
    """Documents a user may see: everything for finance and admins; a client its own account's issued ones."""
    if has_role(user, Role.FINANCE, Role.ADMIN):
        return Invoice.objects.all()
    if has_role(user, Role.CLIENT):
        account = account_for_client_user(user)
        if account is None:
            return Invoice.objects.none()
        return Invoice.objects.filter(account=account, number__isnull=False)
    return Invoice.objects.none()


def statements_for(user: User) -> QuerySet[AccountStatement]:
    """Statements of account a user may read: finance and admins all; a client its own account's only."""
    if has_role(user, Role.FINANCE, Role.ADMIN):
        return AccountStatement.objects.all()
    if has_role(user, Role.CLIENT):
        account = account_for_client_user(user)
        if account is None:
            return AccountStatement.objects.none()
        return AccountStatement.objects.filter(account=account)
    return AccountStatement.objects.none()


def invoice_list(user: User) -> QuerySet[Invoice]:
    return invoices_for(user).select_related("account", "credited_invoice", "entity")


def portal_balance(account: Account) -> dict:
    """Open invoices minus unapplied credits, for the portal header (two queries)."""
    agg = Invoice.objects.filter(account=account, status__in=OPEN_STATUSES).aggregate(
        owed=Coalesce(Sum(BALANCE, filter=Q(kind=InvoiceKind.INVOICE)), ZERO, output_field=MONEY),
        credit=Coalesce(Sum(BALANCE, filter=Q(kind=InvoiceKind.CREDIT_NOTE)), ZERO, output_field=MONEY),
        overdue=Coalesce(
            Sum(BALANCE, filter=Q(kind=InvoiceKind.INVOICE, due_date__lt=date.today())), ZERO, output_field=MONEY
        ),
    )
    unapplied = Payment.objects.filter(account=account).aggregate(
        u=Coalesce(Sum(F("amount") - F("amount_allocated"), output_field=MONEY), ZERO, output_field=MONEY)
    )["u"]
    agg["credit"] += unapplied
    agg["balance"] = agg["owed"] - agg["credit"]
    return agg


# --- billing run preview -------------------------------------------------------------------------------
def preview_totals(preview: Preview, *, on: date) -> dict[str, CurrencyTotals]:
    """The preview's net to invoice and amounts over caps, per contract currency and converted into the
    functional currency at the rates for `on` (psa.core.totals; the rows are already loaded: one rate query)."""
    net: list[tuple[str, Decimal]] = [(r.contract.currency, r.net) for r in preview.rows]
    down: list[tuple[str, Decimal]] = [(r.contract.currency, r.written_down) for r in preview.rows]
    return currency_totals_many({"net": net, "written_down": down}, on=on)


# --- AR ------------------------------------------------------------------------------------------------
@dataclass
class AgingRow:
    account_id: int
    name: str
    currency: str = ""
    current: Decimal = ZERO
    d1_30: Decimal = ZERO
    d31_60: Decimal = ZERO
    d61_90: Decimal = ZERO
    d90: Decimal = ZERO
    credits: Decimal = ZERO
    # Retainage held back and not yet released: owed, not due, on the retainage receivable (not in the buckets).
    retainage: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.current + self.d1_30 + self.d31_60 + self.d61_90 + self.d90

    @property
    def overdue(self) -> Decimal:
        return self.total - self.current


AGING_COLUMNS = ("current", "d1_30", "d31_60", "d61_90", "d90", "credits", "total", "overdue", "retainage")


@dataclass
class Aging:
    """Rows per account and currency. Totals are per currency (`by_currency`) and converted into the functional
    currency at the rates of `as_of` (`converted`, psa.core.totals: None totals and a message when a rate is
    missing). Nothing adds two currencies without converting them."""

    as_of: date
    rows: list[AgingRow] = field(default_factory=list)
    converted: dict[str, CurrencyTotals] = field(default_factory=dict)

    @property
    def currencies(self) -> list[str]:
        return sorted({r.currency for r in self.rows})

    @property
    def by_currency(self) -> dict[str, dict[str, Decimal]]:
        """{currency: {column: sum}} over the rows (already loaded: no query)."""
        out: dict[str, dict[str, Decimal]] = {}
        for r in self.rows:
            sums = out.setdefault(r.currency, dict.fromkeys(AGING_COLUMNS, ZERO))
            for name in AGING_COLUMNS:
                sums[name] += getattr(r, name)
        return dict(sorted(out.items()))


def _aging_converted(rows: list[AgingRow], on: date) -> dict[str, CurrencyTotals]:
    return currency_totals_many({name: [(r.currency, getattr(r, name)) for r in rows] for name in AGING_COLUMNS}, on=on)


def ar_aging(*, as_of: date | None = None, account_id: int | None = None, entity_id: int | None = None) -> Aging:
    """Open invoice balances per account and currency by days past due: current (not yet due), 1-30, 31-60,
    61-90, 90+; open credit notes and unapplied payments shown as credits in their own currency; retainage held
    back and not yet released apart (its own column: owed, not due, so in no bucket). An account billed in two
    currencies has two rows. Totals per currency and converted at the rates of `as_of`. Six queries (five
    aggregates and the rates). With `entity_id`, one legal entity's receivables only (its invoices,
    credit notes and payments); without it, all entities summed."""
    as_of = as_of or date.today()
    invoices = Invoice.objects.filter(kind=InvoiceKind.INVOICE, status__in=OPEN_STATUSES, issue_date__lte=as_of)
    if account_id:
        invoices = invoices.filter(account_id=account_id)
    if entity_id:
        invoices = invoices.filter(entity_id=entity_id)
    rows = (
        invoices.values("account_id", "account__name", "currency")
        .annotate(
            current=Coalesce(Sum(BALANCE, filter=Q(due_date__gte=as_of)), ZERO, output_field=MONEY),
            d1_30=Coalesce(
                Sum(BALANCE, filter=Q(due_date__lt=as_of, due_date__gte=as_of - timedelta(days=30))),
                ZERO,
                output_field=MONEY,
            ),
            d31_60=Coalesce(
                Sum(
                    BALANCE,
                    filter=Q(due_date__lt=as_of - timedelta(days=30), due_date__gte=as_of - timedelta(days=60)),
                ),
                ZERO,
                output_field=MONEY,
            ),
            d61_90=Coalesce(
                Sum(
                    BALANCE,
                    filter=Q(due_date__lt=as_of - timedelta(days=60), due_date__gte=as_of - timedelta(days=90)),
                ),
                ZERO,
                output_field=MONEY,
            ),
            d90=Coalesce(Sum(BALANCE, filter=Q(due_date__lt=as_of - timedelta(days=90))), ZERO, output_field=MONEY),
        )
        .order_by("account__name", "account_id", "currency")
    )
    table = {
        (r["account_id"], r["currency"]): AgingRow(
            account_id=r["account_id"],
            name=r["account__name"],
            currency=r["currency"],
            current=r["current"],
            d1_30=r["d1_30"],
            d31_60=r["d31_60"],
            d61_90=r["d61_90"],
            d90=r["d90"],
        )
        for r in rows
    }
    credit_notes = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE, status__in=OPEN_STATUSES)
    payments = Payment.objects.filter(amount_allocated__lt=F("amount"))
    if account_id:
        credit_notes, payments = credit_notes.filter(account_id=account_id), payments.filter(account_id=account_id)
    if entity_id:
        credit_notes, payments = credit_notes.filter(entity_id=entity_id), payments.filter(entity_id=entity_id)
    for qs, expr in ((credit_notes, BALANCE), (payments, F("amount") - F("amount_allocated"))):
        grouped = qs.values("account_id", "account__name", "currency").annotate(c=Sum(expr, output_field=MONEY))
        for r in grouped.order_by():
            key = (r["account_id"], r["currency"])
            row = table.setdefault(
                key, AgingRow(account_id=r["account_id"], name=r["account__name"], currency=r["currency"])
            )
            row.credits += r["c"]
    held = retainage_held_by_account(account_ids=[account_id] if account_id else None, entity_id=entity_id, as_of=as_of)
    if held:
        names = dict(Account.objects.filter(pk__in={a for a, _ in held}).values_list("pk", "name"))
        for (acc, currency), amount in held.items():
            row = table.setdefault(
                (acc, currency), AgingRow(account_id=acc, name=names.get(acc, ""), currency=currency)
            )
            row.retainage += amount
    ordered = sorted(table.values(), key=lambda r: (r.name, r.account_id, r.currency))
    return Aging(as_of=as_of, rows=ordered, converted=_aging_converted(ordered, as_of))


def dso(*, as_of: date | None = None, days: int = 90) -> Decimal | None:
    """Days sales outstanding: open receivables / invoiced (gross) in the last `days` x `days`. Both sides are
    summed per currency and converted at the rates of `as_of` (psa.core.totals); None when nothing was invoiced
    or a currency has no rate."""
    as_of = as_of or date.today()
    per_currency = (
        Invoice.objects.filter(kind=InvoiceKind.INVOICE, number__isnull=False)
        .values("currency")
        .annotate(
            open=Coalesce(Sum(BALANCE, filter=Q(status__in=OPEN_STATUSES)), ZERO, output_field=MONEY),
            sales=Coalesce(
                Sum("gross_total", filter=Q(issue_date__gt=as_of - timedelta(days=days), issue_date__lte=as_of)),
                ZERO,
                output_field=MONEY,
            ),
        )
        .order_by()
    )
    rows = list(per_currency)
    totals = currency_totals_many(
        {side: [(r["currency"], r[side]) for r in rows] for side in ("open", "sales")}, on=as_of
    )
    open_total, sales = totals["open"].total, totals["sales"].total
    if not sales or open_total is None:
        return None
    return round_to(open_total / sales * days, Decimal("0.1"))


def overdue_invoices(*, as_of: date | None = None) -> QuerySet[Invoice]:
    as_of = as_of or date.today()
    return (
        Invoice.objects.filter(kind=InvoiceKind.INVOICE, status__in=OPEN_STATUSES, due_date__lt=as_of)
        .select_related("account")
        .annotate(
            open_balance=BALANCE,
            last_level=Subquery(
                DunningReminder.objects.filter(invoice=OuterRef("pk")).order_by("-level").values("level")[:1]
            ),
            last_reminder_at=Subquery(
                DunningReminder.objects.filter(invoice=OuterRef("pk")).order_by("-level").values("sent_at")[:1]
            ),
        )
        .order_by("due_date", "pk")
    )


# --- panels for sales ------------------------------------------------------------------------------------
def account_ar(account: Account, *, as_of: date | None = None) -> dict:
    """The account page's AR panel: open balance, overdue, credits, last payment (two queries)."""
    as_of = as_of or date.today()
    data = portal_balance(account)
    last = (
        Payment.objects.filter(account=account).order_by("-received_on", "-pk").values("received_on", "amount").first()
    )
    data["last_payment"] = last
    data["as_of"] = as_of
    return data


def opportunity_invoiced(opportunity: Opportunity) -> dict:
    """Invoiced to date (net of credit notes) against what was sold on a deal, per contract line."""
    lines = (
        InvoiceLine.objects.filter(
            contract_line__source_line__opportunity=opportunity,
            invoice__status__in=[s for s in InvoiceStatus.values if s not in ("draft", "cancelled")],
        )
        .values("contract_line__source_line_id")
        .annotate(
            net=Sum(
                Case(
                    When(invoice__kind=InvoiceKind.CREDIT_NOTE, then=-F("net")),
                    default=F("net"),
                    output_field=MONEY,
                )
            )
        )
        .order_by()
    )
    by_line = {r["contract_line__source_line_id"]: r["net"] for r in lines}
    rows = [
        {"line": ln, "sold": ln.amount, "invoiced": by_line.get(ln.pk, ZERO)}
        for ln in opportunity.lines.all().order_by("position", "pk")
    ]
    sold = sum((r["sold"] for r in rows), ZERO)
    invoiced = sum((r["invoiced"] for r in rows), ZERO)
    return {
        "rows": rows,
        "sold": sold,
        "invoiced": invoiced,
        "remaining": sold - invoiced,
        "percent": int(invoiced * 100 / sold) if sold else 0,
    }


# --- traceability ------------------------------------------------------------------------------------
def explain_line(line: InvoiceLine) -> dict:
    """Where a line's amount comes from: its sources, contract line (cap, rate card), the deal line sold, and
    any cap write-down. A fixed number of queries."""
    links = list(line.sources.all().select_related("contract_line"))
    labels = {}
    for kind in {lk.kind for lk in links}:
        provider = PROVIDER_BY_KIND.get(kind)
        if provider is not None:
            labels.update(
                {(kind, k): v for k, v in provider.labels([lk.source_id for lk in links if lk.kind == kind]).items()}
            )
    cline = None
    if line.contract_line_id:
        cline = (
            ContractLine.objects.select_related("contract", "rate_card", "source_line__opportunity", "expense_policy")
            .filter(pk=line.contract_line_id)
            .first()
        )
    downs = {d.link_id: d for d in CapWriteDown.objects.filter(link__in=links)}
    billed_to_date = (
        SourceLink.objects.filter(contract_line_id=line.contract_line_id, released_at__isnull=True).aggregate(
            t=Coalesce(Sum("amount"), ZERO, output_field=MONEY)
        )["t"]
        if line.contract_line_id
        else None
    )
    return {
        "line": line,
        "sources": [
            {"link": lk, "label": labels.get((lk.kind, lk.source_id), lk.label), "down": downs.get(lk.pk)}
            for lk in links
        ],
        "contract_line": cline,
        "opportunity_line": cline.source_line if cline else None,
        "billed_to_date": billed_to_date,
        "credited_line": line.credited_line,
        "expense_policy": getattr(cline, "expense_policy", None) if cline else None,
        "hours": sum((lk.quantity for lk in links if lk.kind == SourceKind.TIME_ENTRY), Decimal("0")),
    }


def latest_payment_date(account_id: int) -> date | None:
    return Payment.objects.filter(account_id=account_id).aggregate(m=Max("received_on"))["m"]


def ledger_reconciliation() -> dict:
    """AR and tax payable in the GL against the billing sub-ledger (DESIGN.md invariant 8), in the functional
    currency at the documents' booked rates: GL AR = open invoices - open credit notes - unapplied payments (each
    at the rate it was issued or received at, less the booked value settlements took off) + the revaluations
    posted on AR (exchange-difference lines, amount in the currency 0); GL tax payable = invoice tax - credit-note
    tax (functional). `currencies` repeats it per transaction currency, with the balances in that currency too
    (GL Σ amount in the currency against the open amounts). Four grouped queries."""
    ar_lines = JournalLine.objects.filter(account__system_role=SystemAccount.RECEIVABLE)
    signed_fc = Case(When(debit__gt=0, then=F("amount_currency")), default=-F("amount_currency"), output_field=MONEY)
    gl_ar = {
        r["currency"]: (r["fn"], r["fc"], r["reval"])
        for r in ar_lines.values("currency")
        .annotate(
            fn=Coalesce(Sum(F("debit") - F("credit")), ZERO, output_field=MONEY),
            fc=Coalesce(Sum(signed_fc), ZERO, output_field=MONEY),
            reval=Coalesce(Sum(F("debit") - F("credit"), filter=Q(amount_currency=0)), ZERO, output_field=MONEY),
        )
        .order_by()
    }
    gl_tax = JournalLine.objects.filter(account__system_role=SystemAccount.TAX_PAYABLE).aggregate(
        t=Coalesce(Sum(F("credit") - F("debit")), ZERO, output_field=MONEY)
    )["t"]
    is_invoice, is_note = Q(kind=InvoiceKind.INVOICE), Q(kind=InvoiceKind.CREDIT_NOTE)
    open_fn = ExpressionWrapper(
        F("functional_gross") - F("functional_retainage") - F("functional_settled"), output_field=MONEY
    )
    sub = {
        r["currency"]: (r["fn"], r["fc"], r["tax"])
        for r in Invoice.objects.filter(number__isnull=False)
        .values("currency")
        .annotate(
            fn=Coalesce(Sum(open_fn, filter=is_invoice), ZERO, output_field=MONEY)
            - Coalesce(Sum(open_fn, filter=is_note), ZERO, output_field=MONEY),
            fc=Coalesce(Sum(BALANCE, filter=is_invoice), ZERO, output_field=MONEY)
            - Coalesce(Sum(BALANCE, filter=is_note), ZERO, output_field=MONEY),
            tax=Coalesce(Sum("functional_tax", filter=is_invoice), ZERO, output_field=MONEY)
            - Coalesce(Sum("functional_tax", filter=is_note), ZERO, output_field=MONEY),
        )
        .order_by()
    }
    unapplied = {
        r["currency"]: (r["fn"], r["fc"])
        for r in Payment.objects.values("currency")
        .annotate(
            fn=Coalesce(Sum(F("functional_amount") - F("functional_allocated")), ZERO, output_field=MONEY),
            fc=Coalesce(Sum(F("amount") - F("amount_allocated")), ZERO, output_field=MONEY),
        )
        .order_by()
    }
    rows = []
    for currency in sorted(set(gl_ar) | set(sub) | set(unapplied)):
        gl_fn, gl_fc, reval = gl_ar.get(currency, (ZERO, ZERO, ZERO))
        doc_fn, doc_fc, _ = sub.get(currency, (ZERO, ZERO, ZERO))
        pay_fn, pay_fc = unapplied.get(currency, (ZERO, ZERO))
        row = {
            "currency": currency,
            "gl_receivable": gl_fn,
            "gl_amount": gl_fc,
            "revaluation": reval,
            "open_balances": doc_fn - pay_fn,
            "open_amount": doc_fc - pay_fc,
        }
        row["reconciled"] = (
            row["gl_receivable"] == row["open_balances"] + row["revaluation"] and row["gl_amount"] == row["open_amount"]
        )
        rows.append(row)
    result = {
        "gl_receivable": sum((r["gl_receivable"] for r in rows), ZERO),
        "gl_tax_payable": gl_tax,
        "open_balances": sum((r["open_balances"] for r in rows), ZERO),
        "revaluation": sum((r["revaluation"] for r in rows), ZERO),
        "invoiced_tax": sum((tax for _, _, tax in sub.values()), ZERO),
        "currencies": rows,
    }
    # Retainage receivable = retainage held and not released (held only in the functional currency).
    result["gl_retainage"] = JournalLine.objects.filter(
        account__system_role=SystemAccount.RETAINAGE_RECEIVABLE
    ).aggregate(t=Coalesce(Sum(F("debit") - F("credit")), ZERO, output_field=MONEY))["t"]
    result["retainage_held"] = sum(retainage_held_by_account().values(), ZERO)
    result["reconciled"] = (
        all(r["reconciled"] for r in rows)
        and result["gl_tax_payable"] == result["invoiced_tax"]
        and result["gl_retainage"] == result["retainage_held"]
    )
    return result
