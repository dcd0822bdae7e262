"""Ledger API: accounts, periods (close/reopen), entries (post/reverse), lines (keyset, running balance), reports.

Finance and admin only. Writes go through ledger.services; refusals come back as {code, message, fields}.
"""

import uuid

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from ledger.api import serializers as s
from ledger.filtersets import JournalEntryFilter, JournalLineFilter
from ledger.models import AccountingPeriod, JournalEntry, JournalLine, LedgerAccount, PeriodClose
from ledger.selectors import balance_before, balance_sheet, natural, pnl, trial_balance
from ledger.services import (
    EntrySpec,
    LineSpec,
    account_create,
    account_update,
    entry_post,
    entry_reverse,
    period_close,
    period_reopen,
)
from psa.core.api import GenericViewSet, KeysetPagination, ReadOnlyModelViewSet
from psa.core.roles import Role

FINANCE = (Role.FINANCE,)  # admin holds every staff role


def _money(value) -> str:
    return f"{value:.2f}"


class LedgerAccountViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ReadOnlyModelViewSet):
    queryset = LedgerAccount.objects.order_by("code")
    serializer_class = s.LedgerAccountSerializer
    allowed_roles = FINANCE
    filterset_fields = ["type", "is_active", "is_control"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=s.LedgerAccountInputSerializer, responses=s.LedgerAccountSerializer)
    def create(self, request, *args, **kwargs):
        data = s.LedgerAccountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = account_create(by=request.user, **data.validated_data)
        return Response(s.LedgerAccountSerializer(account).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        account = self.get_object()
        data = s.LedgerAccountInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in request.data}
        account = account_update(account_id=account.pk, by=request.user, **changes)
        return Response(s.LedgerAccountSerializer(account).data)


