"""Vendor writes: the suppliers the firm buys from (subcontracting agencies, freelancers, software).

Rules: finance and administrators change vendors (project managers read them); the legal name, the country and
the currency are required; the VAT id must be valid for the vendor's country, the IBAN and BIC well-formed
(python-stdnum, psa.core.countries); payment terms are 0-365 days. A second vendor with the tax id or the
external id of an existing one is refused, naming that vendor: the firm keeps one record per supplier, so its
bills and payments are in one place (merging two records is a data fix, not an edit).
"""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from crm.models import Vendor
from crm.services._common import clean_or_refuse
from psa.core.audit import audit_record
from psa.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from psa.core.roles import Role, has_role

VENDOR_EDIT_ROLES = (Role.FINANCE, Role.ADMIN)
VENDOR_VIEW_ROLES = (Role.FINANCE, Role.ADMIN, Role.PROJECT_MANAGER)
VENDOR_FIELDS = (
    "name",
    "legal_name",
    "tax_id",
    "country",
    "street",
    "postcode",
    "city",
    "email",
    "currency",
    "payment_terms_days",
    "iban",
    "bic",
    "bank_name",
    "is_subcontractor",
    "hourly_rate",
    "external_id",
    "is_active",
)
REQUIRED = {"legal_name": "the registered name on its bills", "country": "its country", "currency": "its currency"}


def _ensure_may_edit(by: User | None) -> None:
    if by is not None and not has_role(by, *VENDOR_EDIT_ROLES):
        raise PermissionDeniedError("Only finance and administrators may change vendors.")


def _normalise(vendor: Vendor) -> None:
    vendor.tax_id = (vendor.tax_id or "").replace(" ", "").upper()
    vendor.iban = (vendor.iban or "").replace(" ", "").upper()
    vendor.bic = (vendor.bic or "").replace(" ", "").upper()
    vendor.country = (vendor.country or "").upper()
    if not vendor.external_id:
        vendor.external_id = None
    if not vendor.name:
        vendor.name = vendor.legal_name


def _check(vendor: Vendor) -> None:
    missing = {f: [f"Enter {what}."] for f, what in REQUIRED.items() if not getattr(vendor, f)}
    if missing:
        raise ValidationFailed(
            f"A vendor needs {', '.join(REQUIRED[f] for f in missing)}.", fields=missing, code="missing_fields"
        )
    if vendor.payment_terms_days is None or not 0 <= vendor.payment_terms_days <= 365:
        raise ValidationFailed(
            "Payment terms are between 0 and 365 days.", fields={"payment_terms_days": ["At most 365 days."]}
        )
    if vendor.hourly_rate is not None and vendor.hourly_rate < 0:
        raise ValidationFailed("The hourly rate cannot be negative.", fields={"hourly_rate": ["Must be 0 or more."]})
    others = Vendor.objects.exclude(pk=vendor.pk)
    if vendor.tax_id and (twin := others.filter(tax_id__iexact=vendor.tax_id).first()):
        raise ConflictError(
            f"Vendor '{twin.name}' (id {twin.pk}) already has the tax id {vendor.tax_id}: use that vendor; two "
            "records of one supplier are not merged here.",
            fields={"tax_id": [f"Already used by vendor {twin.pk} ({twin.name})."]},
            code="duplicate_vendor",
        )
    if vendor.external_id and (twin := others.filter(external_id=vendor.external_id).first()):
        raise ConflictError(
            f"Vendor '{twin.name}' (id {twin.pk}) already has the external id {vendor.external_id}.",
            fields={"external_id": [f"Already used by vendor {twin.pk} ({twin.name})."]},
            code="duplicate_vendor",
        )
    clean_or_refuse(vendor)


def _unknown(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(VENDOR_FIELDS)
    if unknown:
        raise ValidationFailed(
            f"Unknown vendor fields: {', '.join(sorted(unknown))}.", fields={f: ["Unknown field."] for f in unknown}
        )


@transaction.atomic
def vendor_create(*, by: User | None, legal_name: str, country: str, **fields: Any) -> Vendor:
    """Create a vendor (rules in the module docstring). The currency defaults to the functional currency's
    default (crm.choices.DEFAULT_CURRENCY) when not given."""
    _ensure_may_edit(by)
    _unknown(fields)
    vendor = Vendor(legal_name=legal_name, country=country, **fields)
    _normalise(vendor)
    _check(vendor)
    vendor.save()
    audit_record(actor=by, action="crm.vendor.create", obj=vendor, summary=f"Created vendor {vendor.name}")
    return vendor


@transaction.atomic
def vendor_update(*, vendor_id: int, by: User | None, **fields: Any) -> Vendor:
    """Change a vendor. Its currency cannot change while it has bills not yet paid in the old one."""
    _ensure_may_edit(by)
    _unknown(fields)
    vendor = Vendor.objects.select_for_update().filter(pk=vendor_id).first()
    if vendor is None:
        raise NotFoundError(f"No vendor with id {vendor_id}.")
    old_currency = vendor.currency
    for name, value in fields.items():
        setattr(vendor, name, value)
    _normalise(vendor)
    if vendor.currency != old_currency and vendor.bills.exclude(status__in=("paid", "rejected")).exists():
        raise ValidationFailed(
            "Bills of this vendor are open in its current currency.",
            fields={"currency": [f"Settle or correct the open {old_currency} bills before changing the currency."]},
        )
    _check(vendor)
    vendor.save()
    audit_record(actor=by, action="crm.vendor.update", obj=vendor, summary=f"Updated vendor {vendor.name}")
    return vendor
