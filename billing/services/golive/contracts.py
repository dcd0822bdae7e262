"""Go-live import of open contracts and their projects, with what each contract line had billed and recognised
before the cut-over in the previous system.

One row per contract line; the contract's own columns repeat on each of its rows:
- contract* (the old system's number, kept), customer* (external id, tax id or name), project (code; default the
  contract number), project name, currency (default the customer's), payment terms, project manager (e-mail),
  start date*, end date*;
- line (position; default the row's order), description*, billing model* (tm, fixed_fee, milestone, retainer,
  subscription), price (fixed-price lines), rate (T&M), hours (sold), cap (T&M), method (recognition method;
  default by billing model);
- billed*, recognised* (net, to the day before the cut-over), hours to date (delivered before the cut-over).

How "to date" is represented: a projects.ContractLineOpening per line (as_of = the cut-over, billed, recognised,
hours). Recognition carries on from it (ledger.services.recognition: R0 + what is delivered from the cut-over on,
over the price still to recognise), billing schedules only price - billed over the periods from the cut-over on
and counts billed against a cap (billing.services.sources). The line's revenue schedule is created with
`recognised` = R0, so a recognition run right after go-live posts nothing.

The contract position at the cut-over, per contract, is Σ (recognised - billed) of its lines: unbilled receivable
when positive, deferred revenue when negative (never both, invariant 7). The opening trial balance carries those
balances on the unbilled receivable and deferred revenue accounts as a whole; this import posts one entry at the
cut-over that moves each contract's position onto its project (Dr unbilled receivable for the project / Cr
unbilled receivable without a project, or Dr deferred revenue without a project / Cr deferred revenue for the
project), so that the position billing and recognition read (ledger.services.contract_position) equals the
imported one. Nothing is left on those accounts without a project once the balances agree; the go-live
reconciliation (contract positions) lists the contracts and the unassigned remainder when they do not.

Rules (each bad row named with its rule): unknown_customer, unknown_user, contract_exists (a contract number PSA has;
a re-imported go-live contract is "unchanged"), project_exists, contract_rows_disagree (one contract's rows
name different customers, projects, currencies or dates), duplicate_line, not_open (ended before the cut-over),
billing_model, method (does not fit the billing model), price (fixed-price lines need one; T&M lines a rate),
over_price (billed or recognised beyond the price or cap), invalid_value, missing_rate (a foreign contract
without a rate at the cut-over).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from billing.models import ScheduleEvent
from billing.services.golive.base import GoLiveContext, amount_reader, new_report, read_amount, read_date, row_error
from billing.services.golive.parties import tax_key
from billing.services.sources import SCHEDULED_MODELS, billing_schedules_generate_for_contract
from crm.choices import BillingModel
from crm.models import Account
from ledger.choices import METHODS_BY_BILLING_MODEL, SystemAccount
from ledger.models import JournalEntry, JournalLine, RevenueSchedule
from ledger.services.accounts import account_code_for
from ledger.services.posting import EntrySpec, LineSpec, entry_post, fx_line
from ledger.services.revenue import default_method, revenue_schedule_method_set, revenue_schedules_ensure
from projects.choices import ProjectStatus
from projects.models import Contract, ContractLine, ContractLineOpening, Project
from psa.core.currency import CURRENCY_CODES, functional_currency
from psa.core.fx import MissingRate, Rate, rate_for
from psa.core.imports import ROW, ImportReport, RowResult, max_lengths, too_long
from psa.core.money import ZERO, round_amount

MODELS = {m.value: m.value for m in BillingModel} | {m.label.lower(): m.value for m in BillingModel}
MODELS |= {"t&m": BillingModel.TIME_AND_MATERIALS, "time_and_materials": BillingModel.TIME_AND_MATERIALS,
           "fixed": BillingModel.FIXED_FEE, "fixed fee": BillingModel.FIXED_FEE}  # fmt: skip
CONTRACT_COLUMNS = ("customer", "project", "project_name", "currency", "payment_terms", "project_manager",
                    "start_date", "end_date")  # fmt: skip
POSITION_SOURCE = "contract-positions"  # source golive:<id>:contract-positions, as the go-live's own entries


def _cell(row: dict, column: str) -> str:
    return str(row.get(column, "") or "").strip()


@dataclass
class _Line:
    row: dict
    position: int
    description: str
    billing_model: str
    method: str
    price: Decimal
    rate: Decimal | None
    hours: Decimal
    cap: Decimal | None
    billed: Decimal
    recognised: Decimal
    hours_to_date: Decimal


@dataclass
class _Contract:
    number: str
    first_row: int
    account: Account | None = None
    project_code: str = ""
    project_name: str = ""
    currency: str = ""
    payment_terms: int = 30
    manager: Any = None
    start: date = date.min
    end: date = date.min
    lines: list[_Line] = field(default_factory=list)
    rate: Rate | None = None

    @property
    def position(self) -> Decimal:
        return sum((ln.recognised - ln.billed for ln in self.lines), ZERO)


class ContractsImporter:
    kind: str = "contracts"
    label: str = "Open contracts and projects"
    columns: tuple[str, ...] = (
        "contract",
        "customer",
        "start_date",
        "end_date",
        "description",
        "billing_model",
        "billed",
        "recognised",
    )
    optional_columns: tuple[str, ...] = (
        "project", "project_name", "currency", "payment_terms", "project_manager", "line", "price", "rate", "hours",
        "cap", "method", "hours_to_date",
    )  # fmt: skip
    aliases: dict[str, str] = {
        "contract_number": "contract",
        "account": "customer",
        "client": "customer",
        "project_code": "project",
        "start": "start_date",
        "end": "end_date",
        "model": "billing_model",
        "billed_to_date": "billed",
        "invoiced": "billed",
        "invoiced_to_date": "billed",
        "recognised_to_date": "recognised",
        "recognized": "recognised",
        "recognized_to_date": "recognised",
        "revenue_to_date": "recognised",
        "position": "line",
        "line_number": "line",
        "pm": "project_manager",
        "recognition_method": "method",
        "sold_hours": "hours",
        "delivered_hours": "hours_to_date",
    }

    def check(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        return self._plan(rows, ctx)[0]

    @transaction.atomic
    def apply(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        report, contracts = self._plan(rows, ctx)
        if report.errors or not contracts:
            return report
        self._write(contracts, ctx)
        return report

    # --- checking -------------------------------------------------------------------------------------------
    def _plan(self, rows: list[dict], ctx: GoLiveContext) -> tuple[ImportReport, list[_Contract]]:
        report = new_report(self, ctx)
        cutover = ctx.golive.cutover_date
        refs = {_cell(r, "customer") for r in rows if _cell(r, "customer")}
        accounts: dict[str, Account] = {}
        for a in Account.objects.annotate(lname=Lower("name")).filter(
            Q(external_id__in=refs) | Q(tax_id__in={tax_key(x) for x in refs}) | Q(lname__in={x.lower() for x in refs})
        ):
            for key in (a.external_id or "", tax_key(a.tax_id), a.name.lower()):
                if key:
                    accounts.setdefault(key, a)
        numbers = {_cell(r, "contract") for r in rows if _cell(r, "contract")}
        existing: dict[str, bool] = {}  # contract number in PSA -> brought in by a go-live (has openings)
        for number, opening_id in Contract.objects.filter(number__in=numbers).values_list(
            "number", "lines__opening__id"
        ):
            existing[number] = existing.get(number, False) or opening_id is not None
        codes = {(_cell(r, "project") or _cell(r, "contract")).upper() for r in rows}
        taken_codes = {c.upper() for c in Project.objects.filter(code__in=codes).values_list("code", flat=True)}
        emails = {_cell(r, "project_manager").lower() for r in rows if _cell(r, "project_manager")}
        managers = {
            u.e: u for u in get_user_model().objects.annotate(e=Lower("email")).filter(e__in=emails, is_active=True)
        }
        amounts = amount_reader(rows, ["price", "rate", "hours", "cap", "billed", "recognised", "hours_to_date"])
        lengths = (
            max_lengths(ContractLine, {"description": "description"})
            | max_lengths(Project, {"project": "code", "project_name": "name"})
            | max_lengths(Contract, {"contract": "number"})
        )
        contracts: dict[str, _Contract] = {}
        bad_contracts: set[str] = set()
        results: dict[int, RowResult] = {}
        positions: dict[tuple[str, int], int] = {}
        for r in rows:
            n, number = int(r[ROW]), _cell(r, "contract")
            name = f"{number} / {_cell(r, 'description')}"

            def refuse(rule: str, reason: str, n: int = n, r: dict = r, name: str = name, number: str = number) -> None:
                results[n] = row_error(r, rule, reason, name=name, external_id=number)
                bad_contracts.add(number)

            texts = too_long(r, lengths)
            if not number:
                refuse("invalid_value", "column 'contract' is empty")
                continue
            if number in existing:
                if existing[number]:
                    results[n] = RowResult(n, name, number, "unchanged", "already imported")
                    continue
                refuse("contract_exists", f"PSA already has a contract {number} (not brought in by a go-live)")
                continue
            account = accounts.get(_cell(r, "customer")) or accounts.get(tax_key(_cell(r, "customer")))
            account = account or accounts.get(_cell(r, "customer").lower())
            if account is None:
                refuse("unknown_customer", f"no customer '{_cell(r, 'customer')}' (external id, tax id or name)")
                continue
            manager = None
            if _cell(r, "project_manager"):
                manager = managers.get(_cell(r, "project_manager").lower())
                if manager is None:
                    refuse("unknown_user", f"no active user with the e-mail '{_cell(r, 'project_manager')}'")
                    continue
            start, end = read_date(r, "start_date", texts), read_date(r, "end_date", texts)
            currency = (_cell(r, "currency") or account.currency).upper()
            if currency not in CURRENCY_CODES:
                texts.append(f"unknown currency '{currency}'")
            terms = _cell(r, "payment_terms")
            if terms and (not terms.isdigit() or int(terms) > 365):
                texts.append("payment terms must be 0-365 days")
            model = MODELS.get(_cell(r, "billing_model").lower())
            price = read_amount(amounts, r, "price", texts)
            rate = read_amount(amounts, r, "rate", texts) if _cell(r, "rate") else None
            hours = read_amount(amounts, r, "hours", texts)
            cap = read_amount(amounts, r, "cap", texts) if _cell(r, "cap") else None
            billed = read_amount(amounts, r, "billed", texts, blank_zero=False)
            recognised = read_amount(amounts, r, "recognised", texts, blank_zero=False)
            hours_to_date = read_amount(amounts, r, "hours_to_date", texts)
            if any(v is not None and v < 0 for v in (price, rate, hours, cap, billed, recognised, hours_to_date)):
                texts.append("amounts and hours are not negative")
            if not _cell(r, "description"):
                texts.append("column 'description' is empty")
            line_text = _cell(r, "line")
            if line_text and not line_text.isdigit():
                texts.append(f"line '{line_text}' is not a whole number")
            if texts:
                refuse("invalid_value", "; ".join(texts))
                continue
            assert start is not None and end is not None
            if model is None:
                refuse("billing_model", f"billing model '{_cell(r, 'billing_model')}' is not one of "
                       f"{', '.join(m.value for m in BillingModel)}")  # fmt: skip
                continue
            method = _cell(r, "method").lower() or default_method(model)
            if method not in METHODS_BY_BILLING_MODEL.get(model, ()):
                refuse("method", f"a {model} line cannot be recognised by '{method}'; allowed: "
                       f"{', '.join(METHODS_BY_BILLING_MODEL.get(model, ()))}")  # fmt: skip
                continue
            if end < start:
                refuse("invalid_value", f"ends {end}, before it starts {start}")
                continue
            if end < cutover:
                refuse("not_open", f"ended {end}, before the cut-over {cutover}: only open contracts are imported")
                continue
            if model == BillingModel.TIME_AND_MATERIALS and not rate:
                refuse("price", "a time-and-materials line needs its hourly rate")
                continue
            if model != BillingModel.TIME_AND_MATERIALS and not price:
                refuse("price", f"a {model.replace('_', ' ')} line needs its price")
                continue
            ceiling = cap if model == BillingModel.TIME_AND_MATERIALS else price
            if ceiling is not None and (billed > ceiling or recognised > ceiling):
                what = "cap" if model == BillingModel.TIME_AND_MATERIALS else "price"
                refuse(
                    "over_price", f"billed {billed} or recognised {recognised} is more than the line's {what} {ceiling}"
                )
                continue
            code = (_cell(r, "project") or number).upper()
            contract = contracts.get(number)
            if contract is None:
                if code in taken_codes:
                    refuse("project_exists", f"PSA already has a project {code}: a go-live contract brings its own")
                    continue
                if code in {c.project_code for c in contracts.values()}:
                    refuse("contract_rows_disagree", f"project {code} is given to two contracts of the file")
                    continue
                contract = contracts[number] = _Contract(
                    number=number,
                    first_row=n,
                    account=account,
                    project_code=code,
                    project_name=_cell(r, "project_name") or number,
                    currency=currency,
                    payment_terms=int(terms) if terms else account.payment_terms_days,
                    manager=manager,
                    start=start,
                    end=end,
                )
            else:
                differs = [
                    label
                    for label, mine, theirs in (
                        ("customer", account.pk, contract.account.pk if contract.account else None),
                        ("project", code, contract.project_code),
                        ("currency", currency, contract.currency),
                    )
                    if mine != theirs
                ]
                if differs:
                    differ = ", ".join(differs)
                    refuse("contract_rows_disagree", f"its {differ} differ from row {contract.first_row} of {number}")
                    continue
                contract.start, contract.end = min(contract.start, start), max(contract.end, end)
            position = int(line_text) if line_text else len(contract.lines) + 1
            if (number, position) in positions:
                refuse(
                    "duplicate_line",
                    f"line {position} of contract {number} is also on row {positions[(number, position)]}",
                )
                continue
            positions[(number, position)] = n
            contract.lines.append(
                _Line(
                    r,
                    position,
                    _cell(r, "description"),
                    model,
                    method,
                    round_amount(price, currency),
                    rate,
                    hours,
                    round_amount(cap, currency) if cap is not None else None,
                    round_amount(billed, currency),
                    round_amount(recognised, currency),
                    hours_to_date,
                )
            )
            results[n] = RowResult(n, name, number, "create")
        # A foreign contract's position goes to the GL at the cut-over's rate.
        for contract in contracts.values():
            if contract.number in bad_contracts:
                continue
            try:
                contract.rate = rate_for(currency=contract.currency, on=cutover)
            except MissingRate as exc:
                for line in contract.lines:
                    n = int(line.row[ROW])
                    results[n] = row_error(
                        line.row, "missing_rate", exc.message, name=results[n].name, external_id=contract.number
                    )
                bad_contracts.add(contract.number)
        # A contract is imported whole: the good rows of a contract with a bad row are refused with it.
        for contract in contracts.values():
            if contract.number not in bad_contracts:
                continue
            for line in contract.lines:
                n = int(line.row[ROW])
                if results[n].action != "error":
                    reason = f"another row of contract {contract.number} is refused; a contract is imported whole"
                    results[n] = row_error(
                        line.row, "contract_rows_disagree", reason, name=results[n].name, external_id=contract.number
                    )
        report.rows.extend(results[n] for n in sorted(results))
        good = [c for c in contracts.values() if c.number not in bad_contracts]
        if any(ln.billing_model == BillingModel.MILESTONE for c in good for ln in c.lines):
            report.notes.append(
                "Milestone lines: enter the milestones still to deliver on each project; they sum to the line's "
                "price less the revenue recognised before the cut-over."
            )
        return report, good

    # --- writing --------------------------------------------------------------------------------------------
    def _write(self, contracts: list[_Contract], ctx: GoLiveContext) -> None:
        entity_id = ctx.golive.entity_id
        now = timezone.now()
        projects = [
            Project(
                code=c.project_code,
                name=c.project_name,
                account=c.account,
                entity_id=entity_id,
                project_manager=c.manager,
                status=ProjectStatus.ACTIVE,
                start_date=c.start,
                end_date=c.end,
                currency=c.currency,
            )
            for c in contracts
        ]
        Project.objects.bulk_create(projects)
        ctx.record_many(projects)
        records = [
            Contract(
                number=c.number,
                account=c.account,
                entity_id=entity_id,
                project=project,
                currency=c.currency,
                payment_terms_days=c.payment_terms,
                start_date=c.start,
                end_date=c.end,
                signed_at=now,
                created_by=ctx.user,
            )
            for c, project in zip(contracts, projects, strict=True)
        ]
        Contract.objects.bulk_create(records)
        ctx.record_many(records)
        lines: list[ContractLine] = []
        openings: list[ContractLineOpening] = []
        methods: dict[int, str] = {}
        for c, contract in zip(contracts, records, strict=True):
            for ln in c.lines:
                line = ContractLine(
                    contract=contract,
                    position=ln.position,
                    description=ln.description,
                    billing_model=ln.billing_model,
                    hours=ln.hours,
                    rate=ln.rate,
                    price=ln.price,
                    cap=ln.cap,
                    start_date=c.start,
                    end_date=c.end,
                )
                lines.append(line)
                openings.append(
                    ContractLineOpening(
                        contract_line=line,
                        as_of=ctx.golive.cutover_date,
                        billed=ln.billed,
                        recognised=ln.recognised,
                        hours=ln.hours_to_date,
                    )
                )
        ContractLine.objects.bulk_create(lines)
        ctx.record_many(lines)
        ContractLineOpening.objects.bulk_create(openings)
        ctx.record_many(openings)
        recognised = {}
        for c_line, opening, spec in zip(lines, openings, [ln for c in contracts for ln in c.lines], strict=True):
            recognised[c_line.pk] = opening.recognised
            if spec.method != default_method(spec.billing_model):
                methods[c_line.pk] = spec.method
        # Revenue schedules with what is already recognised; a straight-line plan covers what is left.
        revenue_schedules_ensure(contract_line_ids=list(recognised))
        schedules = list(RevenueSchedule.objects.filter(contract_line_id__in=list(recognised)).order_by("pk"))
        for s in schedules:
            s.recognised = recognised[s.contract_line_id]
        RevenueSchedule.objects.bulk_update(schedules, ["recognised"])
        for s in schedules:
            if s.contract_line_id in methods:
                revenue_schedule_method_set(schedule_id=s.pk, method=methods[s.contract_line_id], by=ctx.user)
        ctx.record_many(schedules)
        for c, contract in zip(contracts, records, strict=True):
            if any(ln.billing_model in SCHEDULED_MODELS for ln in c.lines):
                billing_schedules_generate_for_contract(contract_id=contract.pk, by=ctx.user)
        events = list(ScheduleEvent.objects.filter(contract_line__in=lines).order_by("pk"))
        ctx.record_many(events)
        entry = self._post_positions(contracts, records, ctx)
        if entry is not None:
            ctx.record(entry)

    def _post_positions(
        self, contracts: list[_Contract], records: list[Contract], ctx: GoLiveContext
    ) -> JournalEntry | None:
        """One entry at the cut-over moving each contract's opening position onto its project (module docstring)."""
        codes = {role: account_code_for(role) for role in (SystemAccount.UNBILLED, SystemAccount.DEFERRED)}
        functional = functional_currency()
        lines: list[LineSpec] = []
        memo = "Contract position at go-live"
        for c, contract in zip(contracts, records, strict=True):
            position = c.position
            if not position:
                continue
            role = SystemAccount.UNBILLED if position > 0 else SystemAccount.DEFERRED
            amount = abs(position)
            project_debit = role == SystemAccount.UNBILLED
            for debit, on in ((project_debit, True), (not project_debit, False)):
                dr, cr = (amount, ZERO) if debit else (ZERO, amount)
                client_id, project_id = (contract.account_id, contract.project_id) if on else (None, None)
                text = memo if on else f"{memo}: {c.number} from the opening balance"
                if c.currency in ("", functional) or c.rate is None:
                    lines.append(LineSpec(codes[role], dr, cr, client_id, project_id, text))
                else:
                    lines.append(fx_line(codes[role], rate=c.rate, debit=dr, credit=cr, client_id=client_id,
                                         project_id=project_id, memo=text))  # fmt: skip
        if not lines:
            return None
        spec = EntrySpec(
            date=ctx.golive.cutover_date,
            memo=f"Contract positions at go-live {ctx.golive.cutover_date:%Y-%m-%d}",
            source=f"golive:{ctx.golive.pk}:{POSITION_SOURCE}",
            lines=tuple(lines),
            entity_id=ctx.golive.entity_id,
        )
        key = f"golive:{ctx.golive.pk}:{POSITION_SOURCE}:{ctx.golive_import.pk if ctx.golive_import else 0}"
        return entry_post(spec=spec, key=key)


CONTRACTS = ContractsImporter()


def projects_remove(ids: list[int], ctx: GoLiveContext) -> None:
    """Rollback of the imported projects: deleted, unless journal lines name them (the position entry, which the
    rollback reverses and never deletes); those are cancelled and their code freed for a new go-live."""
    used = set(JournalLine.objects.filter(project_id__in=ids).values_list("project_id", flat=True).distinct())
    Project.objects.filter(pk__in=set(ids) - used).delete()
    kept = list(Project.objects.filter(pk__in=used).order_by("pk"))
    for project in kept:
        project.status = ProjectStatus.CANCELLED
        project.code = f"{project.code[:20]}~RB{ctx.golive.pk}"
    Project.objects.bulk_update(kept, ["status", "code"])
