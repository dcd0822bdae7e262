"""The draft writer: on PostgreSQL one statement writes the invoice, its lines, links, write-downs and tax rows;
the ORM writer (other databases) must write exactly the same rows. A run's time-only, uncapped contract is
billed by one SQL statement that claims, groups and allocates in the database: it too must write the rows the
general path writes."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from billing.choices import SourceKind
from billing.models import CapWriteDown, Invoice, InvoiceTax, SourceLink, TaxCategory
from billing.services import draft_write as writer
from billing.services import invoice_draft_for_contract, invoices
from billing.services.draft_write import time_draft_write
from billing.services.sources import TimeEntrySource
from billing.services.vat import RateTable
from crm.models import DeliveryRole
from projects.models import RateCard, RateCardLine, TimeEntry
from tests.billing.factories import approved_entry, approved_expense, make_consultant, make_line, tm_contract

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
D = Decimal


def grace_entries(consultant) -> list[int]:
    return list(TimeEntry.objects.filter(consultant=consultant).order_by("date").values_list("pk", flat=True))


def _rows(before: set[int] = frozenset()) -> dict:
    """Everything a draft wrote (the one invoice not in `before`), without ids and timestamps, keyed so the two
    writers' rows line up."""

    def strip(obj, *drop):
        d = model_to_dict(obj)
        for key in ("id", "created_at", *drop):
            d.pop(key, None)
        return d

    (invoice,) = Invoice.objects.exclude(pk__in=before)
    links = SourceLink.objects.filter(line__invoice=invoice).select_related("line")
    downs = CapWriteDown.objects.filter(link__line__invoice=invoice).select_related("link")
    return {
        "invoice": strip(invoice, "pdf") | {"created_at_set": invoice.created_at is not None},
        "lines": sorted((strip(ln, "invoice") for ln in invoice.lines.all()), key=lambda d: d["position"]),
        "links": sorted(
            (strip(lk, "line") | {"position": lk.line.position} for lk in links),
            key=lambda d: (d["kind"], d["source_id"]),
        ),
        "downs": sorted((strip(w, "link") | {"source": w.link.source_id} for w in downs), key=lambda d: d["source"]),
        "taxes": sorted(
            (strip(t, "invoice") for t in InvoiceTax.objects.filter(invoice=invoice)), key=lambda d: d["tax_category"]
        ),
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


def _time_draft(contract, *, has_caps: bool, override) -> tuple[dict, Invoice | None]:
    before = set(Invoice.objects.values_list("pk", flat=True))
    with transaction.atomic():
        invoice = invoice_draft_for_contract(
            contract=contract,
            period_end=date(2026, 1, 31),
            kinds=[SourceKind.TIME_ENTRY],
            override=override,
            rates=RateTable.load(),
            has_caps=has_caps,
        )
        rows = _rows(before) if invoice else {}
        transaction.set_rollback(True)
    return rows, invoice


@pytest.mark.parametrize("code", ["", "AE"])  # the VAT rules (domestic GB 20 %), or an account override to AE
def test_a_time_only_draft_billed_in_sql_has_the_rows_of_the_general_path(periods, monkeypatch, code):
    # Given an uncapped contract with only time: two lines, roles from consultants and from a rate card line
    # (which wins), two rates of one role, entries on one day (ordered by id), shares ending in half a cent
    # (0.10 over 0.25 h and 0.75 h: 0.025 rounds up to 0.03, the latest entry takes the remainder 0.07),
    # and a role and line description longer together than an invoice line's 300 characters
    contract, first = tm_contract()
    second = make_line(contract, "tm", price="1000.00", description="D" * 200)
    ada, grace = make_consultant(), make_consultant("Junior consultant", "Grace", "Hopper")
    long_role = DeliveryRole.objects.create(name="R" * 100, code="long-role")
    card_line = RateCardLine.objects.create(
        rate_card=RateCard.objects.create(name="Card"), role=long_role, rate=150, valid_from=date(2026, 1, 1)
    )
    linus = make_consultant("Senior consultant", "Linus", "Torvalds")  # Ada's role
    for who, day, hours in ((ada, 5, "2.50"), (ada, 6, "3.25"), (linus, 6, "1.75"), (ada, 7, "0.33")):
        approved_entry(first, who, date(2026, 1, day), hours, "99.99")
    approved_entry(first, ada, date(2026, 1, 8), "1.00", "120.00")  # same role, another rate: its own line
    approved_entry(first, grace, date(2026, 1, 9), "0.25", "0.10")
    approved_entry(first, grace, date(2026, 1, 11), "0.75", "0.10")
    for day in (4, 12):
        entry = approved_entry(second, grace, date(2026, 1, day), "1.10", "150.00")
        TimeEntry.objects.filter(pk=entry.pk).update(rate_card_line=card_line)
    approved_entry(second, grace, date(2026, 1, 10), "2.00", "150.00")  # Grace's own role at the same rate
    override = (TaxCategory.objects.get(code=code), "Client's reverse charge ruling") if code else None
    used = []
    monkeypatch.setattr(invoices, "time_draft_write", lambda *a, **kw: used.append(1) or time_draft_write(*a, **kw))

    # When the draft is made by the one SQL statement, then by the general path (entries loaded into Python)
    in_sql, invoice = _time_draft(contract, has_caps=False, override=override)
    general, _ = _time_draft(contract, has_caps=True, override=override)

    # Then the SQL statement ran and wrote the same invoice, lines, links and tax row
    assert used == [1]
    assert in_sql == general
    assert len(in_sql["lines"]) == 5 and len(in_sql["links"]) == 10 and not in_sql["downs"]
    tiny = next(ln for ln in in_sql["lines"] if ln["unit_price"] == Decimal("0.1000"))
    assert tiny["net"] == Decimal("0.10")
    assert sorted(lk["amount"] for lk in in_sql["links"] if lk["position"] == tiny["position"]) == [
        Decimal("0.03"),
        Decimal("0.07"),
    ]
    assert max(len(ln["description"]) for ln in in_sql["lines"]) == 300
    assert in_sql["invoice"]["period_start"] == date(2026, 1, 4) and in_sql["invoice"]["period_end"] == date(
        2026, 1, 12
    )
    # and the invoice the caller gets back carries the totals written
    assert (invoice.net_total, invoice.tax_total) == (in_sql["invoice"]["net_total"], in_sql["invoice"]["tax_total"])


def test_a_time_only_draft_with_nothing_left_to_claim_writes_nothing(periods):
    # Given an uncapped contract whose only entry is already on another draft
    contract, line = tm_contract()
    approved_entry(line, make_consultant(), date(2026, 1, 5), "2.00", "100.00")
    invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))

    # When the SQL path bills the contract again
    rows, invoice = _time_draft(contract, has_caps=False, override=None)

    # Then it makes no invoice, and the first draft is the only one
    assert invoice is None and rows == {}
    assert Invoice.objects.count() == 1


