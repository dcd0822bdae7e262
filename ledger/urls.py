from django.urls import path

from ledger import views
from ledger.views import budget as budget_views
from ledger.views import intercompany, revaluation, revenue
from ledger.views import rates as rate_views

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
    path("ledger/exchange-rates/", rate_views.exchange_rates, name="exchange_rates"),
    path("ledger/exchange-rates/import/", rate_views.exchange_rates_import, name="exchange_rates_import"),
    path("ledger/exchange-rates/<int:pk>/delete/", rate_views.exchange_rate_delete_view, name="exchange_rate_delete"),
    path("ledger/revenue/", revenue.revenue_schedule_list, name="revenue_schedules"),
    path("ledger/revenue/ensure/", revenue.revenue_schedules_ensure_view, name="revenue_schedules_ensure"),
    path(
        "ledger/revenue/schedules/<int:pk>/method/",
        revenue.revenue_schedule_method_view,
        name="revenue_schedule_method",
    ),
    path("ledger/revenue/estimates/", revenue.estimate_view, name="revenue_estimate"),
    path("ledger/revenue/projects/<int:pk>/estimate/", revenue.project_estimate_panel, name="project_estimate"),
    path("ledger/revenue/projects/<int:pk>/margin/", revenue.project_margin_panel, name="project_margin"),
    path("ledger/projects/<int:pk>/budget/", budget_views.project_budget_panel, name="project_budget"),
    path("ledger/revenue/runs/", revenue.run_list, name="recognition_runs"),
    path("ledger/revenue/runs/start/", revenue.run_start_view, name="recognition_run_start"),
    path("ledger/revenue/runs/<int:pk>/", revenue.run_detail, name="recognition_run"),
    path("ledger/revenue/runs/<int:pk>/progress/", revenue.run_progress, name="recognition_run_progress"),
    path("ledger/revaluation/", revaluation.revaluation_index, name="revaluation"),
    path("ledger/revaluation/start/", revaluation.revaluation_start_view, name="revaluation_start"),
    path("ledger/revaluation/runs/<int:pk>/", revaluation.revaluation_run_detail, name="revaluation_run"),
    path("ledger/revaluation/runs/<int:pk>/progress/", revaluation.revaluation_progress, name="revaluation_progress"),
    path("ledger/intercompany/", intercompany.intercompany_index, name="intercompany"),
    path("ledger/intercompany/run/", intercompany.recharge_start_view, name="intercompany_run"),
    path("ledger/intercompany/rates/new/", intercompany.transfer_rate_add_view, name="transfer_rate_add"),
    path("ledger/intercompany/matching/", intercompany.matching_view, name="intercompany_matching"),
    path("ledger/consolidation/", intercompany.consolidation_view, name="consolidation"),
    path("ledger/month-end/", revenue.month_end_index, name="month_end"),
    path("ledger/month-end/<int:pk>/", revenue.close_checklist_view, name="close_checklist"),
    path("ledger/month-end/<int:pk>/close/", revenue.close_period_view, name="close_period"),
    path("ledger/revenue/reports/revenue/", revenue.revenue_report_view, name="revenue_report"),
    path("ledger/revenue/reports/rollforward/", revenue.rollforward_view, name="rollforward"),
    path("ledger/revenue/reports/backlog/", revenue.backlog_view, name="backlog"),
    path("ledger/revenue/reports/margin/", revenue.margin_view, name="margin"),
    path("ledger/revenue/reports/forecast/", revenue.forecast_view, name="forecast"),
]
