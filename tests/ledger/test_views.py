"""Ledger pages: finance and admin only; the manual entry form posts through the service and shows refusals
inline; reports render as HTML and CSV; lists keep a fixed query count."""

from datetime import date

import pytest
from django.urls import reverse

from ledger.models import AccountingPeriod, JournalEntry, LedgerAccount
from ledger.services.revenue import recognition_run
from psa.core.models import AuditEvent
from tests.ledger.factories import balanced, close_month, post
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

PAGES = [
    "ledger:entries",
    "ledger:entry_create",
    "ledger:accounts",
    "ledger:account_create",
    "ledger:periods",
    "ledger:trial_balance",
    "ledger:pnl",
    "ledger:balance_sheet",
    "ledger:export",
    "ledger:audit",
]


@pytest.mark.parametrize("role", ["sales", "project_manager", "consultant", "client"])
def test_other_roles_see_no_ledger(client_as, role):
    client = client_as(role)
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 403, name
    assert "Ledger" not in [i["label"] for i in client.get("/").context["nav_items"]]


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_finance_and_admin_open_every_ledger_page(client_as, periods, role):
    entry = post(balanced("12.34"))
    client = client_as(role)
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("ledger:entry", args=[entry.pk])).status_code == 200
    assert client.get(reverse("ledger:account", args=[entry.lines.first().account_id])).status_code == 200
    assert "Ledger" in [i["label"] for i in client.get("/").context["nav_items"]]


def _entry_post_data(key: str, on: str, lines: list[tuple[str, str, str]], memo: str = "Office supplies") -> dict:
    data = {
        "key": key,
        "date": on,
        "memo": memo,
        "lines-TOTAL_FORMS": "4",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "4",
        "lines-MAX_NUM_FORMS": "40",
    }
    for i, (code, debit, credit) in enumerate(lines):
        data.update({f"lines-{i}-account": code, f"lines-{i}-debit": debit, f"lines-{i}-credit": credit})
    return data


def test_a_manual_entry_posts_once_even_when_submitted_twice(client_as, periods):
    client = client_as("finance")
    data = _entry_post_data("form:1", "2026-03-04", [("6100", "500.00", ""), ("1000", "", "500.00")])
    response = client.post(reverse("ledger:entry_create"), data)
    entry = JournalEntry.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("ledger:entry", args=[entry.pk])
    client.post(reverse("ledger:entry_create"), data)
    assert JournalEntry.objects.count() == 1
    assert AuditEvent.objects.filter(action="ledger.entry_post", actor=client.user).count() == 1


def test_an_unbalanced_manual_entry_is_shown_back_with_the_reason(client_as, periods):
    client = client_as("finance")
    data = _entry_post_data("form:2", "2026-03-04", [("6100", "500.00", ""), ("1000", "", "400.00")])
    response = client.post(reverse("ledger:entry_create"), data)
    assert response.status_code == 200
    assert "differ by 100.00" in response.content.decode()
    assert not JournalEntry.objects.exists()


def test_a_manual_entry_in_a_closed_month_is_refused_with_a_clear_message(client_as, periods, finance):
    close_month(period_id=periods[0].pk, by=finance, reason="x")
    client = client_as("finance")
    data = _entry_post_data("form:3", "2026-01-15", [("6100", "5.00", ""), ("1000", "", "5.00")])
    html = client.post(reverse("ledger:entry_create"), data).content.decode()
    assert "The period 2026-01 is closed" in html
    assert not JournalEntry.objects.exists()


def test_closing_and_reopening_from_the_periods_page_needs_a_reason(client_as, periods):
    client = client_as("finance")
    january = periods[0]
    recognition_run(period_id=january.pk, by=client.user)  # the checklist's blocking item is done
    client.post(reverse("ledger:period_close", args=[january.pk]), {"reason": ""})
    assert AccountingPeriod.objects.get(pk=january.pk).status == "open"
    client.post(reverse("ledger:period_close", args=[january.pk]), {"reason": "Reconciled"})
    assert AccountingPeriod.objects.get(pk=january.pk).status == "closed"
    html = client.get(reverse("ledger:audit")).content.decode()
    assert "Closed 2026-01: Reconciled" in html
    client.post(reverse("ledger:period_reopen", args=[january.pk]), {"reason": "Late invoice"})
    assert AccountingPeriod.objects.get(pk=january.pk).status == "open"


