"""Journal pages: the entry list, a manual entry, an entry with its reversal, the audit trail."""

import re

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ledger.filtersets import JournalEntryFilter, LedgerAuditFilter
from ledger.forms import EntryForm, LineFormSet, ReverseForm
from ledger.models import JournalEntry
from ledger.services import EntrySpec, LineSpec, entry_post, entry_reverse
from psa.core.audit import audit_for
from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error
from psa.core.listing import paginate_sorted
from psa.core.models import AuditEvent
from psa.core.replica import replica_view
from psa.core.roles import Role, role_required

LEDGER_ROLES = (Role.FINANCE,)  # admin holds every staff role
LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


@role_required(*LEDGER_ROLES)
@replica_view
def entry_list(request):
    entries = JournalEntry.objects.select_related("posted_by", "reverses", "reversed_by", "period")
    filterset = JournalEntryFilter(request.GET, queryset=entries)
    page_obj, sort = paginate_sorted(
        request,
        filterset.qs,
        sort_fields={"date": "date", "number": "number", "total": "total", "memo": "memo"},
        default_sort="-date",
    )
    return render(request, "ledger/entry_list.html", {"filter": filterset, "page_obj": page_obj, "sort": sort})


def _apply_line_errors(error: DomainError, form: EntryForm, formset, rows: list[int]) -> None:
    """Put a service's `lines[i].field` messages on the formset row they belong to."""
    leftover = {}
    for name, msgs in error.fields.items():
        match = LINE_FIELD.match(name)
        if match and int(match.group(1)) < len(rows):
            row = formset.forms[rows[int(match.group(1))]]
            field = match.group(2) if match.group(2) in row.fields else None
            for msg in msgs:
                row.add_error(field, msg)
        elif name == "lines":
            for msg in msgs:
                form.add_error(None, msg)
        else:
            leftover[name] = msgs
    form_apply_domain_error(form, type(error)(error.message, fields=leftover, code=error.code))
    if error.message not in form.non_field_errors():
        form.add_error(None, error.message)


@role_required(*LEDGER_ROLES)
def entry_create(request):
    form = EntryForm(request.POST or None)
    formset = LineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        rows = [i for i, line in enumerate(formset.forms) if not line.is_blank()]
        lines = []
        for i in rows:
            data = formset.forms[i].cleaned_data
            lines.append(
                LineSpec(
                    account=data["account"].code if data.get("account") else "",
                    debit=data.get("debit") or 0,
                    credit=data.get("credit") or 0,
                    client_id=data["client"].pk if data.get("client") else None,
                    project_id=data["project"].pk if data.get("project") else None,
                    memo=data.get("memo") or "",
                )
            )
        spec = EntrySpec(
            date=form.cleaned_data["date"],
            memo=form.cleaned_data["memo"],
            lines=tuple(lines),
            auto_reverse_on=form.cleaned_data.get("auto_reverse_on"),
        )
        try:
            entry = entry_post(spec=spec, key=form.cleaned_data["key"], by=request.user)
        except DomainError as error:
            _apply_line_errors(error, form, formset, rows)
        else:
            messages.success(request, f"Posted {entry.number} ({entry.total:,.2f}).")
            return redirect("ledger:entry", pk=entry.pk)
    return render(request, "ledger/entry_form.html", {"form": form, "formset": formset}, status=200)


@role_required(*LEDGER_ROLES)
def entry_detail(request, pk: int):
    entry = get_object_or_404(
        JournalEntry.objects.select_related("posted_by", "period", "reverses", "reversed_by"), pk=pk
    )
    lines = entry.lines.select_related("account", "client", "project").order_by("line_no")
    return render(
        request,
        "ledger/entry_detail.html",
        {
            "entry": entry,
            "lines": lines,
            "reverse_form": ReverseForm(),
            "events": audit_for(entry),
            "reversed_by": getattr(entry, "reversed_by", None),
        },
    )


@require_POST
@role_required(*LEDGER_ROLES)
def entry_reverse_view(request, pk: int):
    entry = get_object_or_404(JournalEntry, pk=pk)
    form = ReverseForm(request.POST)
    if form.is_valid():
        try:
            reversal = entry_reverse(
                entry_id=entry.pk, by=request.user, on=form.cleaned_data["date"], memo=form.cleaned_data["memo"]
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{entry.number} reversed by {reversal.number}.")
            return redirect("ledger:entry", pk=reversal.pk)
    else:
        messages.error(request, "Enter the reversal date.")
    return redirect(reverse("ledger:entry", kwargs={"pk": entry.pk}))


@role_required(*LEDGER_ROLES)
def audit_list(request):
    events = AuditEvent.objects.filter(action__startswith="ledger.").select_related("actor")
    filterset = LedgerAuditFilter(request.GET, queryset=events)
    page_obj, sort = paginate_sorted(request, filterset.qs, sort_fields={"at": "at"}, default_sort="-at", per_page=50)
    return render(request, "ledger/audit_list.html", {"filter": filterset, "page_obj": page_obj, "sort": sort})
