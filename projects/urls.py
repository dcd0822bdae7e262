from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    path("crm/opportunities/<int:pk>/win/", views.opportunity_win, name="opportunity-win"),
    path("projects/", views.project_list, name="list"),
    path("projects/<int:pk>/", views.project_detail, name="project"),
    path("projects/<int:pk>/status/", views.project_status, name="project-status"),
    path(
        "projects/<int:pk>/milestones/<int:milestone_pk>/<str:action>/",
        views.milestone_move,
        name="milestone-move",
    ),
    path("projects/<int:pk>/change-orders/", views.change_order_create, name="change-order-create"),
    path(
        "projects/<int:pk>/change-orders/<int:co_pk>/<str:action>/",
        views.change_order_move,
        name="change-order-move",
    ),
    path("projects/accounts/<int:pk>/", views.account_projects, name="account-projects"),
]

# Time, expenses and approvals (projects.views_time).
from projects import views_time  # noqa: E402

urlpatterns += [
    path("time/", views_time.timesheet, name="timesheet"),
    path("time/cell/", views_time.timesheet_cell, name="timesheet-cell"),
    path("time/submit/", views_time.timesheet_submit, name="timesheet-submit"),
    path("time/copy/", views_time.timesheet_copy, name="timesheet-copy"),
    path("time/approvals/", views_time.approvals, name="approvals"),
    path("time/approvals/<str:kind>/", views_time.approvals_decide, name="approvals-decide"),
    path("time/missing/", views_time.missing, name="missing-time"),
    path("time/import/", views_time.time_import, name="time-import"),
    path("time/off/", views_time.time_off, name="time-off"),
    path("expenses/", views_time.expense_list, name="expenses"),
]

# Staffing and utilization (projects.views_staffing).
from projects import views_staffing  # noqa: E402

urlpatterns += [
    path("staffing/", views_staffing.staffing, name="staffing"),
    path("staffing/allocate/", views_staffing.allocate, name="allocate"),
    path(
        "projects/<int:pk>/allocations/<int:allocation_pk>/",
        views_staffing.allocation_change,
        name="allocation-change",
    ),
    path("staffing/heatmap/", views_staffing.heatmap, name="heatmap"),
    path("utilization/", views_staffing.utilization_page, name="utilization"),
]
