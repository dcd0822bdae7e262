"""Invoices and credit notes: building drafts from sources, issuing, discarding, crediting, settling."""

from collections import OrderedDict
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Max, Sum
from django.utils import timezone

from billing.choices import (
    FINAL_STATUSES,
    INVOICE_TRANSITIONS,
    OPEN_STATUSES,
    SERIES,
    InvoiceKind,
    InvoiceStatus,
    SourceKind,
)
from billing.jobs import invoice_render_enqueue
from billing.models import BillingRun, Invoice, InvoiceLine, PaymentAllocation, SourceLink, SourceRelease, TaxCategory
from billing.services._common import history, locked, require_finance
from billing.services.bank_transfer import creditor_reference
from billing.services.draft_write import DownRow, LineRow, LinkRow, draft_write, time_draft_write
from billing.services.posting import (
    Settlement,
    invoice_functional,
    invoice_post,
    invoice_rate,
    settled_share,
    settlement_post,
)
from billing.services.retainage import credit_retainage, invoice_retainage_apply, releases_undo
from billing.services.sources import (
    DESCRIPTION_MAX,
    Capped,
    TimeEntrySource,
    apply_caps,
    candidates_for,
    links_release,
)
from billing.services.tax import invoice_totals_write, totals_for
from billing.services.vat import InvoiceVat, RateTable, VatRule, invoice_vat_determine
from crm.models import Account
from projects.models import Contract
from projects.selectors import deal_correlation_id
from psa.core.audit import audit_record
from psa.core.currency import minor_unit
from psa.core.entities import cutover_refuse, seller_details, seller_snapshot, series_name
from psa.core.exceptions import ConflictError, ValidationFailed, ensure_transition
from psa.core.fx import convert, rate_for
from psa.core.history import history_context
from psa.core.money import RATE_PLACES, ZERO, line_net, round_amount, round_to
from psa.core.numbering import number_next
from psa.core.webhooks import event_emit


def _snapshot(account: Account, contract: Contract) -> dict:
    return {
        "buyer_name": account.legal_name or account.name,
        "buyer_address": account.billing_address,
        "buyer_tax_id": account.tax_id,
        "buyer_country": account.country,
        "buyer_email": account.billing_email,
        "seller": seller_snapshot(contract.entity, contract.currency),
    }


def _set_vat(invoice: Invoice, vat: InvoiceVat) -> None:
    invoice.tax_rule, invoice.tax_why = vat.rule, vat.why[:500]


def _with_suffix(text: str, suffix: str) -> str:
    return text[: DESCRIPTION_MAX - len(suffix)] + suffix if suffix else text


def _new_draft(
    contract: Contract,
    *,
    run: BillingRun | None,
    by: User | None,
    period_start: date | None = None,
    period_end: date | None = None,
) -> Invoice:
    """The unsaved draft of one contract: buyer snapshot, currency, payment terms, reference."""
    account = contract.account
    return Invoice(
        kind=InvoiceKind.INVOICE,
        account=account,
        contract=contract,
        entity_id=contract.entity_id,
        project_id=contract.project_id,
        run=run,
        currency=contract.currency,
        payment_terms_days=contract.payment_terms_days,
        period_start=period_start,
        period_end=period_end,
        buyer_reference=contract.number,
        created_by=by if getattr(by, "is_authenticated", False) else None,
        **_snapshot(account, contract),
    )


