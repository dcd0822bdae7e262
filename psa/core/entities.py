"""Legal entities: validation, the writes, the default entity, document series and the seller of a document.

- **The default entity** is the oldest active one. A firm that has none yet gets its first entity from the
  PSA_FIRM_* settings on first use (`entity_default`), which is all those settings are still for: once it exists,
  the seller printed on documents is the entity's, edited on its page, and the settings are not read again.
- **Series**: every gapless number series (invoices, credit notes, journal entries) is per entity: the entity's
  `series_prefix` goes in front (GB-INV-2026-000001). One entity may have an empty prefix, so a firm that starts
  with one entity keeps numbers like INV-2026-000001.
- **Functional currency**: recorded per entity, and for now every entity's must be the firm's
  (PSA_FUNCTIONAL_CURRENCY), because the ledger converts into that one currency; the consolidated view
  translates the books into a reporting currency.
- **The seller** of an invoice is a snapshot of its entity when the document is issued (`seller_details`):
  refused, naming each missing detail, unless the entity has a legal name, an address, a country, a VAT id or a tax
  number, and a bank account; the account printed is the entity's default one in the invoice's currency, else
  its default one in any currency.
"""

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import QuerySet

from psa.core.countries import COUNTRY_CODES, bic_error, iban_error, tax_number_error, vat_id_error
from psa.core.currency import CURRENCY_CODES, functional_currency
from psa.core.exceptions import ConflictError, ValidationFailed
from psa.core.models import EntityBankAccount, LegalEntity, NumberSeries
from psa.core.roles import Role, has_role, require_role


class SellerDetailsMissing(ConflictError):
    code = "seller_details_missing"
    default_message = "The legal entity's seller details are not complete."


ENTITY_FIELDS = (
    "code", "series_prefix", "name", "legal_name", "street", "postcode", "city", "country", "vat_id", "tax_number",
    "registration", "email", "functional_currency", "fiscal_year_start_month", "invoice_footer", "is_active",
)  # fmt: skip
# The details an invoice cannot be issued without, as the entity's form labels them.
REQUIRED_FOR_ISSUE = {
    "legal_name": "Legal name",
    "street": "Street",
    "postcode": "Postcode",
    "city": "City",
    "country": "Country",
}


