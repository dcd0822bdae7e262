"""Root URLs: auth, admin, the composition layer, then each app's pages."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("admin/", admin.site.urls),
    path("", include("psa.web.urls")),
    path("", include("crm.urls")),
    path("", include("projects.urls")),
    path("", include("ledger.urls")),
    path("", include("billing.urls")),
]

# Nothing under MEDIA_ROOT has a route: stored files go out only through the checked views (psa/web/files.py).

# Django's own error answers: JSON {code, message, fields} under /api/, the HTML pages elsewhere.
handler400 = "psa.core.api.bad_request"
handler403 = "psa.core.api.permission_denied"
handler404 = "psa.core.api.page_not_found"
handler500 = "psa.core.api.server_error"

admin.site.site_header = f"{settings.PSA_FIRM_NAME} — PSA administration"
admin.site.site_title = "PSA admin"
