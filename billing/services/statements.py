"""Statements of account as PDF (WeasyPrint, as the invoices), stored and served through the checked file view."""

import hashlib
from datetime import date

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.template.loader import render_to_string

from billing.models import AccountStatement, Invoice
from billing.selectors.statements import account_statement
from billing.services.documents import pdf_from_html
from crm.models import Account
from psa.core.entities import entity_default, seller_snapshot
from psa.core.files import StoredFile
from psa.core.logos import logo_data_uri


def statement_html(*, account: Account, as_of: date) -> str:
    statement = account_statement(account=account, as_of=as_of)
    # The seller that bills the account (its latest invoice's entity), else the default entity.
    latest = Invoice.objects.filter(account=account, number__isnull=False).order_by("-issue_date", "-id").first()
    seller = seller_snapshot(latest.entity if latest else entity_default(), account.currency)
    return render_to_string(
        "billing/pdf/statement.html",
        {"s": statement, "seller": seller, "logo": logo_data_uri(seller.get("logo", ""))},
    )


def statement_create(*, account: Account, as_of: date, by: User | None) -> AccountStatement:
    """Render the statement of `account` as of `as_of` and store it (the caller checked who may ask for it:
    a client only for its own account)."""
    pdf = pdf_from_html(statement_html(account=account, as_of=as_of))
    name = default_storage.save(f"statements/{as_of:%Y}/statement-{account.pk}-{as_of:%Y%m%d}.pdf", ContentFile(pdf))
    return AccountStatement.objects.create(
        account=account,
        as_of=as_of,
        pdf=name,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )


def statement_file(statement: AccountStatement) -> StoredFile:
    return StoredFile(
        name=statement.pdf.name or "",
        filename=f"statement-{statement.as_of:%Y-%m-%d}.pdf",
        content_type="application/pdf",
        sha256=statement.pdf_sha256,
    )
