"""CSV import of accounts and opportunities from a CRM export.

Every row is checked first (a dry run stops there and reports what would happen per row); then good rows are
written in bulk — new ones created, rows whose external id is already known updated — and bad rows are
reported with the reason. Lookups (owners, stages, accounts, existing ids) are one query each, never per row.

Columns (header names are matched loosely: case, spaces, underscores and a few aliases):
- accounts: name*, domain, owner email, external id, legal name, tax id, billing email, billing address,
  currency, payment terms
- opportunities: name*, account* (name or the account's external id), owner email*, stage*, amount,
  close date* (YYYY-MM-DD), external id, probability, lost reason

A deal's imported amount is kept as one line "Imported amount" with no billing model (a win then asks for
one). Won deals are refused: win them in PSA so the engagement is provisioned.
"""

from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from crm.choices import CURRENCY_CODES, OpportunityStatus, StageKind
from crm.models import Account, Opportunity, OpportunityLine, Stage, StageHistory
from crm.permissions import ACCOUNT_EDIT_ROLES, can_edit_pipeline, is_sales_manager
from psa.core.audit import audit_record
from psa.core.countries import COUNTRY_CODES, vat_id_error
from psa.core.exceptions import PermissionDeniedError, ValidationFailed
from psa.core.history import history_context
from psa.core.imports import ROW, AmountReader, ImportReport, RowResult, csv_rows, max_lengths, too_long
from psa.core.money import round_money
from psa.core.roles import has_role
from psa.core.uploads import MB, UploadLimit

IMPORTED_LINE = "Imported amount"
ALIASES = {
    "name": "name",
    "account_name": "name",
    "deal_name": "name",
    "opportunity_name": "name",
    "domain": "domain",
    "website": "domain",
    "owner_email": "owner_email",
    "owner": "owner_email",
    "email_of_owner": "owner_email",
    "stage": "stage",
    "deal_stage": "stage",
    "amount": "amount",
    "value": "amount",
    "close_date": "close_date",
    "expected_close_date": "close_date",
    "closedate": "close_date",
    "external_id": "external_id",
    "id": "external_id",
    "record_id": "external_id",
    "account": "account",
    "company": "account",
    "account_external_id": "account",
    "legal_name": "legal_name",
    "tax_id": "tax_id",
    "vat": "tax_id",
    "country": "country",
    "billing_email": "billing_email",
    "billing_address": "billing_address",
    "currency": "currency",
    "payment_terms": "payment_terms",
    "payment_terms_days": "payment_terms",
    "probability": "probability",
    "lost_reason": "lost_reason",
}


UPLOAD_LIMIT = UploadLimit(kind="crm", label="CRM exports", max_bytes=5 * MB, max_rows=20_000)


def _account_lengths() -> dict[str, int]:
    columns = ("name", "domain", "legal_name", "tax_id", "billing_email", "external_id")
    return max_lengths(Account, {c: c for c in columns})


def _opportunity_lengths() -> dict[str, int]:
    return max_lengths(Opportunity, {c: c for c in ("name", "external_id", "lost_reason")})


def _read(content: str | bytes) -> list[dict]:
    return csv_rows(content, aliases=ALIASES, required="name", limit=UPLOAD_LIMIT)


def _parse_date(value: str) -> date | None:
    for fmt_value in (value, value[:10]):
        try:
            return date.fromisoformat(fmt_value)
        except ValueError:
            continue
    return None


def _owners_by_email(emails: set[str]) -> dict:
    User = get_user_model()
    users = User.objects.annotate(e=Lower("email")).filter(e__in={e.lower() for e in emails}, is_active=True)
    return {u.e: u for u in users}


@history_context("import", by="by")
@transaction.atomic
def csv_import(*, by: User, kind: str, content: str | bytes, dry_run: bool = True) -> ImportReport:
    """Check every row, then (unless `dry_run`) create or update the good ones in bulk."""
    if kind == "accounts":
        if not has_role(by, *ACCOUNT_EDIT_ROLES):
            raise PermissionDeniedError("Only sales, finance and administrators may import accounts.")
        return _import_accounts(by=by, rows=_read(content), dry_run=dry_run)
    if kind == "opportunities":
        if not can_edit_pipeline(by):
            raise PermissionDeniedError("Only sales and administrators may import deals.")
        return _import_opportunities(by=by, rows=_read(content), dry_run=dry_run)
    raise ValidationFailed("Choose accounts or opportunities.", fields={"kind": ["Unknown import kind."]})


