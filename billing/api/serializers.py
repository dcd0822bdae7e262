from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from billing.choices import InvoiceStatus, PaymentMethod, RunScope
from billing.models import BillingRun, Invoice, InvoiceLine, InvoiceTax, Payment, PaymentAllocation, SourceLink
from billing.services import run_progress
from psa.core.api import DateField
from psa.core.files import file_url

# Choice fields are plain strings in the schema: every app has a `kind` and a `status`, and enum components
# of the same name would collide (drf-spectacular W001 fails `check --deploy`).
KIND: dict[str, Any] = {"read_only": True, "help_text": "invoice | credit_note"}


class SourceLinkSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(
        read_only=True, help_text="milestone | schedule_event | time_entry | expense | vendor_cost"
    )
    source_id = serializers.IntegerField(
        read_only=True,
        help_text="The billed source's id: a milestone, schedule event, time entry, expense, or (vendor_cost) "
        "vendor-bill line.",
    )

    class Meta:
        model = SourceLink
        fields = [
            "id",
            "kind",
            "source_id",
            "contract_line",
            "quantity",
            "amount",
            "written_down",
            "source_date",
            "label",
            "released_at",
        ]


class InvoiceLineSerializer(serializers.ModelSerializer):
    tax_category = serializers.CharField(source="tax_category.code")
    sources = SourceLinkSerializer(many=True, read_only=True)

    class Meta:
        model = InvoiceLine
        fields = [
            "id",
            "position",
            "description",
            "quantity",
            "unit",
            "unit_price",
            "net",
            "tax_category",
            "tax_rate",
            "contract_line",
            "credited_line",
            "period_start",
            "period_end",
            "written_down",
            "sources",
        ]


class PortalLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = [
            "id",
            "position",
            "description",
            "quantity",
            "unit",
            "unit_price",
            "net",
            "tax_rate",
            "period_start",
            "period_end",
        ]


class InvoiceTaxSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text="VAT category (EN 16931 BT-118): S | Z | AE | E | O")

    class Meta:
        model = InvoiceTax
        fields = ["kind", "rate", "basis", "amount", "exemption_reason", "exemption_code"]


class InvoiceSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(**KIND)
    status = serializers.CharField(
        read_only=True,
        help_text="draft | issued | partly_credited (a credit note reduced it, nothing paid yet) | partly_paid "
        "(a payment is allocated) | paid | credited (settled by credit notes alone) | written_off | cancelled",
    )
    balance = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    credited_invoice_number = serializers.CharField(
        source="credited_invoice.number", default=None, read_only=True, allow_null=True
    )
    pdf_url = serializers.SerializerMethodField(
        help_text="The issued document's PDF (signed-in, same access as the invoice); null for a draft."
    )

    class Meta:
        model = Invoice
        fields = [
            "id",
            "kind",
            "number",
            "status",
            "account",
            "contract",
            "project",
            "run",
            "credited_invoice",
            "credited_invoice_number",
            "currency",
            "issue_date",
            "due_date",
            "period_start",
            "period_end",
            "buyer_name",
            "net_total",
            "tax_total",
            "gross_total",
            "amount_paid",
            "amount_credited",
            "amount_written_off",
            "balance",
            "retainage_total",
            "retainage_credited",
            "retainage_release",
            "payment_reference",
            "fx_rate",
            "fx_rate_date",
            "functional_net",
            "functional_tax",
            "functional_gross",
            "functional_settled",
            "pdf_sha256",
            "pdf_url",
        ]

    def get_pdf_url(self, invoice) -> str | None:
        if invoice.number is None or invoice.status == InvoiceStatus.CANCELLED:
            return None
        return file_url("invoice-pdf", invoice.pk, api=True, request=self.context.get("request"))


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)
    taxes = InvoiceTaxSerializer(many=True, read_only=True)

    class Meta(InvoiceSerializer.Meta):
        fields = [
            *InvoiceSerializer.Meta.fields,
            "buyer_address",
            "buyer_tax_id",
            "buyer_country",
            "buyer_email",
            "seller",
            "tax_rule",
            "tax_why",
            "lines",
            "taxes",
        ]