def invoice_draft_for_contract(
    *,
    contract: Contract,
    period_end: date,
    run: BillingRun | None = None,
    by: User | None = None,
    kinds: list[str] | None = None,
    override: tuple[TaxCategory, str] | bool | None = True,
    rates: RateTable | None = None,
    has_caps: bool = True,
) -> Invoice | None:
    """Claim every billable source of one contract up to `period_end` and make one draft invoice of them.

    Runs inside the caller's transaction (one contract per transaction). Sources are claimed with
    SELECT ... FOR UPDATE SKIP LOCKED; a source another transaction holds is left for it. Caps cut the
    amount and record the overflow as a write-down. Returns None when nothing is billable. `kinds` limits the
    source kinds looked for (a run passes those it found for the contract at start). The totals are computed
    from the lines in memory, so the query count is fixed whatever the number of sources or lines; a run passes
    the account's tax `override` it already read with the contract (None: the account has none) and the VAT
    `rates` it read once.

    The VAT comes from the rules (billing.services.vat): the draft's seller snapshot, the account's country, VAT
    id and B2B/B2C, at the tax point, which is the end of the draft's service period. The rule and its sentence
    are kept on the draft (`tax_rule`, `tax_why`).

    The common case of a run, a contract with only time to bill and no capped line (`has_caps=False`, which the
    run reads with the contract), is billed in one PostgreSQL statement (`time_draft_write`): the same rows as
    the general path below, without loading the entries into Python.
    """
    account = contract.account
    if (
        kinds == [SourceKind.TIME_ENTRY]
        and not has_caps
        and rates is not None
        and override is not True
        and connection.vendor == "postgresql"
        and not account.billing_entity_missing()
    ):
        invoice = _new_draft(contract, run=run, by=by)
        # The service period (and so the tax point) is only known once the entries are claimed, in the statement:
        # the rate of the run's period end is used when the rate cannot have changed since the contract began.
        vat = invoice_vat_determine(
            account=account, seller=invoice.seller, period_end=period_end, rates=rates, override=override
        )
        seller_country = str(invoice.seller.get("country", ""))
        if vat.rule == VatRule.OVERRIDE or rates.steady(seller_country, contract.start_date, period_end):
            _set_vat(invoice, vat)
            source = TimeEntrySource()
            claim = source.claim_sql(contract_id=contract.pk, period_end=period_end)
            billed_sql = source.billed_sql(contract_id=contract.pk)
            saved = time_draft_write(invoice, claim=claim, billed=billed_sql, category=vat.category)
            if saved is not None and saved.period_end is not None and vat.rule != VatRule.OVERRIDE:
                at_end = invoice_vat_determine(
                    account=account, seller=invoice.seller, period_end=saved.period_end, rates=rates, override=None
                )
                if at_end.category.pk != vat.category.pk:  # time before the contract's start: never a wrong rate
                    raise AssertionError(
                        f"draft {saved.pk}: VAT at its period end {saved.period_end} is {at_end.category.code}, "
                        f"not {vat.category.code}"
                    )
            return saved
    candidates = candidates_for(contract_ids=[contract.pk], period_end=period_end, lock=True, kinds=kinds)
    if not candidates:
        return None
    missing = account.billing_entity_missing()
    if missing:
        raise ValidationFailed(
            f"{account} is not a complete billing entity: {', '.join(missing)} missing.",
            fields={f"account.{m}": ["Required on an invoice."] for m in missing},
        )
    foreign = sorted({c.source_id for c in candidates if c.currency and c.currency != contract.currency})
    if foreign:
        raise ValidationFailed(
            f"Expenses {', '.join(map(str, foreign))} are not in the contract's currency ({contract.currency}); "
            "there is no implicit exchange: correct or re-file them in that currency.",
            fields={"expense.currency": [f"Must be {contract.currency}."]},
        )
    capped = apply_caps(candidates)
    starts = [c.candidate.period_start or c.candidate.source_date for c in capped]
    ends = [c.candidate.period_end or c.candidate.source_date for c in capped]
    invoice = _new_draft(contract, run=run, by=by, period_start=min(starts), period_end=max(ends))
    vat = invoice_vat_determine(
        account=account, seller=invoice.seller, period_end=invoice.period_end, rates=rates, override=override
    )
    _set_vat(invoice, vat)
    category = vat.category
    groups: OrderedDict[tuple, list[Capped]] = OrderedDict()
    for cp in capped:
        groups.setdefault(cp.candidate.group, []).append(cp)
    lines, links, downs = [], [], []
    for position, members in enumerate(groups.values(), start=1):
        first = members[0].candidate
        billed = sum((m.billed for m in members), ZERO)
        cut = sum((m.written_down for m in members), ZERO)
        quantity = sum((m.candidate.quantity for m in members), Decimal("0"))
        # A capped line, or a T&M true-up (projects.calculations), bills less than quantity x rate: its unit price
        # is then the one that gives its net.
        exact = line_net(quantity, first.unit_price, contract.currency) == billed
        unit_price = first.unit_price if exact else round_to(billed / quantity, RATE_PLACES)
        lines.append(
            LineRow(
                position=position,
                description=_with_suffix(first.description, " (capped at the contract limit)" if cut else ""),
                quantity=quantity,
                unit=first.unit,
                unit_price=unit_price,
                net=billed,
                tax_category_id=category.pk,
                tax_rate=category.rate,
                contract_line_id=first.contract_line_id,
                period_start=min((m.candidate.period_start or m.candidate.source_date) for m in members),
                period_end=max((m.candidate.period_end or m.candidate.source_date) for m in members),
                written_down=cut,
            )
        )
        for m in members:
            c = m.candidate
            links.append(
                LinkRow(
                    position=position,
                    kind=c.kind,
                    source_id=c.source_id,
                    contract_line_id=c.contract_line_id,
                    quantity=c.quantity,
                    amount=m.billed,
                    written_down=m.written_down,
                    source_date=c.source_date,
                    label=c.description[:DESCRIPTION_MAX],
                )
            )
            if m.written_down > 0:
                assert m.cap is not None  # only a capped line writes down
                downs.append(DownRow(kind=c.kind, source_id=c.source_id, amount=m.written_down, cap=m.cap))
    totals = totals_for([(line.net, category) for line in lines], currency=invoice.currency)
    invoice.net_total, invoice.tax_total, invoice.gross_total = totals.net, totals.tax, totals.gross
    return draft_write(invoice, lines=lines, links=links, downs=downs, totals=totals, run_id=run.pk if run else None)


