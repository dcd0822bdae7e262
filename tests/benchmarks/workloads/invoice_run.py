"""invoice_run: one month's billing run of approved time — our run (billing_run_create, billing_run_start and
billing_run_execute, the service the job calls: one contract per transaction, run item claimed and sources
claimed with SELECT ... FOR UPDATE SKIP LOCKED, one T&M line per contract line x role x rate, a link per entry,
tax and totals) against a hand-written SQL run doing the same work in the same process: the same run and
items, the same per-contract transaction, item and source claiming with SKIP LOCKED, grouping, per-entry
allocation of each line's net (window functions) and totals, in a few set-based statements per contract.

Size M is the issue's firm: 500 consultants, 2,000 projects (one contract each), 200 accounts, 80,000
approved entries in October 2026. S: 100 consultants, 400 projects, 40 accounts, 16,000 entries. A third of the
accounts and their contracts bill in USD or GBP: each draft is in its contract's currency and its tax is rounded
to that currency's minor unit, in both runs (drafts carry no functional amounts: an invoice converts at its issue
date's rate when it is issued, which a run does not do). Our run is also timed at half the entries, and the
notes give both query counts: they are equal, because the query count grows with contracts, never with entries.
Goal 1.5.

These contracts have one uncapped T&M line and only time to bill, so our run bills each in one SQL statement
(`time_draft_write`, billing/services/draft_write.py); a contract with a cap or other kinds of sources takes the
general path (sources loaded into Python), which tests/billing/test_draft_write.py holds to the same rows.
"""

import time
from unittest import mock

from django.db import connection, transaction

from billing.services.vat import invoice_vat_determine
from crm.models import Account
from psa.core.currency import minor_unit
from psa.core.entities import entity_default, seller_snapshot
from tests.benchmarks.gen_billing import (
    PERIOD_END,
    billing_firm,
    billing_history,
    billing_time_load,
    billing_truncate,
)
from tests.benchmarks.harness import Record, timed
from tests.querycount import count_queries

ENTRIES = {"tiny": 2_000, "S": 16_000, "M": 80_000, "L": 800_000}
REPEAT = {"tiny": 1, "S": 3, "M": 3, "L": 1}

