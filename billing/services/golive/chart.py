"""The chart mapping: the previous system's account codes -> ours, new accounts created where the file asks.

Columns: their_code*, their_name, our_code (an account of our chart; with create = yes, the code of the account to
create), create (yes/no), name (of the account to create; default their name), type (asset, liability, equity,
income, expense). The files after it name accounts by their code or ours (`accounts_for`).
"""

from dataclasses import dataclass

from billing.models import GoLive, GoLiveAccountMap
from billing.services.golive.base import GoLiveContext, new_report, row_error
from ledger.choices import AccountType
from ledger.models import LedgerAccount
from ledger.services import account_create
from psa.core.imports import ROW, ImportReport, RowResult

YES = {"yes", "y", "true", "1", "x", "ja", "oui"}


def accounts_for(golive: GoLive) -> dict[str, LedgerAccount]:
    """Every code a go-live file may name an account by: our codes, then the previous system's codes mapped by
    the go-live's chart import (a mapped code wins over one of ours that reads the same)."""
    chart = {a.pk: a for a in LedgerAccount.objects.all()}
    accounts = {a.code: a for a in chart.values()}
    for source, account_id in GoLiveAccountMap.objects.filter(golive=golive).values_list("source_code", "account_id"):
        accounts[source] = chart[account_id]
    return accounts


@dataclass(frozen=True)
class _Row:
    row: dict
    their_code: str
    their_name: str
    account: LedgerAccount | None  # the existing account it maps to
    create: tuple[str, str, str] | None  # (code, name, type) of the account to create


class ChartImporter:
    kind = "chart"
    label = "Chart of accounts mapping"
    columns = ("their_code",)
    optional_columns = ("their_name", "our_code", "create", "name", "type")
    aliases = {
        "source_code": "their_code",
        "old_code": "their_code",
        "account_code": "their_code",
        "source_name": "their_name",
        "old_name": "their_name",
        "psa_code": "our_code",
        "new_code": "our_code",
        "account_type": "type",
    }

    def _read(self, rows: list[dict], ctx: GoLiveContext) -> tuple[list[_Row], ImportReport]:
        report = new_report(self, ctx)
        ours = {a.code: a for a in LedgerAccount.objects.all()}
        mapped = set(GoLiveAccountMap.objects.filter(golive=ctx.golive).values_list("source_code", flat=True))
        seen: dict[str, int] = {}
        creating: dict[str, int] = {}
        good: list[_Row] = []
        for row in rows:
            code, name = row.get("their_code", ""), row.get("their_name", "")
            our, create = row.get("our_code", ""), row.get("create", "").lower() in YES
            bad = None
            if not code:
                bad = ("missing_code", "Their code is empty.")
            elif code in seen:
                bad = ("duplicate_code", f"Their code {code} is mapped twice (also on row {seen[code]}).")
            elif code in mapped:
                bad = ("duplicate_code", f"Their code {code} is already mapped in this go-live.")
            elif not our:
                bad = ("missing_our_code", f"No account of ours is given for their code {code} (column our_code).")
            elif our in ours and not ours[our].is_active:
                bad = ("inactive_account", f"Our account {our} is inactive.")
            elif our not in ours and not create:
                bad = (
                    "unknown_account",
                    f"Our account {our} is not in the chart: map their code {code} to an existing account, or set "
                    "create to yes with a type.",
                )
            elif our not in ours and row.get("type", "").lower() not in AccountType.values:
                bad = (
                    "unknown_type",
                    f"Account {our} is to be created but its type '{row.get('type', '')}' is not one of "
                    f"{', '.join(AccountType.values)}.",
                )
            if code:
                seen.setdefault(code, int(row[ROW]))
            if bad:
                report.rows.append(row_error(row, bad[0], bad[1], name=name, external_id=code))
                continue
            if our in ours:
                good.append(_Row(row, code, name, ours[our], None))
                report.rows.append(RowResult(int(row[ROW]), name, code, "unchanged", f"maps to {our} {ours[our].name}"))
            else:
                first = our not in creating
                creating.setdefault(our, int(row[ROW]))
                spec = (our, row.get("name") or name or our, row["type"].lower())
                good.append(_Row(row, code, name, None, spec if first else None))
                report.rows.append(
                    RowResult(
                        int(row[ROW]),
                        name,
                        code,
                        "create" if first else "unchanged",
                        f"creates {our} {spec[1]} ({spec[2]})"
                        if first
                        else f"maps to {our}, created on row {creating[our]}",
                    )
                )
        return good, report

    def check(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        return self._read(rows, ctx)[1]

    def apply(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport:
        good, report = self._read(rows, ctx)
        if report.errors:
            return report
        created: dict[str, LedgerAccount] = {}
        for item in good:
            if item.create is not None:
                code, name, kind = item.create
                created[code] = account_create(by=ctx.user, code=code, name=name[:120], type=kind)
                ctx.record(created[code])
        maps = GoLiveAccountMap.objects.bulk_create(
            GoLiveAccountMap(
                golive=ctx.golive,
                golive_import=ctx.golive_import,
                source_code=item.their_code,
                source_name=item.their_name[:200],
                account=item.account or created[item.row["our_code"]],
            )
            for item in good
        )
        ctx.record_many(maps)
        return report


CHART = ChartImporter()