def invoice_settle_share(invoice: Invoice, amount: Decimal) -> Decimal:
    """The booked functional value that settling `amount` more of an issued document takes off AR (a share of
    what it put on AR, its functional gross less the retainage held back; the settlement that closes it takes the
    rest). Reads the document's current settlement figures; the caller updates them."""
    functional = invoice.functional_receivable
    assert functional is not None  # issued
    return settled_share(
        functional=functional,
        total=invoice.receivable,
        settled_after=invoice.receivable - invoice.balance + amount,
        functional_before=invoice.functional_settled,
    )


def _set_status(invoice: Invoice, target: str, *, by: User | None, note: str = "") -> None:
    before = invoice.status
    if before == target:
        return
    ensure_transition(before, target, INVOICE_TRANSITIONS)
    invoice.status = target
    invoice.save(update_fields=["status"])
    history(invoice, by=by, from_status=before, note=note)


def settle_status(invoice: Invoice, *, by: User | None = None, note: str = "") -> None:
    """Move an issued document along the table after its settlement figures changed. The status speaks of
    payment: an open balance that only credit notes reduced is partly credited, never partly paid; a fully
    settled one is credited when no payment took part, paid otherwise (write-offs win)."""
    if invoice.status not in OPEN_STATUSES:
        return
    if invoice.balance == 0:
        if invoice.amount_written_off > 0:
            target = InvoiceStatus.WRITTEN_OFF
        elif invoice.amount_credited > 0 and invoice.amount_paid == 0:
            target = InvoiceStatus.CREDITED
        else:
            target = InvoiceStatus.PAID
    elif invoice.amount_paid > 0:
        target = InvoiceStatus.PARTLY_PAID
    elif invoice.amount_credited > 0:
        target = InvoiceStatus.PARTLY_CREDITED
    else:
        return
    _set_status(invoice, target, by=by, note=note)


def _vat_for_issuing_seller(invoice: Invoice, seller: dict) -> None:
    """The draft's VAT was determined for the seller it was made with. When the seller's country or VAT id has
    changed since (or was not configured then), the VAT is determined again for the seller that issues it, and
    the lines and totals follow, before anything is numbered or posted. A credit note keeps its invoice's VAT; an
    account override does not depend on the seller."""
    before = (invoice.seller.get("country", ""), invoice.seller.get("tax_id", ""))
    now = (seller.get("country", ""), seller.get("tax_id", ""))
    if invoice.is_credit_note or invoice.tax_rule == VatRule.OVERRIDE or before == now:
        return
    vat = invoice_vat_determine(account=invoice.account, seller=seller, period_end=invoice.period_end)
    InvoiceLine.objects.filter(invoice=invoice).update(tax_category=vat.category, tax_rate=vat.category.rate)
    _set_vat(invoice, vat)
    invoice_totals_write(invoice)


