"""VAT master data: tax categories (a kind with its rate and exemption reason), dated VAT rates per country, and
an account's explicit tax override.

Which category an invoice carries is decided by the rules in billing.services.vat (seller and buyer country,
the buyer's VAT registration, B2B or B2C, the tax point), not by a default: the categories are created on demand
per (kind, rate), e.g. "S19" for a 19 % standard rate, "AE" for reverse charge, "O" for not subject. Invoice
lines and tax rows keep the kind, rate and exemption reason as snapshots, so editing a rate never changes an
issued invoice.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.choices import TaxKind, VatRateKind
from billing.models._common import in_choices
from psa.core.countries import COUNTRIES
from psa.core.history import tracked


class TaxCategory(models.Model):
    """A VAT category with its rate (percent). Zero-rated, exempt, reverse-charge and not-subject categories carry
    0 % and, for the e-invoice, an exemption reason (BT-120) and its VATEX code (BT-121)."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=2, choices=TaxKind.choices, default=TaxKind.STANDARD)
    rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="Percent, e.g. 20.00.")
    exemption_reason = models.CharField(max_length=200, blank=True)
    exemption_code = models.CharField(
        max_length=30,
        blank=True,
        db_default="",
        help_text="VATEX code of the exemption reason (EN 16931 BT-121), e.g. VATEX-EU-AE.",
    )
    is_default = models.BooleanField(
        default=False, help_text="Kept for older data; invoices take their category from the VAT rules."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "tax categories"
        constraints = [
            models.CheckConstraint(condition=in_choices("kind", TaxKind), name="billing_taxcat_kind_valid"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=100), name="billing_taxcat_rate_range"),
            models.CheckConstraint(
                condition=Q(kind=TaxKind.STANDARD) | Q(rate=0), name="billing_taxcat_only_standard_has_rate"
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="billing_taxcat_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rate}%)" if self.kind == TaxKind.STANDARD else self.name


@tracked()
class VatRate(models.Model):
    """A country's VAT rate of one kind from a date on (until the next row of the same country and kind). The
    rate of a tax point is the row with the latest `valid_from` on or before it; edits are kept in the history."""

    country = models.CharField(max_length=2, choices=COUNTRIES, help_text="ISO 3166-1 alpha-2, e.g. DE.")
    kind = models.CharField(max_length=10, choices=VatRateKind.choices, default=VatRateKind.STANDARD)
    rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="Percent, e.g. 19.00.")
    valid_from = models.DateField()
    note = models.CharField(max_length=200, blank=True, help_text="Source or reason, e.g. the law that set it.")

    class Meta:
        ordering = ["country", "kind", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["country", "kind", "valid_from"], name="billing_vatrate_unique_from"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lt=100), name="billing_vatrate_rate_range"),
            models.CheckConstraint(condition=in_choices("kind", VatRateKind), name="billing_vatrate_kind_valid"),
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="billing_vatrate_country_code"),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.get_kind_display().lower()} {self.rate}% from {self.valid_from}"


@tracked()
class AccountTax(models.Model):
    """An explicit tax override of one account: every invoice of the account carries `tax_category` instead of
    the category the VAT rules would determine, with the `reason` stated (required, shown as the invoice's "why
    this VAT"). Set through billing.services.vat.account_tax_override_set (audited) or the admin, which calls it."""

    account = models.OneToOneField("crm.Account", on_delete=models.CASCADE, related_name="billing_tax")
    tax_category = models.ForeignKey(TaxCategory, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300, help_text="Why this account does not follow the VAT rules.")
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "account tax override"
        constraints = [
            models.CheckConstraint(condition=Q(reason__regex=r"\S"), name="billing_accounttax_reason_given"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.tax_category}"
