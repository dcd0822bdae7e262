"""Approved time summed by day, project, contract line, billable flag and billed status, for the pages that
would otherwise re-aggregate every approved entry on each view (the dashboard's approved hours by month and its
unbilled-age KPI; the exception queue's unbilled ageing, cap positions and estimate actuals).

The grain is a day, refreshed a month at a time: three of those figures use day windows (30/60/90-day buckets,
a 28-day burn, "older than 30 days") that a month's sum cannot give exactly. It lives in billing because the
billed status is billing's (an unreleased time-entry source link). Written only by
billing.services.time_summary.time_summary_refresh, which records its as-of time in TimeSummaryRefresh.
"""

from django.db import models

from psa.core.money import DecimalShape

SUM_VALUE: DecimalShape = {"max_digits": 24, "decimal_places": 6}  # hours x a rate, summed: exact, rounded on display
SUM_HOURS: DecimalShape = {"max_digits": 14, "decimal_places": 2}


class TimeSummary(models.Model):
    month = models.DateField(help_text="First day of the month of `date`: the unit of refresh.")
    date = models.DateField()
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    contract_line = models.ForeignKey(
        "projects.ContractLine", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    billable = models.BooleanField()
    billed = models.BooleanField(help_text="On an invoice: an unreleased time-entry source link.")
    entries = models.PositiveIntegerField()
    hours = models.DecimalField(**SUM_HOURS)
    value = models.DecimalField(**SUM_VALUE, help_text="Σ hours x snapshot bill rate.")
    cost = models.DecimalField(**SUM_VALUE, help_text="Σ hours x snapshot cost rate (entries without one: none).")

    class Meta:
        indexes = [
            models.Index(fields=["month", "billable"], name="billing_ts_month"),
            models.Index(fields=["billable", "billed", "date"], name="billing_ts_unbilled"),
            models.Index(fields=["project"], name="billing_ts_project"),
            models.Index(fields=["contract_line", "date"], name="billing_ts_line_date"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "project", "contract_line", "billable", "billed"],
                nulls_distinct=False,
                name="billing_ts_one_per_cell",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} project {self.project_id}: {self.hours} h"


class TimeSummaryRefresh(models.Model):
    """One row: when the summary was last made current. `as_of` is the refresh's start, inside its snapshot:
    every change committed before it is in the summary. The link ids let the next refresh find newly billed
    time (source links carry no creation time)."""

    singleton = models.PositiveSmallIntegerField(primary_key=True, default=1)
    as_of = models.DateTimeField()
    finished_at = models.DateTimeField()
    last_link_id = models.BigIntegerField(default=0, help_text="The newest source link at `as_of`.")
    # Links above `margin_link_id` are looked at by the next refresh: it was the newest at least MARGIN before the
    # last refresh, so a billing transaction that was still open then (its ids are lower) is not missed.
    margin_link_id = models.BigIntegerField(default=0)
    pending_link_id = models.BigIntegerField(default=0)
    pending_since = models.DateTimeField(null=True)
    months = models.PositiveIntegerField(default=0, help_text="Months recomputed by the last refresh.")

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(singleton=1), name="billing_tsr_singleton")]

    def __str__(self) -> str:
        return f"approved-time summary as of {self.as_of:%Y-%m-%d %H:%M}"
