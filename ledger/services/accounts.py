"""Chart of accounts: finance adds and edits accounts; an account with postings keeps its code and type."""

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from ledger.choices import AccountType, SystemAccount
from ledger.models import JournalLine, LedgerAccount
from psa.core.audit import audit_record
from psa.core.exceptions import NotFoundError, ValidationFailed

EDITABLE = ("code", "name", "type", "is_control", "is_active", "description")


def _full_clean(account: LedgerAccount) -> None:
    try:
        account.full_clean()
    except ValidationError as exc:
        fields = {("non_field_errors" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
        raise ValidationFailed("The account is not valid.", fields=fields) from None


@transaction.atomic
def account_create(
    *,
    by: User,
    code: str,
    name: str,
    type: str,
    is_control: bool = False,
    is_active: bool = True,
    description: str = "",
) -> LedgerAccount:
    """Add an account to the chart (codes are unique; the type decides where it reports)."""
    account = LedgerAccount(
        code=(code or "").strip(),
        name=(name or "").strip(),
        type=type,
        is_control=is_control,
        is_active=is_active,
        description=description or "",
    )
    if account.type not in AccountType.values:
        raise ValidationFailed("Pick an account type.", fields={"type": [f"One of {', '.join(AccountType.values)}."]})
    _full_clean(account)
    account.save()
    audit_record(actor=by, action="ledger.account_create", obj=account, summary=f"Account {account} created")
    return account


@transaction.atomic
def account_update(*, account_id: int, by: User, **changes: Any) -> LedgerAccount:
    """Edit an account. Code and type are fixed once the account has postings (history must not move)."""
    account = LedgerAccount.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        raise NotFoundError(f"No ledger account with id {account_id}.")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={name: "Not editable." for name in sorted(unknown)})
    before = {name: getattr(account, name) for name in EDITABLE}
    for name, value in changes.items():
        setattr(account, name, value.strip() if isinstance(value, str) and name in ("code", "name") else value)
    moved = [n for n in ("code", "type") if getattr(account, n) != before[n]]
    if moved and JournalLine.objects.filter(account=account).exists():
        raise ValidationFailed(
            f"Account {before['code']} has postings: its {' and '.join(moved)} cannot change.",
            fields={n: ["Fixed once the account has postings."] for n in moved},
        )
    if account.system_role and not account.is_active:
        raise ValidationFailed(
            f"Account {account} is used by the posting rules ({account.get_system_role_display()}) "
            "and must stay active.",
            fields={"is_active": ["Used by the posting rules."]},
        )
    _full_clean(account)
    account.save()
    changed = {n: [str(before[n]), str(getattr(account, n))] for n in EDITABLE if before[n] != getattr(account, n)}
    if changed:
        audit_record(
            actor=by,
            action="ledger.account_update",
            obj=account,
            summary=f"Account {account} changed: {', '.join(changed)}",
            data=changed,
        )
    return account


def account_code_for(role: SystemAccount | str) -> str:
    """The code of the account a posting rule uses (e.g. SystemAccount.RECEIVABLE -> '1100')."""
    code = LedgerAccount.objects.filter(system_role=role).values_list("code", flat=True).first()
    if code is None:
        raise ValidationFailed(f"No account in the chart has the role '{role}'.", fields={"account": ["Missing."]})
    return code