CONTRACTS_WITH_TIME = """
SELECT DISTINCT cl.contract_id
FROM projects_timeentry te JOIN projects_contractline cl ON cl.id = te.contract_line_id
WHERE te.status = 'approved' AND te.billable AND te.bill_rate > 0 AND te.date <= %(end)s
  AND NOT EXISTS (SELECT 1 FROM billing_sourcelink sl
                  WHERE sl.kind = 'time_entry' AND sl.source_id = te.id AND sl.released_at IS NULL)
ORDER BY 1
"""
NEW_RUN = """
WITH run AS (
  INSERT INTO billing_billingrun (key, fingerprint, period_end, scope, account_ids, project_ids, status, created_at,
                                  started_at)
  VALUES (NULL, 'baseline', %(end)s, 'all', '[]', '[]', 'running', now(), now()) RETURNING id
)
INSERT INTO billing_billingrunitem (run_id, contract_id, kinds, status, attempts, error)
SELECT run.id, c, '["time_entry"]', 'pending', 0, '' FROM run, unnest(%(contracts)s::bigint[]) AS c
RETURNING run_id
"""
CLAIM_ITEM = """
SELECT id, contract_id FROM billing_billingrunitem WHERE run_id = %(run)s AND status = 'pending'
ORDER BY contract_id LIMIT 1 FOR UPDATE SKIP LOCKED
"""
NEW_INVOICE = """
INSERT INTO billing_invoice (kind, status, account_id, contract_id, project_id, run_id, currency, payment_terms_days,
  buyer_name, buyer_address, buyer_tax_id, buyer_email, buyer_reference, seller, note, net_total, tax_total,
  gross_total, amount_paid, amount_credited, amount_written_off, pdf, pdf_sha256, xml, einvoice_error, created_at,
  entity_id)
SELECT 'invoice', 'draft', a.id, c.id, c.project_id, %(run)s, c.currency, c.payment_terms_days,
  COALESCE(NULLIF(a.legal_name, ''), a.name), a.billing_address, a.tax_id, a.billing_email, c.number, '{}', '',
  0, 0, 0, 0, 0, 0, '', '', '', '', now(), c.entity_id
FROM projects_contract c JOIN crm_account a ON a.id = c.account_id WHERE c.id = %(contract)s
FOR NO KEY UPDATE OF c
RETURNING id, currency
"""
BILL_TIME = """
WITH claimed AS (
  SELECT te.id, te.date, te.hours, te.bill_rate, te.contract_line_id,
         COALESCE(rcl.role_id, co.role_id) AS role_id
  FROM projects_timeentry te
  JOIN projects_contractline cl ON cl.id = te.contract_line_id
  JOIN projects_consultant co ON co.id = te.consultant_id
  LEFT JOIN projects_ratecardline rcl ON rcl.id = te.rate_card_line_id
  WHERE cl.contract_id = %(contract)s AND te.status = 'approved' AND te.billable AND te.bill_rate > 0
    AND te.date <= %(end)s
    AND NOT EXISTS (SELECT 1 FROM billing_sourcelink sl
                    WHERE sl.kind = 'time_entry' AND sl.source_id = te.id AND sl.released_at IS NULL)
  FOR UPDATE OF te SKIP LOCKED
), grp AS (
  SELECT contract_line_id, role_id, bill_rate, SUM(hours) AS qty, ROUND(SUM(hours) * bill_rate, 2) AS net,
         MIN(date) AS first_day, MAX(date) AS last_day,
         ROW_NUMBER() OVER (ORDER BY MIN(date), contract_line_id, role_id, bill_rate) AS position
  FROM claimed GROUP BY contract_line_id, role_id, bill_rate
), lines AS (
  INSERT INTO billing_invoiceline (invoice_id, position, description, quantity, unit, unit_price, net,
    tax_category_id, tax_rate, contract_line_id, period_start, period_end, written_down)
  SELECT %(invoice)s, position, 'Time', qty, 'HUR', bill_rate, net, %(category)s, %(rate)s, contract_line_id,
         first_day, last_day, 0
  FROM grp RETURNING id, position
), shares AS (
  SELECT c.*, l.id AS line_id, g.net AS line_net,
         ROUND(g.net * c.hours / g.qty, 2) AS share,
         SUM(ROUND(g.net * c.hours / g.qty, 2)) OVER w AS shares_sum,
         ROW_NUMBER() OVER (w ORDER BY c.date DESC, c.id DESC) AS from_last
  FROM claimed c
  JOIN grp g USING (contract_line_id, role_id, bill_rate)
  JOIN lines l ON l.position = g.position
  WINDOW w AS (PARTITION BY g.position)
)
INSERT INTO billing_sourcelink (line_id, kind, source_id, contract_line_id, quantity, amount, written_down,
  source_date, label, release_reason)
SELECT line_id, 'time_entry', id, contract_line_id, hours,
       share + CASE WHEN from_last = 1 THEN line_net - shares_sum ELSE 0 END, 0, date, 'Time', ''
FROM shares
"""
TOTALS = """
WITH basis AS (SELECT SUM(net) AS b, MIN(period_start) AS s, MAX(period_end) AS e
               FROM billing_invoiceline WHERE invoice_id = %(invoice)s),
tax AS (
  INSERT INTO billing_invoicetax (invoice_id, tax_category_id, kind, rate, basis, amount, exemption_reason)
  SELECT %(invoice)s, %(category)s, 'S', %(rate)s, b, ROUND(b * %(rate)s / 100, %(places)s), '' FROM basis
  RETURNING basis, amount
)
UPDATE billing_invoice SET net_total = tax.basis, tax_total = tax.amount, gross_total = tax.basis + tax.amount,
  period_start = basis.s, period_end = basis.e
FROM tax, basis WHERE id = %(invoice)s
"""
DONE_ITEM = """
UPDATE billing_billingrunitem SET status = 'done', invoice_id = %(invoice)s, attempts = attempts + 1,
  processed_at = now() WHERE id = %(item)s
"""
FINISH = "UPDATE billing_billingrun SET status = 'done', finished_at = now() WHERE id = %(run)s"


def baseline_run() -> int:
    """The hand-written run: returns the number of invoices made."""
    # The category the VAT rules give the bench's clients (all German businesses, no override).
    account = Account.objects.filter(name__startswith="Bench billing client ").order_by("pk").first()
    category = invoice_vat_determine(
        account=account, seller=seller_snapshot(entity_default(), "EUR"), period_end=PERIOD_END, override=None
    ).category
    params = {"end": PERIOD_END, "category": category.pk, "rate": category.rate}
    with connection.cursor() as cursor:
        cursor.execute(CONTRACTS_WITH_TIME, params)
        contracts = [r[0] for r in cursor.fetchall()]
        cursor.execute(NEW_RUN, params | {"contracts": contracts})
        params["run"] = cursor.fetchone()[0]
        invoices = 0
        while True:
            with transaction.atomic():
                cursor.execute(CLAIM_ITEM, params)
                row = cursor.fetchone()
                if row is None:
                    break
                item, contract = row
                cursor.execute(NEW_INVOICE, params | {"contract": contract})
                invoice, currency = cursor.fetchone()
                places = minor_unit(currency)
                p = params | {"contract": contract, "invoice": invoice, "item": item, "places": places}
                cursor.execute(BILL_TIME, p)
                cursor.execute(TOTALS, p)
                cursor.execute(DONE_ITEM, p)
                invoices += 1
        cursor.execute(FINISH, params)
    return invoices


