"""Billing API: runs (create with Idempotency-Key, preview, start, retry, status), invoices (filter, detail,
issue, credit, PDF), payments (record, allocate), AR aging. Clients reach only their own account's issued
documents through the invoice endpoints; everything else is finance's."""

from django.db.models import Count, Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from billing.api import serializers as s
from billing.filtersets import InvoiceFilter, PaymentFilter, RunFilter
from billing.models import BillingRun, Invoice, Payment
from billing.selectors import ar_aging, dso, invoices_for, vat_return, vat_return_month
from billing.services import (
    billing_run_create,
    billing_run_preview,
    billing_run_retry,
    billing_run_start,
    credit_note_create,
    invoice_issue,
    payment_allocate,
    payment_record,
    payments_import_csv,
)
from billing.services.payments import BANK_UPLOAD_LIMIT
from crm.api.serializers import ImportReportSerializer
from psa.core.api import GenericViewSet
from psa.core.dates import parse_date
from psa.core.entities import entity_default_id
from psa.core.exceptions import ValidationFailed
from psa.core.models import LegalEntity
from psa.core.roles import Role, user_roles
from psa.core.uploads import UploadLimitMixin

FINANCE = (Role.FINANCE, Role.ADMIN)


class BillingRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Create with an `Idempotency-Key` header (the same key gives the same run), look at the preview, start it,
    poll its status (`progress`), retry failed contracts."""

    allowed_roles = FINANCE
    serializer_class = s.RunSerializer
    filterset_class = RunFilter

    def get_queryset(self):
        def n(status=None):
            return Count("items", filter=Q(items__status=status) if status else None)

        return BillingRun.objects.annotate(
            n_total=n(), n_pending=n("pending"), n_done=n("done"), n_empty=n("empty"), n_failed=n("failed")
        ).order_by("-created_at", "-pk")

    @extend_schema(request=s.RunCreateSerializer, responses={201: s.RunSerializer})
    def create(self, request):
        data = s.RunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = billing_run_create(by=request.user, key=request.headers.get("Idempotency-Key"), **data.validated_data)
        return Response(s.RunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.PreviewSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        preview = billing_run_preview(run=self.get_object())
        return Response(
            {
                "net": str(preview.net),
                "written_down": str(preview.written_down),
                "sources": preview.sources,
                "accounts": preview.accounts,
                "invoices": [
                    {
                        "account": r.account.pk,
                        "account_name": r.account.name,
                        "contract": r.contract.pk,
                        "contract_number": r.contract.number,
                        "currency": r.contract.currency,
                        "sources": r.sources,
                        "net": str(r.net),
                        "written_down": str(r.written_down),
                    }
                    for r in preview.rows
                ],
            }
        )

    @extend_schema(request=None, responses={202: s.RunSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        run = billing_run_start(run_id=self.get_object().pk, by=request.user)
        return Response(s.RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: s.RunSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        run = billing_run_retry(run_id=self.get_object().pk, by=request.user)
        return Response(s.RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Invoices and credit notes. Finance sees all; a client user only its account's issued documents."""

    allowed_roles = (*FINANCE, Role.CLIENT)
    action_roles = {"issue": FINANCE, "credit": FINANCE}
    filterset_class = InvoiceFilter

    def get_queryset(self):
        qs = invoices_for(self.request.user).select_related("credited_invoice").order_by("-created_at", "-pk")
        if self.action == "retrieve":
            qs = qs.prefetch_related("lines__tax_category", "lines__sources", "taxes")
        return qs

    def get_serializer_class(self):
        if self.action == "retrieve":
            if Role.FINANCE in _roles(self.request.user) or Role.ADMIN in _roles(self.request.user):
                return s.InvoiceDetailSerializer
            return s.PortalInvoiceDetailSerializer
        return s.InvoiceSerializer

    @extend_schema(request=s.IssueSerializer, responses=s.InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def issue(self, request, pk=None):
        data = s.IssueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = invoice_issue(
            invoice_id=self.get_object().pk, by=request.user, on=data.validated_data.get("issue_date")
        )
        return Response(s.InvoiceSerializer(invoice).data)

    @extend_schema(request=s.CreditSerializer, responses={201: s.InvoiceDetailSerializer})
    @action(detail=True, methods=["post"])
    def credit(self, request, pk=None):
        data = s.CreditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = credit_note_create(invoice_id=self.get_object().pk, by=request.user, **data.validated_data)
        return Response(s.InvoiceDetailSerializer(note).data, status=status.HTTP_201_CREATED)


def _roles(user):
    return user_roles(user)


class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    allowed_roles = FINANCE
    serializer_class = s.PaymentSerializer
    queryset = Payment.objects.prefetch_related("allocations").order_by("-received_on", "-pk")
    filterset_class = PaymentFilter

    @extend_schema(request=s.PaymentCreateSerializer, responses={201: s.PaymentSerializer})
    def create(self, request):
        data = s.PaymentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = dict(data.validated_data)
        payment = payment_record(
            by=request.user,
            account_id=d.pop("account"),
            bank_ref=d.pop("bank_ref") or None,
            allocations=[dict(a) for a in d.pop("allocations", [])] or None,
            **d,
        )
        return Response(s.PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.AllocateSerializer, responses=s.PaymentSerializer)
    @action(detail=True, methods=["post"])
    def allocate(self, request, pk=None):
        data = s.AllocateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment_allocate(payment_id=self.get_object().pk, by=request.user, **data.validated_data)
        return Response(s.PaymentSerializer(Payment.objects.get(pk=pk)).data)


class PaymentImportViewSet(UploadLimitMixin, GenericViewSet):
    """Import a bank statement CSV (multipart `file`, `decimal`): with `dry_run` true (the default) the report
    says per row what would happen and nothing is written; post the same file with `dry_run` false to import."""

    allowed_roles = FINANCE
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = s.BankImportSerializer
    upload_limit = BANK_UPLOAD_LIMIT

    @extend_schema(request={"multipart/form-data": s.BankImportSerializer}, responses={200: ImportReportSerializer})
    def create(self, request):
        data = s.BankImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = payments_import_csv(
            by=request.user,
            content=data.validated_data["file"].read(),
            dry_run=data.validated_data["dry_run"],
            decimal=data.validated_data["decimal"],
        )
        return Response(ImportReportSerializer(report).data)


def _entity_param(request) -> int | None:
    """The `entity` query parameter: an active legal entity's id, None when absent; anything else is a 400."""
    raw = request.query_params.get("entity", "")
    if not raw:
        return None
    if not raw.isdigit() or not LegalEntity.objects.filter(pk=int(raw)).exists():
        raise ValidationFailed("No such legal entity.", fields={"entity": [f"No legal entity with id {raw!r}."]})
    return int(raw)


class ArAgingViewSet(GenericViewSet):
    """AR aging per account and currency (current, 1-30, 31-60, 61-90, 90+), credits and DSO. `?as_of=YYYY-MM-DD`.

    Totals never add two currencies: `totals_by_currency` per currency, and `functional_totals` converted into
    `functional_currency` at the `rates` of `as_of` (each rate with its date and label); when a currency has no
    rate, `functional_totals` are null and `missing_rates`/`message` name the currency and date."""

    allowed_roles = FINANCE
    serializer_class = s.ArAgingSerializer
    pagination_class = None
    queryset = Invoice.objects.none()  # for the schema; the aging is computed by a selector

    @extend_schema(
        parameters=[
            OpenApiParameter("as_of", OpenApiTypes.DATE, description="Default: today."),
            OpenApiParameter("entity", OpenApiTypes.INT, description="One legal entity's id. Default: all summed."),
        ],
        responses=s.ArAgingSerializer,
    )
    def list(self, request):
        as_of = request.query_params.get("as_of")
        on = parse_date(as_of, field="as_of") if as_of else None
        aging = ar_aging(as_of=on, entity_id=_entity_param(request))
        buckets = ("current", "d1_30", "d31_60", "d61_90", "d90", "credits")
        converted = aging.converted
        days = dso(as_of=aging.as_of)
        return Response(
            {
                "as_of": aging.as_of.isoformat(),
                "dso": str(days) if days is not None else None,
                "functional_currency": converted["total"].functional,
                "totals_by_currency": {
                    currency: {k: str(v) for k, v in sums.items()} for currency, sums in aging.by_currency.items()
                },
                "functional_totals": {k: str(t.total) if t.total is not None else None for k, t in converted.items()},
                "rates": [
                    {
                        "currency": r.currency,
                        "rate": f"{r.rate.normalize():f}",
                        "date": r.date.isoformat(),
                        "rate_label": r.label,
                    }
                    for r in converted["total"].rates
                    if r.date is not None
                ],
                "missing_rates": converted["total"].as_dict()["missing_rates"],
                "message": converted["total"].message,
                "accounts": [
                    {"account": r.account_id, "name": r.name, "currency": r.currency, "total": str(r.total)}
                    | {b: str(getattr(r, b)) for b in buckets}
                    for r in aging.rows
                ],
            }
        )


class VatReturnViewSet(GenericViewSet):
    """The VAT return of a month (`?month=YYYY-MM`, default: last month): output tax per category and rate,
    reverse-charge (AE) and not-subject (O) turnover apart, in the functional currency, invoices less credit
    notes, and its reconciliation to the tax-payable account's movements (`ledger_tax`, `difference`)."""

    allowed_roles = FINANCE
    serializer_class = s.VatReturnSerializer
    pagination_class = None
    queryset = Invoice.objects.none()  # for the schema; the return is computed by a selector

    @extend_schema(
        parameters=[
            OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM. Default: last month."),
            OpenApiParameter("entity", OpenApiTypes.INT, description="The legal entity. Default: the default one."),
        ],
        responses=s.VatReturnSerializer,
    )
    def list(self, request):
        start, end = vat_return_month(request.query_params.get("month"), today=timezone.localdate())
        entity_id = _entity_param(request) or entity_default_id()
        result = vat_return(start=start, end=end, entity_id=entity_id)
        data = {
            "entity": entity_id,
            "start": start,
            "end": end,
            "currency": result.currency,
            "output": result.output,
            "output_basis": result.output_basis,
            "output_tax": result.output_tax,
            "reverse_charge": result.reverse_charge,
            "not_subject": result.not_subject,
            "ledger_tax": result.ledger_tax,
            "difference": result.difference,
            "reconciled": result.reconciled,
            "documents": result.documents,
            **{
                name: getattr(result, name)
                for name in (
                    "input_vat",
                    "reverse_charge_due",
                    "reverse_charge_purchases",
                    "input_total",
                    "net_payable",
                    "ledger_input_vat",
                    "ledger_reverse_charge",
                    "purchases_reconciled",
                    "bills",
                )
            },
        }
        return Response(s.VatReturnSerializer(data).data)
