"""CRM data: accounts (client and billing entity), contacts, and the pipeline.

Single-row rules live here as constraints; every write goes through crm.services.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.choices import CURRENCIES, DEFAULT_CURRENCY


class Account(models.Model):
    """A client and its billing entity. It invoices in one currency with one payment term.

    `legal_name`, `billing_address` and `billing_email` make it a complete billing entity; a deal on an account
    without them cannot be won (crm.services.opportunity_win lists what is missing).
    """

    name = models.CharField(max_length=200, help_text="The name people use.")
    legal_name = models.CharField(max_length=200, blank=True, help_text="The registered name invoices carry.")
    tax_id = models.CharField("tax id", max_length=50, blank=True, help_text="VAT or other tax registration number.")
    domain = models.CharField(max_length=200, blank=True, help_text="Web domain, e.g. example.com.")
    billing_address = models.TextField(blank=True)
    billing_email = models.EmailField(blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", help_text="Group parent."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="crm_accounts"
    )
    external_id = models.CharField(
        max_length=100, null=True, blank=True, unique=True, help_text="Id in the CRM export."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(payment_terms_days__lte=365), name="crm_account_terms_max_365"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="crm_account_not_own_parent"),
        ]
        indexes = [models.Index(fields=["name"], name="crm_account_name_idx")]

    def __str__(self) -> str:
        return self.name

    def billing_entity_missing(self) -> list[str]:
        """The billing-entity fields still empty (an invoice needs all of them)."""
        return [f for f in ("legal_name", "billing_address", "billing_email") if not getattr(self, f)]


class Contact(models.Model):
    """A person at an account. With `user` and `portal_access` the person signs in to the client portal and
    sees that account's documents only (crm.selectors.account_for_client_user)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    job_title = models.CharField(max_length=100, blank=True)
    is_billing_contact = models.BooleanField(default=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="crm_contact",
        help_text="The login of this person in the client portal.",
    )
    portal_access = models.BooleanField(default=False, help_text="May sign in to the client portal.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(portal_access=False) | Q(user__isnull=False), name="crm_contact_portal_needs_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