def our_run(finance) -> int:
    from billing.models import Invoice
    from billing.services import billing_run_create, billing_run_execute, billing_run_start

    run = billing_run_create(by=finance, period_end=PERIOD_END)
    # The job is what a worker runs after commit; here the same service runs in this process.
    with mock.patch("billing.services.runs._enqueue"):
        billing_run_start(run_id=run.pk, by=finance)
    billing_run_execute(run_id=run.pk)
    return Invoice.objects.filter(run=run).count()


def _output() -> tuple:
    """What the run made (the history invoice has no run and is left out). The lines whose net differs from their
    sources' sum are found by one grouped join: a sum per line read from the CTE took hours at L (60,000 lines x
    800,000 sources)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH i AS (SELECT * FROM billing_invoice WHERE run_id IS NOT NULL),
                    l AS (SELECT * FROM billing_invoiceline WHERE invoice_id IN (SELECT id FROM i)),
                    s AS (SELECT * FROM billing_sourcelink WHERE line_id IN (SELECT id FROM l))
               SELECT (SELECT COUNT(*) FROM i), (SELECT SUM(net_total) FROM i), (SELECT SUM(tax_total) FROM i),
                      (SELECT COUNT(*) FROM l), (SELECT COUNT(*) FROM s), (SELECT SUM(amount) FROM s),
                      (SELECT COUNT(*) FROM l JOIN (SELECT line_id, SUM(amount) AS linked FROM s GROUP BY line_id) x
                         ON x.line_id = l.id WHERE l.net <> x.linked)"""
        )
        return cursor.fetchone()


def run(size: str) -> list[Record]:
    from django.contrib.auth import get_user_model

    finance, _ = get_user_model().objects.get_or_create(username="bench-finance", defaults={"is_superuser": True})
    firm = billing_firm(size)
    n_contracts = len(firm.lines)

    def fresh():
        billing_truncate()
        billing_history(ENTRIES[size])

    loading = time.perf_counter()
    n = billing_time_load(size, ENTRIES[size])
    load_s = time.perf_counter() - loading
    if size == "L":
        # 20,000 contracts: each run takes minutes, so each side runs once, timed and counted (the statement
        # counter of `timed`, as below), and that run's output is the one compared; no half-size run.
        baseline_s, baseline_queries = timed(baseline_run, setup=fresh, repeat=1)
        expected = _output()
        assert expected[0] == n_contracts and expected[4] == n and expected[6] == 0, expected
        ours_s, queries = timed(lambda: our_run(finance), setup=fresh, repeat=1)
        assert _output() == expected, f"ours {_output()} and the baseline {expected} must agree"
        half, half_queries, half_s = n, queries, ours_s
    else:
        fresh()
        baseline_run()
        expected = _output()
        assert expected[0] == n_contracts and expected[4] == n and expected[6] == 0, expected
        fresh()
        our_run(finance)
        assert _output() == expected, f"ours {_output()} and the baseline {expected} must agree"
        fresh()
        queries, _ = count_queries(lambda: our_run(finance))  # after a first run, so no one-off lookup is counted
        fresh()
        baseline_queries, _ = count_queries(baseline_run)
        ours_s, _ = timed(lambda: our_run(finance), setup=fresh, repeat=REPEAT[size])
        baseline_s, _ = timed(baseline_run, setup=fresh, repeat=REPEAT[size])

        half = billing_time_load(size, ENTRIES[size] // 2)
        fresh()
        half_queries, _ = count_queries(lambda: our_run(finance))
        half_s, _ = timed(lambda: our_run(finance), setup=fresh, repeat=1)
    billing_truncate()
    from tests.benchmarks.generator import truncate

    truncate("projects_timeentry")
    return [
        Record(
            name="invoice_run",
            size=size,
            ours_s=ours_s,
            baseline_s=baseline_s,
            goal_ratio=1.5,
            queries=queries,
            notes=(
                f"{n} approved entries, {n_contracts} contracts, {len(firm.consultants)} consultants; "
                f"{queries} queries at {n} entries and {half_queries} at {half} ({half_s:.1f} s), "
                f"{queries / n_contracts:.1f} per contract; baseline {baseline_queries} queries (statements, commits "
                f"not counted); entries loaded by COPY in {load_s:.1f} s"
            ),
            units={"s_per_contract": ours_s / n_contracts, "queries_per_contract": queries / n_contracts},
        )
    ]