class AccountingPeriodViewSet(ReadOnlyModelViewSet):
    queryset = (
        AccountingPeriod.objects.select_related("closed_by")
        .prefetch_related(Prefetch("closes", queryset=PeriodClose.objects.select_related("entity")))
        .order_by("-start")
    )
    serializer_class = s.AccountingPeriodSerializer
    allowed_roles = FINANCE
    filterset_fields = ["status"]

    @extend_schema(request=s.PeriodCloseSerializer, responses=s.AccountingPeriodSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        data = s.PeriodCloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = period_close(
            period_id=self.get_object().pk,
            by=request.user,
            reason=data.validated_data["reason"],
            override_reason=data.validated_data["override_reason"],
            entity_id=s.entity_id_of(data.validated_data),
        )
        return Response(s.AccountingPeriodSerializer(self.get_queryset().get(pk=period.pk)).data)

    @extend_schema(request=s.PeriodActionSerializer, responses=s.AccountingPeriodSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        data = s.PeriodActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = period_reopen(
            period_id=self.get_object().pk,
            by=request.user,
            reason=data.validated_data["reason"],
            entity_id=s.entity_id_of(data.validated_data),
        )
        return Response(s.AccountingPeriodSerializer(self.get_queryset().get(pk=period.pk)).data)


class JournalEntryViewSet(mixins.CreateModelMixin, ReadOnlyModelViewSet):
    queryset = (
        JournalEntry.objects.select_related("period", "posted_by", "reverses")
        .prefetch_related(Prefetch("lines", queryset=JournalLine.objects.select_related("account")))
        .order_by("-date", "-id")
    )
    serializer_class = s.JournalEntrySerializer
    allowed_roles = FINANCE
    filterset_class = JournalEntryFilter

    @extend_schema(request=s.JournalEntryInputSerializer, responses={201: s.JournalEntrySerializer})
    def create(self, request, *args, **kwargs):
        data = s.JournalEntryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        key = v.get("key") or request.headers.get("Idempotency-Key") or str(uuid.uuid4())
        spec = EntrySpec(
            date=v["date"],
            memo=v["memo"],
            auto_reverse_on=v.get("auto_reverse_on"),
            lines=tuple(
                LineSpec(
                    account=line["account"],
                    debit=line["debit"],
                    credit=line["credit"],
                    client_id=line["client"],
                    project_id=line["project"],
                    memo=line["memo"],
                )
                for line in v["lines"]
            ),
        )
        entry = entry_post(spec=spec, key=f"api:{request.user.pk}:{key}", by=request.user)
        entry = self.get_queryset().get(pk=entry.pk)
        return Response(s.JournalEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.JournalReverseInputSerializer, responses={201: s.JournalEntrySerializer})
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        data = s.JournalReverseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = get_object_or_404(JournalEntry, pk=pk)
        reversal = entry_reverse(
            entry_id=entry.pk,
            by=request.user,
            on=data.validated_data.get("date") or timezone.localdate(),
            memo=data.validated_data.get("memo", ""),
        )
        reversal = self.get_queryset().get(pk=reversal.pk)
        return Response(s.JournalEntrySerializer(reversal).data, status=status.HTTP_201_CREATED)


class LinePagination(KeysetPagination):
    ordering = ("date", "id")


class JournalLineViewSet(ReadOnlyModelViewSet):
    """Journal lines in (date, id) order, keyset-paginated. Filtered to one `account` (code), each line carries
    the account's running balance: the general ledger."""

    queryset = JournalLine.objects.select_related("account", "entry")
    serializer_class = s.JournalLineSerializer
    allowed_roles = FINANCE
    filterset_class = JournalLineFilter
    pagination_class = LinePagination
    ordering_fields: list[str] = []

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        code = request.query_params.get("account")
        balances = {}
        if code and page:
            account = LedgerAccount.objects.filter(code=code).first()
            if account is not None:
                running = balance_before(account=account, on=page[0].date, line_id=page[0].pk)
                for line in page:
                    running += natural(account, line.debit, line.credit)
                    balances[line.pk] = running
        serializer = self.get_serializer(
            page, many=True, context={**self.get_serializer_context(), "balances": balances}
        )
        return self.get_paginated_response(serializer.data)


def _entity_label(validated: dict) -> str:
    """Whose books a report is: the entity's code, or "all" (every entity summed)."""
    entity = validated.get("entity")
    return entity.code if entity is not None else "all"


class LedgerReportViewSet(GenericViewSet):
    """Reports as JSON: trial balance, P&L, balance sheet (the HTML pages offer the same as CSV)."""

    allowed_roles = FINANCE
    pagination_class = None

    @extend_schema(parameters=[s.TrialBalanceQuerySerializer], responses=dict)
    @action(detail=False, methods=["get"], url_path="trial-balance")
    def trial_balance(self, request):
        q = s.TrialBalanceQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        period_id = q.validated_data.get("period")
        entity_id = s.entity_id_of(q.validated_data)
        if period_id:
            tb = trial_balance(period=get_object_or_404(AccountingPeriod, pk=period_id), entity_id=entity_id)
        else:
            tb = trial_balance(at=q.validated_data.get("at") or timezone.localdate(), entity_id=entity_id)
        return Response(
            {
                "entity": _entity_label(q.validated_data),
                "at": tb.at,
                "start": tb.start,
                "balanced": tb.balanced,
                "closed_through": tb.closed_through.label if tb.closed_through else None,
                "rows": [
                    {"code": r.account.code, "name": r.account.name, "type": r.account.type,
                     "opening": _money(r.opening), "debit": _money(r.debit), "credit": _money(r.credit),
                     "closing_debit": _money(r.closing_debit), "closing_credit": _money(r.closing_credit)}
                    for r in tb.rows
                ],
                "totals": {"opening": _money(tb.opening), "debit": _money(tb.debit), "credit": _money(tb.credit),
                           "closing_debit": _money(tb.closing_debit), "closing_credit": _money(tb.closing_credit)},
            }
        )  # fmt: skip

    @extend_schema(parameters=[s.PnlQuerySerializer], responses=dict)
    @action(detail=False, methods=["get"])
    def pnl(self, request):
        q = s.PnlQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        v = q.validated_data
        report = pnl(
            start=v["start"],
            end=v["end"],
            by=v["by"],
            client_id=v.get("client"),
            project_id=v.get("project"),
            entity_id=s.entity_id_of(v),
        )

        def rows(section):
            return [{"code": r.account.code, "name": r.account.name, "values": [_money(x) for x in r.values],
                     "total": _money(r.total)} for r in section]  # fmt: skip

        return Response(
            {
                "entity": _entity_label(v),
                "start": report.start,
                "end": report.end,
                "by": report.by,
                "columns": report.columns,
                "income": rows(report.income),
                "expense": rows(report.expense),
                "net": [_money(x) for x in report.net],
                "net_total": _money(report.net_total),
            }
        )

    @extend_schema(parameters=[s.AtQuerySerializer], responses=dict)
    @action(detail=False, methods=["get"], url_path="balance-sheet")
    def balance_sheet(self, request):
        q = s.AtQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        sheet = balance_sheet(
            at=q.validated_data.get("at") or timezone.localdate(), entity_id=s.entity_id_of(q.validated_data)
        )

        def rows(section):
            return [{"code": r.account.code if r.account else None, "label": r.label, "amount": _money(r.amount)}
                    for r in section]  # fmt: skip

        return Response(
            {
                "entity": _entity_label(q.validated_data),
                "at": sheet.at,
                "balanced": sheet.balanced,
                "assets": rows(sheet.assets),
                "liabilities": rows(sheet.liabilities),
                "equity": rows(sheet.equity),
                "total_assets": _money(sheet.total_assets),
                "total_liabilities_and_equity": _money(sheet.total_liabilities_and_equity),
            }
        )
