from billing.api.views import ArAgingViewSet, BillingRunViewSet, InvoiceViewSet, PaymentViewSet

routes = [
    ("billing/runs", BillingRunViewSet, "api-billing-run"),
    ("billing/invoices", InvoiceViewSet, "api-billing-invoice"),
    ("billing/payments", PaymentViewSet, "api-billing-payment"),
    ("billing/ar-aging", ArAgingViewSet, "api-billing-ar-aging"),
]
