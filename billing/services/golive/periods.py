"""Historical periods: the months before the cut-over, created closed for the go-live's entity (an
administrator only, audited: ledger.services.history.periods_history_create).

Columns: period* (YYYY-MM, or a date in the month). The months must run without a gap up to the month before the
cut-over; every month of the calendar before the cut-over is closed for the entity, those that exist already too
(they must hold none of its postings).
"""

from datetime import date, timedelta

from billing.services.golive.base import FILE_ROW, GoLiveContext, new_report, row_error
from ledger.models import AccountingPeriod, JournalLine
from ledger.services.history import periods_history_create
from psa.core.dates import month_start, next_month
from psa.core.exceptions import PermissionDeniedError
from psa.core.imports import ROW, ImportReport, RowResult
from psa.core.roles import Role, has_role


def _month(text: str) -> date | None:
    text = text.strip()
    for candidate in (text[:10], f"{text[:7]}-01"):
        try:
            return month_start(date.fromisoformat(candidate))
        except ValueError:
            continue
    return None


class PeriodsImporter:
    kind = "periods"
    label = "Historical periods"
    columns = ("period",)
    optional_columns = ()
    aliases = {"month": "period", "start": "period", "period_start": "period"}

    def _read(self, rows: list[dict], ctx: GoLiveContext) -> tuple[list[date], ImportReport]:
        if not has_role(ctx.user, Role.ADMIN):
            raise PermissionDeniedError(
                "Only an administrator can create periods before the first one.",
                fields={"file": ["Ask an administrator to import the historical periods."]},
            )
        report = new_report(self, ctx)
        cutover = ctx.golive.cutover_date
        existing = set(AccountingPeriod.objects.values_list("start", flat=True))
        months: dict[date, int] = {}
        for row in rows:
            text = str(row.get("period", ""))
            month = _month(text)
            if month is None:
                report.rows.append(row_error(row, "bad_period", f"'{text}' is not a month written as YYYY-MM."))
            elif month >= month_start(cutover):
                report.rows.append(
                    row_error(row, "after_cutover", f"{month:%Y-%m} is not before the cut-over ({cutover:%Y-%m-%d}).")
                )
            elif month in months:
                report.rows.append(
                    row_error(row, "duplicate_period", f"{month:%Y-%m} is listed twice (also on row {months[month]}).")
                )
            else:
                months[month] = int(row[ROW])
                action = "unchanged" if month in existing else "create"
                report.rows.append(
                    RowResult(int(row[ROW]), f"{month:%Y-%m}", "", action, "closed for the entity" if month in
                              existing else "created closed")
                )  # fmt: skip
        if months:
            expected, month, last = [], min(months), month_start(cutover) - timedelta(days=1)
            while month <= last:
                if month not in months:
                    expected.append(month)
                month = next_month(month)
            if expected:
                missing = ", ".join(f"{m:%Y-%m}" for m in expected[:12])
                report.rows.append(
                    row_error(
                        FILE_ROW,
                        "not_contiguous",
                        f"The months must run without a gap up to the cut-over: {missing} "
                        f"{'is' if len(expected) == 1 else 'are'} missing.",
                    )
                )
            posted = (
                JournalLine.objects.filter(entity_id=ctx.golive.entity_id, date__lt=cutover)
                .order_by("date")
                .values_list("date", flat=True)
                .first()
            )
            if posted is not None:
                report.rows.append(
                    row_error(
                        FILE_ROW,
                        "postings_before_cutover",
                        f"The entity has postings on {posted:%Y-%m-%d}, before the cut-over: the months before it "
                        "must be empty (history comes in as the opening entry).",
                    )
                )
        return sorted(months), report

    def check(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        return self._read(rows, ctx)[1]

    def apply(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        months, report = self._read(rows, ctx)
        if report.errors or not months:
            return report
        made = periods_history_create(
            start=months[0],
            before=ctx.golive.cutover_date,
            entity_id=ctx.golive.entity_id,
            by=ctx.user,
            reason=f"Go-live {ctx.golive.pk}: historical periods before the cut-over",
        )
        ctx.record_many(made.created)
        ctx.record_many(made.closes)
        return report


PERIODS = PeriodsImporter()
