"""Every figure the dashboard, the revenue reports and the month-end page show, defined once: its label, its
formula and what it is for. Pages show the formula next to the figure (a tooltip and a definitions list), and the
function named in `source` is the one place it is computed.

One margin (DESIGN.md invariant 13): "Project margin" is GL revenue less GL project cost on the project's
dimension, computed in one place (ledger.selectors.margin) and shown the same on the dashboard, the margin report,
the month-end figures, the project page and the account page. The month-end cost run posts labour, subcontractor
and expense cost to the project in the GL and vendor bills post theirs, so the GL holds the whole project cost;
"cost not yet posted" says when the cost run is behind the approvals. "GL cost of services" is the cost of
services account as a whole (with and without a project), a different figure with its own name.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Kpi:
    label: str
    formula: str
    meaning: str
    source: str  # the function that computes it


KPIS: dict[str, Kpi] = {
    "revenue": Kpi(
        "Revenue",
        "services revenue + expense reimbursement revenue posted in the month (GL)",
        "Revenue recognised and posted, whatever its source (recognition runs and manual entries).",
        "psa.web.dashboard.executive_dashboard",
    ),
    "cost": Kpi(
        "GL cost of services",
        "debits - credits on the cost of services account in the month (GL)",
        "Direct cost as the books hold it, with and without a project (labour through the month-end cost run).",
        "psa.web.dashboard.executive_dashboard",
    ),
    "project_margin": Kpi(
        "Project margin",
        "GL revenue - GL project cost on the project dimension: (credits - debits on income accounts) - "
        "(debits - credits on cost of services and re-billable costs); all entities: intercompany eliminated",
        "What delivery earned after its labour, subcontractor, expense and vendor cost, as the books hold it. "
        "Across all entities the intercompany revenue and recharged cost are left out; one entity keeps them.",
        "ledger.selectors.margin.margin_report",
    ),
    "effective_rate": Kpi(
        "Effective rate",
        "project revenue (GL) / approved hours (billable and not)",
        "What an hour of delivery really earned, after write-downs, caps and unbilled time.",
        "ledger.selectors.margin.margin_report",
    ),
    "cost_not_posted": Kpi(
        "Cost not yet posted",
        "approved hours x snapshot cost rate + approved expenses (at the rates of the report end) - "
        "cost posted by the month-end cost run, same dates",
        "Approved cost the month-end cost run has not put in the GL yet: non-zero means the run is stale. "
        "Not part of the margin.",
        "ledger.selectors.margin.margin_report",
    ),
    "billed": Kpi(
        "Billed (net)",
        "net of invoices - net of credit notes, by issue month (functional currency)",
        "What was invoiced, before tax.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "collected": Kpi(
        "Collected",
        "cash debits in the month (GL)",
        "Money received.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "write_offs": Kpi(
        "Write-offs",
        "debits - credits on the write-offs account in the month (GL)",
        "Receivables given up.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "ar": Kpi(
        "Receivables (month end)",
        "accounts receivable balance at the month end (GL)",
        "Invoiced and not yet paid.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "unbilled": Kpi(
        "Unbilled work (month end)",
        "unbilled receivable (contract asset) balance at the month end (GL)",
        "Revenue recognised ahead of invoicing.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "dso": Kpi(
        "DSO (days)",
        "receivables at the month end / gross billed in the 3 months to it x days in those months",
        "Days of billing the open receivables stand for.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "backlog": Kpi(
        "Backlog",
        "for each line of a contract signed by the month end: max(0, price - revenue recognised on it to then)",
        "Work sold and not yet delivered. Revenue of unsigned contracts or of no contract takes nothing off.",
        "ledger.selectors.revenue.backlog",
    ),
    "weighted_pipeline": Kpi(
        "Weighted pipeline",
        "open deals' value x probability, by expected close month",
        "Sales expected to close.",
        "crm.selectors.forecast_by_month",
    ),
    "utilization": Kpi(
        "Utilization %",
        "approved billable hours / (capacity - time off) x 100",
        "Share of available time that was billable.",
        "projects.selectors.utilization",
    ),
    "forecast_hours": Kpi(
        "Planned hours",
        "allocations' hours per week x weekdays in the month / 5",
        "Hours the staffing plan expected.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "actual_hours": Kpi(
        "Approved hours",
        "approved hours worked in the month (billable and not)",
        "Hours delivered.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "forecast_revenue": Kpi(
        "Planned revenue",
        "each contract line's price spread evenly over its weekdays",
        "Revenue the contracts' dates expected.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "kickoff": Kpi(
        "Deal close → first approved hour",
        "average of (first approved hour on the project - deal close date) in days, deals won in the range",
        "How fast won work starts; negative where work started before the deal closed (counted apart).",
        "psa.web.dashboard.executive_dashboard",
    ),
    "invoice_cycle": Kpi(
        "Period end → invoice issued",
        "average of (issue date - billed period end) in days, invoices issued in the range",
        "How long finished work waits to be invoiced.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "unbilled_age": Kpi(
        "Approved, unbilled",
        "approved billable hours x bill rate not on an invoice at the range end, by days since worked",
        "Delivered work waiting to be billed.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "write_off_rate": Kpi(
        "Write-off rate",
        "write-offs / gross billed in the range x 100",
        "Share of billing never collected.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "forecast_accuracy": Kpi(
        "Forecast accuracy %",
        "max(0, 100 - |actual - planned| / planned x 100), per month, for hours and for revenue",
        "How close delivery came to the plan.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "leakage": Kpi(
        "Revenue leakage",
        "amounts cut by caps + write-offs + approved time unbilled after 60 days",
        "Revenue delivered that did not, or not yet, turn into billing.",
        "psa.web.dashboard.executive_dashboard",
    ),
    "recognised": Kpi(
        "Recognised",
        "revenue posted by recognition runs (per schedule line and period)",
        "Revenue earned by the contracts' recognition methods.",
        "ledger.services.revenue.recognition_run",
    ),
    "rollforward": Kpi(
        "Contract position",
        "opening - billed + recognised + other = closing; closing = unbilled receivable - deferred revenue",
        "Per project, what is earned but not billed (asset) or billed but not earned (liability).",
        "ledger.selectors.revenue.rollforward",
    ),
}


def kpi_definitions(*keys: str) -> list[tuple[str, Kpi]]:
    """The definitions of `keys` (every KPI when none), in the order given."""
    return [(k, KPIS[k]) for k in (keys or tuple(KPIS))]