def _check_issue_date(invoice: Invoice, on: date) -> None:
    """Refuse a date before the latest issued document of the kind and entity (its series). Call it after
    `number_next`, under the
    series lock: read before it, a concurrent issue still uncommitted is missed (DESIGN.md invariant 4).
    Invoices imported by a go-live are in the old system's series, not PSA's, so they do not count."""
    latest = (
        Invoice.objects.filter(kind=invoice.kind, entity_id=invoice.entity_id, number__isnull=False, imported=False)
        .aggregate(m=Max("issue_date"))
        .get("m")
    )
    if latest and on < latest:
        raise ValidationFailed(
            f"Numbers are chronological: the last {invoice.get_kind_display().lower()} was issued on "
            f"{latest:%Y-%m-%d}, so this one cannot be dated {on:%Y-%m-%d}.",
            fields={"issue_date": [f"On or after {latest:%Y-%m-%d}."]},
        )


@transaction.atomic
@history_context("invoice-issue", key="invoice_id", by="by")
def invoice_issue(*, invoice_id: int, by: User, on: date | None = None) -> Invoice:
    """Issue a draft invoice or credit note: number from its gapless series, dates from the payment terms,
    the rate of the issue date and the functional totals (a missing rate is a 409 naming currency and date, and
    nothing is issued), ledger posting, `invoice.issued` event — all in this transaction; the PDF is rendered
    and emailed by a job after commit. A credit note releases the sources it credits and is applied to the
    invoice it credits."""
    require_finance(by)
    invoice = locked(Invoice, invoice_id, "invoice")
    ensure_transition(invoice.status, InvoiceStatus.ISSUED, INVOICE_TRANSITIONS)
    if invoice.gross_total <= 0 or not invoice.lines.exists():
        raise ValidationFailed(
            "An invoice with nothing to pay cannot be issued; discard the draft instead.",
            fields={"gross_total": ["Must be greater than zero."]},
        )
    # The seller on a legal document is its entity as it is when the document is issued, complete or refused.
    seller = seller_details(invoice.entity, invoice.currency)
    _vat_for_issuing_seller(invoice, seller)
    invoice.seller = seller
    # Retainage held back by the lines' contract lines, fixed now (the lines may still change: it is a draft).
    invoice_retainage_apply(invoice)
    on = on or timezone.localdate()
    cutover_refuse(
        entity_id=invoice.entity_id,
        on=on,
        what="A credit note" if invoice.is_credit_note else "An invoice",
        field="issue_date",
    )
    # Converted at the rate of the issue date; a missing rate refuses the issue before a number is taken.
    rate = rate_for(currency=invoice.currency, on=on)
    functional = invoice_functional(invoice, rate)
    invoice.fx_rate, invoice.fx_rate_date = rate.rate, rate.date
    invoice.functional_net, invoice.functional_tax = functional.net, functional.tax
    invoice.functional_gross = functional.gross
    invoice.functional_retainage = convert(amount=invoice.retainage_total, rate=rate)
    # Lock first, then check: taking the number locks the series row until commit, so the latest issue date
    # read after it includes every document numbered before this one. A refusal rolls the number back.
    invoice.number = number_next(series=series_name(invoice.entity, SERIES[invoice.kind]), on=on)
    if not invoice.is_credit_note:  # what the client quotes when paying by bank transfer (ISO 11649)
        invoice.payment_reference = creditor_reference(invoice.number)
    _check_issue_date(invoice, on)
    invoice.issue_date = on
    invoice.due_date = on + timedelta(days=invoice.payment_terms_days if not invoice.is_credit_note else 0)
    invoice.status = InvoiceStatus.ISSUED
    invoice.issued_by = by if getattr(by, "is_authenticated", False) else None
    invoice.issued_at = timezone.now()
    invoice.save()
    history(invoice, by=by, from_status=InvoiceStatus.DRAFT)
    entry = invoice_post(invoice)
    Invoice.objects.filter(pk=invoice.pk).update(journal_entry=entry)
    invoice.journal_entry = entry
    if invoice.is_credit_note:
        _credit_note_apply(invoice, by=by)
    event_emit(
        type="invoice.issued",
        key=f"invoice.issued:{invoice.pk}",
        data={
            "id": invoice.pk,
            "kind": invoice.kind,
            "number": invoice.number,
            "account_id": invoice.account_id,
            "currency": invoice.currency,
            "net_total": str(invoice.net_total),
            "tax_total": str(invoice.tax_total),
            "gross_total": str(invoice.gross_total),
            "issue_date": invoice.issue_date.isoformat(),
            "due_date": invoice.due_date.isoformat(),
        },
        # the invoice's contract, or the contract of its project when it has none
        correlation_id=deal_correlation_id(contract_ids=[invoice.contract_id])
        if invoice.contract_id
        else deal_correlation_id(project_ids=[invoice.project_id]),
    )
    audit_record(
        actor=by,
        action="billing.invoice_issue",
        obj=invoice,
        summary=f"{invoice.number} issued to {invoice.buyer_name} ({invoice.gross_total:,.2f} {invoice.currency})",
    )
    invoice_render_enqueue(invoice_id=invoice.pk)
    return invoice


