"""Billing pages under billing/..., the client portal under portal/..., fragments under billing/fragments/."""

from django.urls import path

from billing.views import fragments, invoices, payables, payments, portal, runs, tax, vendor_payments

app_name = "billing"

urlpatterns = [
    path("billing/runs/", runs.run_list, name="run-list"),
    path("billing/runs/new/", runs.run_new, name="run-new"),
    path("billing/runs/<int:pk>/", runs.run_detail, name="run-detail"),
    path("billing/runs/<int:pk>/progress/", runs.run_progress_fragment, name="run-progress"),
    path("billing/runs/<int:pk>/start/", runs.run_start, name="run-start"),
    path("billing/runs/<int:pk>/retry/", runs.run_retry, name="run-retry"),
    path("billing/invoices/", invoices.invoice_list, name="invoice-list"),
    path("billing/invoices/issue/", invoices.invoice_bulk_issue, name="invoice-bulk-issue"),
    path("billing/invoices/<int:pk>/", invoices.invoice_detail, name="invoice-detail"),
    path("billing/invoices/<int:pk>/issue/", invoices.invoice_issue_view, name="invoice-issue"),
    path("billing/invoices/<int:pk>/cancel/", invoices.invoice_cancel_view, name="invoice-cancel"),
    path("billing/invoices/<int:pk>/credit/", invoices.invoice_credit, name="invoice-credit"),
    path("billing/invoices/<int:pk>/render/", invoices.invoice_render_view, name="invoice-render"),
    path("billing/invoices/<int:pk>/lines/<int:line_id>/explain/", invoices.line_explain, name="line-explain"),
    path("billing/invoices/<int:pk>/write-off/", invoices.write_off_request_view, name="write-off-request"),
    path("billing/invoices/<int:pk>/write-off/<int:write_off_id>/", invoices.write_off_decide, name="write-off-decide"),
    path("billing/payments/", payments.payment_list, name="payment-list"),
    path("billing/payments/new/", payments.payment_new, name="payment-new"),
    path("billing/payments/import/", payments.payment_import, name="payment-import"),
    path("billing/vendor-payments/", vendor_payments.vendor_payment_list, name="vendor-payment-list"),
    path("billing/vendor-payments/new/", vendor_payments.vendor_payment_new, name="vendor-payment-new"),
    path("billing/payment-runs/", vendor_payments.payment_run_list, name="payment-run-list"),
    path("billing/payment-runs/new/", vendor_payments.payment_run_new, name="payment-run-new"),
    path("billing/payment-runs/<int:pk>/", vendor_payments.payment_run_detail, name="payment-run-detail"),
    path("billing/payment-runs/<int:pk>/export/", vendor_payments.payment_run_export_view, name="payment-run-export"),
    path("billing/payment-runs/<int:pk>/book/", vendor_payments.payment_run_book_view, name="payment-run-book"),
    path("billing/payment-runs/<int:pk>/cancel/", vendor_payments.payment_run_cancel_view, name="payment-run-cancel"),
    path("billing/ar/", payments.ar_view, name="ar"),
    path("billing/ar/dunning/", payments.dunning_send_view, name="dunning-send"),
    path("billing/vat-return/", tax.vat_return_view, name="vat-return"),
    path("billing/vendor-bills/", payables.bill_list, name="vendor-bill-list"),
    path("billing/vendor-bills/new/", payables.bill_new, name="vendor-bill-new"),
    path("billing/vendor-bills/waiting/", payables.bill_queue, name="vendor-bill-queue"),
    path("billing/vendor-bills/<int:pk>/", payables.bill_detail, name="vendor-bill"),
    path("billing/vendor-bills/<int:pk>/edit/", payables.bill_edit, name="vendor-bill-edit"),
    path("billing/vendor-bills/<int:pk>/submit/", payables.bill_submit_view, name="vendor-bill-submit"),
    path("billing/vendor-bills/<int:pk>/approve/", payables.bill_approve_view, name="vendor-bill-approve"),
    path("billing/vendor-bills/<int:pk>/reject/", payables.bill_reject_view, name="vendor-bill-reject"),
    path("billing/vendor-bills/<int:pk>/pdf/", payables.bill_pdf_view, name="vendor-bill-pdf"),
    path("billing/ap/", payables.ap_aging_view, name="ap-aging"),
    path("billing/fragments/vendors/<int:vendor_id>/bills/", payables.vendor_bills_panel, name="vendor-bills-panel"),
    path("billing/fragments/accounts/<int:account_id>/ar/", fragments.account_ar_panel, name="account-ar"),
    path(
        "billing/fragments/projects/<int:project_id>/billing/",
        fragments.project_billing_panel,
        name="project-billing",
    ),
    path(
        "billing/fragments/opportunities/<int:opportunity_id>/invoiced/",
        fragments.opportunity_invoiced_panel,
        name="opportunity-invoiced",
    ),
    path("portal/", portal.portal_home, name="portal"),
    path("portal/invoices/<int:pk>/", portal.portal_invoice, name="portal-invoice"),
]
