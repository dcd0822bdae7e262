"""Reports as HTML and CSV (`?format=csv`): trial balance, P&L, balance sheet."""

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ledger.forms import ALL_ENTITIES, BalanceSheetForm, PnlForm, TrialBalanceForm, year_start
from ledger.selectors import balance_sheet, pnl, trial_balance
from ledger.views.journal import LEDGER_ROLES
from psa.core.exports import csv_writer
from psa.core.replica import replica_view
from psa.core.roles import role_required


def _csv(name: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv_writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def _money(value) -> str:
    return f"{value:.2f}"


def _entity(form) -> tuple[int | None, str]:
    """The entity filter of a books page: (id, or None for all entities summed; the label for the file name)."""
    entity = form.cleaned_data.get("entity") if form.is_bound and form.is_valid() else None
    return (entity.pk, entity.code) if entity else (None, "all")


def books_of(form) -> str:
    """Whose books a page shows, as the page states it."""
    entity = form.cleaned_data.get("entity") if form.is_bound and form.is_valid() else None
    return f"{entity.code} {entity.name}" if entity else f"{ALL_ENTITIES} (summed)"


@role_required(*LEDGER_ROLES)
@replica_view
def trial_balance_view(request):
    at, period = timezone.localdate(), None
    form = TrialBalanceForm(request.GET or None, initial={"at": at})
    if form.is_valid():
        period = form.cleaned_data.get("period")
        at = form.cleaned_data.get("at") or at
    entity_id, entity_label = _entity(form)
    # the line sums are reused across readers while the journal is unchanged (exact: ledger.sql.journal_stamp)
    tb = (
        trial_balance(period=period, entity_id=entity_id, reuse=True)
        if period
        else trial_balance(at=at, entity_id=entity_id, reuse=True)
    )
    if request.GET.get("format") == "csv":
        return _csv(
            f"trial-balance-{entity_label}-{period.label if period else at.isoformat()}",
            ["code", "account", "type", "opening", "debit", "credit", "closing_debit", "closing_credit"],
            [
                [r.account.code, r.account.name, r.account.type, _money(r.opening), _money(r.debit),
                 _money(r.credit), _money(r.closing_debit), _money(r.closing_credit)]
                for r in tb.rows
            ]
            + [["", "Total", "", _money(tb.opening), _money(tb.debit), _money(tb.credit), _money(tb.closing_debit),
                _money(tb.closing_credit)]],
        )  # fmt: skip
    return render(
        request, "ledger/trial_balance.html", {"form": form, "tb": tb, "period": period, "books_of": books_of(form)}
    )


@role_required(*LEDGER_ROLES)
@replica_view
def pnl_view(request):
    today = timezone.localdate()
    start, end, by = year_start(today), today, "period"
    form = PnlForm(request.GET or None, initial={"start": start, "end": end, "by": by})
    if form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
        by = form.cleaned_data.get("by") if "by" in request.GET else by
    entity_id, entity_label = _entity(form)
    report = pnl(start=start, end=end, by=by, entity_id=entity_id, reuse=True)
    if request.GET.get("format") == "csv":
        rows = [
            ["income", r.account.code, r.account.name, *map(_money, r.values), _money(r.total)] for r in report.income
        ]
        rows += [["expense", r.account.code, r.account.name, *map(_money, r.values), _money(r.total)]
                 for r in report.expense]  # fmt: skip
        rows.append(["net", "", "Net income", *map(_money, report.net), _money(report.net_total)])
        return _csv(f"pnl-{entity_label}-{start}-{end}", ["section", "code", "account", *report.columns, "total"], rows)
    chart = None
    if by == "period" and report.columns:
        chart = {
            "id": "pnl-chart",
            "type": "bar",
            "data": {
                "labels": report.columns,
                "datasets": [
                    {"label": "Income", "data": list(report.income_totals), "backgroundColor": "#3d8b5f"},
                    {"label": "Expenses", "data": list(report.expense_totals),
                     "backgroundColor": "#c8553d"},
                    {"label": "Net income", "data": list(report.net), "type": "line",
                     "borderColor": "#243b6b", "backgroundColor": "#243b6b"},
                ],
            },
            "options": {"plugins": {"legend": {"position": "bottom"}}},
        }  # fmt: skip
    return render(
        request, "ledger/pnl.html", {"form": form, "report": report, "chart": chart, "books_of": books_of(form)}
    )


@role_required(*LEDGER_ROLES)
@replica_view
def balance_sheet_view(request: HttpRequest) -> HttpResponse:
    at: date = timezone.localdate()
    form = BalanceSheetForm(request.GET or None, initial={"at": at})
    if form.is_valid():
        at = form.cleaned_data.get("at") or at
    entity_id, entity_label = _entity(form)
    sheet = balance_sheet(at=at, entity_id=entity_id, reuse=True)
    if request.GET.get("format") == "csv":
        rows = [["asset", r.account.code if r.account else "", r.label, _money(r.amount)] for r in sheet.assets]
        rows += [["liability", r.account.code if r.account else "", r.label, _money(r.amount)]
                 for r in sheet.liabilities]  # fmt: skip
        rows += [["equity", r.account.code if r.account else "", r.label, _money(r.amount)] for r in sheet.equity]
        rows += [["total", "", "Total assets", _money(sheet.total_assets)],
                 ["total", "", "Total liabilities and equity", _money(sheet.total_liabilities_and_equity)]]  # fmt: skip
        return _csv(f"balance-sheet-{entity_label}-{at}", ["section", "code", "account", "amount"], rows)
    return render(request, "ledger/balance_sheet.html", {"form": form, "sheet": sheet, "books_of": books_of(form)})
