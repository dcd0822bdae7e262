"""Accounts (client and billing entity), vendors, contacts and credit holds."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from crm.choices import (
    COUNTRIES,
    CURRENCIES,
    DEFAULT_CURRENCY,
    BuyerType,
    CreditHoldSource,
)
from psa.core.countries import bic_error, iban_error, vat_id_error
from psa.core.history import tracked
from psa.core.money import AMOUNT_FIELD, RATE_FIELD


@tracked()
class Account(models.Model):
    """A client and its billing entity. It invoices in one currency with one payment term.

    `legal_name`, `billing_address` and `billing_email` make it a complete billing entity; a deal on an account
    without them cannot be won (crm.services.opportunity_win lists what is missing).
    """

    name = models.CharField(max_length=200, help_text="The name people use.")
    legal_name = models.CharField(max_length=200, blank=True, help_text="The registered name invoices carry.")
    tax_id = models.CharField(
        "tax id",
        max_length=50,
        blank=True,
        help_text="VAT id (EU: with the country prefix, e.g. FR40303265045) or other tax registration number.",
    )
    country = models.CharField(
        max_length=2,
        choices=COUNTRIES,
        blank=True,
        help_text="Country of the billing entity, ISO 3166-1 alpha-2 (EN 16931 BT-55); decides the VAT rules.",
    )
    buyer_type = models.CharField(
        max_length=10,
        choices=BuyerType.choices,
        default=BuyerType.BUSINESS,
        help_text="Business (B2B) or consumer (B2C): decides the VAT rules.",
    )
    domain = models.CharField(max_length=200, blank=True, help_text="Web domain, e.g. example.com.")
    billing_address = models.TextField(blank=True)
    billing_email = models.EmailField(blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    credit_limit = models.DecimalField(
        **AMOUNT_FIELD,
        null=True,
        blank=True,
        help_text="Open receivables above this (in the account's currency) put the account on credit hold.",
    )
    entity = models.ForeignKey(
        "core.LegalEntity",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The legal entity that contracts with this client by default (else the sales owner's).",
    )
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
            models.CheckConstraint(condition=Q(buyer_type__in=BuyerType.values), name="crm_account_buyer_type_valid"),
            models.CheckConstraint(
                condition=Q(credit_limit__isnull=True) | Q(credit_limit__gte=0), name="crm_account_credit_limit_nonneg"
            ),
        ]
        indexes = [models.Index(fields=["name"], name="crm_account_name_idx")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The VAT id must be valid for the account's country (python-stdnum): in the EU it carries the country's
        prefix and its check digits."""
        error = vat_id_error(self.country, self.tax_id)
        if error:
            raise ValidationError({"tax_id": error})

    @property
    def is_business(self) -> bool:
        return self.buyer_type == BuyerType.BUSINESS

    def billing_entity_missing(self) -> list[str]:
        """The billing-entity fields still empty (an invoice needs all of them)."""
        return [f for f in ("legal_name", "billing_address", "billing_email") if not getattr(self, f)]


@tracked()
class Vendor(models.Model):
    """A supplier the firm buys from: subcontractors and other direct costs. Its bills are entered in its
    currency and paid to its bank account (billing.services.payables); a subcontracting vendor supplies
    consultants whose cost rate is the vendor's rate (projects.models.Consultant.vendor).

    Vendors, like clients, are shared by every legal entity; a bill belongs to one entity."""

    name = models.CharField(max_length=200, help_text="The name people use.")
    legal_name = models.CharField(max_length=200, help_text="The registered name on the vendor's bills.")
    tax_id = models.CharField(
        "tax id",
        max_length=50,
        blank=True,
        help_text="VAT id (EU: with the country prefix) or other tax registration number.",
    )
    country = models.CharField(
        max_length=2, choices=COUNTRIES, help_text="Country of the vendor: decides reverse charge on its bills."
    )
    street = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    iban = models.CharField("IBAN", max_length=34, blank=True, help_text="Where payments to the vendor go.")
    bic = models.CharField("BIC", max_length=11, blank=True)
    bank_name = models.CharField(max_length=200, blank=True)
    is_subcontractor = models.BooleanField(
        default=False, help_text="Supplies people who work on projects (their hours are matched to its bills)."
    )
    hourly_rate = models.DecimalField(
        **RATE_FIELD,
        null=True,
        blank=True,
        help_text="The agreed hourly rate for its people, in the vendor's currency (their cost rate).",
    )
    external_id = models.CharField(
        max_length=100, null=True, blank=True, unique=True, help_text="Id in the accounting system's export."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(payment_terms_days__lte=365), name="crm_vendor_terms_max_365"),
            models.CheckConstraint(
                condition=Q(hourly_rate__isnull=True) | Q(hourly_rate__gte=0), name="crm_vendor_rate_nonneg"
            ),
        ]
        indexes = [models.Index(fields=["name"], name="crm_vendor_name_idx")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The VAT id must be valid for the vendor's country, and the IBAN and BIC well-formed (python-stdnum)."""
        errors = {}
        if error := vat_id_error(self.country, self.tax_id):
            errors["tax_id"] = error
        if self.iban and (error := iban_error(self.iban)):
            errors["iban"] = error
        if self.bic and (error := bic_error(self.bic)):
            errors["bic"] = error
        if errors:
            raise ValidationError(errors)


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


class CreditHold(models.Model):
    """An account on credit hold: while a hold is active (not released) no new deal of the account can be won
    without finance's release of the hold or approval of that deal; billing still invoices but flags it.
    At most one active hold per account (partial unique index). Placed by finance or by the daily rule."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="credit_holds")
    source = models.CharField(max_length=8, choices=CreditHoldSource.choices, default=CreditHoldSource.MANUAL)
    reason = models.CharField(max_length=300)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    placed_at = models.DateTimeField(default=timezone.now)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    release_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(released_at__isnull=True), name="crm_credithold_one_active"
            ),
            models.CheckConstraint(condition=Q(source__in=CreditHoldSource.values), name="crm_credithold_source_valid"),
            models.CheckConstraint(condition=~Q(reason=""), name="crm_credithold_has_reason"),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | Q(released_at__gte=models.F("placed_at")),
                name="crm_credithold_release_after_place",
            ),
        ]

    def __str__(self) -> str:
        return f"Credit hold on {self.account_id} ({'active' if self.is_active else 'released'})"

    @property
    def is_active(self) -> bool:
        return self.released_at is None
