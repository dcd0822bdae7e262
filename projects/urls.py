from django.urls import path

from projects.views import engagement, people, staffing, time

app_name = "projects"

urlpatterns = [
    path("crm/opportunities/<int:pk>/win/", engagement.opportunity_win, name="opportunity-win"),
    path("projects/", engagement.project_list, name="list"),
    path("projects/<int:pk>/", engagement.project_detail, name="project"),
    path("projects/<int:pk>/status/", engagement.project_status, name="project-status"),
    path("projects/<int:pk>/alert-levels/", engagement.project_alert_levels, name="project-alert-levels"),
    path(
        "projects/<int:pk>/milestones/<int:milestone_pk>/<str:action>/",
        engagement.milestone_move,
        name="milestone-move",
    ),
    path("projects/<int:pk>/change-orders/", engagement.change_order_create, name="change-order-create"),
    path(
        "projects/<int:pk>/change-orders/<int:co_pk>/<str:action>/",
        engagement.change_order_move,
        name="change-order-move",
    ),
    path("projects/accounts/<int:pk>/", engagement.account_projects, name="account-projects"),
    # time, expenses and approvals
    path("time/", time.timesheet, name="timesheet"),
    path("time/cell/", time.timesheet_cell, name="timesheet-cell"),
    path("time/submit/", time.timesheet_submit, name="timesheet-submit"),
    path("time/copy/", time.timesheet_copy, name="timesheet-copy"),
    path("time/approvals/", time.approvals, name="approvals"),
    path("time/approvals/<str:kind>/", time.approvals_decide, name="approvals-decide"),
    path("time/missing/", time.missing, name="missing-time"),
    path("time/import/", time.time_import, name="time-import"),
    path("time/off/", time.time_off, name="time-off"),
    path("expenses/", time.expense_list, name="expenses"),
    # staffing and utilization
    path("staffing/", staffing.staffing, name="staffing"),
    path("staffing/allocate/", staffing.allocate, name="allocate"),
    path(
        "projects/<int:pk>/allocations/<int:allocation_pk>/",
        staffing.allocation_change,
        name="allocation-change",
    ),
    path("staffing/heatmap/", staffing.heatmap, name="heatmap"),
    path("staffing/heatmap/drivers/", staffing.heatmap_drivers, name="heatmap-drivers"),
    path("utilization/", staffing.utilization_page, name="utilization"),
    path("people/", people.people_list, name="people"),
    path("people/new/", people.person_new, name="person-new"),
    path("people/<int:pk>/", people.person_detail, name="person"),
    path("people/<int:pk>/cost-rates/", people.cost_rate_add, name="person-cost-rate"),
]
