from ledger.api import views

routes = [
    ("ledger/accounts", views.LedgerAccountViewSet, "ledger-account"),
    ("ledger/periods", views.AccountingPeriodViewSet, "ledger-period"),
    ("ledger/entries", views.JournalEntryViewSet, "ledger-entry"),
    ("ledger/lines", views.JournalLineViewSet, "ledger-line"),
    ("ledger/reports", views.LedgerReportViewSet, "ledger-report"),
]
