from django.urls import path

from crm.views import accounts, credit, imports, insights, pipeline, vendors

app_name = "crm"

urlpatterns = [
    path("crm/pipeline/", pipeline.board, name="board"),
    path("crm/opportunities/", pipeline.opportunity_list, name="opportunities"),
    path("crm/opportunities/new/", pipeline.opportunity_create, name="opportunity-create"),
    path("crm/opportunities/<int:pk>/", pipeline.opportunity_detail, name="opportunity"),
    path("crm/opportunities/<int:pk>/edit/", pipeline.opportunity_edit, name="opportunity-edit"),
    path("crm/opportunities/<int:pk>/inline/", pipeline.opportunity_inline, name="opportunity-inline"),
    path("crm/opportunities/<int:pk>/move/", pipeline.opportunity_move, name="opportunity-move"),
    path("crm/opportunities/<int:pk>/lose/", pipeline.opportunity_lose, name="opportunity-lose"),
    path("crm/opportunities/<int:pk>/reopen/", pipeline.opportunity_reopen, name="opportunity-reopen"),
    path("crm/opportunities/<int:pk>/lines/", pipeline.line_add, name="line-add"),
    path("crm/opportunities/<int:pk>/lines/<int:line_pk>/remove/", pipeline.line_remove, name="line-remove"),
    path("crm/opportunities/<int:pk>/demand/", pipeline.demand_add, name="demand-add"),
    path("crm/opportunities/<int:pk>/demand/<int:demand_pk>/remove/", pipeline.demand_remove, name="demand-remove"),
    path("crm/opportunities/<int:pk>/milestones/", pipeline.milestone_add, name="milestone-add"),
    path("crm/accounts/", accounts.account_list, name="accounts"),
    path("crm/accounts/new/", accounts.account_create, name="account-create"),
    path("crm/accounts/<int:pk>/", accounts.account_detail, name="account"),
    path("crm/accounts/<int:pk>/edit/", accounts.account_edit, name="account-edit"),
    path("crm/accounts/<int:pk>/contacts/new/", accounts.contact_add, name="contact-add"),
    path("crm/accounts/<int:pk>/credit-hold/", credit.hold_place, name="credit-hold-place"),
    path("crm/accounts/<int:pk>/credit-hold/release/", credit.hold_release, name="credit-hold-release"),
    path("crm/accounts/<int:pk>/credit-limit/", credit.limit_set, name="credit-limit"),
    path("crm/opportunities/<int:pk>/credit-approve/", credit.deal_approve, name="credit-approve"),
    path("crm/vendors/", vendors.vendor_list, name="vendors"),
    path("crm/vendors/new/", vendors.vendor_create, name="vendor-create"),
    path("crm/vendors/<int:pk>/", vendors.vendor_detail, name="vendor"),
    path("crm/vendors/<int:pk>/edit/", vendors.vendor_edit, name="vendor-edit"),
    path("crm/forecast/", insights.forecast, name="forecast"),
    path("crm/demand/", insights.demand, name="demand"),
    path("crm/import/", imports.csv_import, name="import"),
]