def entity_errors(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Field errors of an entity's values (the form's and the API's one check)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    code = str(values.get("code") or "")
    if not code or not code.replace("_", "").isalnum() or code.upper() != code:
        add("code", "Capital letters and digits only, e.g. DE or UK1.")
    prefix = str(values.get("series_prefix") or "")
    if prefix and (not prefix.isalnum() or prefix.upper() != prefix):
        add("series_prefix", "Capital letters and digits only, e.g. GB.")
    for field in ("name", "legal_name"):
        if not str(values.get(field) or "").strip():
            add(field, "Required.")
    country = str(values.get("country") or "").upper()
    if country not in COUNTRY_CODES:
        add("country", "Choose a country (ISO 3166 code such as DE or GB).")
    else:
        if message := vat_id_error(country, str(values.get("vat_id") or "")):
            add("vat_id", message)
        if message := tax_number_error(str(values.get("tax_number") or ""), country):
            add("tax_number", message)
    if values.get("functional_currency") not in CURRENCY_CODES:
        add("functional_currency", "Choose one of the supported currencies.")
    elif values.get("functional_currency") != (firm := functional_currency()):
        # Every entity's ledger is kept in the firm's functional currency this round: posting, revaluation and
        # the contract position convert into that one currency (psa.core.fx). An entity in another currency is
        # refused rather than booked as if its amounts were in it.
        add(
            "functional_currency",
            f"Entities keep their books in the firm's functional currency ({firm}) for now; books in another "
            "currency per entity are not supported yet.",
        )
    month = values.get("fiscal_year_start_month", 1)
    if not isinstance(month, int) or not 1 <= month <= 12:
        add("fiscal_year_start_month", "A month number from 1 to 12.")
    return errors


def _refuse(errors: dict[str, list[str]]) -> None:
    if errors:
        first = next(iter(errors.items()))
        raise ValidationFailed(f"{first[0].replace('_', ' ').capitalize()}: {first[1][0]}", fields=errors)


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {k: values[k] for k in ENTITY_FIELDS if k in values}
    for field in ("code", "series_prefix", "country", "vat_id", "functional_currency"):
        if isinstance(cleaned.get(field), str):
            cleaned[field] = cleaned[field].strip().upper().replace(" ", "")
    return cleaned


@transaction.atomic
def entity_create(*, by, values: Mapping[str, Any]) -> LegalEntity:
    """A new legal entity (administrators and finance)."""
    require_role(by, Role.FINANCE, Role.ADMIN)
    cleaned = {"fiscal_year_start_month": 1, **_clean(values)}
    errors = entity_errors(cleaned)
    if LegalEntity.objects.filter(code=cleaned.get("code")).exists():
        errors.setdefault("code", []).append("Another entity has this code.")
    if LegalEntity.objects.filter(series_prefix=cleaned.get("series_prefix", "")).exists():
        errors.setdefault("series_prefix", []).append(
            "Another entity numbers its documents with this prefix; each entity needs its own."
        )
    _refuse(errors)
    return LegalEntity.objects.create(**cleaned)


@transaction.atomic
def entity_update(*, by, entity_id: int, values: Mapping[str, Any]) -> LegalEntity:
    """Change an entity's details. Its code, prefix and functional currency are refused once it has numbered
    documents (`entity_has_numbers`: its numbers carry the prefix and its ledger is kept in its currency)."""
    require_role(by, Role.FINANCE, Role.ADMIN)
    entity = LegalEntity.objects.select_for_update().get(pk=entity_id)
    cleaned = _clean(values)
    merged = {f: getattr(entity, f) for f in ENTITY_FIELDS} | cleaned
    errors = entity_errors(merged)
    if LegalEntity.objects.exclude(pk=entity.pk).filter(code=merged["code"]).exists():
        errors.setdefault("code", []).append("Another entity has this code.")
    if LegalEntity.objects.exclude(pk=entity.pk).filter(series_prefix=merged["series_prefix"]).exists():
        errors.setdefault("series_prefix", []).append(
            "Another entity numbers its documents with this prefix; each entity needs its own."
        )
    if entity_has_numbers(entity):
        for field, label in FIXED_ONCE_NUMBERED.items():
            if field in cleaned and cleaned[field] != getattr(entity, field):
                errors.setdefault(field, []).append(
                    f"{label} cannot change: the entity has numbered documents in its series."
                )
    _refuse(errors)
    for field, value in cleaned.items():
        setattr(entity, field, value)
    entity.save()
    return entity


# What its numbered documents and its books depend on, as the entity's form labels them.
FIXED_ONCE_NUMBERED = {"code": "Code", "series_prefix": "Series prefix", "functional_currency": "Functional currency"}


def entity_has_numbers(entity: LegalEntity) -> bool:
    """Whether any series of `entity` has handed out a number: a series named '<prefix>-...' for an entity with
    a prefix, a series without '-' (INV, JE) for the one without."""
    series = NumberSeries.objects.filter(last__gt=0)
    if entity.series_prefix:
        return series.filter(series__startswith=f"{entity.series_prefix}-").exists()
    return series.exclude(series__contains="-").exists()


@transaction.atomic
def bank_account_add(
    *, by, entity_id: int, iban: str, currency: str, bic: str = "", bank_name: str = "", is_default: bool = True
) -> EntityBankAccount:
    """Add a bank account to an entity; a new default for its currency replaces the old one."""
    require_role(by, Role.FINANCE, Role.ADMIN)
    iban = iban.replace(" ", "").upper()
    bic = bic.replace(" ", "").upper()
    errors: dict[str, list[str]] = {}
    if message := iban_error(iban):
        errors["iban"] = [message]
    if message := bic_error(bic):
        errors["bic"] = [message]
    if currency not in CURRENCY_CODES:
        errors["currency"] = ["Choose one of the supported currencies."]
    if EntityBankAccount.objects.filter(entity_id=entity_id, iban=iban).exists():
        errors.setdefault("iban", []).append("This entity already has this account.")
    _refuse(errors)
    entity = LegalEntity.objects.select_for_update().get(pk=entity_id)
    if is_default:
        entity.bank_accounts.filter(currency=currency, is_default=True).update(is_default=False)
    return EntityBankAccount.objects.create(
        entity=entity, iban=iban, bic=bic, bank_name=bank_name, currency=currency, is_default=is_default
    )


def entities_for(user) -> QuerySet[LegalEntity]:
    """The entities `user` may open (their pages, the API, the logo): all of them for finance and administrators,
    none for anyone else."""
    if not has_role(user, Role.FINANCE, Role.ADMIN):
        return LegalEntity.objects.none()
    return LegalEntity.objects.all()


def _seed_values() -> dict[str, Any]:
    """The first entity's values from the PSA_FIRM_* settings (psa.core.firm). The address setting's first line
    is the street, its last line 'postcode city'."""
    lines = [ln.strip() for ln in str(settings.PSA_FIRM_ADDRESS or "").splitlines() if ln.strip()]
    street = lines[0] if len(lines) > 1 else ""
    postcode, _, city = (lines[-1] if lines else "").partition(" ")
    country = str(settings.PSA_FIRM_COUNTRY or "").upper()
    legal_name = str(settings.PSA_FIRM_LEGAL_NAME or "")
    return {
        "code": country or "MAIN",
        "series_prefix": "",
        "name": str(settings.PSA_FIRM_NAME or legal_name or "PSA"),
        "legal_name": legal_name,
        "street": street,
        "postcode": postcode if city else "",
        "city": city or postcode,
        "country": country,
        "vat_id": str(settings.PSA_FIRM_TAX_ID or ""),
        "email": str(settings.PSA_FIRM_EMAIL or ""),
        "functional_currency": functional_currency(),
    }


def entity_default() -> LegalEntity:
    """The default entity: the oldest active one, or the first one seeded from the PSA_FIRM_* settings."""
    entity = LegalEntity.objects.filter(is_active=True).order_by("pk").first()
    if entity is not None:
        return entity
    with transaction.atomic():
        values = _seed_values()
        entity, created = LegalEntity.objects.get_or_create(code=values.pop("code"), defaults=values)
        iban = str(settings.PSA_FIRM_IBAN or "").replace(" ", "")
        if created and iban:
            EntityBankAccount.objects.create(
                entity=entity,
                iban=iban,
                bic=str(settings.PSA_FIRM_BIC or ""),
                bank_name=str(settings.PSA_FIRM_BANK or ""),
                currency=entity.functional_currency,
                is_default=True,
            )
    return entity


def entity_default_id() -> int:
    """The default entity's id: the default of every `entity` field, for rows written without one."""
    return entity_default().pk


def entity_field(*, help_text: str) -> models.ForeignKey:
    """The `entity` field of a model that books: the legal entity it belongs to, the default entity when a row is
    written without one (the one definition for contracts, projects, consultants, invoices, payments, entries)."""
    return models.ForeignKey(
        "core.LegalEntity", on_delete=models.PROTECT, related_name="+", default=entity_default_id, help_text=help_text
    )


def series_name(entity: LegalEntity, base: str) -> str:
    """The entity's series of a document kind: 'INV' for the entity without a prefix, 'GB-INV' for prefix GB."""
    return f"{entity.series_prefix}-{base}" if entity.series_prefix else base


def _bank_account(entity: LegalEntity, currency: str) -> EntityBankAccount | None:
    accounts = list(entity.bank_accounts.all())
    for match in (
        lambda a: a.currency == currency and a.is_default,
        lambda a: a.is_default,
        lambda a: True,
    ):
        found = next((a for a in accounts if match(a)), None)
        if found is not None:
            return found
    return None


def seller_snapshot(entity: LegalEntity, currency: str) -> dict[str, str]:
    """The entity as the seller on a document in `currency`, as it is now (empty values where unset)."""
    account = _bank_account(entity, currency)
    return {
        "entity": entity.code,
        "name": entity.name,
        "legal_name": entity.legal_name,
        "address": entity.address,
        "street": entity.street,
        "postcode": entity.postcode,
        "city": entity.city,
        "country": entity.country,
        "tax_id": entity.vat_id,
        "tax_number": entity.tax_number,
        "registration": entity.registration,
        "email": entity.email,
        "iban": account.iban if account else "",
        "bic": account.bic if account else "",
        "bank": account.bank_name if account else "",
        "footer": entity.invoice_footer,
        "logo": (entity.logo.name or "") if entity.logo else "",
    }


def seller_missing(entity: LegalEntity, currency: str) -> dict[str, str]:
    """The details missing to issue a document of `entity` in `currency`: field -> what is missing."""
    missing = {f: f"{label} is required to issue an invoice." for f, label in REQUIRED_FOR_ISSUE.items()}
    missing = {f: m for f, m in missing.items() if not str(getattr(entity, f) or "").strip()}
    if not entity.vat_id and not entity.tax_number:
        missing["vat_id"] = "A VAT id or a tax number is required to issue an invoice."
    if _bank_account(entity, currency) is None:
        missing["bank_accounts"] = "A bank account is required to issue an invoice (clients pay into it)."
    return missing


def seller_details(entity: LegalEntity, currency: str) -> dict[str, str]:
    """The seller for a document being issued: refused, naming each missing detail, unless complete."""
    if missing := seller_missing(entity, currency):
        raise SellerDetailsMissing(
            f"Invoices of {entity.code} cannot be issued until its details are complete: "
            + "; ".join(missing.values()),
            fields={f: [m] for f, m in missing.items()},
        )
    return seller_snapshot(entity, currency)


def entity_backfill(app_label: str, *model_names: str):
    """A migration step that puts the rows of `model_names` written before entities existed into the first entity
    (seeded from the PSA_FIRM_* settings when the firm has none yet). An empty table seeds nothing."""

    def backfill(apps, schema_editor) -> None:
        models = [apps.get_model(app_label, name) for name in model_names]
        if not any(m.objects.filter(entity__isnull=True).exists() for m in models):
            return
        entity_model = apps.get_model("core", "LegalEntity")
        entity = entity_model.objects.order_by("pk").first()
        if entity is None:
            values = _seed_values()
            entity = entity_model.objects.create(**values)
        for m in models:
            m.objects.filter(entity__isnull=True).update(entity_id=entity.pk)

    return backfill


# --- the go-live cut-over ----------------------------------------------------------------------------------
def books_start(entity_id: int | None) -> date | None:
    """The cut-over date of the entity's completed go-live (None before one completes)."""
    if entity_id is None:
        return None
    return LegalEntity.objects.filter(pk=entity_id).values_list("books_start", flat=True).first()


def cutover_refuse(*, entity_id: int | None, on: date | None, what: str, field: str = "date") -> None:
    """Refuse a document of the entity dated before its go-live cut-over: everything before it is the history
    the go-live imported, so a document there would change books that were reconciled and closed. `what` names
    the document as the sentence starts ("An invoice", "A time entry")."""
    if on is None:
        return
    start = books_start(entity_id)
    if start is not None and on < start:
        raise ValidationFailed(
            f"{what} cannot be dated {on:%Y-%m-%d}: the books of this entity start at the go-live cut-over on "
            f"{start:%Y-%m-%d}, and everything before it was imported.",
            fields={field: [f"On or after the cut-over, {start:%Y-%m-%d}."]},
            code="before_cutover",
        )
