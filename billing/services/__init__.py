"""Every billing write. Invoices: invoice_issue, invoice_cancel, credit_note_create; runs: billing_run_create,
billing_run_preview, billing_run_start, billing_run_execute, billing_run_retry,
billing_runs_resume_stalled; payments: payment_record,
payment_allocate, payments_import_csv, write_off_request/approve/reject; billing schedules: billing_schedule_generate,
billing_schedules_generate_for_contract (revenue schedules are the ledger's)."""

from billing.services.documents import invoice_render
from billing.services.dunning import dunning_due, dunning_send
from billing.services.invoices import (
    credit_note_create,
    invoice_cancel,
    invoice_draft_for_contract,
    invoice_issue,
    invoices_issue,
    settle_status,
)
from billing.services.payments import (
    payment_allocate,
    payment_record,
    payments_import_csv,
    write_off_approve,
    write_off_reject,
    write_off_request,
)
from billing.services.runs import (
    billing_run_create,
    billing_run_execute,
    billing_run_preview,
    billing_run_retry,
    billing_run_start,
    billing_runs_resume_stalled,
    run_progress,
)
from billing.services.sources import billing_schedule_generate, billing_schedules_generate_for_contract

__all__ = [
    "billing_run_create",
    "billing_run_execute",
    "billing_run_preview",
    "billing_run_retry",
    "billing_run_start",
    "billing_runs_resume_stalled",
    "billing_schedule_generate",
    "billing_schedules_generate_for_contract",
    "credit_note_create",
    "dunning_due",
    "dunning_send",
    "invoice_cancel",
    "invoice_draft_for_contract",
    "invoice_issue",
    "invoice_render",
    "invoices_issue",
    "payment_allocate",
    "payment_record",
    "payments_import_csv",
    "run_progress",
    "settle_status",
    "write_off_approve",
    "write_off_reject",
    "write_off_request",
]
