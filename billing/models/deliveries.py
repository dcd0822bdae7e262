"""Invoices sent to the client by hand ("Send to client" on the invoice page): who sent which document, when and
to whom, and the outbox message that carries it. One row per send; the key makes a double click one send."""

from django.conf import settings
from django.db import models

from billing.models.invoices import Invoice


class InvoiceDelivery(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="deliveries")
    key = models.CharField(
        max_length=64, unique=True, help_text="The send form's idempotency key: the same key is the same send."
    )
    sent_at = models.DateTimeField(auto_now_add=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    to = models.EmailField()
    outbox_message = models.UUIDField()

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name_plural = "invoice deliveries"

    def __str__(self) -> str:
        return f"{self.invoice} to {self.to}"
