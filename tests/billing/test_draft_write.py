"""The draft writer: on PostgreSQL one statement writes the invoice, its lines, links, write-downs and tax rows;
the ORM writer (other databases) must write exactly the same rows."""

from datetime import date

import pytest
from django.db import transaction
from django.forms.models import model_to_dict

from billing.models import CapWriteDown, Invoice, InvoiceLine, InvoiceTax, SourceLink
from billing.services import draft_write as writer
from billing.services import invoice_draft_for_contract
from tests.billing.factories import approved_entry, approved_expense, make_consultant, make_line, tm_contract

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _rows() -> dict:
    """Everything a draft wrote, without ids and timestamps, keyed so the two writers' rows line up."""

    def strip(obj, *drop):
        d = model_to_dict(obj)
        for key in ("id", "created_at", *drop):
            d.pop(key, None)
        return d

    (invoice,) = Invoice.objects.all()
    return {
        "invoice": strip(invoice, "pdf") | {"created_at_set": invoice.created_at is not None},
        "lines": sorted((strip(ln, "invoice") for ln in InvoiceLine.objects.all()), key=lambda d: d["position"]),
        "links": sorted(
            (strip(lk, "line") | {"position": lk.line.position} for lk in SourceLink.objects.select_related("line")),
            key=lambda d: (d["kind"], d["source_id"]),
        ),
        "downs": sorted(
            (strip(w, "link") | {"source": w.link.source_id} for w in CapWriteDown.objects.select_related("link")),
            key=lambda d: d["source"],
        ),
        "taxes": sorted((strip(t, "invoice") for t in InvoiceTax.objects.all()), key=lambda d: d["tax_category"]),
    }


def _draft(contract) -> dict:
    with transaction.atomic():
        invoice = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
        rows = _rows()
        transaction.set_rollback(True)  # the next writer bills the same sources again
    assert invoice.pk is not None and not invoice._state.adding
    return rows


def test_the_one_statement_writer_and_the_orm_writer_write_the_same_rows(periods, monkeypatch):
    # Given a contract with a capped T&M line (two roles, two rates, the cap crossed), an uncapped line and a
    # marked-up expense: lines, links with allocated shares, write-downs and a tax row
    contract, capped = tm_contract(cap="700.00")
    other = make_line(contract, "tm", price="1000.00", description="Support")
    ada, grace = make_consultant(), make_consultant("Junior consultant", "Grace", "Hopper")
    for day, hours in ((5, "2.50"), (6, "3.25"), (7, "1.75")):
        approved_entry(capped, ada, date(2026, 1, day), hours, "99.99")
    approved_entry(capped, grace, date(2026, 1, 6), "4.00", "80.00")
    approved_entry(other, ada, date(2026, 1, 8), "0.33", "120.00")
    approved_entry(other, ada, date(2026, 1, 9), "0.34", "120.00")
    approved_expense(other, grace, date(2026, 1, 7), "81.00", markup="10")

    # When the same draft is written by each writer
    one_statement = _draft(contract)
    monkeypatch.setattr(writer, "_write_one_statement", writer._write_orm)
    orm = _draft(contract)

    # Then the rows are the same, write-downs included
    assert len(one_statement["links"]) == 7 and len(one_statement["downs"]) >= 1
    assert one_statement == orm
