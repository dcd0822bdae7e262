"""Account and contact writes."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from crm.models import Account, Contact
from crm.permissions import ACCOUNT_EDIT_ROLES
from crm.services._common import clean_or_refuse
from psa.core.audit import audit_record
from psa.core.exceptions import NotFoundError, PermissionDeniedError, ValidationFailed
from psa.core.roles import has_role

ACCOUNT_FIELDS = (
    "name",
    "legal_name",
    "tax_id",
    "country",
    "buyer_type",
    "domain",
    "billing_address",
    "billing_email",
    "currency",
    "payment_terms_days",
    "parent",
    "owner",
    "external_id",
    "entity",
)
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "is_billing_contact",
    "user",
    "portal_access",
)


def _ensure_may_edit(by: User) -> None:
    if not has_role(by, *ACCOUNT_EDIT_ROLES):
        raise PermissionDeniedError("Only sales, finance and administrators may change accounts.")


def _check_parent(account: Account) -> None:
    """A parent chain must not loop back to the account itself."""
    seen = {account.pk}
    parent = account.parent
    while parent is not None:
        if parent.pk in seen:
            raise ValidationFailed(
                "An account cannot be its own (grand)parent.", fields={"parent": ["This would make a loop."]}
            )
        seen.add(parent.pk)
        parent = parent.parent


@transaction.atomic
def account_create(*, by: User, name: str, **fields: Any) -> Account:
    """Create an account; the billing-entity fields may be completed later (a win checks them)."""
    _ensure_may_edit(by)
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown account fields: {', '.join(sorted(unknown))}.")
    account = Account(name=name, **fields)
    if account.owner_id is None and by is not None and by.is_authenticated:
        account.owner = by
    if account.external_id == "":
        account.external_id = None
    clean_or_refuse(account)
    account.save()
    audit_record(actor=by, action="crm.account.create", obj=account, summary=f"Created account {account.name}")
    return account


@transaction.atomic
def account_update(*, account_id: int, by: User, **fields: Any) -> Account:
    """Change an account. The currency cannot change while open deals are priced in the old one."""
    _ensure_may_edit(by)
    try:
        account = Account.objects.select_for_update().get(pk=account_id)
    except Account.DoesNotExist:
        raise NotFoundError("No such account.") from None
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown account fields: {', '.join(sorted(unknown))}.")
    old_currency = account.currency
    for name, value in fields.items():
        setattr(account, name, value)
    if account.external_id == "":
        account.external_id = None
    if account.currency != old_currency and account.opportunities.filter(status="open").exists():
        raise ValidationFailed(
            "Open deals of this account are priced in its current currency.",
            fields={"currency": [f"Close or re-price the open {old_currency} deals before changing the currency."]},
        )
    _check_parent(account)
    clean_or_refuse(account)
    account.save()
    audit_record(actor=by, action="crm.account.update", obj=account, summary=f"Updated account {account.name}")
    return account


@transaction.atomic
def contact_create(*, by: User, account_id: int, first_name: str, **fields: Any) -> Contact:
    _ensure_may_edit(by)
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown contact fields: {', '.join(sorted(unknown))}.")
    contact = Contact(account_id=account_id, first_name=first_name, **fields)
    if contact.portal_access and contact.user_id is None:
        raise ValidationFailed(
            "Portal access needs a login.", fields={"user": ["Choose the login this contact signs in with."]}
        )
    clean_or_refuse(contact)
    contact.save()
    audit_record(actor=by, action="crm.contact.create", obj=contact, summary=f"Added contact {contact}")
    return contact


@transaction.atomic
def contact_update(*, contact_id: int, by: User, **fields: Any) -> Contact:
    _ensure_may_edit(by)
    try:
        contact = Contact.objects.select_for_update().get(pk=contact_id)
    except Contact.DoesNotExist:
        raise NotFoundError("No such contact.") from None
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown contact fields: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(contact, name, value)
    if contact.portal_access and contact.user_id is None:
        raise ValidationFailed(
            "Portal access needs a login.", fields={"user": ["Choose the login this contact signs in with."]}
        )
    clean_or_refuse(contact)
    contact.save()
    audit_record(actor=by, action="crm.contact.update", obj=contact, summary=f"Updated contact {contact}")
    return contact
