"""Sending an issued document to the client by hand, and the PDF preview of a draft.

`invoice_send` e-mails the stored PDF (exactly as rendered at issue) through the outbox to the account's billing
contact, and records the send on the invoice (an InvoiceDelivery row and a history line). The send form carries an
idempotency key: the same key twice is one send (a double click, a reload of the POST), as the outbox dedupes by it.

`invoice_preview_pdf` renders a draft through the same template as the issued PDF, marked DRAFT. It reads only:
no number is drawn, nothing is posted, nothing is stored.
"""

from django.contrib.auth.models import User
from django.db import transaction

from billing.choices import InvoiceStatus
from billing.models import Invoice, InvoiceDelivery
from billing.services._common import history, locked, require_finance
from billing.services.documents import invoice_html, invoice_pdf_stored, pdf_from_html
from crm.models import Contact
from psa.core.exceptions import ConflictError, IdempotencyConflict, ValidationFailed
from psa.core.outbox import outbox_enqueue

SENDABLE = (
    InvoiceStatus.ISSUED,
    InvoiceStatus.PARTLY_CREDITED,
    InvoiceStatus.PARTLY_PAID,
    InvoiceStatus.PAID,
    InvoiceStatus.CREDITED,
    InvoiceStatus.WRITTEN_OFF,
)


def invoice_billing_email(invoice: Invoice) -> str:
    """Where the document goes: the account's billing e-mail today, else its billing contact's. Not the address
    snapshotted at drafting: a client who removed it asked us to stop using it."""
    if invoice.account.billing_email:
        return invoice.account.billing_email
    contact_email = (
        Contact.objects.filter(account_id=invoice.account_id, is_billing_contact=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .first()
    )
    return contact_email or ""


@transaction.atomic
def invoice_send(*, invoice_id: int, by: User, key: str) -> InvoiceDelivery:
    """E-mail an issued document's PDF to the billing contact, once per `key`. Refuses a draft or a cancelled
    document (nothing legal to send), an account without a billing e-mail, and a PDF that could not be rendered."""
    require_finance(by)
    if not key or len(key) > 64:
        raise ValidationFailed(
            "The send form has no valid key; reload the page and send again.", fields={"key": "Invalid."}
        )
    invoice = locked(Invoice, invoice_id, "invoice")
    done = InvoiceDelivery.objects.filter(key=key).first()
    if done is not None:
        if done.invoice_id != invoice.pk:
            raise IdempotencyConflict("This send key was already used for another document.")
        return done
    label = "credit note" if invoice.is_credit_note else "invoice"
    if invoice.status not in SENDABLE:
        raise ConflictError(
            f"A {invoice.get_status_display().lower()} {label} cannot be sent: issue it first, then send it.",
            code="not_issued",
        )
    to = invoice_billing_email(invoice)
    if not to:
        raise ValidationFailed(
            f"{invoice.account} has no billing e-mail: add one on the account (or mark a contact with an e-mail as "
            "its billing contact), then send again.",
            fields={"billing_email": "Required to send the document."},
        )
    invoice_pdf_stored(invoice)  # renders it now if the job has not yet, refuses an invalid e-invoice
    invoice.refresh_from_db(fields=["pdf", "pdf_sha256"])
    title = f"{label.capitalize()} {invoice.number}"
    seller = invoice.seller.get("name", "") or invoice.seller.get("legal_name", "")
    message = outbox_enqueue(
        kind="email",
        dedupe_key=f"billing:invoice:{invoice.pk}:send:{key}",
        payload={
            "subject": f"{title} from {seller}".strip(),
            "body": (
                f"Dear {invoice.buyer_name},\n\nplease find attached {label} {invoice.number} of "
                f"{invoice.issue_date:%d %B %Y} for {invoice.gross_total:,.2f} {invoice.currency}"
                + (f", due on {invoice.due_date:%d %B %Y}" if not invoice.is_credit_note else "")
                + f".\n\nKind regards,\n{seller}\n"
            ),
            "to": [to],
            "attachments": [
                {"path": invoice.pdf.name, "filename": f"{invoice.number}.pdf", "mimetype": "application/pdf"}
            ],
        },
    )
    delivery = InvoiceDelivery.objects.create(invoice=invoice, key=key, sent_by=by, to=to, outbox_message=message.id)
    history(invoice, by=by, from_status=invoice.status, note=f"Sent to {to}")
    return delivery


def invoice_preview_pdf(invoice: Invoice) -> bytes:
    """The PDF of a draft as it would look issued, marked DRAFT, without a number. Writes nothing."""
    if invoice.status != InvoiceStatus.DRAFT:
        raise ConflictError("Only a draft has a preview; an issued document has its stored PDF.", code="not_draft")
    return pdf_from_html(invoice_html(invoice))
