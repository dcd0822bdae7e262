"""Go-live import of approved but unbilled time and expenses dated before the cut-over, billable by the next run.

Time (`unbilled_time`): consultant (username or e-mail), project (code), task, date, hours, rate (the bill rate
the previous system approved the hours at: the snapshot billing and recognition use), note, external id. Parsed
by the time import's reader (projects.services.time_import), then checked by the go-live's rules rather than the
timesheet's (the work is history: no allocation or open week is asked for):
- dated before the cut-over (rule: on_or_after_cutover: later time is entered in PSA);
- a project of the go-live's legal entity (rule: other_entity) with a time-and-materials contract line covering
  the day (rule: no_tm_line): billing takes the hours through that line;
- hours in (0, 24] with at most two decimals (rule: hours), a positive rate (rule: rate), at most 24 h per
  consultant and day with what PSA holds (rule: over_24h), one entry per consultant, project, task and day
  (rule: cell_taken, or duplicate_in_file).
Each row becomes an approved, billable entry flagged `opening`: the next billing run bills it once (the billed-once
link, as for any entry), and the labour cost run leaves it out (its cost is in the previous system's books). A
re-imported row already in PSA with the same hours and rate is "unchanged".

Expenses (`unbilled_expenses`): consultant, project, date, category, amount, currency, re-bill amount (what the
client is billed; default the amount), description, external id; the same rules of date, entity and contract
line (any line covering the day), and a category PSA knows (rule: category).

Recognition: the revenue of this work is in the contract line's opening recognised revenue (the contracts import),
which counts only work dated on or after the cut-over on top of it, so the imported entries are billed but not
recognised a second time.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.services.golive.base import GoLiveContext, amount_reader, new_report, read_amount, read_date, row_error
from crm.choices import BillingModel
from projects.choices import EntryStatus, ExpenseCategory, RebillPolicy
from projects.models import Consultant, ContractLine, Expense, Project, TimeEntry
from projects.services.time import MAX_HOURS_PER_DAY
from projects.services.time_import import _consultants, _parse
from psa.core.currency import CURRENCY_CODES
from psa.core.imports import ROW, ImportReport, RowResult, max_lengths, too_long
from psa.core.money import ZERO, round_amount

TWO_PLACES = Decimal("0.01")


def _cell(row: dict, column: str) -> str:
    return str(row.get(column, "") or "").strip()


def _lines_covering(project_ids: set[int]) -> dict[int, list[ContractLine]]:
    """The contract lines of these projects, T&M first then by position (the order approval picks a line in)."""
    lines: dict[int, list[ContractLine]] = defaultdict(list)
    for line in (
        ContractLine.objects.filter(contract__project_id__in=project_ids)
        .select_related("contract")
        .order_by("position", "id")
    ):
        lines[line.contract.project_id].append(line)
    for found in lines.values():
        found.sort(key=lambda ln: (ln.billing_model != BillingModel.TIME_AND_MATERIALS, ln.position, ln.pk))
    return lines


def _line_on(lines: list[ContractLine], day: date, *, tm: bool) -> ContractLine | None:
    for line in lines:
        if line.start_date <= day <= line.end_date and (
            not tm or line.billing_model == BillingModel.TIME_AND_MATERIALS
        ):
            return line
    return None


class UnbilledTimeImporter:
    kind: str = "unbilled_time"
    label: str = "Unbilled time"
    columns: tuple[str, ...] = ("consultant", "project", "date", "hours", "rate")
    optional_columns: tuple[str, ...] = ("task", "note", "external_id")
    aliases: dict[str, str] = {
        "user": "consultant",
        "username": "consultant",
        "email": "consultant",
        "employee": "consultant",
        "project_code": "project",
        "task_name": "task",
        "day": "date",
        "duration": "hours",
        "bill_rate": "rate",
        "hourly_rate": "rate",
        "notes": "note",
        "description": "note",
        "id": "external_id",
    }

    def check(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        return self._plan(rows, ctx)[0]

    @transaction.atomic
    def apply(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        report, entries = self._plan(rows, ctx, lock=True)
        if report.errors or not entries:
            return report
        TimeEntry.objects.bulk_create(entries, batch_size=2000)
        ctx.record_many(entries)
        return report

    def _plan(self, rows: list[dict], ctx: GoLiveContext, *, lock: bool = False) -> tuple[ImportReport, list]:
        report = new_report(self, ctx)
        cutover = ctx.golive.cutover_date
        # The time import's reader: consultant, project, task, date and hours looked up with one query each.
        parsed = {row.index: row for row in _parse([{**r, ROW: r[ROW]} for r in rows])}
        rates = amount_reader(rows, ["rate"])
        good = [row.spec for row in parsed.values() if row.spec]
        project_ids = {s.project_id for s in good}
        projects = {p.pk: p for p in Project.objects.filter(pk__in=project_ids).only("pk", "code", "entity_id")}
        lines = _lines_covering(project_ids)
        consultant_ids = {s.consultant_id for s in good}
        if lock and consultant_ids:
            list(Consultant.objects.select_for_update().filter(pk__in=sorted(consultant_ids)).values_list("pk"))
        days = {s.date for s in good}
        stored = TimeEntry.objects.none()
        if good:
            stored = TimeEntry.objects.filter(
                consultant_id__in=consultant_ids, date__range=(min(days), max(days))
            ).only("pk", "consultant_id", "project_id", "task_id", "date", "hours", "bill_rate", "opening")
        cells = {(e.consultant_id, e.project_id, e.task_id, e.date): e for e in stored}
        per_day: dict[tuple[int, date], Decimal] = defaultdict(lambda: ZERO)
        for e in cells.values():
            per_day[(e.consultant_id, e.date)] += e.hours
        seen: dict[tuple, int] = {}
        seen_ext: dict[str, int] = {}
        now = timezone.now()
        entries: list[TimeEntry] = []
        for r in rows:
            n = int(r[ROW])
            row = parsed[n]
            name, ext = row.label, row.external_id
            if row.spec is None:
                rule = "unknown_consultant" if "consultant" in row.error else "unknown_project"
                if "task" in row.error:
                    rule = "unknown_task"
                elif row.error.startswith("Missing") or "is not" in row.error:
                    rule = "invalid_value"
                report.rows.append(row_error(r, rule, row.error, name=name, external_id=ext))
                continue
            spec = row.spec
            problems: list[tuple[str, str]] = []
            rate = read_amount(rates, r, "rate", [])
            if rate <= 0:
                problems.append(("rate", f"rate '{_cell(r, 'rate')}' is not a positive amount"))
            if not ZERO < spec.hours <= MAX_HOURS_PER_DAY or spec.hours != spec.hours.quantize(TWO_PLACES):
                problems.append(("hours", f"{spec.hours} h: hours are more than 0, at most 24, with two decimals"))
            if spec.date >= cutover:
                problems.append(
                    ("on_or_after_cutover", f"dated {spec.date} on or after the cut-over {cutover}: enter it in PSA")
                )
            project = projects[spec.project_id]
            if project.entity_id != ctx.golive.entity_id:
                problems.append(("other_entity", f"project {project.code} belongs to another legal entity"))
            line = _line_on(lines.get(spec.project_id, []), spec.date, tm=True)
            if line is None:
                problems.append(
                    ("no_tm_line", f"project {project.code} has no time-and-materials contract line on {spec.date}")
                )
            if ext and ext in seen_ext:
                problems.append(("duplicate_in_file", f"external id {ext} is also on row {seen_ext[ext]}"))
            key = (spec.consultant_id, spec.project_id, spec.task_id, spec.date)
            if key in seen:
                problems.append(
                    ("duplicate_in_file", f"the same consultant, project, task and day is on row {seen[key]}")
                )
            existing = cells.get(key)
            if existing is not None and not problems:
                if existing.opening and existing.hours == spec.hours and existing.bill_rate == rate:
                    report.rows.append(RowResult(n, name, ext, "unchanged", "already imported"))
                    seen[key] = n
                    continue
                problems.append(
                    ("cell_taken", f"PSA already holds {existing.hours} h for this consultant, project and day")
                )
            if not problems and per_day[(spec.consultant_id, spec.date)] + spec.hours > MAX_HOURS_PER_DAY:
                total = per_day[(spec.consultant_id, spec.date)] + spec.hours
                problems.append(("over_24h", f"{total} h on {spec.date} for this consultant (at most 24)"))
            if problems:
                report.rows.append(
                    row_error(r, problems[0][0], "; ".join(p for _, p in problems), name=name, external_id=ext)
                )
                continue
            seen[key] = n
            if ext:
                seen_ext[ext] = n
            per_day[(spec.consultant_id, spec.date)] += spec.hours
            assert line is not None
            entries.append(
                TimeEntry(
                    consultant_id=spec.consultant_id,
                    project_id=spec.project_id,
                    task_id=spec.task_id,
                    date=spec.date,
                    hours=spec.hours,
                    note=spec.note,
                    status=EntryStatus.APPROVED,
                    contract_line=line,
                    billable=True,
                    bill_rate=rate,
                    submitted_at=now,
                    approved_at=now,
                    decided_by=ctx.user,
                    source_key=ext,
                    opening=True,
                    created_at=now,
                    updated_at=now,
                )
            )
            report.rows.append(RowResult(n, name, ext, "create"))
        return report, entries


class UnbilledExpensesImporter:
    kind: str = "unbilled_expenses"
    label: str = "Unbilled expenses"
    columns: tuple[str, ...] = ("consultant", "project", "date", "category", "amount", "currency")
    optional_columns: tuple[str, ...] = ("rebill_amount", "description", "external_id")
    aliases: dict[str, str] = {
        "user": "consultant",
        "username": "consultant",
        "email": "consultant",
        "employee": "consultant",
        "project_code": "project",
        "rebill": "rebill_amount",
        "billed_amount": "rebill_amount",
        "note": "description",
        "id": "external_id",
    }

    def check(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        return self._plan(rows, ctx)[0]

    @transaction.atomic
    def apply(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        report, expenses = self._plan(rows, ctx)
        if report.errors or not expenses:
            return report
        Expense.objects.bulk_create(expenses, batch_size=2000)
        ctx.record_many(expenses)
        return report

    def _plan(self, rows: list[dict], ctx: GoLiveContext) -> tuple[ImportReport, list]:
        report = new_report(self, ctx)
        cutover = ctx.golive.cutover_date
        consultants = _consultants({_cell(r, "consultant").lower() for r in rows if _cell(r, "consultant")})
        codes = {_cell(r, "project").upper() for r in rows if _cell(r, "project")}
        projects = {p.code.upper(): p for p in Project.objects.filter(code__in=codes).only("pk", "code", "entity_id")}
        lines = _lines_covering({p.pk for p in projects.values()})
        amounts = amount_reader(rows, ["amount", "rebill_amount"])
        lengths = max_lengths(Expense, {"description": "description"})
        categories = {c.value: c.value for c in ExpenseCategory} | {c.label.lower(): c.value for c in ExpenseCategory}
        # Re-importing a file: an opening expense of the same consultant, project, day and amount is "unchanged".
        known = set(
            Expense.objects.filter(opening=True, project__in=list(projects.values()), date__lt=cutover).values_list(
                "consultant_id", "project_id", "date", "amount", "currency"
            )
        )
        now = timezone.now()
        seen_ext: dict[str, int] = {}
        expenses: list[Expense] = []
        for r in rows:
            n, ext = int(r[ROW]), _cell(r, "external_id")
            name = f"{_cell(r, 'consultant')} · {_cell(r, 'project')} · {_cell(r, 'date')} · {_cell(r, 'amount')}"
            problems: list[tuple[str, str]] = []
            texts: list[str] = too_long(r, lengths)
            consultant_id = consultants.get(_cell(r, "consultant").lower())
            if consultant_id is None:
                problems.append(("unknown_consultant", f"no active consultant '{_cell(r, 'consultant')}'"))
            project = projects.get(_cell(r, "project").upper())
            if project is None:
                problems.append(("unknown_project", f"no project with the code '{_cell(r, 'project')}'"))
            day = read_date(r, "date", texts)
            amount = read_amount(amounts, r, "amount", texts, blank_zero=False)
            rebill = read_amount(amounts, r, "rebill_amount", texts) if _cell(r, "rebill_amount") else amount
            currency = _cell(r, "currency").upper()
            if currency not in CURRENCY_CODES:
                texts.append(f"unknown currency '{currency}'")
            category = categories.get(_cell(r, "category").lower())
            if category is None:
                problems.append(
                    ("category", f"category '{_cell(r, 'category')}' is not one of {', '.join(ExpenseCategory.values)}")
                )
            if amount <= 0 or rebill < 0:
                texts.append("the amount is positive and the re-bill amount not negative")
            if texts:
                problems.append(("invalid_value", "; ".join(texts)))
            line = None
            if project is not None and day is not None:
                if day >= cutover:
                    problems.append(
                        ("on_or_after_cutover", f"dated {day} on or after the cut-over {cutover}: enter it in PSA")
                    )
                if project.entity_id != ctx.golive.entity_id:
                    problems.append(("other_entity", f"project {project.code} belongs to another legal entity"))
                line = _line_on(lines.get(project.pk, []), day, tm=False)
                if line is None:
                    problems.append(("no_contract_line", f"project {project.code} has no contract line on {day}"))
            if ext and ext in seen_ext:
                problems.append(("duplicate_in_file", f"external id {ext} is also on row {seen_ext[ext]}"))
            if problems:
                report.rows.append(
                    row_error(r, problems[0][0], "; ".join(p for _, p in problems), name=name, external_id=ext)
                )
                continue
            assert project is not None and line is not None and day is not None
            assert consultant_id is not None and category is not None
            if ext:
                seen_ext[ext] = n
            amount = round_amount(amount, currency)
            if (consultant_id, project.pk, day, amount, currency) in known:
                report.rows.append(RowResult(n, name, ext, "unchanged", "already imported"))
                continue
            expenses.append(
                Expense(
                    consultant_id=consultant_id,
                    project=project,
                    date=day,
                    category=category,
                    description=_cell(r, "description") or (f"Imported {ext}" if ext else ""),
                    amount=amount,
                    currency=currency,
                    billable=rebill > 0,
                    status=EntryStatus.APPROVED,
                    contract_line=line,
                    rebill_policy=RebillPolicy.MARKUP if rebill > amount else RebillPolicy.AT_COST,
                    markup_percent=round((rebill / amount - 1) * 100, 2) if rebill > amount else ZERO,
                    rebill_amount=round_amount(rebill, currency) if rebill > 0 else None,
                    submitted_at=now,
                    approved_at=now,
                    decided_by=ctx.user,
                    opening=True,
                )
            )
            report.rows.append(RowResult(n, name, ext, "create"))
        return report, expenses


UNBILLED_TIME = UnbilledTimeImporter()
UNBILLED_EXPENSES = UnbilledExpensesImporter()
