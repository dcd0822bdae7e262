"""Legal entities: the companies of the firm (a German GmbH, a UK Ltd, a US Inc.), each with its own books, VAT
registration, bank accounts, invoice series and functional currency (DESIGN.md section 10).

Everything that books belongs to one entity: contracts, projects, consultants (the employing entity), invoices,
payments and journal entries. Rules live in psa.core.entities (validation, the default entity, the seller of a
document); the PSA_FIRM_* settings only seed the first entity.
"""

from django.db import models
from django.db.models import Q

from psa.core.countries import COUNTRIES
from psa.core.currency import CURRENCIES
from psa.core.history import tracked


@tracked(exclude=["logo"])  # the logo is a stored file, served only by its checked view
class LegalEntity(models.Model):
    code = models.CharField(
        max_length=10, unique=True, help_text="Short code shown in lists and filters, e.g. DE, UK, US."
    )
    series_prefix = models.CharField(
        max_length=6,
        blank=True,
        help_text="Put before each document series of this entity (GB gives GB-INV-2026-000001). Empty for one "
        "entity only: its numbers stay INV-2026-000001.",
    )
    name = models.CharField(max_length=200, help_text="The trading name people use.")
    legal_name = models.CharField(max_length=200, help_text="The registered name invoices carry (EN 16931 BT-27).")
    street = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, choices=COUNTRIES, help_text="ISO 3166-1 alpha-2 (BT-40).")
    vat_id = models.CharField("VAT id", max_length=20, blank=True, help_text="VAT identifier (BT-31).")
    tax_number = models.CharField(
        max_length=30, blank=True, help_text="National tax number, e.g. a German Steuernummer (BT-32)."
    )
    registration = models.CharField(
        max_length=200, blank=True, help_text="Company register entry, e.g. HRB 12345, Amtsgericht Berlin."
    )
    email = models.EmailField(blank=True, help_text="Contact e-mail printed on invoices (BT-43).")
    functional_currency = models.CharField(max_length=3, choices=CURRENCIES, help_text="The currency of its books.")
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        default=1, help_text="The month its fiscal year starts in (1 = January)."
    )
    logo = models.FileField(upload_to="entities/", blank=True, help_text="PNG or SVG printed on its documents.")
    invoice_footer = models.TextField(blank=True, help_text="Printed at the foot of every invoice.")
    is_active = models.BooleanField(default=True)
    books_start = models.DateField(
        null=True,
        blank=True,
        help_text="The cut-over of the entity's completed go-live: nothing of the entity may be dated before it "
        "(set when the go-live completes).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "legal entities"
        constraints = [
            models.CheckConstraint(
                condition=Q(fiscal_year_start_month__gte=1) & Q(fiscal_year_start_month__lte=12),
                name="core_entity_fiscal_month_range",
            ),
            models.UniqueConstraint(fields=["series_prefix"], name="core_entity_series_prefix_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    @property
    def address(self) -> str:
        return "\n".join(p for p in (self.street, f"{self.postcode} {self.city}".strip()) if p)


@tracked()
class EntityBankAccount(models.Model):
    """An account the entity is paid into: the default one for an invoice's currency is printed on it."""

    entity = models.ForeignKey(LegalEntity, on_delete=models.CASCADE, related_name="bank_accounts")
    iban = models.CharField("IBAN", max_length=34)
    bic = models.CharField("BIC", max_length=11, blank=True)
    bank_name = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCIES)
    is_default = models.BooleanField(default=False, help_text="Printed on invoices in its currency.")

    class Meta:
        ordering = ["entity", "-is_default", "currency", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "iban"], name="core_bankaccount_entity_iban_unique"),
            models.UniqueConstraint(
                fields=["entity", "currency"],
                condition=Q(is_default=True),
                name="core_bankaccount_one_default_per_currency",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.iban} ({self.currency})"
