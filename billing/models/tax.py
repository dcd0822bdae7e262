"""Tax categories and the category an account is invoiced under."""

from django.db import models
from django.db.models import Q

from billing.choices import TaxKind
from billing.models._common import in_choices


class TaxCategory(models.Model):
    """A VAT category with its rate (percent). Zero-rated, exempt and reverse-charge categories carry 0 %
    and, for the e-invoice, an exemption reason printed on the document."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=2, choices=TaxKind.choices, default=TaxKind.STANDARD)
    rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="Percent, e.g. 20.00.")
    exemption_reason = models.CharField(max_length=200, blank=True)
    is_default = models.BooleanField(default=False, help_text="Used for accounts without their own category.")
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


class AccountTax(models.Model):
    """The tax category an account is invoiced under (default category when absent)."""

    account = models.OneToOneField("crm.Account", on_delete=models.CASCADE, related_name="billing_tax")
    tax_category = models.ForeignKey(TaxCategory, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "account tax category"

    def __str__(self) -> str:
        return f"{self.account_id}: {self.tax_category}"
