"""Accounts payable writes: vendor bills entered (bills), approved and posted (approval, posting).

Services: bill_create, bill_update, bill_attach_pdf, bill_submit, bill_approve_pm, bill_approve (bill_approve_as
picks the one for the user's role), bill_reject;
the tax treatment of a purchase is purchase_tax_decide. Posting source key: "vendor-bill:<id>". Payments to
vendors and payment runs are billing.services.vendor_payments.
"""

from billing.services.payables.approval import (
    ProjectApproval,
    approval_threshold,
    bill_approve,
    bill_approve_as,
    bill_approve_pm,
    bill_reject,
    bill_submit,
    project_approvals,
)
from billing.services.payables.bills import (
    PDF_LIMIT,
    TaxDecision,
    bill_attach_pdf,
    bill_create,
    bill_update,
    purchase_tax_decide,
    vendor_bill_pdf_file,
)
from billing.services.payables.posting import source_key, vendor_bill_spec

__all__ = [
    "PDF_LIMIT",
    "ProjectApproval",
    "TaxDecision",
    "approval_threshold",
    "bill_approve",
    "bill_approve_as",
    "bill_approve_pm",
    "bill_attach_pdf",
    "bill_create",
    "bill_reject",
    "bill_submit",
    "bill_update",
    "project_approvals",
    "purchase_tax_decide",
    "source_key",
    "vendor_bill_pdf_file",
    "vendor_bill_spec",
]
