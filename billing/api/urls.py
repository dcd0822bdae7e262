from billing.api.cash import CashForecastViewSet, CollectionsViewSet
from billing.api.disputes import DisputeViewSet
from billing.api.golive import GoLiveViewSet
from billing.api.payables import ApAgingViewSet as ApPayablesAgingViewSet
from billing.api.payables import VendorBillViewSet
from billing.api.retainage import RetainageViewSet, StatementViewSet
from billing.api.subcontract import SubcontractMatchViewSet
from billing.api.vendor_payments import PaymentRunViewSet, VendorPaymentViewSet
from billing.api.views import (
    ArAgingViewSet,
    BillingRunViewSet,
    InvoiceViewSet,
    PaymentImportViewSet,
    PaymentViewSet,
    VatReturnViewSet,
)

routes = [
    ("billing/runs", BillingRunViewSet, "api-billing-run"),
    ("billing/invoices", InvoiceViewSet, "api-billing-invoice"),
    ("billing/payments", PaymentViewSet, "api-billing-payment"),
    ("billing/payment-imports", PaymentImportViewSet, "api-billing-payment-import"),
    ("billing/ar-aging", ArAgingViewSet, "api-billing-ar-aging"),
    ("billing/disputes", DisputeViewSet, "api-billing-dispute"),
    ("billing/vat-return", VatReturnViewSet, "api-billing-vat-return"),
    ("billing/collections", CollectionsViewSet, "api-billing-collections"),
    ("billing/cash-forecast", CashForecastViewSet, "api-billing-cash-forecast"),
    ("vendor-bills", VendorBillViewSet, "api-vendor-bill"),
    ("billing/ap-aging", ApPayablesAgingViewSet, "api-billing-ap-aging"),
    ("vendor-payments", VendorPaymentViewSet, "api-vendor-payment"),
    ("payment-runs", PaymentRunViewSet, "api-payment-run"),
    ("billing/subcontract-match", SubcontractMatchViewSet, "api-billing-subcontract-match"),
    ("billing/retainage", RetainageViewSet, "api-billing-retainage"),
    ("billing/statements", StatementViewSet, "api-billing-statement"),
    ("golive", GoLiveViewSet, "api-golive"),
]
