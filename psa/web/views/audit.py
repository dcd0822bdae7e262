"""Audit-trail pages: the HTMX fragment other apps' pages load, and a full page for the same trail.

A user whose roles may not see a kind of object gets the same 404 as for an object that does not exist, so
the answer never tells whether an object is there."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from psa.core.roles import has_role
from psa.web.audit_trail import TARGETS, audit_trail


def _may_see(request, target: str) -> None:
    spec = TARGETS.get(target)
    if spec is None or not has_role(request.user, *spec.roles):
        raise Http404("No audit trail here.")


@login_required
def audit_fragment(request, target: str, pk: int | None = None):
    _may_see(request, target)
    _spec, changes = audit_trail(target=target, pk=pk)
    return render(request, "web/audit/_trail.html", {"changes": changes, "target": target, "pk": pk})


@login_required
def audit_page(request, target: str, pk: int | None = None):
    _may_see(request, target)
    spec, changes = audit_trail(target=target, pk=pk)
    obj = spec.model._default_manager.filter(pk=pk).first() if pk is not None else None
    context = {"changes": changes, "target": target, "pk": pk, "obj": obj, "kind": spec.model._meta.verbose_name}
    return render(request, "web/audit/page.html", context)
