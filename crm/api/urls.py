"""crm routes on the /api/v1/ router. `opportunities` is registered by projects.api.urls: its viewset extends
crm's with the `win` action (the handoff provisions projects, which crm may not import)."""

from crm.api import vendors, views

routes = [
    ("accounts", views.AccountViewSet, "account"),
    ("contacts", views.ContactViewSet, "contact"),
    ("stages", views.StageViewSet, "stage"),
    ("roles", views.RoleViewSet, "role"),
    ("crm-imports", views.CsvImportViewSet, "crm-import"),
    ("vendors", vendors.VendorViewSet, "vendor"),
]
