"""Ledger data: chart of accounts, monthly periods, journal entries and lines, stored monthly balances.

Periods per entity: an AccountingPeriod is the firm's calendar month, shared by every legal entity; whether a
month is closed is per entity (PeriodClose, one row per month x entity that closed it). Runs that span entities
(revenue recognition, revaluation) and the schedules that remember a month keep pointing at one calendar month,
while each entity closes and reopens its own books, in order. A separate calendar per entity would have made every
run, schedule and report choose one entity's month; the shared calendar keeps them as they are.

Single-row rules are constraints here; the rules that span rows (an entry balances, posted entries are
immutable, closed periods take no postings) are PostgreSQL triggers (migration 0003) and the posting service
(ledger.services). Journal entries exist only as posted entries: a number is assigned at posting and drafts
live in the documents that post (the manual-entry form, invoices).
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from ledger.choices import DEBIT_NORMAL, AccountType, EntryOrigin, PeriodStatus, SystemAccount
from psa.core.entities import entity_field
from psa.core.history import tracked
from psa.core.money import AMOUNT_FIELD, FX_RATE_FIELD


@tracked()
class LedgerAccount(models.Model):
    """One account of the chart. `is_control` accounts (receivables, tax, contract positions) take postings
    from the system only (invoices, payments, recognition), never from a manual journal entry."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=12, choices=AccountType.choices)
    system_role = models.CharField(
        max_length=30,
        choices=SystemAccount.choices,
        null=True,
        blank=True,
        unique=True,
        help_text="The posting rule that uses this account (invoices, payments, recognition).",
    )
    is_control = models.BooleanField(
        "control account", default=False, help_text="Only the system posts here; manual entries are refused."
    )
    is_active = models.BooleanField("active", default=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=[t.value for t in AccountType]), name="ledger_account_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def debit_normal(self) -> bool:
        return self.type in DEBIT_NORMAL


@tracked()
class AccountingPeriod(models.Model):
    """A calendar month, shared by every legal entity. Each entity closes its months in order and reopens them in
    reverse order (PeriodClose), so an entity's closed months are always a prefix of the calendar and its stored
    balances are cumulative (see AccountBalance).

    `status`, `closed_at` and `closed_by` summarise the month for lists: closed once every active entity has
    closed it (set by the close and reopen services, put right by `periods_ensure` when an entity is added). What
    may be posted is decided per entity, by PeriodClose, in the services and in the database."""

    start = models.DateField(unique=True)
    end = models.DateField()
    status = models.CharField(max_length=10, choices=PeriodStatus.choices, default=PeriodStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="ledger_period_end_after_start"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in PeriodStatus]), name="ledger_period_status_valid"
            ),
            # Overlaps are also refused on PostgreSQL by an exclusion constraint (migration 0003).
        ]

    def __str__(self) -> str:
        return self.start.strftime("%B %Y")

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m")

    @property
    def is_open(self) -> bool:
        return self.status == PeriodStatus.OPEN


