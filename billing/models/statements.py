"""Statements of account: the PDF a client downloads from the portal (open invoices, payments, balance, aging)."""

from django.conf import settings
from django.db import models


class AccountStatement(models.Model):
    """One rendered statement of an account as of a date. Stored like an invoice PDF and served only through the
    checked file view (psa/web/files.py): a client reads its own account's statements, finance all."""

    account = models.ForeignKey("crm.Account", on_delete=models.PROTECT, related_name="statements")
    as_of = models.DateField()
    pdf = models.FileField(upload_to="statements/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "as_of"], name="billing_statement_account_idx")]

    def __str__(self) -> str:
        return f"Statement of {self.account_id} as of {self.as_of}"
