"""invoice_pdf: our invoice document (template, WeasyPrint PDF/A-3b, EN 16931 XML embedded with factur-x)
against a bare WeasyPrint render of the same HTML, for a one-page invoice of 12 lines. Goal 1.2; the notes
also carry the absolute time of one page (issue goal: <= 0.3 s)."""

from datetime import date

from django.db import transaction

from tests.benchmarks.generator import truncate
from tests.benchmarks.harness import Record, timed


def _invoice():
    from django.contrib.auth import get_user_model

    from billing.services import invoice_draft_for_contract, invoice_issue
    from tests.billing.factories import make_periods, milestone_contract

    make_periods()
    finance, _ = get_user_model().objects.get_or_create(username="bench-finance", defaults={"is_superuser": True})
    contract, _, _ = milestone_contract(*["1250.00"] * 12)
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    return invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))


def run(size: str) -> list[Record]:
    from weasyprint import HTML

    from billing.services.documents import STATIC_SOURCE_DIR, invoice_html, invoice_pdf_bytes

    invoice = _invoice()
    html = invoice_html(invoice)
    invoice_pdf_bytes(invoice)  # warm fonts, templates and factur-x
    HTML(string=html, base_url=str(STATIC_SOURCE_DIR)).write_pdf()
    ours, queries = timed(lambda: invoice_pdf_bytes(invoice), repeat=7)
    baseline, _ = timed(lambda: HTML(string=html, base_url=str(STATIC_SOURCE_DIR)).write_pdf(), repeat=7)
    lines = invoice.lines.count()
    # Its milestones would otherwise be billable again in a later workload (invoice_run forgets every invoice
    # and link, and must bill only the time it loads).
    truncate("billing_invoice", "billing_sourcelink", "projects_milestone")
    return [
        Record(
            name="invoice_pdf",
            size=size,
            ours_s=ours,
            baseline_s=baseline,
            goal_ratio=1.2,
            queries=queries,
            notes=f"one page, {lines} lines; PDF/A-3b + EN 16931 XML; one page in {ours:.3f} s (goal 0.3 s)",
        )
    ]
