from django.urls import path

from ledger import views

app_name = "ledger"

urlpatterns = [
    path("ledger/", views.entry_list, name="entries"),
    path("ledger/entries/new/", views.entry_create, name="entry_create"),
    path("ledger/entries/<int:pk>/", views.entry_detail, name="entry"),
    path("ledger/entries/<int:pk>/reverse/", views.entry_reverse_view, name="entry_reverse"),
    path("ledger/accounts/", views.account_list, name="accounts"),
    path("ledger/accounts/new/", views.account_form, name="account_create"),
    path("ledger/accounts/<int:pk>/", views.account_ledger, name="account"),
    path("ledger/accounts/<int:pk>/edit/", views.account_form, name="account_edit"),
    path("ledger/periods/", views.period_list, name="periods"),
    path("ledger/periods/ensure/", views.periods_ensure_view, name="periods_ensure"),
    path("ledger/periods/<int:pk>/close/", views.period_close_view, name="period_close"),
    path("ledger/periods/<int:pk>/reopen/", views.period_reopen_view, name="period_reopen"),
    path("ledger/reports/trial-balance/", views.trial_balance_view, name="trial_balance"),
    path("ledger/reports/pnl/", views.pnl_view, name="pnl"),
    path("ledger/reports/balance-sheet/", views.balance_sheet_view, name="balance_sheet"),
    path("ledger/export/", views.export, name="export"),
    path("ledger/audit/", views.audit_list, name="audit"),
]
