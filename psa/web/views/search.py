"""The global search results page (the top bar's box submits here)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from psa.web.search import MIN_LENGTH, search, search_kinds


@login_required
def search_page(request):
    kinds = search_kinds(request.user)
    if not kinds:
        raise PermissionDenied("Search covers staff pages; there is nothing here you may search.")
    q = request.GET.get("q", "").strip()
    groups = search(user=request.user, q=q)
    return render(
        request,
        "web/search.html",
        {
            "q": q,
            "groups": groups,
            "kinds": kinds,
            "too_short": bool(q) and len(" ".join(q.split())) < MIN_LENGTH,
            "min_length": MIN_LENGTH,
        },
    )
