from django.conf import settings

from psa.core.roles import primary_role, user_roles
from psa.web.navigation import menu_for, menu_grouped
from psa.web.search import search_kinds


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"firm_name": settings.PSA_FIRM_NAME, "sso_enabled": settings.PSA_SSO_ENABLED}
    role = primary_role(user)
    items = menu_for(user, request.path)
    return {
        "firm_name": settings.PSA_FIRM_NAME,
        "nav_items": items,
        "nav_menu": menu_grouped(items),
        "user_roles": sorted(r.label for r in user_roles(user)),
        "primary_role": role.value if role else "",
        # the top bar's search box, for whoever may search something (never a client-portal user)
        "search_enabled": bool(search_kinds(user)),
    }
