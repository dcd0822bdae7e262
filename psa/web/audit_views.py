"""Audit-trail pages: the HTMX fragment other apps' pages load, and a full page for the same trail."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from psa.core.roles import require_role
from psa.web.audit_trail import audit_trail


@login_required
def audit_fragment(request, target: str, pk: int | None = None):
    spec, changes = audit_trail(target=target, pk=pk)
    require_role(request.user, *spec.roles)
    return render(request, "web/audit/_trail.html", {"changes": changes, "target": target, "pk": pk})


@login_required
def audit_page(request, target: str, pk: int | None = None):
    spec, changes = audit_trail(target=target, pk=pk)
    require_role(request.user, *spec.roles)
    obj = spec.model.objects.filter(pk=pk).first() if pk is not None else None
    context = {"changes": changes, "target": target, "pk": pk, "obj": obj, "kind": spec.model._meta.verbose_name}
    return render(request, "web/audit/page.html", context)
