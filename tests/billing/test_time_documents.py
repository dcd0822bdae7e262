"""What the client and finance see of billed time and expenses: the PDF's time appendix (read back with
pypdf), the portal invoice page (its own invoices only), and the explain panel (rate card line, cap,
markup)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from billing.models import SourceLink
from billing.services import credit_note_create, invoice_draft_for_contract, invoice_issue, invoice_render
from billing.services.documents import invoice_pdf_stored
from projects.models import ExpensePolicy, RateCard, RateCardLine, Task
from tests.billing.factories import (
    approved_entry,
    approved_expense,
    make_consultant,
    portal_user,
    tm_contract,
)
from tests.pdf_text import pdf_text

pytestmark = pytest.mark.django_db


def _tm_invoice(finance, account=None, cap=None):
    contract, line = tm_contract(account=account, cap=cap)
    zoe = make_consultant(first="Zoe", last="Adams")
    bob = make_consultant(first="Bob", last="Young")
    task = Task.objects.create(project=contract.project, name="Data migration")
    entries = [
        approved_entry(line, zoe, date(2026, 1, 5), "3.00", "150", note="Kick-off workshop", task=task),
        approved_entry(line, zoe, date(2026, 1, 7), "2.50", "150", note="Mapping review"),
        approved_entry(line, bob, date(2026, 1, 6), "1.75", "150", note="Load test"),
    ]
    expense = approved_expense(line, bob, date(2026, 1, 8), "200.00", markup="15", description="Flight")
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    return invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1)), entries, expense, line


def test_the_pdf_shows_the_time_appendix_by_consultant_and_date(periods, finance):
    invoice, _, _, _ = _tm_invoice(finance)
    # 7.25 h x 150 = 1,087.50; flight 200 + 15 % = 230.00; net 1,317.50; VAT 20 % 263.50; total 1,581.00
    assert (invoice.net_total, invoice.gross_total) == (Decimal("1317.50"), Decimal("1581.00"))
    text = pdf_text(invoice_pdf_stored(invoice_render(invoice_id=invoice.pk)))
    assert "1,581.00" in text
    appendix = text[text.index("Time appendix") :]
    rows = [ln.split() for ln in appendix.splitlines() if ln.strip()[:2].isdigit()]
    assert rows == [
        ["05", "Jan", "2026", "Zoe", "Adams", "Data", "migration", "Kick-off", "workshop", "3.00"],
        ["07", "Jan", "2026", "Zoe", "Adams", "—", "Mapping", "review", "2.50"],
        ["06", "Jan", "2026", "Bob", "Young", "—", "Load", "test", "1.75"],
    ]
    assert "Total hours" in appendix and "7.25" in appendix
    assert "150.00" not in appendix, "the appendix shows hours, never rates"


def test_a_credit_notes_appendix_lists_only_the_credited_entries(periods, finance):
    invoice, entries, _, _ = _tm_invoice(finance)
    link = SourceLink.objects.get(source_id=entries[2].pk, kind="time_entry")
    note = credit_note_create(invoice_id=invoice.pk, by=finance, link_ids=[link.pk])
    note = invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 2))
    appendix = pdf_text(invoice_pdf_stored(invoice_render(invoice_id=note.pk)))
    appendix = appendix[appendix.index("Time appendix") :]
    assert "Load test" in appendix and "Kick-off" not in appendix and "Mapping review" not in appendix


def test_the_portal_shows_the_appendix_of_its_own_invoice_only(client, make_user, periods, finance):
    mine, _, _, _ = _tm_invoice(finance)
    theirs, _, _, _ = _tm_invoice(finance)
    client.force_login(portal_user(mine.account, make_user))
    page = client.get(reverse("billing:portal-invoice", args=[mine.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="time-appendix"' in html
    for text in ("Zoe Adams", "Kick-off workshop", "Data migration", "Bob Young", "7.25"):
        assert text in html
    assert client.get(reverse("billing:portal-invoice", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("stored-file", args=["invoice-pdf", theirs.pk])).status_code == 404


def test_the_explain_panel_shows_entries_rate_card_cap_and_markup(client_as, periods, finance):
    invoice, entries, _, line = _tm_invoice(finance, cap="5000.00")
    card = RateCard.objects.create(name="Standard EUR 2026", currency="EUR")
    card_line = RateCardLine.objects.create(
        rate_card=card, role=entries[0].consultant.role, rate=Decimal("150"), valid_from=date(2026, 1, 1)
    )
    type(entries[0]).objects.filter(pk=entries[0].pk).update(rate_card_line=card_line)
    ExpensePolicy.objects.create(contract_line=line, policy="markup", markup_percent=Decimal("15"))
    c = client_as("finance")
    tm_line = invoice.lines.get(unit="HUR")
    html = c.get(reverse("billing:line-explain", args=[invoice.pk, tm_line.pk])).content.decode()
    assert "2026-01-05 Zoe Adams · Data migration: 3.00 h x 150.00 (rate card Standard EUR 2026" in html
    assert "2026-01-06 Bob Young: 1.75 h x 150.00 (contract line rate)" in html
    assert "7.25 h of approved time" in html
    assert "5,000.00" in html and "billed so far" in html  # the cap and what it has used
    expense_line = invoice.lines.get(sources__kind="expense")
    html = c.get(reverse("billing:line-explain", args=[invoice.pk, expense_line.pk])).content.decode()
    assert "cost 200.00 EUR, re-billed with markup 15% = 230.00" in html
    assert "expenses with markup 15%" in html
    assert c.get(reverse("billing:line-explain", args=[invoice.pk, 999999])).status_code == 404
    assert (
        client_as("consultant").get(reverse("billing:line-explain", args=[invoice.pk, tm_line.pk])).status_code == 403
    )