def test_the_sql_path_leaves_entries_of_a_capped_line_to_the_general_path(periods):
    # Given a contract whose line got a cap after the run read the contract as uncapped
    contract, line = tm_contract(cap="150.00")
    approved_entry(line, make_consultant(), date(2026, 1, 5), "2.00", "100.00")

    # When the SQL path bills it, then the general path
    rows, invoice = _time_draft(contract, has_caps=False, override=None)
    capped, _ = _time_draft(contract, has_caps=True, override=None)

    # Then the SQL path claims nothing (no uncapped cent billed), and the general path bills up to the cap
    assert invoice is None and rows == {}
    assert capped["invoice"]["net_total"] == Decimal("150.00") and capped["downs"][0]["amount"] == Decimal("50.00")


def test_a_group_billed_before_is_trued_up_alike_by_the_sql_path_and_the_general_path(periods):
    # Given a group (one line, one role, one rate) with 0.25 h billed on an earlier draft for 37.63 and, in another
    # group, entries of which a credit note released one; then more hours of both groups
    contract, line = tm_contract()
    ada, grace = make_consultant(), make_consultant("Junior consultant", "Grace", "Hopper")
    approved_entry(line, ada, date(2026, 1, 5), "0.25", "150.50")
    for day in (5, 6, 7):
        approved_entry(line, grace, date(2026, 1, day), "0.10", "141.75")
    first = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 7))
    assert first.net_total == D("37.63") + D("42.53")
    released = SourceLink.objects.filter(line__invoice=first, source_id__in=grace_entries(grace)[:1])
    released.update(released_at=timezone.now(), release_reason="credited")
    approved_entry(line, ada, date(2026, 1, 12), "0.25", "150.50")
    approved_entry(line, grace, date(2026, 1, 12), "0.10", "141.75")

    # The one statement's billed groups (a PL/pgSQL function) are the general path's query to the row
    source = TimeEntrySource()
    sql, params = source.billed_sql(contract_id=contract.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        from_function = {(cl, role, rate): (hours, amount) for cl, rate, role, hours, amount in cursor.fetchall()}
    assert from_function == source.billed_so_far(contract_ids=[contract.pk])
    assert len(from_function) == 2

    # When the next draft is made by the one SQL statement, then by the general path
    in_sql, invoice = _time_draft(contract, has_caps=False, override=None)
    general, _ = _time_draft(contract, has_caps=True, override=None)

    # Then both bill what the new hours add to each group's value, with the unit price that gives the net
    assert invoice is not None and in_sql == general
    nets = {(ln["quantity"], ln["unit_price"]): ln["net"] for ln in in_sql["lines"]}
    assert nets[(D("0.25"), D("150.4800"))] == D("37.62")  # 75.25 - 37.63
    assert nets[(D("0.20"), D("141.7500"))] == D("28.35")  # 56.70 for the four entries - 28.35 still billed