def test_reversing_from_the_entry_page(client_as, periods):
    client = client_as("finance")
    entry = post(balanced("9.00", on=date(2026, 3, 3)), by=client.user)
    response = client.post(reverse("ledger:entry_reverse", args=[entry.pk]), {"date": "2026-03-05"})
    reversal = JournalEntry.objects.get(reverses=entry)
    assert response["Location"] == reverse("ledger:entry", args=[reversal.pk])
    response = client.post(reverse("ledger:entry_reverse", args=[entry.pk]), {"date": "2026-03-05"}, follow=True)
    assert "already reversed" in response.content.decode()


def test_reports_download_as_csv(client_as, periods):
    post(balanced("12.00", debit="1000", credit="4000", on=date(2026, 3, 3)))
    client = client_as("finance")
    tb = client.get(reverse("ledger:trial_balance"), {"at": "2026-03-31", "format": "csv"})
    assert tb["Content-Type"].startswith("text/csv")
    assert "1000,Cash,asset,0.00,12.00,0.00,12.00,0.00" in tb.content.decode()
    pnl = client.get(
        reverse("ledger:pnl"), {"start": "2026-01-01", "end": "2026-03-31", "by": "period", "format": "csv"}
    )
    assert "net,,Net income" in pnl.content.decode()
    bs = client.get(reverse("ledger:balance_sheet"), {"at": "2026-03-31", "format": "csv"}).content.decode()
    assert "Total liabilities and equity,12.00" in bs


def test_the_export_page_downloads_beancount(client_as, periods):
    post(balanced("12.00", on=date(2026, 3, 3)))
    client = client_as("finance")
    response = client.get(reverse("ledger:export"), {"format": "beancount", "start": "2026-03-01", "end": "2026-03-31"})
    assert response["Content-Disposition"] == 'attachment; filename="ledger-20260301-20260331.beancount"'
    assert "balance Assets:1000-Cash  12.00 EUR" in b"".join(response.streaming_content).decode()


def test_the_account_form_refuses_changing_the_code_of_a_used_account(client_as, periods):
    post(balanced("1.00"))
    client = client_as("finance")
    cash = LedgerAccount.objects.get(code="1000")
    data = {"code": "1001", "name": "Cash", "type": "asset", "is_active": "on"}
    response = client.post(reverse("ledger:account_edit", args=[cash.pk]), data)
    assert "Fixed once the account has postings" in response.content.decode()
    data["code"] = "1000"
    data["name"] = "Cash at bank"
    assert client.post(reverse("ledger:account_edit", args=[cash.pk]), data).status_code == 302
    assert LedgerAccount.objects.get(pk=cash.pk).name == "Cash at bank"


def test_the_general_ledger_page_walks_pages_with_a_running_balance(client_as, periods):
    for i in range(60):
        post(balanced("1.00", on=date(2026, 3, 1 + i % 28)))
    client = client_as("finance")
    cash = LedgerAccount.objects.get(code="1000")
    first = client.get(reverse("ledger:account", args=[cash.pk]))
    assert first.context["page"].closing == 50
    second = client.get(reverse("ledger:account", args=[cash.pk]), {"after": first.context["page"].next_cursor})
    assert second.context["page"].opening == 50 and second.context["page"].closing == 60


def test_list_pages_keep_their_query_count_as_data_grows(client_as, periods):
    client = client_as("finance")
    urls = [reverse(n) for n in ("ledger:entries", "ledger:trial_balance", "ledger:pnl", "ledger:audit")]
    post(balanced("1.00"), by=client.user)

    def load():
        for url in urls:
            assert client.get(url).status_code == 200

    small, _ = count_queries(load)
    for i in range(25):
        post(balanced("1.00", on=date(2026, 3, 1 + i)), by=client.user)
    large, _ = count_queries(load)
    assert large == small


def test_the_home_page_has_a_ledger_panel_for_finance_with_a_fixed_query_count(client_as, periods):
    client = client_as("finance")
    post(balanced("1.00", debit="1000", credit="4000", on=date(2026, 3, 2)))
    response = client.get("/")
    assert "Ledger" in [p.title for p in response.context["panels"]]
    small, _ = count_queries(lambda: client.get("/"))
    for i in range(10):
        post(balanced("1.00", on=date(2026, 3, 1 + i)))
    large, _ = count_queries(lambda: client.get("/"))
    assert large == small
