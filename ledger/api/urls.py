from ledger.api import cost, intercompany, rates, revaluation, revenue, views

routes = [
    ("ledger/accounts", views.LedgerAccountViewSet, "ledger-account"),
    ("ledger/periods", views.AccountingPeriodViewSet, "ledger-period"),
    ("ledger/entries", views.JournalEntryViewSet, "ledger-entry"),
    ("ledger/lines", views.JournalLineViewSet, "ledger-line"),
    ("ledger/reports", views.LedgerReportViewSet, "ledger-report"),
    ("ledger/revenue-schedules", revenue.RevenueScheduleViewSet, "ledger-revenue-schedule"),
    ("ledger/estimates", revenue.ProjectEstimateViewSet, "ledger-estimate"),
    ("ledger/recognition-runs", revenue.RecognitionRunViewSet, "ledger-recognition-run"),
    ("ledger/revaluations", revaluation.RevaluationRunViewSet, "ledger-revaluation"),
    ("ledger/cost-runs", cost.CostRunViewSet, "ledger-cost-run"),
    ("ledger/revenue-reports", revenue.RevenueReportViewSet, "ledger-revenue-report"),
    ("ledger/transfer-rates", intercompany.TransferRateViewSet, "ledger-transfer-rate"),
    ("ledger/intercompany-runs", intercompany.IntercompanyRunViewSet, "ledger-intercompany-run"),
    ("ledger/intercompany", intercompany.IntercompanyReportViewSet, "ledger-intercompany"),
    ("exchange-rates", rates.ExchangeRateViewSet, "exchange-rate"),
]
