"""Open receivables: the invoices the previous system issued that are still open at the cut-over.

Columns: number*, customer* (the account's external id, tax id or name), issue_date*, due_date*, gross* (the
invoice total), paid (already paid), currency (default: the customer's), net and/or tax (default: no tax), rate
(functional units per unit of the currency; default: the rate of the issue date), project (code).

Each becomes an issued invoice (`imported`) that keeps the old system's number. Those numbers are a series of
their own: one already used, or shaped like PSA's own series of the entity (INV-2026-000001), is refused, so
PSA's gapless series never meets them; and PSA's rule that numbers are chronological ignores them. They are not
posted again (the opening AR balance holds them): one entry moves the opening AR onto the invoices' clients,
projects and currencies (Dr AR per invoice / Cr AR as opened), so payments, credit notes, dunning, aging and
revaluation treat them like PSA's own. Their open total must equal the opening AR balance of the trial balance.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from billing.choices import InvoiceKind, InvoiceStatus, TaxKind
from billing.models import (
    DunningReminder,
    GoLive,
    GoLiveBalance,
    Invoice,
    InvoiceHistory,
    InvoiceLine,
    InvoiceTax,
    PaymentAllocation,
    TaxCategory,
    WriteOff,
)
from billing.services.golive.base import (
    FILE_ROW,
    GoLiveContext,
    amount_reader,
    new_report,
    read_amount,
    read_date,
    row_error,
)
from billing.services.posting import settled_share
from billing.services.vat import NOT_SUBJECT_CODE, NOT_SUBJECT_REASON, Determination, category_for
from crm.models import Account
from ledger.choices import SystemAccount
from ledger.models import JournalEntry
from ledger.services import EntrySpec, account_code_for, entry_post
from ledger.services.posting import LineSpec, fx_line
from projects.models import Project
from psa.core.currency import CURRENCY_CODES, functional_currency
from psa.core.entities import seller_snapshot, series_name
from psa.core.exceptions import ConflictError
from psa.core.fx import MissingRate, Rate, convert, rate_for
from psa.core.imports import ROW, AmountReader, ImportReport, RowResult
from psa.core.models import LegalEntity
from psa.core.money import ZERO

IMPORTED_WHY = "As issued by the previous system (imported at go-live)."


def receivables_source(golive_id: int) -> str:
    return f"golive:{golive_id}:receivables"


@dataclass
class _Invoice:
    row: dict
    number: str
    account: Account
    project: Project | None
    currency: str
    issued: date
    due: date
    gross: Decimal
    net: Decimal
    tax: Decimal
    paid: Decimal
    rate: Rate
    functional_gross: Decimal = ZERO
    functional_tax: Decimal = ZERO
    functional_settled: Decimal = ZERO

    @property
    def open_functional(self) -> Decimal:
        return self.functional_gross - self.functional_settled


def _customers() -> tuple[dict[str, Account], dict[str, Account], dict[str, list[Account]]]:
    by_external: dict[str, Account] = {}
    by_tax: dict[str, Account] = {}
    by_name: dict[str, list[Account]] = {}
    for account in Account.objects.all().only("name", "tax_id", "external_id", "currency", "payment_terms_days"):
        if account.external_id:
            by_external[account.external_id] = account
        if account.tax_id:
            by_tax[account.tax_id.replace(" ", "").upper()] = account
        by_name.setdefault(account.name.strip().lower(), []).append(account)
    return by_external, by_tax, by_name


def _psa_series(entity: LegalEntity) -> re.Pattern:
    """The shape of PSA's own numbers for the entity's invoices and credit notes (INV-2026-000001)."""
    names = "|".join(re.escape(series_name(entity, base)) for base in ("INV", "CN"))
    return re.compile(rf"^({names})-\d{{4}}-\d+$", re.IGNORECASE)


def opening_ar(golive: GoLive) -> tuple[Decimal, list[str]]:
    """The receivables balance of the go-live's opening trial balance, and the file rows it comes from."""
    rows = GoLiveBalance.objects.filter(golive=golive, account__system_role=SystemAccount.RECEIVABLE).select_related(
        "account"
    )
    total, named = ZERO, []
    for row in rows:
        total += row.debit - row.credit
        named.append(f"opening balances row {row.row} ({row.account.code}: {row.debit - row.credit:,.2f})")
    return total, named


