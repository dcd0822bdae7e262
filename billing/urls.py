"""Billing pages under billing/..., the client portal under portal/..., fragments under billing/fragments/."""

from django.urls import path

from billing.views import fragments, invoices, payments, portal, runs, subcontract, tax

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
    path("billing/ar/", payments.ar_view, name="ar"),
    path("billing/ar/dunning/", payments.dunning_send_view, name="dunning-send"),
    path("billing/vat-return/", tax.vat_return_view, name="vat-return"),
    path("billing/subcontract-match/", subcontract.subcontract_match_view, name="subcontract-match"),
    path("billing/fragments/accounts/<int:account_id>/ar/", fragments.account_ar_panel, name="account-ar"),
    path(
        "billing/fragments/opportunities/<int:opportunity_id>/invoiced/",
        fragments.opportunity_invoiced_panel,
        name="opportunity-invoiced",
    ),
    path("portal/", portal.portal_home, name="portal"),
    path("portal/invoices/<int:pk>/", portal.portal_invoice, name="portal-invoice"),
]
