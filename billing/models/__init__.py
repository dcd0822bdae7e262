"""Billing data: tax categories, billing schedules, runs, invoices and credit notes, source links, payments.

Single-row rules are check constraints; cross-row rules that PostgreSQL can hold are enforced there too
(migration 0002): the partial unique index that bills a source at most once while not released, and the
trigger that keeps issued documents immutable. Every write goes through billing.services.
"""

from billing.models.cash import CashForecastLine, CashForecastSnapshot
from billing.models.deliveries import InvoiceDelivery
from billing.models.disputes import Dispute, DisputeLine
from billing.models.golive import GoLive, GoLiveAccountMap, GoLiveBalance, GoLiveImport, GoLiveObject
from billing.models.invoices import (
    CapWriteDown,
    Invoice,
    InvoiceHistory,
    InvoiceLine,
    InvoiceTax,
    RetainageRelease,
    SourceLink,
    SourceRelease,
)
from billing.models.payables import (
    PaymentRun,
    VendorBill,
    VendorBillApproval,
    VendorBillLine,
    VendorPayment,
    VendorPaymentAllocation,
)
from billing.models.payments import DunningReminder, Payment, PaymentAllocation, WriteOff
from billing.models.runs import BillingRun, BillingRunItem
from billing.models.schedules import ScheduleEvent
from billing.models.statements import AccountStatement
from billing.models.tax import AccountTax, TaxCategory, VatRate
from billing.models.time_summary import TimeSummary, TimeSummaryRefresh

__all__ = [
    "AccountStatement",
    "AccountTax",
    "BillingRun",
    "BillingRunItem",
    "CapWriteDown",
    "CashForecastLine",
    "CashForecastSnapshot",
    "Dispute",
    "DisputeLine",
    "DunningReminder",
    "GoLive",
    "GoLiveAccountMap",
    "GoLiveBalance",
    "GoLiveImport",
    "GoLiveObject",
    "Invoice",
    "InvoiceDelivery",
    "InvoiceHistory",
    "InvoiceLine",
    "InvoiceTax",
    "Payment",
    "PaymentAllocation",
    "PaymentRun",
    "RetainageRelease",
    "ScheduleEvent",
    "SourceLink",
    "SourceRelease",
    "TaxCategory",
    "TimeSummary",
    "TimeSummaryRefresh",
    "VatRate",
    "VendorBill",
    "VendorBillApproval",
    "VendorBillLine",
    "VendorPayment",
    "VendorPaymentAllocation",
    "WriteOff",
]