class PortalInvoiceDetailSerializer(InvoiceSerializer):
    lines = PortalLineSerializer(many=True, read_only=True)
    taxes = InvoiceTaxSerializer(many=True, read_only=True)

    class Meta(InvoiceSerializer.Meta):
        fields = [*InvoiceSerializer.Meta.fields, "lines", "taxes"]


class IssueSerializer(serializers.Serializer):
    issue_date = DateField(required=False)


class CreditSerializer(serializers.Serializer):
    line_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    link_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class RunSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="draft | running | done | done_with_errors")
    progress = serializers.SerializerMethodField()

    class Meta:
        model = BillingRun
        fields = [
            "id",
            "key",
            "period_end",
            "scope",
            "account_ids",
            "project_ids",
            "status",
            "created_at",
            "started_at",
            "finished_at",
            "progress",
        ]
        read_only_fields = ["id", "key", "status", "created_at", "started_at", "finished_at", "progress"]

    def get_progress(self, run) -> dict:
        if hasattr(run, "n_total"):  # annotated by the list (one query for the page)
            processed = run.n_total - run.n_pending
            return {
                "total": run.n_total,
                "processed": processed,
                "invoiced": run.n_done,
                "empty": run.n_empty,
                "failed": run.n_failed,
                "percent": int(processed * 100 / run.n_total) if run.n_total else 100,
            }
        return run_progress(run)


class RunCreateSerializer(serializers.Serializer):
    period_end = DateField()
    scope = serializers.ChoiceField(choices=RunScope.choices, default=RunScope.ALL)
    account_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    project_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)


class AllocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentAllocation
        fields = ["id", "invoice", "credit_note", "amount", "functional", "source_functional", "created_at"]


class PaymentSerializer(serializers.ModelSerializer):
    unapplied = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    allocations = AllocationSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "account",
            "received_on",
            "amount",
            "currency",
            "method",
            "reference",
            "bank_ref",
            "amount_allocated",
            "unapplied",
            "fx_rate",
            "fx_rate_date",
            "functional_amount",
            "functional_allocated",
            "allocations",
            "created_at",
        ]


class AllocationInputSerializer(serializers.Serializer):
    invoice_id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class PaymentCreateSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    received_on = DateField()
    currency = serializers.CharField(
        max_length=3, required=False, help_text="ISO 4217; the account's currency when left out."
    )
    method = serializers.ChoiceField(choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER)
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    bank_ref = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    allocations = AllocationInputSerializer(many=True, required=False)
    auto_allocate = serializers.BooleanField(default=True)


class AllocateSerializer(serializers.Serializer):
    invoice_id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class PreviewInvoiceSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    account_name = serializers.CharField()
    contract = serializers.IntegerField()
    contract_number = serializers.CharField()
    currency = serializers.CharField()
    sources = serializers.IntegerField()
    net = serializers.DecimalField(max_digits=18, decimal_places=2)
    written_down = serializers.DecimalField(max_digits=18, decimal_places=2)


class PreviewSerializer(serializers.Serializer):
    net = serializers.DecimalField(max_digits=18, decimal_places=2)
    written_down = serializers.DecimalField(max_digits=18, decimal_places=2)
    sources = serializers.IntegerField()
    accounts = serializers.IntegerField()
    invoices = PreviewInvoiceSerializer(many=True)


class AgingRowSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    name = serializers.CharField()
    currency = serializers.CharField()
    current = serializers.DecimalField(max_digits=18, decimal_places=2)
    d1_30 = serializers.DecimalField(max_digits=18, decimal_places=2)
    d31_60 = serializers.DecimalField(max_digits=18, decimal_places=2)
    d61_90 = serializers.DecimalField(max_digits=18, decimal_places=2)
    d90 = serializers.DecimalField(max_digits=18, decimal_places=2)
    credits = serializers.DecimalField(max_digits=18, decimal_places=2)
    total = serializers.DecimalField(max_digits=18, decimal_places=2)


