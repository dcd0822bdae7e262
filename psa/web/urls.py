from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from psa.web import (
    api,
    audit_views,
    dashboard_views,
    exception_views,
    export_views,
    token_views,
    views,
    webhook_views,
)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("settings/webhooks/", webhook_views.webhook_list, name="webhook-list"),
    path("settings/webhooks/<int:pk>/", webhook_views.webhook_detail, name="webhook-detail"),
    path("settings/webhooks/<int:pk>/toggle/", webhook_views.webhook_toggle, name="webhook-toggle"),
    path(
        "settings/webhooks/<int:pk>/replay/<uuid:message_id>/",
        webhook_views.webhook_replay_view,
        name="webhook-replay",
    ),
    path("settings/api-tokens/", token_views.api_token_list, name="api-tokens"),
    path("settings/api-tokens/<int:pk>/revoke/", token_views.api_token_revoke_view, name="api-token-revoke"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("exceptions/", exception_views.exception_queue, name="exceptions"),
    path("exceptions/dismiss/", exception_views.exception_dismiss_view, name="exception-dismiss"),
    path("exceptions/restore/", exception_views.exception_restore_view, name="exception-restore"),
    path("exports/", export_views.exports, name="exports"),
    path("exports/invoices.csv", export_views.export_invoices, name="export-invoices"),
    path("exports/time.csv", export_views.export_time, name="export-time"),
    path("api/v1/dashboard/", dashboard_views.DashboardAPI.as_view(), name="api-dashboard"),
    path("api/v1/exceptions/", exception_views.ExceptionQueueAPI.as_view(), name="api-exceptions"),
    path("audit/<slug:target>/", audit_views.audit_page, name="audit-page-all"),
    path("audit/<slug:target>/fragment/", audit_views.audit_fragment, name="audit-fragment-all"),
    path("audit/<slug:target>/<int:pk>/", audit_views.audit_page, name="audit-page"),
    path("audit/<slug:target>/<int:pk>/fragment/", audit_views.audit_fragment, name="audit-fragment"),
    path("api/v1/me/", api.MeView.as_view(), name="api-me"),
    path("api/v1/auth/token/", api.TokenView.as_view(), name="api-token"),
    path("api/v1/", include(api.router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