class PeriodClose(models.Model):
    """One month closed for one legal entity: the row exists while the month is closed for that entity (written
    by the close, removed by the reopen). Postings of that entity dated in the month are refused, by the posting
    service and by a trigger (migration 0014); the other entities' books stay open."""

    period = models.ForeignKey(AccountingPeriod, on_delete=models.PROTECT, related_name="closes")
    entity = models.ForeignKey("core.LegalEntity", on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField()
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["period__start", "entity_id"]
        constraints = [models.UniqueConstraint(fields=["period", "entity"], name="ledger_period_close_unique")]
        indexes = [models.Index(fields=["entity", "period"], name="ledger_close_entity_idx")]

    def __str__(self) -> str:
        return f"{self.period} closed for entity {self.entity_id}"


class JournalEntry(models.Model):
    """A posted journal entry. Immutable once written (a trigger refuses UPDATE and DELETE); corrections are
    reversal entries, and an entry is reversed at most once (`reverses` is unique).

    Every index is written by every posting, so the entry keeps those its look-ups use: the number and the key are
    unique through constraints (a unique field would add a second, pattern index that no query reads), and the
    poster's index holds only the entries a person posted. The value rules (total positive, a known origin, the
    automatic reversal after the date) are checked by the insert trigger (ledger migration 0026) rather than by
    CHECK constraints, which PostgreSQL reads and plans again for every statement; an entry is never updated."""

    number = models.CharField(max_length=32)
    date = models.DateField()
    period = models.ForeignKey(AccountingPeriod, on_delete=models.PROTECT, related_name="entries")
    entity = entity_field(help_text="The legal entity whose books the entry is in.")
    requested_date = models.DateField(
        null=True, blank=True, help_text="The date asked for when a catch-up moved the entry to an open period."
    )
    memo = models.CharField(max_length=300)
    source = models.CharField(max_length=100, blank=True, help_text="What posted it, e.g. 'invoice:42' or 'manual'.")
    origin = models.CharField(max_length=10, choices=EntryOrigin.choices, default=EntryOrigin.MANUAL)
    idempotency_key = models.CharField(max_length=255)
    spec_hash = models.CharField(max_length=64, help_text="sha256 of the posting spec, to detect a reused key.")
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    auto_reverse_on = models.DateField(null=True, blank=True, help_text="Post the reversal on this date.")
    total = models.DecimalField(**AMOUNT_FIELD, help_text="Sum of debits (equal to the sum of credits).")
    posted_at = models.DateTimeField(auto_now_add=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "journal entries"
        constraints = [
            models.UniqueConstraint(fields=["number"], name="ledger_entry_number_unique"),
            models.UniqueConstraint(fields=["idempotency_key"], name="ledger_entry_idempotency_key_unique"),
        ]
        indexes = [
            models.Index(fields=["posted_by"], name="ledger_entry_posted_by_idx", condition=Q(posted_by__isnull=False)),
            models.Index(fields=["date", "id"], name="ledger_entry_date_idx"),
            models.Index(
                fields=["auto_reverse_on"], name="ledger_entry_autorev_idx", condition=Q(auto_reverse_on__isnull=False)
            ),
            models.Index(fields=["source"], name="ledger_entry_source_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.memo}"


class JournalLine(models.Model):
    """One side of an entry: one account, one positive amount on one side, and the client and project
    dimensions. `date`, `period` and `entity` repeat the entry's (checked by a trigger, which fills a missing
    entity from the entry) so reports filter lines without a join.

    Two currencies (DESIGN.md invariant 11): `debit`/`credit` are in the functional currency, and every report,
    stored balance and the balance trigger read them. `currency`, `amount_currency` and `rate` keep the
    transaction: 1,000.00 USD at 0.9 is currency USD, amount_currency 1,000.00, rate 0.9, debit 900.00. A line
    in the functional currency has its own amount and rate 1. An exchange-difference line (realised or unrealised
    gain or loss, a revaluation of receivables) has amount_currency 0: it changes what the foreign balance is
    worth, not the balance."""

    # No index of their own for the foreign keys (db_index=False): each leads an index below, or the unique
    # (entry, line_no), which serves its look-ups and the database's own foreign-key checks; an index per key as
    # well cost every posted line six more index writes.
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines", db_index=False)
    line_no = models.SmallIntegerField(validators=[MinValueValidator(0)])
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="lines", db_index=False)
    debit = models.DecimalField(**AMOUNT_FIELD, default=0)
    credit = models.DecimalField(**AMOUNT_FIELD, default=0)
    client = models.ForeignKey(
        "crm.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_lines", db_index=False
    )
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_lines",
        db_index=False,
    )  # fmt: skip
    memo = models.CharField(max_length=200, blank=True)
    date = models.DateField()
    # The entry's period and entity, copied for filtering: held to the entry's by the insert trigger and to existing
    # rows through the entry's own keys, so no key of their own (migration 0024).
    period = models.ForeignKey(
        AccountingPeriod, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    entity = models.ForeignKey(
        "core.LegalEntity", on_delete=models.PROTECT, related_name="+", help_text="The entry's legal entity.",
        db_index=False, db_constraint=False,
    )  # fmt: skip
    currency = models.CharField(max_length=3, help_text="The transaction currency (ISO 4217).")
    amount_currency = models.DecimalField(
        **AMOUNT_FIELD,
        help_text="The amount in the transaction currency, on the line's side; 0 on an exchange-difference line, "
        "which moves only the functional amount.",
    )
    rate = models.DecimalField(
        **FX_RATE_FIELD, help_text="Functional units per transaction unit the line was converted at (1 when the same)."
    )

    class Meta:
        ordering = ["entry_id", "line_no"]
        # The value rules (one side, positive; the transaction amount not negative; the rate positive; line_no not
        # negative) are checked by the insert trigger (ledger migration 0026), under the names their CHECK
        # constraints had: PostgreSQL reads and plans a CHECK constraint again for every statement, a trigger's
        # expressions once per session, and a line is never updated.
        constraints = [
            models.UniqueConstraint(fields=["entry", "line_no"], name="ledger_line_entry_line_no_unique"),
        ]
        indexes = [
            # The general ledger of one account, in date order (keyset pagination on date, id).
            models.Index(fields=["account", "date", "id"], name="ledger_line_account_date_idx"),
            # Open months of a report: lines after the last closed period, by date.
            models.Index(fields=["date", "account"], name="ledger_line_date_idx"),
            # One entity's books: its open months by date, and its month being closed.
            models.Index(fields=["entity", "date", "account"], name="ledger_line_entity_date_idx"),
            models.Index(fields=["entity", "period", "account"], name="ledger_line_entity_period_idx"),
            models.Index(fields=["client", "date"], name="ledger_line_client_idx", condition=Q(client__isnull=False)),
            models.Index(
                fields=["project", "date"], name="ledger_line_project_idx", condition=Q(project__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        side = f"Dr {self.debit}" if self.debit else f"Cr {self.credit}"
        return f"{self.entry_id}/{self.line_no} {self.account_id} {side}"

    @property
    def amount(self):
        """Signed: debit positive, credit negative."""
        return self.debit - self.credit


class AccountBalance(models.Model):
    """Stored monthly balance of one entity x account x client x project, written when the entity closes the
    period and removed when it reopens it. `debit`/`credit` are the month's movement; `cum_debit`/`cum_credit`
    are totals from the first period through this one, so a report at any date reads, per entity, one closed
    month's rows plus the lines of the open months after it, however long the history."""

    period = models.ForeignKey(AccountingPeriod, on_delete=models.CASCADE, related_name="balances")
    entity = models.ForeignKey("core.LegalEntity", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="balances")
    client = models.ForeignKey("crm.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey("projects.Project", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    debit = models.DecimalField(**AMOUNT_FIELD, default=0)
    credit = models.DecimalField(**AMOUNT_FIELD, default=0)
    cum_debit = models.DecimalField(**AMOUNT_FIELD, default=0)
    cum_credit = models.DecimalField(**AMOUNT_FIELD, default=0)

    class Meta:
        constraints = [
            # One row per period x entity x account x client x project, "no client" counting as one value.
            models.UniqueConstraint(
                "period",
                "entity",
                "account",
                Coalesce("client", 0),
                Coalesce("project", 0),
                name="ledger_balance_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["period", "account"], name="ledger_balance_period_idx"),
            models.Index(fields=["entity", "period"], name="ledger_balance_entity_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.period_id} {self.account_id} {self.cum_debit - self.cum_credit}"
