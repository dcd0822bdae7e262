"""The coherent firm builder (tests/benchmarks/firm.py) at the tiny size: every part refers to what the others made,
the books balance and agree with the invoices, and the pages open on it."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.benchmarks.firm import END, FIRM_SIZES, FirmExists, firm_load

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _one(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def test_the_tiny_firm_is_one_coherent_firm():
    lines = []
    firm = firm_load("tiny", out=lines.append)
    spec = FIRM_SIZES["tiny"]
    assert [line.split()[0] for line in lines][-1] == "total" and len(lines) == len(firm.timings)
    assert firm.counts["consultants"] == spec.consultants and firm.counts["projects"] == spec.projects
    assert spec.time_entries * 0.9 < firm.counts["time_entries"] < spec.time_entries * 1.1
    assert firm.counts["invoices"] == spec.invoices and firm.counts["opportunities"] == spec.opportunities
    assert spec.journal_lines <= firm.counts["journal_lines"] < spec.journal_lines * 1.1

    # time: existing consultants, projects and their contract's line, 24 months, snapshot rates of both
    assert _one("""
        SELECT COUNT(*) FROM projects_timeentry te
        LEFT JOIN projects_consultant c ON c.id = te.consultant_id
        LEFT JOIN projects_contractline cl ON cl.id = te.contract_line_id
        LEFT JOIN projects_contract k ON k.id = cl.contract_id
        WHERE c.id IS NULL OR k.project_id IS DISTINCT FROM te.project_id OR te.bill_rate <> cl.rate
           OR te.status <> 'approved'""")[0] == 0  # fmt: skip
    assert _one("SELECT MIN(date), MAX(date) FROM projects_timeentry") == (date(2024, 11, 1), date(2026, 10, 30))
    assert (
        _one("""SELECT COUNT(*) FROM projects_timeentry te WHERE NOT EXISTS (SELECT 1 FROM projects_allocation a
                   WHERE a.consultant_id = te.consultant_id AND a.project_id = te.project_id)""")[0]
        == 0
    )
    # opportunities over the firm's clients
    assert (
        _one("""SELECT COUNT(*) FROM crm_opportunity o LEFT JOIN crm_account a ON a.id = o.account_id
                   LEFT JOIN auth_user u ON u.id = o.owner_id WHERE a.id IS NULL OR u.id IS NULL""")[0]
        == 0
    )

    # invoices: totals add up, each line is the sum of its entries' links, the links are that project's time
    assert (
        _one("""
        SELECT COUNT(*) FROM billing_invoice i
        WHERE i.gross_total <> i.net_total + i.tax_total
           OR i.net_total <> (SELECT SUM(net) FROM billing_invoiceline WHERE invoice_id = i.id)
           OR i.tax_total <> (SELECT SUM(amount) FROM billing_invoicetax WHERE invoice_id = i.id)
           OR i.contract_id NOT IN (SELECT id FROM projects_contract WHERE project_id = i.project_id)""")[0]
        == 0
    )
    assert (
        _one("""
        SELECT COUNT(*) FROM billing_invoiceline l
        WHERE l.net <> (SELECT SUM(amount) FROM billing_sourcelink WHERE line_id = l.id)
           OR l.quantity <> (SELECT SUM(quantity) FROM billing_sourcelink WHERE line_id = l.id)""")[0]
        == 0
    )
    assert _one("""
        SELECT COUNT(*) FROM billing_sourcelink s
        JOIN billing_invoiceline l ON l.id = s.line_id JOIN billing_invoice i ON i.id = l.invoice_id
        LEFT JOIN projects_timeentry te ON te.id = s.source_id
        WHERE te.id IS NULL OR te.project_id <> i.project_id OR NOT te.billable
           OR s.amount <> ROUND(te.hours * te.bill_rate, 2)""")[0] == 0  # fmt: skip

    # the journal: every entry balances and totals its debits; each invoice's entry is its receivable
    assert (
        _one("""
        SELECT COUNT(*) FROM (SELECT e.id FROM ledger_journalentry e JOIN ledger_journalline l ON l.entry_id = e.id
        GROUP BY e.id, e.total HAVING SUM(l.debit) <> SUM(l.credit) OR SUM(l.debit) <> e.total) x""")[0]
        == 0
    )
    assert (
        _one("""
        SELECT COUNT(*) FROM billing_invoice i LEFT JOIN ledger_journalline l
          ON l.entry_id = i.journal_entry_id AND l.debit > 0
        LEFT JOIN ledger_ledgeraccount a ON a.id = l.account_id
        WHERE a.code IS DISTINCT FROM '1100' OR l.debit <> i.gross_total OR l.client_id <> i.account_id""")[0]
        == 0
    )
    # receivable in the books = what the invoices say is still owed; revenue = what was invoiced
    owed, invoiced = _one("SELECT SUM(gross_total - amount_paid), SUM(net_total) FROM billing_invoice")
    receivable, revenue = _one("""
        SELECT SUM(CASE WHEN a.code = '1100' THEN l.debit - l.credit END),
               SUM(CASE WHEN a.code = '4000' THEN l.credit - l.debit END)
        FROM ledger_journalline l JOIN ledger_ledgeraccount a ON a.id = l.account_id""")  # fmt: skip
    assert receivable == owed > 0 and revenue == invoiced > 0

    # the trial balance from stored balances balances and matches the lines; the P&L shows the revenue
    from ledger.selectors import trial_balance
    from ledger.selectors.books import pnl

    tb = trial_balance(at=END)
    assert tb.balanced and tb.closed_through is not None
    assert {r.account.code: r.closing for r in tb.rows}["1100"] == receivable
    assert _one("SELECT COUNT(*) FROM ledger_accountingperiod WHERE status = 'closed'")[0] == 22
    assert pnl(start=date(2024, 11, 1), end=END).income_total == invoiced

    # the pages open on it
    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    for name in ("ledger:trial_balance", "ledger:pnl", "billing:invoice-list", "billing:ar", "dashboard",
                 "projects:approvals", "crm:board"):  # fmt: skip
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get("/api/v1/time-entries/").status_code == 200
    portal = Client()
    portal.force_login(get_user_model().objects.get(username="client"))
    assert portal.get(reverse("billing:portal")).status_code == 200
    assert Decimal(receivable) > 0

    with pytest.raises(FirmExists):
        firm_load("tiny")
