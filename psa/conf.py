"""Every PSA_* setting, declared once: its name, its default (which also gives its type) and what it does.

psa/settings.py reads each one from the environment through `env_read()` (so the default lives here only), and
code reads it as `settings.PSA_...` or through `settings_value()`, never with a `getattr(settings, ..., default)`
of its own. The seller's details (PSA_FIRM_*) are declared the same way in psa/core/firm.py. Read from the
environment by their readers only, not Django settings: PSA_VAR_DIR (psa/settings.py), PSA_THROTTLE_ANON/USER/
TOKEN (the API throttle rates, psa/settings.py) and PSA_LAUNCHER_GRACE_S (psa/launcher.py, before Django starts).
"""

import copy
from dataclasses import dataclass
from typing import Any

import environ
from django.conf import settings

from psa.core.firm import FIRM_SETTINGS


@dataclass(frozen=True)
class PsaSetting:
    name: str
    default: Any  # bool, int, str, list or dict: read from the environment as that type
    doc: str


DECLARED: dict[str, PsaSetting] = {
    s.name: s
    for s in (
        # --- the demo
        PsaSetting("PSA_DEMO", False, "The demo (`make run`): plain http on the loopback address only."),
        PsaSetting("PSA_DEMO_FIRM", False, "Fill every unset PSA_FIRM_* with the demo firm's value."),
        # --- sign-in
        PsaSetting("PSA_MFA_REQUIRED_ROLES", [], "Roles that must set up an authenticator app (finance,admin)."),
        PsaSetting("PSA_SSO_ENABLED", False, "Single sign-on is on; derived from OIDC_RP_CLIENT_ID, not read."),
        PsaSetting("PSA_OIDC_ROLE_CLAIM", "psa_roles", "The ID-token claim that lists a user's roles."),
        PsaSetting("PSA_OIDC_ROLE_MAP", {}, "Provider role name -> PSA role, for names that differ."),
        PsaSetting("PSA_TRUSTED_PROXY_COUNT", 0, "How many reverse proxies append to X-Forwarded-For."),
        PsaSetting("PSA_TRUSTED_PROXY_IPS", [], "Addresses/networks of trusted reverse proxies."),
        PsaSetting("PSA_LOCKOUT_IP_FAILURE_LIMIT", 30, "Failed sign-ins from one address before it is locked out."),
        PsaSetting("PSA_API_TOKEN_TTL_DAYS", 90, "Days a new API token lives when no expiry is asked for."),
        PsaSetting("PSA_API_TOKEN_MAX_TTL_DAYS", 365, "The longest life an API token may be given, in days."),
        # --- money and background work
        PsaSetting("PSA_FUNCTIONAL_CURRENCY", "EUR", "The ledger's one functional currency (no implicit FX)."),
        PsaSetting(
            "PSA_DATE_FORMAT",
            "medium",
            "How pages show dates unless a user picks another: iso, medium (06 Dec 2026), dmy, mdy or dmy_dot.",
        ),
        PsaSetting("PSA_IDEMPOTENCY_RETENTION_DAYS", 30, "Days an Idempotency-Key's stored answer is kept."),
        PsaSetting("PSA_OUTBOX_MAX_ATTEMPTS", 8, "Delivery attempts of an outbox message before it is failed."),
        PsaSetting("PSA_BILLING_LEASE_S", 30, "A billing worker's lease on its run item, renewed every third."),
        PsaSetting(
            "PSA_BILLING_RUN_JOBS",
            2,
            "Jobs queued when a billing run starts: each takes the run's contracts one at a time, so with several "
            "billing workers a run's contracts spread across them.",
        ),
        PsaSetting("PSA_CREDIT_HOLD_OVERDUE_DAYS", 60, "The hold rule: an undisputed balance this many days overdue."),
        PsaSetting(
            "PSA_CREDIT_HOLD_GRACE_DAYS", 14, "After finance lifts a hold, days before the rule may place one again."
        ),
        PsaSetting("PSA_RECEIPT_REQUIRED_ABOVE", "25.00", "Expenses above this amount need a receipt."),
        PsaSetting(
            "PSA_AP_PM_APPROVAL_THRESHOLD",
            "1000.00",
            "A vendor bill's lines on a project above this (functional currency) need its manager's approval.",
        ),
        PsaSetting("PSA_WEBHOOKS_ALLOW_PRIVATE", False, "Allow webhook targets that are not globally routable."),
        PsaSetting("PSA_WEBHOOK_TIMEOUT_S", 10, "Seconds a webhook receiver has to answer."),
        PsaSetting(
            "PSA_CLOSE_CHECKS",
            ["billing.close_checks.CLOSE_CHECKS"],
            "The month-end checks of the layers above the ledger, as dotted paths (set in psa/settings.py only).",
        ),
        # --- the read replica (psa/core/replica.py, on when DATABASE_REPLICA_URL is set)
        PsaSetting("PSA_REPLICA_STICKY_SECONDS", 15, "After a user's write, seconds their reports read the primary."),
        PsaSetting("PSA_REPLICA_MAX_LAG_SECONDS", 10, "Reports read the primary when the replica is further behind."),
        PsaSetting("PSA_REPLICA_LAG_CHECK_MS", 1000, "How long a process reuses its measure of the replica's lag."),
        # --- stored files
        PsaSetting("PSA_FILES_SERVE", "django", "Who sends stored files: django, x-accel-redirect or x-sendfile."),
        PsaSetting("PSA_FILES_ACCEL_PREFIX", "/protected-files/", "nginx's internal location for stored files."),
        # --- shared page results (psa/core/pagecache.py)
        PsaSetting(
            "PSA_PAGE_CACHE_SECONDS",
            60,
            "How long the exception queue, dashboard, heatmap, receivables and board totals reuse a result.",
        ),
        # --- exception queue thresholds (psa/web/exception_queue.py)
        PsaSetting("PSA_EXC_UNBILLED_DAYS", 30, "Approved unbilled time older than this many days is flagged."),
        PsaSetting("PSA_EXC_MILESTONE_DAYS", 7, "An accepted milestone not invoiced after this many days."),
        PsaSetting("PSA_EXC_CAP_SHARE", 80, "A capped line is flagged once this percentage of its cap is used."),
        PsaSetting("PSA_EXC_CAP_DAYS", 30, "...or when its cap is projected to run out within this many days."),
        PsaSetting("PSA_EXC_SUBCONTRACT_TOLERANCE_HOURS", "0.50", "Subcontractor hours billed vs approved may differ."),
        PsaSetting("PSA_EXC_SUBCONTRACT_DAYS", 15, "Subcontractor hours are matched this many days after the month."),
        # --- time approval
        PsaSetting("PSA_TIME_DAY_WARN_HOURS", 10, "The approval queue flags a consultant's day above this many hours."),
    )
}
FIRM_NAMES = frozenset(s.name for s in FIRM_SETTINGS)

_READERS = {bool: "bool", int: "int", str: "str", list: "list", dict: "dict"}


def env_read(env: environ.Env, name: str) -> Any:
    """For psa/settings.py: the declared setting `name` from the environment, as its default's type."""
    declared = DECLARED[name]
    reader = getattr(env, _READERS[type(declared.default)])
    return reader(name, default=copy.copy(declared.default))


def settings_value(name: str) -> Any:
    """The value of the declared PSA_* setting `name` (a name that is not declared is a KeyError)."""
    if name not in DECLARED and name not in FIRM_NAMES:
        raise KeyError(f"{name} is not declared in psa/conf.py")
    return getattr(settings, name)