def _import_accounts(*, by: User, rows: list[dict], dry_run: bool) -> ImportReport:
    report = ImportReport(kind="accounts", dry_run=dry_run)
    ext_ids = {r["external_id"] for r in rows if r.get("external_id")}
    existing = {a.external_id: a for a in Account.objects.filter(external_id__in=ext_ids)}
    owners = _owners_by_email({r["owner_email"] for r in rows if r.get("owner_email")})
    lengths = _account_lengths()
    to_create, to_update, seen = [], [], set()
    for r in rows:
        n = r[ROW]
        name, ext = r.get("name", ""), r.get("external_id", "")
        result = RowResult(row=n, name=name, external_id=ext, action="create")
        problems = too_long(r, lengths)
        if not name:
            problems.append("name is empty")
        if ext and ext in seen:
            problems.append(f"external id {ext} appears twice in the file")
        owner = None
        if r.get("owner_email"):
            owner = owners.get(r["owner_email"].lower())
            if owner is None:
                problems.append(f"no user with email {r['owner_email']}")
        currency = (r.get("currency") or "").upper()
        if currency and currency not in CURRENCY_CODES:
            problems.append(f"unknown currency {currency}")
        terms = r.get("payment_terms", "")
        if terms and (not terms.isdigit() or int(terms) > 365):
            problems.append("payment terms must be 0-365 days")
        country = (r.get("country") or "").strip().upper()
        if country and country not in COUNTRY_CODES:
            problems.append(f"unknown country {country} (ISO 3166-1 alpha-2, e.g. DE)")
        elif country and r.get("tax_id") and (vat_error := vat_id_error(country, r["tax_id"])):
            problems.append(f"tax id: {vat_error}")
        if problems:
            result.action, result.reason = "error", "; ".join(problems)
            report.rows.append(result)
            continue
        seen.add(ext)
        account = existing.get(ext) if ext else None
        if account is None:
            account = Account(name=name, external_id=ext or None, owner=owner or by)
            to_create.append(account)
        else:
            result.action = "update"
            account.name = name
            to_update.append(account)
        for col, attr in (
            ("domain", "domain"),
            ("legal_name", "legal_name"),
            ("tax_id", "tax_id"),
            ("billing_email", "billing_email"),
            ("billing_address", "billing_address"),
        ):
            if r.get(col):
                setattr(account, attr, r[col])
        if currency:
            account.currency = currency
        if country:
            account.country = country
        if terms:
            account.payment_terms_days = int(terms)
        if owner:
            account.owner = owner
        report.rows.append(result)
    if not dry_run:
        Account.objects.bulk_create(to_create)
        Account.objects.bulk_update(
            to_update,
            ["name", "domain", "legal_name", "tax_id", "country", "billing_email", "billing_address", "currency",
             "payment_terms_days", "owner", "updated_at"],
        )  # fmt: skip
        audit_record(
            actor=by,
            action="crm.import.accounts",
            object_type="crm.account",
            summary=f"Imported accounts: {len(to_create)} new, {len(to_update)} updated, {report.errors} refused",
        )
    return report


