"""The one place that maps each kind of stored file to the permission check of its page (DESIGN.md
invariant 14). A stored file is reached only through `/files/<kind>/<pk>/` (pages, session sign-in) or
`/api/v1/files/<kind>/<pk>/` (the API, session or token); both look the object up in the same scoped
queryset its page uses and answer 404 to anyone outside it, then send the file as psa.core.files decides.

A new kind of file (a vendor bill's PDF) is one row here: the model and field it lives in, the scoped
queryset of who may read the object, and how its file is downloaded. tests/web/test_stored_files.py fails
for any FileField that has no row.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import Http404

from billing.choices import InvoiceStatus
from billing.models import AccountStatement, Invoice, PaymentRun, VendorBill
from billing.selectors import invoices_for, statements_for
from billing.selectors.payables import bills_for
from billing.selectors.vendor_payments import payment_runs_for
from billing.services.documents import invoice_pdf_file
from billing.services.payables import vendor_bill_pdf_file
from billing.services.payment_runs import payment_run_file
from billing.services.statements import statement_file
from projects.models import Expense
from projects.selectors import expenses_for
from projects.services.expenses import receipt_file
from psa.core.entities import entities_for
from psa.core.files import StoredFile
from psa.core.logos import logo_file
from psa.core.models import LegalEntity


@dataclass(frozen=True)
class FileKind:
    model: type[models.Model]
    field: str
    # The objects `user` may read: the same selector the object's page and API use.
    visible: Callable[..., models.QuerySet]
    file: Callable[[Any], StoredFile]  # takes an instance of `model`


def _issued_invoices(user) -> models.QuerySet:
    return invoices_for(user).filter(number__isnull=False).exclude(status=InvoiceStatus.CANCELLED)


def _with_receipt(user) -> models.QuerySet:
    return expenses_for(user).exclude(receipt="")


def _bills_with_pdf(user) -> models.QuerySet:
    return bills_for(user).exclude(pdf="")


def _exported_runs(user) -> models.QuerySet:
    return payment_runs_for(user).exclude(file="")


def _rendered_statements(user) -> models.QuerySet:
    return statements_for(user).exclude(pdf="")


def _entities_with_logo(user) -> models.QuerySet:
    return entities_for(user).exclude(logo="")


FILE_KINDS: dict[str, FileKind] = {
    "invoice-pdf": FileKind(Invoice, "pdf", _issued_invoices, invoice_pdf_file),
    "expense-receipt": FileKind(Expense, "receipt", _with_receipt, receipt_file),
    "entity-logo": FileKind(LegalEntity, "logo", _entities_with_logo, logo_file),
    "vendor-bill-pdf": FileKind(VendorBill, "pdf", _bills_with_pdf, vendor_bill_pdf_file),
    "payment-run-file": FileKind(PaymentRun, "file", _exported_runs, payment_run_file),
    "account-statement": FileKind(AccountStatement, "pdf", _rendered_statements, statement_file),
}


def stored_file_for(*, user, kind: str, pk: int) -> StoredFile:
    """The file of object `pk` of `kind` when `user` may read that object; Http404 otherwise (an unknown kind,
    an object outside the user's scope and one without a file look the same)."""
    spec = FILE_KINDS.get(kind)
    if spec is None or not user.is_authenticated:
        raise Http404("No such file.")
    obj = spec.visible(user).filter(pk=pk).first()
    if obj is None:
        raise Http404("No such file.")
    return spec.file(obj)
