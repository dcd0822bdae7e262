"""projects routes on the /api/v1/ router, including `opportunities` (crm's viewset plus `win`)."""

from projects.api import views

routes: list[tuple[str, type, str]] = [
    ("opportunities", views.OpportunityViewSet, "opportunity"),
    ("projects", views.ProjectViewSet, "project"),
    ("contracts", views.ContractViewSet, "contract"),
    ("change-orders", views.ChangeOrderViewSet, "change-order"),
    ("rate-cards", views.RateCardViewSet, "rate-card"),
]

# Time, expenses, allocations and utilization (projects.api.time).
from projects.api import time as time_api  # noqa: E402

routes += [
    ("time-entries", time_api.TimeEntryViewSet, "api-projects-time-entry"),
    ("expenses", time_api.ExpenseViewSet, "api-projects-expense"),
    ("allocations", time_api.AllocationViewSet, "api-projects-allocation"),
    ("utilization", time_api.UtilizationViewSet, "api-projects-utilization"),
]
