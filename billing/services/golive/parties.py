"""Go-live import of customers, their contacts and vendors (one file, a `type` column per row).

Merging, never silently duplicating (the CRM import's rule, crm.services.imports, widened to the tax id):
- a row whose external id is a customer's (vendor's) external id updates that record ("update", or "unchanged"
  when it brings nothing new);
- else a row whose tax id (spaces, dots and dashes ignored, any letter case) is an existing record's links to it:
  the record takes the row's external id and values ("update"/"unchanged"). A tax id of a record that already
  carries another external id is refused (rule: external_id_conflict);
- else a row whose name (or legal name) is an existing record's, with no id to prove it is the same, is refused
  naming the possible duplicate (rule: possible_duplicate): give the record's tax id or external id to merge, or
  a name that tells them apart;
- else it is created ("create"). Two rows of one file for the same external id, tax id or name are refused
  (rule: duplicate_in_file).
Contacts name their customer in `account` (its external id, tax id or name, in the file or already in PSA) and
merge with the customer's contact of the same e-mail, else of the same name.

Created records are recorded for the go-live's rollback; records that were only updated stay on rollback.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from billing.services.golive.base import GoLiveContext, new_report, row_error
from crm.models import Account, Contact, Vendor
from ledger.models import JournalLine
from psa.core.countries import COUNTRY_CODES, bic_error, iban_error, vat_id_error
from psa.core.currency import CURRENCY_CODES, functional_currency
from psa.core.imports import ROW, ImportReport, RowResult, max_lengths, too_long

CUSTOMER, CONTACT, VENDOR = "customer", "contact", "vendor"
TYPES = {
    "customer": CUSTOMER,
    "client": CUSTOMER,
    "account": CUSTOMER,
    "contact": CONTACT,
    "person": CONTACT,
    "vendor": VENDOR,
    "supplier": VENDOR,
}
ACCOUNT_FIELDS = ("legal_name", "tax_id", "country", "domain", "billing_email", "billing_address", "currency")
VENDOR_FIELDS = ("legal_name", "tax_id", "country", "email", "currency", "street", "postcode", "city", "iban", "bic")
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "job_title")
_TAX_NOISE = re.compile(r"[\s.\-/]")


def tax_key(value: str) -> str:
    """A tax id as compared: without spaces, dots, dashes and slashes, upper case."""
    return _TAX_NOISE.sub("", value or "").upper()


def _name_key(value: str) -> str:
    return " ".join((value or "").lower().split())


def _cell(row: dict, column: str) -> str:
    return str(row.get(column, "") or "").strip()


@dataclass
class _Plan:
    """What one good row will do."""

    row: dict
    kind: str
    result: RowResult
    target: Any = None  # the existing record merged with, or the new one
    values: dict = field(default_factory=dict)
    account_ref: Any = None  # contacts: the customer row (_Plan) or record it belongs to


class PartiesImporter:
    kind: str = "parties"
    label: str = "Customers, contacts and vendors"
    columns: tuple[str, ...] = ("name",)
    optional_columns: tuple[str, ...] = (
        "type",
        "external_id",
        "legal_name",
        "tax_id",
        "country",
        "currency",
        "payment_terms",
        "domain",
        "billing_email",
        "billing_address",
        "email",
        "phone",
        "first_name",
        "last_name",
        "job_title",
        "account",
        "street",
        "postcode",
        "city",
        "iban",
        "bic",
    )
    aliases: dict[str, str] = {
        "kind": "type",
        "party_type": "type",
        "id": "external_id",
        "customer_number": "external_id",
        "vendor_number": "external_id",
        "vat": "tax_id",
        "vat_id": "tax_id",
        "vat_number": "tax_id",
        "customer": "account",
        "company": "account",
        "payment_terms_days": "payment_terms",
        "zip": "postcode",
        "postal_code": "postcode",
    }

    def check(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        report, _ = self._plan(rows, ctx)
        return report

    @transaction.atomic
    def apply(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        report, plans = self._plan(rows, ctx, lock=True)
        if report.errors:
            return report
        self._write(plans, ctx)
        return report

    # --- checking -------------------------------------------------------------------------------------------
    def _plan(self, rows: list[dict], ctx: GoLiveContext, *, lock: bool = False) -> tuple[ImportReport, list[_Plan]]:
        report = new_report(self, ctx)
        kinds = {id(r): TYPES.get(_cell(r, "type").lower() or CUSTOMER) for r in rows}
        existing = {
            CUSTOMER: _Existing.load(Account, [r for r in rows if kinds[id(r)] == CUSTOMER], lock=lock),
            VENDOR: _Existing.load(Vendor, [r for r in rows if kinds[id(r)] == VENDOR], lock=lock),
        }
        lengths = {
            CUSTOMER: max_lengths(Account, {c: c for c in ("name", "external_id", *ACCOUNT_FIELDS)}),
            VENDOR: max_lengths(Vendor, {c: c for c in ("name", "external_id", *VENDOR_FIELDS)}),
            CONTACT: max_lengths(Contact, {c: c for c in CONTACT_FIELDS}),
        }
        seen: dict[tuple[str, str, str], int] = {}  # (kind, key kind, key) -> first row
        plans: list[_Plan] = []
        customers_in_file: dict[str, _Plan] = {}
        for r in rows:
            kind = kinds[id(r)]
            name, ext = _cell(r, "name"), _cell(r, "external_id")
            if kind is None:
                report.rows.append(
                    row_error(r, "unknown_type", f"type '{_cell(r, 'type')}' is not customer, contact or vendor",
                              name=name, external_id=ext)
                )  # fmt: skip
                continue
            if kind == CONTACT:
                plans.append(_Plan(r, kind, RowResult(int(r[ROW]), name, ext, "create")))
                continue
            plan, problem = self._party(r, kind, existing[kind], lengths[kind], seen)
            if problem:
                report.rows.append(problem)
                continue
            assert plan is not None
            plans.append(plan)
            if kind == CUSTOMER:
                for key in (ext, tax_key(_cell(r, "tax_id")), _name_key(name)):
                    if key:
                        customers_in_file.setdefault(key.lower(), plan)
        contacts = [p for p in plans if p.kind == CONTACT]
        self._contacts(contacts, customers_in_file, lengths[CONTACT], report)
        good = [p for p in plans if p.result.action != "error"]
        report.rows.extend(p.result for p in plans)
        report.rows.sort(key=lambda res: res.row)
        return report, good

    def _party(
        self, r: dict, kind: str, existing: "_Existing", lengths: dict, seen: dict
    ) -> tuple[_Plan | None, RowResult | None]:
        name, ext = _cell(r, "name"), _cell(r, "external_id")
        tax = tax_key(_cell(r, "tax_id"))
        label = "customer" if kind == CUSTOMER else "vendor"

        def refuse(rule: str, reason: str) -> tuple[None, RowResult]:
            return None, row_error(r, rule, reason, name=name, external_id=ext)

        problems = too_long(r, lengths)
        if not name:
            problems.append("name is empty")
        values, value_problems = _values(r, kind)
        problems += value_problems
        if problems:
            return refuse("invalid_value", "; ".join(problems))
        for key_kind, key in (("external id", ext), ("tax id", tax), ("name", _name_key(name))):
            if not key:
                continue
            first = seen.get((kind, key_kind, key))
            if first is not None:
                return refuse("duplicate_in_file", f"the {label} with {key_kind} {key} is also on row {first}")
        for key_kind, key in (("external id", ext), ("tax id", tax), ("name", _name_key(name))):
            if key:
                seen[(kind, key_kind, key)] = int(r[ROW])
        by_ext = existing.by_ext.get(ext) if ext else None
        by_tax = existing.by_tax.get(tax) if tax else None
        if by_ext is not None and by_tax is not None and by_ext.pk != by_tax.pk:
            return refuse(
                "external_id_conflict",
                f"external id {ext} is {label} '{by_ext.name}' (id {by_ext.pk}) but tax id {tax} is {label} "
                f"'{by_tax.name}' (id {by_tax.pk}): the file and PSA disagree about who this is",
            )
        target = by_ext or by_tax
        if target is None:
            twin = existing.by_name.get(_name_key(name)) or existing.by_name.get(
                _name_key(values.get("legal_name", ""))
            )
            if twin is not None:
                return refuse(
                    "possible_duplicate",
                    f"a {label} named '{twin.name}' (id {twin.pk}, tax id {twin.tax_id or 'none'}, external id "
                    f"{twin.external_id or 'none'}) already exists and nothing proves this row is the same: give its "
                    "tax id or external id to merge, or a name that tells them apart",
                )
            values["name"] = name
            if ext:
                values["external_id"] = ext
            return _Plan(r, kind, RowResult(int(r[ROW]), name, ext, "create"), None, values), None
        if ext and target.external_id and target.external_id != ext:
            return refuse(
                "external_id_conflict",
                f"tax id {tax} is {label} '{target.name}' (id {target.pk}) whose external id is "
                f"{target.external_id}, not {ext}",
            )
        values["name"] = name
        if ext:
            values["external_id"] = ext
        changed = {k: v for k, v in values.items() if getattr(target, k) != v}
        country, tax_id = changed.get("country", target.country), changed.get("tax_id", target.tax_id)
        if ("country" in changed or "tax_id" in changed) and (error := vat_id_error(country, tax_id)):
            return refuse("invalid_value", f"tax id once merged with {label} {target.pk}: {error}")
        action = "update" if changed else "unchanged"
        how = "external id" if by_ext is not None else "tax id"
        result = RowResult(int(r[ROW]), name, ext, action, f"merged with {label} {target.pk} by {how}")
        return _Plan(r, kind, result, target, changed), None

    def _contacts(self, contacts: list[_Plan], in_file: dict, lengths: dict, report: ImportReport) -> None:
        refs = {_cell(p.row, "account") for p in contacts if _cell(p.row, "account")}
        lowered = {x.lower() for x in refs} | {tax_key(x) for x in refs}
        accounts: dict[str, Account] = {}
        for a in Account.objects.annotate(lname=Lower("name")).filter(
            Q(external_id__in=refs) | Q(lname__in=lowered) | Q(tax_id__in=lowered)
        ):
            for key in (a.external_id or "", tax_key(a.tax_id), _name_key(a.name)):
                if key:
                    accounts.setdefault(key.lower(), a)
        people = {}
        if accounts:
            for c in Contact.objects.filter(account__in={a.pk for a in accounts.values()}):
                if c.email:
                    people[(c.account_id, c.email.lower())] = c
                people.setdefault((c.account_id, _name_key(f"{c.first_name} {c.last_name}")), c)
        seen: dict[tuple, int] = {}
        for p in contacts:
            r = p.row
            ref = _cell(r, "account")
            first, last = _cell(r, "first_name"), _cell(r, "last_name")
            if not first and _cell(r, "name"):
                first, _, last = _cell(r, "name").partition(" ")
            email = _cell(r, "email")
            problems = too_long(r, lengths)
            if not first:
                problems.append("the contact has no name")
            if email:
                try:
                    validate_email(email)
                except ValidationError:
                    problems.append(f"'{email}' is not an e-mail address")
            key = ref.lower()
            customer: Any = in_file.get(key) or in_file.get(tax_key(ref).lower()) or in_file.get(_name_key(ref))
            account: Any = None
            if customer is None:
                account = accounts.get(key) or accounts.get(tax_key(ref).lower()) or accounts.get(_name_key(ref))
            if not ref:
                p.result = row_error(
                    r, "unknown_customer", "a contact names its customer in 'account'", name=p.result.name
                )
                continue
            if customer is None and account is None:
                reason = f"no customer '{ref}' in PSA or among the file's good rows (by external id, tax id or name)"
                p.result = row_error(r, "unknown_customer", reason, name=p.result.name)
                continue
            if problems:
                p.result = row_error(r, "invalid_value", "; ".join(problems), name=p.result.name)
                continue
            identity = (ref.lower(), email.lower() or _name_key(f"{first} {last}"))
            if identity in seen:
                p.result = row_error(
                    r, "duplicate_in_file", f"the same contact of '{ref}' is also on row {seen[identity]}",
                    name=p.result.name,
                )  # fmt: skip
                continue
            seen[identity] = int(r[ROW])
            values = {"first_name": first, "last_name": last}
            for column in ("email", "phone", "job_title"):
                if _cell(r, column):
                    values[column] = _cell(r, column)
            p.values = values
            if customer is not None:
                p.account_ref = customer  # created or merged by this file
                p.result.name = f"{first} {last}".strip()
                if customer.target is not None:
                    account = customer.target
                else:
                    continue
            twin = None
            if account is not None:
                twin = (email and people.get((account.pk, email.lower()))) or people.get(
                    (account.pk, _name_key(f"{first} {last}"))
                )
            p.account_ref = p.account_ref or account
            if twin is not None:
                changed = {k: v for k, v in values.items() if getattr(twin, k) != v}
                p.target, p.values = twin, changed
                p.result.action = "update" if changed else "unchanged"
                p.result.reason = f"merged with contact {twin.pk} of {account.name}"

    # --- writing --------------------------------------------------------------------------------------------
    def _write(self, plans: list[_Plan], ctx: GoLiveContext) -> None:
        """Bulk writes: creates, then updates, per kind; customers before the contacts that name them. Every value
        was checked row by row above (no per-row query here)."""
        models: tuple[tuple[str, Any], ...] = ((CUSTOMER, Account), (VENDOR, Vendor), (CONTACT, Contact))
        for kind, model in models:
            new: list[Any] = []
            changed: list[Any] = []
            fields: set[str] = set()
            for p in plans:
                if p.kind != kind:
                    continue
                if p.target is None:
                    obj: Any = model(**p.values)
                    if kind == CUSTOMER:
                        obj.owner, obj.entity = ctx.user, ctx.golive.entity
                    elif kind == VENDOR:
                        obj.legal_name = obj.legal_name or obj.name
                        obj.currency = obj.currency or functional_currency()
                    else:
                        obj.account = p.account_ref.target if isinstance(p.account_ref, _Plan) else p.account_ref
                    new.append(obj)
                    p.target = obj
                elif p.values:
                    for attr, value in p.values.items():
                        setattr(p.target, attr, value)
                    if kind != CONTACT:
                        p.target.updated_at = timezone.now()
                    changed.append(p.target)
                    fields |= set(p.values)
            model.objects.bulk_create(new)
            ctx.record_many(new)
            if changed:
                auto = ["updated_at"] if kind != CONTACT else []
                model.objects.bulk_update(changed, sorted(fields) + auto)


@dataclass
class _Existing:
    """The records a file's rows may merge with, by external id, tax id and name (one query)."""

    by_ext: dict
    by_tax: dict
    by_name: dict

    @classmethod
    def load(cls, model: Any, rows: list[dict], *, lock: bool) -> "_Existing":
        exts = {_cell(r, "external_id") for r in rows if _cell(r, "external_id")}
        taxes = {tax_key(_cell(r, "tax_id")) for r in rows if _cell(r, "tax_id")}
        names = {_name_key(_cell(r, c)) for r in rows for c in ("name", "legal_name") if _cell(r, c)}
        if not rows:
            return cls({}, {}, {})
        qs = model.objects.annotate(lname=Lower("name"), llegal=Lower("legal_name")).filter(
            Q(external_id__in=exts) | Q(lname__in=names) | Q(llegal__in=names) | Q(tax_id__in=taxes)
        )
        # Tax ids stored with spaces or dots are found by the Python comparison below: look at those too.
        if taxes:
            qs = model.objects.annotate(lname=Lower("name"), llegal=Lower("legal_name")).filter(
                Q(external_id__in=exts) | Q(lname__in=names) | Q(llegal__in=names) | ~Q(tax_id="")
            )
        if lock:
            qs = qs.select_for_update(of=("self",))
        found = cls({}, {}, {})
        for obj in qs.order_by("pk"):
            if obj.external_id in exts:
                found.by_ext[obj.external_id] = obj
            if obj.tax_id and tax_key(obj.tax_id) in taxes:
                found.by_tax.setdefault(tax_key(obj.tax_id), obj)
            for n in (_name_key(obj.name), _name_key(obj.legal_name)):
                if n in names:
                    found.by_name.setdefault(n, obj)
        return found


