"""The value of approved T&M work: one definition, used by billing (both its paths) and revenue recognition.

Approved, billable time is valued per *group* of entries: contract line x role x snapshot bill rate, the grouping
of a T&M invoice line. A group's value is round(sum of its hours x rate) to the cent, half up, once
(`tm_group_value`, the money helper's `line_net`), never the sum of per-entry roundings: 2 x 0.25 h at 150.50 is
75.25, not 2 x 37.63; 3 x 0.10 h at 141.75 is 42.53, not 3 x 14.18. The role is the entry's rate card line's,
else its consultant's (`ENTRY_ROLE`).

The rule is cumulative, so it stays exact when a group is cut across months, invoices, credits and re-bills:

- Recognition's target for a T&M line through a month end is the sum over its groups of the value of every
  approved entry dated on or before that day (`tm_value_by_line`). A month recognises the difference between
  two cumulative targets, i.e. per group round(H through this month x rate) - round(H through last month x rate).
- Billing bills a group's newly claimed hours for what they add to the value of everything of that group that is
  billed and not released: round((H already billed + H new) x rate) - the amount already billed (`tm_group_net`,
  the already billed amount counting what a cap wrote down). A group billed once bills round(H x rate), as any
  invoice line; a group billed again (the next month's time, a late approval, a re-bill after a credit note)
  bills the difference, so after any invoice the group's active billing is round(its billed hours x rate).
- Both sides therefore telescope to the same number: whenever billing and recognition have covered the same
  entries, the invoiced net of each group (invoices less the credit notes that released sources) equals the
  recognised value of the group to the cent, and the contract position for that work is 0.

A true-up is never negative (a credit note can leave less than the value billed; the next bill of the group
takes the difference up again, never down below zero). The group's role is read as it is now: when a
consultant's role changes after billing, the groups are redrawn for both sides alike, and a cent can move until
the group is billed again.
"""

from decimal import Decimal

from django.db.models import F, QuerySet, Sum
from django.db.models.functions import Coalesce

from psa.core.money import ZERO, line_net

# The role an entry is billed and valued as: its rate card line's, else its consultant's.
ENTRY_ROLE = Coalesce(F("rate_card_line__role_id"), F("consultant__role_id"))


def tm_group_value(hours: Decimal, rate: Decimal) -> Decimal:
    """The value of one group's hours at its rate: round(hours x rate), half up, once."""
    return line_net(hours, rate)


def tm_group_net(*, hours: Decimal, rate: Decimal, billed_hours: Decimal = ZERO, billed: Decimal = ZERO) -> Decimal:
    """What billing bills for `hours` of a group whose `billed_hours` are already billed for `billed`: the value
    of all of them less what is billed, never below zero."""
    return max(tm_group_value(billed_hours + hours, rate) - billed, ZERO)


def tm_group_net_sql(*, hours: str, rate: str, billed_hours: str, billed: str) -> str:
    """`tm_group_net` as a PostgreSQL expression over the given SQL terms, for the one-statement billing writer.
    PostgreSQL's ROUND(numeric, 2) rounds half away from zero, as ROUND_HALF_UP does; a test checks they agree."""
    return f"GREATEST(ROUND(({billed_hours} + {hours}) * {rate}, 2) - ({billed}), 0)"


def tm_groups(entries: QuerySet) -> QuerySet:
    """The groups of these time entries: rows of contract_line_id, role_id, bill_rate and their hours (one
    aggregate query)."""
    return (
        entries.values("contract_line_id", "bill_rate", role_id=ENTRY_ROLE)
        .annotate(group_hours=Sum("hours"))
        .order_by()
    )


def tm_value_by_line(entries: QuerySet) -> dict[int, Decimal]:
    """The value of these (approved, billable) time entries per contract line: the sum over the line's groups of
    `tm_group_value`. One query; the Python sum runs once per group, never per entry."""
    out: dict[int, Decimal] = {}
    for row in tm_groups(entries):
        line = row["contract_line_id"]
        out[line] = out.get(line, ZERO) + tm_group_value(row["group_hours"], row["bill_rate"] or ZERO)
    return out