class RateUsedSerializer(serializers.Serializer):
    currency = serializers.CharField()
    rate = serializers.DecimalField(max_digits=24, decimal_places=10)
    date = DateField()
    rate_label = serializers.CharField(help_text="1 USD = 0.92 EUR (2026-12-04)")


class MissingRateSerializer(serializers.Serializer):
    currency = serializers.CharField()
    date = DateField()


@extend_schema_serializer(many=False)  # `list` answers one aging report, not a list of them
class ArAgingSerializer(serializers.Serializer):
    as_of = DateField()
    dso = serializers.DecimalField(max_digits=9, decimal_places=1, allow_null=True)
    functional_currency = serializers.CharField()
    totals_by_currency = serializers.DictField(
        child=serializers.DictField(child=serializers.DecimalField(max_digits=18, decimal_places=2)),
        help_text="{currency: {current, d1_30, d31_60, d61_90, d90, credits, total, overdue}}",
    )
    functional_totals = serializers.DictField(
        child=serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True),
        help_text="The same columns converted into functional_currency at `rates`; null when a rate is missing.",
    )
    rates = RateUsedSerializer(many=True)
    missing_rates = MissingRateSerializer(many=True)
    message = serializers.CharField(allow_blank=True)
    accounts = AgingRowSerializer(many=True)


class BankImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="Bank statement CSV: date, amount, reference, bank_ref (invoice, account).")
    decimal = serializers.RegexField(
        r"^(auto|point|comma)$",
        default="auto",
        help_text="How amounts are written: point (1,234.56), comma (1.234,56) or auto (detected from the file; "
        "a cell that could be read both ways is refused).",
    )
    dry_run = serializers.BooleanField(
        default=True, help_text="true (default) reports what each row would do and writes nothing."
    )


class VatReturnRowSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="VAT category (EN 16931): S | Z | E | AE | O")
    rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    basis = serializers.DecimalField(max_digits=18, decimal_places=2)
    tax = serializers.DecimalField(max_digits=18, decimal_places=2)
    documents = serializers.IntegerField()


@extend_schema_serializer(many=False)  # `list` answers one return, not a list of them
class VatReturnSerializer(serializers.Serializer):
    entity = serializers.IntegerField(help_text="The legal entity whose return it is (its id).")
    start = DateField()
    end = DateField()
    currency = serializers.CharField(help_text="The functional currency every figure is in.")
    output = VatReturnRowSerializer(many=True, help_text="Taxed supplies per category and rate.")
    output_basis = serializers.DecimalField(max_digits=18, decimal_places=2)
    output_tax = serializers.DecimalField(max_digits=18, decimal_places=2)
    reverse_charge = VatReturnRowSerializer(allow_null=True, help_text="Intra-EU B2B turnover (AE).")
    not_subject = VatReturnRowSerializer(allow_null=True, help_text="Turnover not subject to VAT (O).")
    ledger_tax = serializers.DecimalField(
        max_digits=18, decimal_places=2, help_text="Tax payable: credits less debits posted in the period."
    )
    difference = serializers.DecimalField(max_digits=18, decimal_places=2)
    reconciled = serializers.BooleanField()
    documents = serializers.IntegerField()
    input_vat = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="Charged by vendors (deductible).")
    reverse_charge_due = serializers.DecimalField(
        max_digits=18, decimal_places=2, help_text="Self-assessed on services bought from abroad (due and deductible)."
    )
    reverse_charge_purchases = serializers.DecimalField(max_digits=18, decimal_places=2)
    input_total = serializers.DecimalField(max_digits=18, decimal_places=2)
    net_payable = serializers.DecimalField(
        max_digits=18, decimal_places=2, help_text="Output tax + reverse charge due - deductible input VAT."
    )
    ledger_input_vat = serializers.DecimalField(max_digits=18, decimal_places=2)
    ledger_reverse_charge = serializers.DecimalField(max_digits=18, decimal_places=2)
    purchases_reconciled = serializers.BooleanField()
    bills = serializers.IntegerField()