def invoices_issue(*, invoice_ids: list[int], by: User, on: date | None = None) -> list[Invoice]:
    """Issue several drafts, one transaction each in id order (numbers follow that order)."""
    return [invoice_issue(invoice_id=pk, by=by, on=on) for pk in sorted(set(invoice_ids))]


@transaction.atomic
def invoice_cancel(*, invoice_id: int, by: User, note: str = "") -> Invoice:
    """Discard a draft: its sources are released for the next run (a draft credit note frees what it held)."""
    require_finance(by)
    invoice = locked(Invoice, invoice_id, "invoice")
    ensure_transition(invoice.status, InvoiceStatus.CANCELLED, INVOICE_TRANSITIONS)
    links_release(links=SourceLink.objects.filter(line__invoice=invoice), reason="draft discarded")
    SourceRelease.objects.filter(credit_line__invoice=invoice).delete()
    if invoice.retainage_release:
        releases_undo(invoice=invoice, reason="release draft discarded")
    invoice.status = InvoiceStatus.CANCELLED
    invoice.save(update_fields=["status"])
    history(invoice, by=by, from_status=InvoiceStatus.DRAFT, note=note or "Draft discarded")
    return invoice


# --- credit notes ---------------------------------------------------------------------------------------
def _credited_so_far(line_ids: list[int]) -> dict[int, Decimal]:
    rows = (
        InvoiceLine.objects.filter(credited_line_id__in=line_ids)
        .exclude(invoice__status=InvoiceStatus.CANCELLED)
        .values("credited_line_id")
        .annotate(total=Sum("net"))
        .order_by()
    )
    return {r["credited_line_id"]: r["total"] for r in rows}


