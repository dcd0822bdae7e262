"""The composition layer's own data: dismissed or snoozed exception-queue items, and the audit-trail registry.

Audit trail (django-simple-history): the master and financial models below get a historical table in this app
(`app="psa.web"`, app label `web`), so every history model and migration lives in psa/web and no other app's
migrations change.
A history row is written by every `save()` and `delete()` (services, forms, the admin); the user comes from
`simple_history.middleware.HistoryRequestMiddleware` (web and API requests; jobs and commands record no user).

Covered: what services change with save(): rate cards and their lines, contracts, contract lines and change
orders edited one by one, change-order and invoice status transitions, invoice issue (number, dates), payments
recorded, write-offs requested/decided, period close and reopen, ledger accounts, accounts, consultants, users,
their role groups (the m2m `groups`) and the groups.
Not covered (set-based writes bypass model signals): `QuerySet.update()` of an invoice's totals (tax), settlement
amounts (paid/credited/written off), journal-entry link and PDF fields, a payment's allocated total and journal
link, a rate card's default flag reset; `bulk_create` of contract lines at the hand-off, change-order lines,
periods (`periods_ensure`), accounts from a CSV import and the draft invoices a billing run writes in one
statement per contract (no "created" row; the run item records the draft, and later saves are recorded).
Those writes are traced by the services' own history tables (InvoiceHistory, ChangeOrderHistory, ...), the
allocation and write-off rows, and the audit log (psa.core.audit).
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone
from simple_history import register

from billing.models import Invoice, Payment, WriteOff
from crm.models import Account
from ledger.models import AccountingPeriod, LedgerAccount
from projects.models import ChangeOrder, ChangeOrderLine, Consultant, Contract, ContractLine, RateCard, RateCardLine

# model -> options; "users and roles" are the user (with its groups = roles) and the role groups themselves.
AUDITED = {
    RateCard: {},
    RateCardLine: {},
    Contract: {},
    ContractLine: {},
    ChangeOrder: {},
    ChangeOrderLine: {},
    Invoice: {"excluded_fields": ["seller"]},
    Payment: {},
    WriteOff: {},
    AccountingPeriod: {},
    LedgerAccount: {},
    Account: {},
    Consultant: {},
    get_user_model(): {"excluded_fields": ["password", "last_login"], "m2m_fields": ["groups"]},
    Group: {},
}

# `history` is taken on several models (their status-history tables), so the manager is `audit_history`.
HISTORY_MANAGER = "audit_history"
for _model, _options in AUDITED.items():
    if not hasattr(_model, HISTORY_MANAGER):
        register(_model, app="psa.web", manager_name=HISTORY_MANAGER, **_options)


class DismissalAction(models.TextChoices):
    DISMISS = "dismiss", "Dismissed"
    SNOOZE = "snooze", "Snoozed"


class ExceptionDismissal(models.Model):
    """A person's decision to hide one exception-queue item, with the reason.

    `fingerprint` is a digest of the item's facts when it was dismissed: when the facts change (more hours,
    a larger amount, a later projected date), the fingerprint no longer matches and the item comes back.
    A snooze hides it until `until` (inclusive) whatever happens. One decision per item; a new one replaces it.
    """

    rule = models.CharField(max_length=40)
    item_key = models.CharField(max_length=100, help_text="The object the item is about, e.g. 'time_entry:42'.")
    fingerprint = models.CharField(max_length=64)
    action = models.CharField(max_length=8, choices=DismissalAction.choices)
    until = models.DateField(null=True, blank=True, help_text="Snoozed through this day.")
    reason = models.CharField(max_length=300)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "item_key"], name="web_dismissal_one_per_item"),
            models.CheckConstraint(
                condition=models.Q(action__in=[a.value for a in DismissalAction]), name="web_dismissal_action_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(action="snooze") | models.Q(until__isnull=False), name="web_snooze_has_until"
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="web_dismissal_reason_required"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.item_key} {self.action}"


class DemoObject(models.Model):
    """The registry of what `seed_demo` created: one row per demo account, deal, project, contract and manual
    journal entry (psa.web.demo). The seed works only on a database holding nothing outside this registry, so it
    never changes, bills, recognises or closes anything of a firm's own data."""

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["content_type", "object_id"], name="web_demo_object_once"),
        ]

    def __str__(self) -> str:
        return f"demo {self.content_type_id}:{self.object_id}"
