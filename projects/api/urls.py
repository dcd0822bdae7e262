"""projects routes on the /api/v1/ router, including `opportunities` (crm's viewset plus `win`)."""

from projects.api import views

routes = [
    ("opportunities", views.OpportunityViewSet, "opportunity"),
    ("projects", views.ProjectViewSet, "project"),
    ("contracts", views.ContractViewSet, "contract"),
    ("change-orders", views.ChangeOrderViewSet, "change-order"),
    ("rate-cards", views.RateCardViewSet, "rate-card"),
]