@transaction.atomic
def credit_note_create(
    *,
    invoice_id: int,
    by: User,
    line_ids: list[int] | None = None,
    link_ids: list[int] | None = None,
    amount: Decimal | None = None,
    reason: str = "",
) -> Invoice:
    """A draft credit note for an issued invoice: whole lines (`line_ids`; none given = the whole invoice),
    single sources (`link_ids`, e.g. some of the hours of a line) or a plain amount (a price reduction that
    releases nothing). Credited lines' and sources' links are released when the credit note is issued, so
    exactly what is credited becomes billable again. A line is never credited beyond its net."""
    require_finance(by)
    original = locked(Invoice, invoice_id, "invoice")
    if original.is_credit_note or original.status not in FINAL_STATUSES:
        raise ConflictError(
            "Only an issued invoice can be credited.", fields={"invoice": ["Issue it first, or discard the draft."]}
        )
    if sum(x is not None and x != [] for x in (line_ids, link_ids, amount)) > 1:
        raise ValidationFailed("Credit lines, sources or an amount — one at a time.", fields={"amount": ["Pick one."]})
    if original.retainage_release and (amount is not None or link_ids):
        raise ValidationFailed(
            "A retainage release is credited by whole lines: each line releases one invoice's retainage.",
            fields={"line_ids": ["Credit whole lines."]},
        )
    lines = {ln.pk: ln for ln in original.lines.select_related("tax_category").order_by("position")}
    credited = _credited_so_far(list(lines))
    note = Invoice.objects.create(
        kind=InvoiceKind.CREDIT_NOTE,
        account=original.account,
        contract=original.contract,
        project=original.project,
        credited_invoice=original,
        retainage_release=original.retainage_release,
        currency=original.currency,
        payment_terms_days=0,
        period_start=original.period_start,
        period_end=original.period_end,
        buyer_name=original.buyer_name,
        buyer_address=original.buyer_address,
        buyer_tax_id=original.buyer_tax_id,
        buyer_country=original.buyer_country,
        buyer_email=original.buyer_email,
        buyer_reference=original.buyer_reference,
        seller=original.seller,
        entity_id=original.entity_id,
        # A credit note corrects the original supply: it carries the original's VAT (its lines copy the categories).
        tax_rule=original.tax_rule,
        tax_why=original.tax_why,
        note=(reason or f"Credit for invoice {original.number}")[:2000],
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    new_lines: list[InvoiceLine] = []
    releases: list[tuple[int, list[SourceLink]]] = []
    if amount is not None:
        amount = Decimal(str(amount))
        categories = {ln.tax_category_id for ln in lines.values()}
        if amount <= 0 or amount != round_amount(amount, original.currency):
            places = minor_unit(original.currency)
            raise ValidationFailed(
                f"Enter a positive amount in whole {original.currency} minor units.",
                fields={"amount": [f"Positive, {places} decimals at most."]},
            )
        if len(categories) != 1:
            raise ValidationFailed(
                "This invoice has several tax categories: credit whole lines or sources instead.",
                fields={"amount": ["Credit per line."]},
            )
        first = next(iter(lines.values()))
        room = original.net_total - sum(credited.values(), ZERO)
        if amount > room:
            raise ValidationFailed(
                f"At most {room:,.2f} is left to credit on {original.number}.", fields={"amount": [f"At most {room}."]}
            )
        new_lines.append(
            InvoiceLine(
                invoice=note,
                position=1,
                description=reason or f"Price reduction on {original.number}",
                quantity=Decimal("1"),
                unit="C62",
                unit_price=amount,
                net=amount,
                tax_category=first.tax_category,
                tax_rate=first.tax_rate,
            )
        )
    elif link_ids:
        links = list(
            SourceLink.objects.select_for_update()
            .filter(pk__in=link_ids, line__invoice=original)
            .select_related("line")
            .order_by("pk")
        )
        if len(links) != len(set(link_ids)):
            raise ValidationFailed(
                "Some sources are not on this invoice.", fields={"link_ids": ["Not on this invoice."]}
            )
        by_line: OrderedDict[int, list[SourceLink]] = OrderedDict()
        for link in links:
            by_line.setdefault(link.line_id, []).append(link)
        for position, (line_id, group) in enumerate(by_line.items(), start=1):
            line = lines[line_id]
            net = sum((lk.amount for lk in group), ZERO)
            qty = sum((lk.quantity for lk in group), Decimal("0"))
            exact = line_net(qty, line.unit_price, original.currency) == net
            unit_price = line.unit_price if exact else round_to(net / qty, RATE_PLACES)
            new_lines.append(_credit_line(note, line, position, qty, unit_price, net, credited))
            releases.append((position, group))
    else:
        chosen = [lines[pk] for pk in line_ids if pk in lines] if line_ids else list(lines.values())
        if line_ids and len(chosen) != len(set(line_ids)):
            raise ValidationFailed("Some lines are not on this invoice.", fields={"line_ids": ["Not on this invoice."]})
        for position, line in enumerate(chosen, start=1):
            new_lines.append(_credit_line(note, line, position, line.quantity, line.unit_price, line.net, credited))
            releases.append((position, list(line.sources.filter(released_at__isnull=True))))
    if not new_lines:
        raise ValidationFailed("Nothing to credit.", fields={"line_ids": ["Pick at least one line."]})
    # The share of the held retainage the credited lines take back (none once released: it is on AR then).
    note.retainage_total = credit_retainage(original, new_lines)
    InvoiceLine.objects.bulk_create(new_lines)
    by_position = {ln.position: ln for ln in new_lines}
    taken = set(
        SourceRelease.objects.filter(link__in=[lk for _, g in releases for lk in g]).values_list("link_id", flat=True)
    )
    if taken:
        raise ConflictError(
            "Some of these sources are already credited by another credit note.",
            fields={"link_ids": [f"Already credited: {sorted(taken)}"]},
            code="already_credited",
        )
    SourceRelease.objects.bulk_create(
        [SourceRelease(credit_line=by_position[pos], link=lk) for pos, group in releases for lk in group]
    )
    invoice_totals_write(note)
    if note.retainage_total:
        Invoice.objects.filter(pk=note.pk).update(retainage_total=note.retainage_total)
    if note.gross_total > original.gross_total - sum(
        Invoice.objects.filter(credited_invoice=original)
        .exclude(pk=note.pk)
        .exclude(status=InvoiceStatus.CANCELLED)
        .values_list("gross_total", flat=True),
        ZERO,
    ):
        raise ValidationFailed("The credit notes would exceed the invoice.", fields={"amount": ["Too much."]})
    history(note, by=by, from_status="", note=f"Credits {original.number}")
    return note


def _credit_line(
    note: Invoice,
    line: InvoiceLine,
    position: int,
    qty: Decimal,
    unit_price: Decimal,
    net: Decimal,
    credited: dict[int, Decimal],
) -> InvoiceLine:
    left = line.net - credited.get(line.pk, ZERO)
    if net > left:
        raise ValidationFailed(
            f"Line {line.position} ({line.description}) has only {left:,.2f} left to credit.",
            fields={"line_ids": [f"Line {line.position}: at most {left}."]},
        )
    return InvoiceLine(
        invoice=note,
        position=position,
        description=f"Credit: {line.description}"[:DESCRIPTION_MAX],
        quantity=qty,
        unit=line.unit,
        unit_price=unit_price,
        net=net,
        tax_category=line.tax_category,
        tax_rate=line.tax_rate,
        contract_line_id=line.contract_line_id,
        credited_line=line,
        period_start=line.period_start,
        period_end=line.period_end,
    )


def _credit_note_apply(note: Invoice, *, by: User) -> None:
    """At issue: release the credited sources and apply the credit to the invoice's open balance; any rest
    stays on the credit note as unapplied credit for the account."""
    links = SourceLink.objects.filter(release__credit_line__invoice=note)
    links_release(links=links, reason=f"credited by {note.number}")
    assert note.credited_invoice_id is not None  # a credit note names its invoice
    original = Invoice.objects.select_for_update().get(pk=note.credited_invoice_id)
    if note.retainage_release:  # the credited releases are undone: that retainage is held again
        credited = list(note.lines.exclude(credited_line=None).values_list("credited_line_id", flat=True))
        releases_undo(invoice=original, reason=f"credited by {note.number}", credited_line_ids=credited)
    if note.retainage_total:  # the retainage part goes off the retainage receivable, never onto AR
        original.retainage_credited += note.retainage_total
        Invoice.objects.filter(pk=original.pk).update(retainage_credited=original.retainage_credited)
    applied = min(note.receivable, max(original.balance, ZERO))
    if applied > 0:
        assert note.issue_date is not None and note.number is not None  # applied when issued
        relieved = invoice_settle_share(original, applied)
        note_relieved = invoice_settle_share(note, applied)
        entry = settlement_post(
            Settlement(
                invoice=original,
                amount=applied,
                relieved=relieved,
                source_relieved=note_relieved,
                source_rate=invoice_rate(note),
                source_project_id=note.project_id,
                on=note.issue_date,
                key=f"billing:invoice:{note.pk}:apply:{original.pk}",
                memo=f"Credit note {note.number} applied to {original.number}",
            )
        )
        PaymentAllocation.objects.create(
            invoice=original,
            credit_note=note,
            amount=applied,
            functional=relieved,
            source_functional=note_relieved,
            journal_entry=entry,
        )
        original.amount_credited += applied
        original.functional_settled += relieved
        Invoice.objects.filter(pk=original.pk).update(
            amount_credited=original.amount_credited, functional_settled=original.functional_settled
        )
        note.amount_paid += applied
        note.functional_settled += note_relieved
        Invoice.objects.filter(pk=note.pk).update(
            amount_paid=note.amount_paid, functional_settled=note.functional_settled
        )
        settle_status(original, by=by, note=f"Credited by {note.number}")
        settle_status(note, by=by, note=f"Applied to {original.number}")
