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