def _values(r: dict, kind: str) -> tuple[dict, list[str]]:
    """The row's values for the record (only the cells it fills) and the problems with them."""
    problems: list[str] = []
    values: dict = {}
    for column in ACCOUNT_FIELDS if kind == CUSTOMER else VENDOR_FIELDS:
        if _cell(r, column):
            values[column] = _cell(r, column)
    if "tax_id" in values:
        values["tax_id"] = tax_key(values["tax_id"])
    for column in ("iban", "bic"):
        if column in values:
            values[column] = values[column].replace(" ", "").upper()
    currency = values.get("currency", "").upper()
    if currency:
        values["currency"] = currency
        if currency not in CURRENCY_CODES:
            problems.append(f"unknown currency {currency}")
    country = values.get("country", "").upper()
    if country:
        values["country"] = country
        if country not in COUNTRY_CODES:
            problems.append(f"unknown country {country} (ISO 3166-1 alpha-2, e.g. DE)")
        elif values.get("tax_id") and (error := vat_id_error(country, values["tax_id"])):
            problems.append(f"tax id: {error}")
    elif kind == VENDOR:
        problems.append("a vendor needs its country (decides reverse charge on its bills)")
    terms = _cell(r, "payment_terms")
    if terms:
        if not terms.isdigit() or int(terms) > 365:
            problems.append("payment terms must be 0-365 days")
        else:
            values["payment_terms_days"] = int(terms)
    for column in ("billing_email", "email"):
        if values.get(column):
            try:
                validate_email(values[column])
            except ValidationError:
                problems.append(f"'{values[column]}' is not an e-mail address")
    if values.get("iban") and (error := iban_error(values["iban"])):
        problems.append(f"IBAN: {error}")
    if values.get("bic") and (error := bic_error(values["bic"])):
        problems.append(f"BIC: {error}")
    return values, problems


PARTIES = PartiesImporter()


def accounts_remove(ids: list[int], ctx: GoLiveContext) -> None:
    """Rollback of the imported customers: deleted, unless journal lines name them (go-live entries are reversed,
    never deleted); those stay, with their external id, so the next go-live merges with them."""
    used = set(JournalLine.objects.filter(client_id__in=ids).values_list("client_id", flat=True).distinct())
    Account.objects.filter(pk__in=set(ids) - used).delete()