class ReceivablesImporter:
    kind = "receivables"
    label = "Open receivables (invoices)"
    columns = ("number", "customer", "issue_date", "due_date", "gross")
    optional_columns = ("paid", "currency", "net", "tax", "rate", "project")
    aliases = {
        "invoice_number": "number",
        "invoice_no": "number",
        "client": "customer",
        "account": "customer",
        "date": "issue_date",
        "invoice_date": "issue_date",
        "due": "due_date",
        "total": "gross",
        "amount": "gross",
        "gross_total": "gross",
        "amount_paid": "paid",
        "already_paid": "paid",
        "project_code": "project",
    }

    def _read(self, rows: list[dict], ctx: GoLiveContext) -> tuple[list[_Invoice], ImportReport]:
        report = new_report(self, ctx)
        golive = ctx.golive
        entity = golive.entity
        by_external, by_tax, by_name = _customers()
        psa_series = _psa_series(entity)
        numbers = [str(r.get("number", "")) for r in rows]
        used = set(
            Invoice.objects.annotate(n=Lower("number"))
            .filter(n__in=[n.lower() for n in numbers if n])
            .values_list("n", flat=True)
        )
        project_codes = {str(r.get("project", "")) for r in rows if r.get("project")}
        projects = {p.code: p for p in Project.objects.filter(code__in=project_codes)}
        reader = amount_reader(rows, ("gross", "paid", "net", "tax"))
        seen: dict[str, int] = {}
        good: list[_Invoice] = []
        for row in rows:
            number = str(row.get("number", ""))
            problems: list[str] = []
            gross = read_amount(reader, row, "gross", problems, blank_zero=False)
            paid = read_amount(reader, row, "paid", problems)
            net_text, tax_text = row.get("net", ""), row.get("tax", "")
            net = read_amount(reader, row, "net", problems)
            tax = read_amount(reader, row, "tax", problems)
            issued = read_date(row, "issue_date", problems)
            due = read_date(row, "due_date", problems)
            bad = None
            customer = self._customer(str(row.get("customer", "")), by_external, by_tax, by_name)
            if not number:
                bad = ("missing_number", "The invoice number is empty.")
            elif number.lower() in seen:
                bad = ("duplicate_invoice_number", f"Invoice number {number} is on row {seen[number.lower()]} too.")
            elif number.lower() in used:
                bad = ("duplicate_invoice_number", f"Invoice number {number} is already used by an invoice in PSA.")
            elif psa_series.match(number):
                bad = (
                    "number_in_psa_series",
                    f"Invoice number {number} has the shape of PSA's own series for {entity.code}; give the old "
                    "system's numbers their own prefix so the two series never meet.",
                )
            elif problems:
                bad = ("bad_value", "; ".join(problems).capitalize() + ".")
            elif isinstance(customer, str):
                rule, message = customer.split(":", 1)
                bad = (rule, message)
            if number:
                seen.setdefault(number.lower(), int(row[ROW]))
            if bad:
                report.rows.append(
                    row_error(row, bad[0], bad[1], name=str(row.get("customer", "")), external_id=number)
                )
                continue
            assert isinstance(customer, Account) and issued is not None and due is not None
            currency = (str(row.get("currency", "")) or customer.currency).upper()
            if not tax_text and net_text:
                tax = gross - net
            elif not net_text:
                net = gross - tax
            project = projects.get(str(row.get("project", ""))) if row.get("project") else None
            bad = None
            if currency not in CURRENCY_CODES:
                bad = ("unknown_currency", f"Currency '{currency}' is not one PSA knows.")
            elif issued >= golive.cutover_date:
                bad = (
                    "issued_after_cutover",
                    f"Issued {issued:%Y-%m-%d}, not before the cut-over ({golive.cutover_date:%Y-%m-%d}): issue it "
                    "in PSA instead.",
                )
            elif due < issued:
                bad = ("due_before_issue", f"Due {due:%Y-%m-%d}, before its issue date {issued:%Y-%m-%d}.")
            elif gross <= 0:
                bad = ("amount_positive", "The gross amount must be more than 0.")
            elif net < 0 or tax < 0 or net + tax != gross:
                bad = ("totals_mismatch", f"Net {net:,.2f} and tax {tax:,.2f} do not add up to gross {gross:,.2f}.")
            elif paid < 0 or paid > gross:
                bad = ("paid_out_of_range", f"Paid {paid:,.2f} must be between 0 and the gross {gross:,.2f}.")
            elif paid == gross:
                bad = ("not_open", "The invoice is paid in full: only open invoices are imported.")
            elif row.get("project") and project is None:
                bad = ("unknown_project", f"No project with code {row['project']}.")
            elif project is not None and project.account_id != customer.pk:
                bad = ("project_of_other_client", f"Project {project.code} is not {customer.name}'s.")
            if bad is None:
                try:
                    rate = self._rate(row, currency, issued, reader)
                except (MissingRate, ValueError) as exc:
                    bad = ("missing_rate", str(exc).rstrip(".") + ".")
            if bad:
                report.rows.append(row_error(row, bad[0], bad[1], name=customer.name, external_id=number))
                continue
            item = _Invoice(row, number, customer, project, currency, issued, due, gross, net, tax, paid, rate)
            item.functional_gross = convert(amount=gross, rate=rate)
            item.functional_tax = convert(amount=tax, rate=rate)
            item.functional_settled = settled_share(
                functional=item.functional_gross, total=gross, settled_after=paid, functional_before=ZERO
            )
            good.append(item)
            report.rows.append(
                RowResult(int(row[ROW]), customer.name, number, "create",
                          f"open {gross - paid:,.2f} {currency} of {gross:,.2f}, due {due:%Y-%m-%d}")
            )  # fmt: skip
        self._totals(good, ctx, report)
        return good, report

    @staticmethod
    def _customer(
        text: str,
        by_external: dict[str, Account],
        by_tax: dict[str, Account],
        by_name: dict[str, list[Account]],
    ) -> Account | str:
        if not text:
            return "unknown_customer:The customer is empty."
        if text in by_external:
            return by_external[text]
        if text.replace(" ", "").upper() in by_tax:
            return by_tax[text.replace(" ", "").upper()]
        named = by_name.get(text.strip().lower(), [])
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            return f"ambiguous_customer:{len(named)} accounts are called {text}: name it by external id or tax id."
        return f"unknown_customer:No account with the external id, tax id or name '{text}' (import the parties first)."

    @staticmethod
    def _rate(row: dict, currency: str, issued: date, reader: AmountReader) -> Rate:
        quote = functional_currency()
        if currency == quote:
            return Rate(currency=currency, quote=quote, rate=Decimal(1), date=None)
        if row.get("rate"):
            value = reader.read(str(row["rate"]))
            if value <= 0:
                raise ValueError("the rate must be more than 0")
            return Rate(currency=currency, quote=quote, rate=value, date=issued)
        return rate_for(currency=currency, on=issued)

    def _totals(self, good: list[_Invoice], ctx: GoLiveContext, report: ImportReport) -> None:
        golive = ctx.golive
        if not GoLiveBalance.objects.filter(golive=golive).exists():
            report.rows.append(
                row_error(
                    FILE_ROW,
                    "opening_balances_first",
                    "Import the opening trial balance first: the open invoices must add up to its receivables.",
                )
            )
            return
        expected, sources = opening_ar(golive)
        before = ZERO
        for invoice in Invoice.objects.filter(imported=True, entity_id=golive.entity_id, number__isnull=False):
            before += (invoice.functional_gross or ZERO) - invoice.functional_settled
        total = before + sum((g.open_functional for g in good), ZERO)
        if report.errors:
            return  # the total of a file with bad rows would only repeat them
        if total != expected:
            where = "; ".join(sources) or "no receivables row in the opening balances"
            report.rows.append(
                row_error(
                    FILE_ROW,
                    "ar_total_mismatch",
                    f"The open invoices total {total:,.2f} {functional_currency()} but the opening receivables "
                    f"balance is {expected:,.2f} ({where}): out by {total - expected:,.2f}.",
                )
            )
        report.notes.append(f"Open invoices {total:,.2f}; opening receivables {expected:,.2f}.")

    def check(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        return self._read(rows, ctx)[1]

    def apply(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        good, report = self._read(rows, ctx)
        if report.errors or not good:
            return report
        golive, user = ctx.golive, ctx.user
        entity = golive.entity
        now = timezone.now()
        categories: dict[Decimal, TaxCategory] = {}
        drafts = []
        for g in good:
            snapshot = g.account
            drafts.append(
                Invoice(
                    kind=InvoiceKind.INVOICE,
                    status=InvoiceStatus.DRAFT,
                    imported=True,
                    account=snapshot,
                    entity=entity,
                    project=g.project,
                    currency=g.currency,
                    payment_terms_days=min((g.due - g.issued).days, 32767),
                    buyer_name=snapshot.legal_name or snapshot.name,
                    buyer_address=snapshot.billing_address,
                    buyer_tax_id=snapshot.tax_id,
                    buyer_country=snapshot.country,
                    buyer_email=snapshot.billing_email,
                    seller=seller_snapshot(entity, g.currency),
                    tax_rule="imported",
                    tax_why=IMPORTED_WHY,
                    note=f"Imported at go-live {golive.pk} from the previous system.",
                    net_total=g.net,
                    tax_total=g.tax,
                    gross_total=g.gross,
                    created_by=user,
                )
            )
        invoices = Invoice.objects.bulk_create(drafts)
        lines, taxes = [], []
        for invoice, g in zip(invoices, good, strict=True):
            rate = (g.tax * 100 / g.net).quantize(Decimal("0.01")) if g.net and g.tax else Decimal("0.00")
            if rate not in categories:
                categories[rate] = category_for(
                    Determination(TaxKind.STANDARD, rate, "imported", IMPORTED_WHY)
                    if rate
                    else Determination(
                        TaxKind.NOT_SUBJECT, rate, "imported", IMPORTED_WHY, NOT_SUBJECT_REASON, NOT_SUBJECT_CODE
                    )
                )
            category = categories[rate]
            lines.append(
                InvoiceLine(
                    invoice=invoice,
                    description=f"Invoice {g.number} issued by the previous system"[:300],
                    quantity=Decimal(1),
                    unit_price=g.net,
                    net=g.net,
                    tax_category=category,
                    tax_rate=rate,
                )
            )
            taxes.append(
                InvoiceTax(
                    invoice=invoice,
                    tax_category=category,
                    kind=category.kind,
                    rate=rate,
                    basis=g.net,
                    amount=g.tax,
                    exemption_reason=category.exemption_reason,
                    exemption_code=category.exemption_code,
                )
            )
        InvoiceLine.objects.bulk_create(lines)
        InvoiceTax.objects.bulk_create(taxes)
        for invoice, g in zip(invoices, good, strict=True):
            invoice.number, invoice.issue_date, invoice.due_date = g.number, g.issued, g.due
            invoice.status = InvoiceStatus.PARTLY_PAID if g.paid else InvoiceStatus.ISSUED
            invoice.amount_paid = g.paid
            invoice.fx_rate, invoice.fx_rate_date = g.rate.rate, g.rate.date
            invoice.functional_gross, invoice.functional_tax = g.functional_gross, g.functional_tax
            invoice.functional_net = g.functional_gross - g.functional_tax
            invoice.functional_settled = g.functional_settled
            invoice.issued_at, invoice.issued_by = now, user
        Invoice.objects.bulk_update(
            invoices,
            ["number", "issue_date", "due_date", "status", "amount_paid", "fx_rate", "fx_rate_date",
             "functional_gross", "functional_tax", "functional_net", "functional_settled", "issued_at", "issued_by"],
        )  # fmt: skip
        InvoiceHistory.objects.bulk_create(
            InvoiceHistory(
                invoice=invoice,
                by=user,
                from_status=InvoiceStatus.DRAFT,
                to_status=invoice.status,
                note=f"Imported at go-live {golive.pk}",
            )
            for invoice in invoices
        )
        ctx.record_many(invoices)
        entry = self._post(invoices, good, ctx)
        if entry is not None:
            ctx.record(entry)
            report.notes.append(f"Opening receivables moved onto the invoices' clients by {entry.number}.")
        return report

    @staticmethod
    def _post(invoices: list[Invoice], good: list[_Invoice], ctx: GoLiveContext) -> JournalEntry | None:
        """Dr AR per invoice (its client, project and currency, the open amount at its booked rate) / Cr AR as the
        opening entry left it (no client): the receivables balance does not change, it gets its owners."""
        golive = ctx.golive
        ar = account_code_for(SystemAccount.RECEIVABLE)
        lines: list[LineSpec] = []
        total = ZERO
        for invoice, g in zip(invoices, good, strict=True):
            if g.open_functional <= 0:
                continue
            lines.append(
                fx_line(
                    ar,
                    rate=g.rate,
                    debit=g.gross - g.paid,
                    functional=g.open_functional,
                    client_id=invoice.account_id,
                    project_id=invoice.project_id,
                    memo=invoice.number or "",
                )
            )
            total += g.open_functional
        if not lines:
            return None
        lines.append(LineSpec(account=ar, credit=total, memo="Opening receivables"))
        return entry_post(
            spec=EntrySpec(
                date=golive.cutover_date,
                memo=f"Opening receivables onto {len(lines) - 1} imported invoices",
                source=receivables_source(golive.pk),
                lines=tuple(lines),
                entity_id=golive.entity_id,
            ),
            key=f"golive:{golive.pk}:receivables:{ctx.golive_import.pk if ctx.golive_import else 0}",
        )


def imported_invoices_remove(ids: list[int], ctx: GoLiveContext) -> None:
    """The rollback of imported invoices: refused once anything has happened to one of them in PSA (a payment, a
    credit note, a write-off, a reminder); otherwise they are deleted through the one path the database allows
    for issued invoices (psa.golive_rollback set for this transaction, imported invoices only)."""
    used = (
        Invoice.objects.filter(pk__in=ids)
        .filter(
            Q(pk__in=PaymentAllocation.objects.values("invoice_id"))
            | Q(pk__in=WriteOff.objects.values("invoice_id"))
            | Q(pk__in=DunningReminder.objects.values("invoice_id"))
            | Q(credit_notes__isnull=False)
        )
        .values_list("number", flat=True)
        .distinct()
    )
    touched = sorted(n for n in used if n)
    if touched:
        raise ConflictError(
            f"Imported invoice {', '.join(touched[:10])} has been paid, credited, written off or dunned in "
            "PSA since the import: the go-live can no longer be rolled back as a whole.",
            code="imported_invoice_used",
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL psa.golive_rollback = 'on'")
    try:
        Invoice.objects.filter(pk__in=ids, imported=True).delete()
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL psa.golive_rollback = 'off'")


RECEIVABLES = ReceivablesImporter()