def _import_opportunities(*, by: User, rows: list[dict], dry_run: bool) -> ImportReport:
    report = ImportReport(kind="opportunities", dry_run=dry_run)
    # A sales rep imports deals they own; a sales manager assigns any owner (as on the pipeline pages).
    manager = is_sales_manager(by)
    ext_ids = {r["external_id"] for r in rows if r.get("external_id")}
    existing = {
        o.external_id: o
        for o in Opportunity.objects.filter(external_id__in=ext_ids).select_related("owner").prefetch_related("lines")
    }
    owners = _owners_by_email({r["owner_email"] for r in rows if r.get("owner_email")})
    stages = {s.name.lower(): s for s in Stage.objects.filter(is_active=True)}
    refs = {r["account"] for r in rows if r.get("account")}
    by_ext = {a.external_id: a for a in Account.objects.filter(external_id__in=refs)}
    lowered = {x.lower() for x in refs}
    by_name = {a.lname: a for a in Account.objects.annotate(lname=Lower("name")).filter(lname__in=lowered)}
    now = timezone.now()
    lengths = _opportunity_lengths()
    # Amounts by the file's decimal convention (1,234.56 or 1.234,56), as the rows that show it decide.
    amounts = AmountReader.for_cells("auto", [(r[ROW], r["amount"]) for r in rows if r.get("amount")])
    new_opps, updates, new_lines, line_updates, history, seen = [], [], [], [], [], set()
    for r in rows:
        n = r[ROW]
        name, ext = r.get("name", ""), r.get("external_id", "")
        result = RowResult(row=n, name=name, external_id=ext, action="create")
        problems = too_long(r, lengths)
        if not name:
            problems.append("name is empty")
        if ext and ext in seen:
            problems.append(f"external id {ext} appears twice in the file")
        ref = r.get("account", "")
        account = by_ext.get(ref) or by_name.get(ref.lower()) if ref else None
        if account is None:
            problems.append(f"unknown account '{ref}' (import accounts first)" if ref else "account is empty")
        owner = owners.get(r.get("owner_email", "").lower())
        if owner is None:
            problems.append(f"no user with email '{r.get('owner_email', '')}'")
        elif owner.pk != by.pk and not manager:
            problems.append(f"owner email must be yours ({by.email}): only a sales manager imports others' deals")
        stage = stages.get(r.get("stage", "").lower())
        if stage is None:
            problems.append(f"unknown stage '{r.get('stage', '')}'")
        elif stage.kind == StageKind.WON:
            problems.append("won deals are not imported: win them in PSA so the engagement is set up")
        close = _parse_date(r.get("close_date", ""))
        if close is None:
            problems.append(f"close date '{r.get('close_date', '')}' is not a date (YYYY-MM-DD)")
        amount = Decimal("0.00")
        if r.get("amount"):
            try:
                amount = round_money(amounts.read(r["amount"]))
            except ValueError as exc:
                problems.append(str(exc))
            else:
                if amount < 0:
                    problems.append(f"amount '{r['amount']}' is not a positive number")
        probability = None
        if r.get("probability"):
            if not r["probability"].isdigit() or int(r["probability"]) > 100:
                problems.append("probability must be between 0 and 100")
            else:
                probability = int(r["probability"])
        opp = existing.get(ext) if ext else None
        if opp is not None and opp.status == OpportunityStatus.WON:
            problems.append("the deal is already won in PSA; it is not changed by imports")
        if opp is not None and opp.owner_id != by.pk and not manager:
            problems.append(f"the deal belongs to {opp.owner.email}; only its owner or a sales manager changes it")
        if problems:
            result.action, result.reason = "error", "; ".join(problems)
            report.rows.append(result)
            continue
        seen.add(ext)
        assert stage is not None and account is not None  # else a problem above
        lost = stage.kind == StageKind.LOST
        status = OpportunityStatus.LOST if lost else OpportunityStatus.OPEN
        fields = {
            "name": name,
            "account": account,
            "owner": owner,
            "stage": stage,
            "status": status,
            "currency": account.currency,
            "probability": probability if probability is not None else stage.default_probability,
            "expected_close_date": close,
            "lost_reason": (r.get("lost_reason") or "Imported as lost") if lost else "",
            "closed_at": now if lost else None,
            "payment_terms_days": account.payment_terms_days,
        }
        if opp is None:
            opp = Opportunity(external_id=ext or None, amount=amount, created_at=now, **fields)
            new_opps.append(opp)
            new_lines.append((opp, amount))
        else:
            result.action = "update"
            lines = list(opp.lines.all())
            if opp.stage_id != stage.pk or opp.status != status:
                history.append(
                    StageHistory(
                        opportunity=opp,
                        by=by,
                        from_stage_id=opp.stage_id,
                        to_stage=stage,
                        from_status=opp.status,
                        to_status=status,
                        probability=fields["probability"],
                        note="Import",
                    )
                )
            for attr, value in fields.items():
                if attr == "payment_terms_days" and opp.payment_terms_days is not None:
                    continue
                setattr(opp, attr, value)
            if len(lines) == 1 and lines[0].description == IMPORTED_LINE:
                lines[0].price = lines[0].amount = amount
                line_updates.append(lines[0])
                opp.amount = amount
            elif lines and amount != opp.amount:
                result.reason = "amount not changed: the deal has lines priced in PSA"
            elif not lines:
                opp.amount = amount
                new_lines.append((opp, amount))
            updates.append(opp)
        report.rows.append(result)
    if dry_run:
        return report
    Opportunity.objects.bulk_create(new_opps)
    Opportunity.objects.bulk_update(
        updates,
        ["name", "account", "owner", "stage", "status", "currency", "probability", "expected_close_date",
         "lost_reason", "closed_at", "payment_terms_days", "amount"],
    )  # fmt: skip
    OpportunityLine.objects.bulk_update(line_updates, ["price", "amount"])
    OpportunityLine.objects.bulk_create(
        [
            OpportunityLine(opportunity=o, position=1, description=IMPORTED_LINE, price=a, amount=a)
            for o, a in new_lines
            if a > 0
        ]
    )
    history.extend(
        StageHistory(
            opportunity=o,
            by=by,
            at=now,
            to_stage=o.stage,
            from_status="",
            to_status=o.status,
            probability=o.probability,
            note="Imported",
        )
        for o in new_opps
    )
    StageHistory.objects.bulk_create(history)
    audit_record(
        actor=by,
        action="crm.import.opportunities",
        object_type="crm.opportunity",
        summary=f"Imported deals: {len(new_opps)} new, {len(updates)} updated, {report.errors} refused",
    )
    return report
