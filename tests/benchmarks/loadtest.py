"""`make loadtest`: the pages each persona opens most, hit by N concurrent connections for a bounded time against
gunicorn in production settings on 127.0.0.1, results in tests/benchmarks/results/loadtest.json.

Usage: python -m tests.benchmarks.loadtest [--serve] [--url http://127.0.0.1:8765] [--concurrency 16]
       [--duration 15] [--only name ...]

The database is whatever DATABASE_URL names (load a firm first); `--serve` starts gunicorn (2 workers x 4
threads, DEBUG off) on 127.0.0.1 for the run and stops it after. Each target is requested by wrk (one event-loop
thread, `concurrency` keep-alive connections carrying the persona's session cookie) for `duration` seconds after
a short warm-up run; its record is {"name", "kind": page|report|api|write, "concurrency", "rps", "p50_ms",
"p95_ms", "p99_ms", "errors", "queries"} (errors: any answer but 200, and socket errors; queries: one request's
statement count, measured in this process with Django's test client).

wrk (Debian's package, the tool the load tests of the issue used) rather than a Python client: a thread pool of
`requests` sessions shares the two cores with the server and cost about a tenth of the timesheet week's
throughput (286 against 316 requests/s at 16 connections on a quiet machine). Personas are logged in without
the login form (a session row per user, sent as a cookie header), and the API's deep page is found by following
its cursor before the run. The timesheet saves stay in Python (4 threads): each save carries its CSRF token and
every concurrent save must be read back from the database afterwards (a lost update is an error). Django is set
up in main() before anything touches models (a script, as tests/benchmarks/run.py), hence the imports inside
functions.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import requests

RESULTS = Path(__file__).resolve().parent / "results"
HOST = "127.0.0.1"
GOALS_MS = {"page": 150, "report": 300, "api": 150, "write": 150}


@dataclass
class Target:
    name: str
    kind: str
    role: str
    path: str


@dataclass
class Result:
    name: str
    kind: str
    concurrency: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    queries: int | None
    requests: int = 0
    notes: str = ""
    extra: dict = field(default_factory=dict)


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings")
    import django

    django.setup()


def personas() -> dict:
    """One user per role (the demo's, created if missing), and the consultant record the timesheet saves use."""
    from psa.web.demo import seed_users

    seed_users()
    from django.contrib.auth import get_user_model

    users = {
        u.username: u
        for u in get_user_model().objects.filter(
            username__in=["sales", "pm", "consultant", "finance", "admin", "client"]
        )
    }
    return users


def session_cookie(user) -> str:
    """A logged-in session for `user`, as the login view would leave it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils.module_loading import import_string

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    # the first backend that loads users (django-axes' backend only guards the login form)
    store[BACKEND_SESSION_KEY] = next(
        b for b in settings.AUTHENTICATION_BACKENDS if hasattr(import_string(b), "get_user")
    )
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def targets(users: dict) -> list[Target]:
    from django.urls import reverse

    from billing.selectors import invoices_for
    from projects.models import Project

    project = Project.objects.order_by("pk").values_list("pk", flat=True).first()
    out = [
        Target("pipeline_board", "page", "sales", reverse("crm:board")),
        Target("opportunity_list", "page", "sales", reverse("crm:opportunities")),
        Target("timesheet_week", "page", "consultant", reverse("projects:timesheet")),
        Target("approval_queue", "page", "pm", reverse("projects:approvals")),
        Target("dashboard", "report", "finance", reverse("dashboard")),
        Target("exception_queue", "page", "finance", reverse("exceptions")),
        Target("invoice_list", "page", "finance", reverse("billing:invoice-list")),
        Target("ar_aging", "report", "finance", reverse("billing:ar")),
        Target("trial_balance", "report", "finance", reverse("ledger:trial_balance")),
        Target("pnl", "report", "finance", reverse("ledger:pnl")),
        Target("staffing_heatmap", "page", "pm", reverse("projects:heatmap")),
        Target("portal_invoices", "page", "client", reverse("billing:portal")),
        Target("time_entries_api_first", "api", "admin", "/api/v1/time-entries/"),
    ]
    if project:
        out.append(Target("project_page", "page", "pm", reverse("projects:project", args=[project])))
    client = users.get("client")
    pdf = (
        invoices_for(client).exclude(pdf_sha256="").order_by("pk").values_list("pk", flat=True).first()
        if client
        else None
    )
    if pdf:
        out.append(Target("portal_invoice_pdf", "page", "client", reverse("stored-file", args=["invoice-pdf", pdf])))
    return out


def deep_api_page(base: str, cookie: dict, pages: int = 40) -> str | None:
    """The time-entries API `pages` cursor pages in (the keyset pagination's deep page)."""
    url = f"{base}/api/v1/time-entries/"
    with requests.Session() as s:
        s.cookies.update(cookie)
        for _ in range(pages):
            body = s.get(url, timeout=60).json()
            if not body.get("next"):
                break
            url = body["next"]
    return url.removeprefix(base)


def query_count(target: Target, user) -> int | None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME=HOST)
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(target.path)
    return len(ctx.captured_queries) if response.status_code == 200 else None


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


WRK_SCRIPT = Path(__file__).resolve().parent / "loadtest.lua"


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("make loadtest needs wrk (Debian: apt-get install wrk; .ci/run installs it).")
    return path


def _wrk(url: str, cookie: dict, *, concurrency: int, seconds: float) -> dict:
    """One wrk run (one event-loop thread, `concurrency` keep-alive connections): its JSON summary line."""
    header = "Cookie: " + "; ".join(f"{k}={v}" for k, v in cookie.items())
    cmd = [wrk_path(), "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "60s",
           "-s", str(WRK_SCRIPT), "-H", header, url]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("LOADTEST ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed on {url}: {out.stderr.strip() or out.stdout.strip()}")
    return json.loads(line.removeprefix("LOADTEST "))


def hammer(url: str, cookie: dict, *, concurrency: int, duration: float, warmup: float = 2.0) -> dict:
    """GET `url` from `concurrency` connections for `duration` seconds with wrk, after a `warmup` run whose
    figures are dropped (connections opened, caches and plans warm). A C client with one event loop, so the load
    generator takes little of the two cores the server runs on; every answer but 200 counts as an error."""
    if warmup:
        _wrk(url, cookie, concurrency=concurrency, seconds=warmup)
    return _wrk(url, cookie, concurrency=concurrency, seconds=duration)


def timesheet_saves(base: str, *, concurrency: int, duration: float) -> Result:
    """Concurrent cell saves by one consultant, each thread on its own day, values changing on every save; after
    the run every cell must hold the last value its thread saved (a lost update counts as an error)."""
    from django.contrib.auth.models import Group
    from django.urls import reverse

    from projects.models import Allocation, TimeEntry
    from psa.core.roles import Role

    # the demo consultant when it is allocated, else the first allocated consultant (a loaded firm's)
    demo = Allocation.objects.filter(consultant__user__username="consultant").order_by("pk").first()
    allocation = demo or Allocation.objects.select_related("consultant__user").order_by("pk").first()
    if allocation is None:
        return Result("timesheet_cell_save", "write", concurrency, 0, 0, 0, 0, 1, None, notes="no allocation")
    consultant = allocation.consultant
    # the bench generators' consultants carry no role group; the timesheet is for the consultant role
    consultant.user.groups.add(Group.objects.get(name=Role.CONSULTANT.value))
    cookie = {"sessionid": session_cookie(consultant.user)}
    monday = date.today() - timedelta(days=date.today().weekday() + 7 * 60)
    days = [monday + timedelta(days=7 * (i // 5) + i % 5) for i in range(concurrency)]
    TimeEntry.objects.filter(consultant=consultant, project_id=allocation.project_id, date__in=days).delete()
    url = base + reverse("projects:timesheet-cell")
    lat: list[float] = []
    errors = 0
    last: dict[date, Decimal] = {}
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration

    def worker(day: date):
        nonlocal errors
        with requests.Session() as s:
            s.cookies.update(cookie)
            s.get(base + reverse("projects:timesheet"), timeout=60)
            token = s.cookies.get("csrftoken", "")
            n = 0
            while time.perf_counter() < stop_at:
                n += 1
                hours = Decimal(1 + n % 7)
                data = {"project": allocation.project_id, "task": "", "date": day.isoformat(), "hours": str(hours)}
                t0 = time.perf_counter()
                r = s.post(url, data=data, headers={"X-CSRFToken": token, "HX-Request": "true"}, timeout=60)
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    lat.append(ms)
                    if r.status_code == 200 and "is-invalid" not in r.text:
                        last[day] = hours
                    else:
                        errors += 1

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, days))
    stored = dict(
        TimeEntry.objects.filter(consultant=consultant, project_id=allocation.project_id, date__in=days).values_list(
            "date", "hours"
        )
    )
    lost = sum(1 for day, hours in last.items() if stored.get(day) != hours)
    return Result(
        "timesheet_cell_save",
        "write",
        concurrency,
        round(len(lat) / duration, 1),
        _pct(lat, 0.50),
        _pct(lat, 0.95),
        _pct(lat, 0.99),
        errors + lost,
        None,
        requests=len(lat),
        notes=f"{len(lat)} saves on {len(days)} cells, {lost} lost updates",
    )


def load(size: str) -> None:
    """Migrate and load one coherent firm of `size` (tests/benchmarks/firm.py: the demo personas, people, clients,
    pipeline, projects, 24 months of approved time, invoices and the journal with stored balances), printing each
    part's time. The database must hold no firm yet."""
    from django.core.management import call_command

    from tests.benchmarks.firm import FirmExists, firm_load

    call_command("migrate", verbosity=0)
    try:
        firm_load(size, out=lambda line: print(line, flush=True))
    except FirmExists as exc:
        raise SystemExit(f"{exc} (--load needs an empty database)") from exc


def settle() -> None:
    """Bring the firm to the state production keeps it in, which a fresh load is not: planner statistics and
    visibility maps (autovacuum's work; a loaded table was never analysed, and a server may run with autovacuum
    off) and the approved-time summary (the beat refreshes it every two minutes; no beat runs here), which the
    dashboard and the exception queue read when it is current. The summary is rebuilt in full, because a
    loader's COPY may date `updated_at` before the last refresh, which an incremental one would not see."""
    from django.db import connection

    from billing.services.time_summary import time_summary_refresh

    if connection.vendor != "postgresql":
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    result = time_summary_refresh(full=True)
    print(f"vacuumed and analysed; approved-time summary rebuilt ({result.months} months, {result.rows} rows) in "
          f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip


def serve(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "STATIC_MANIFEST": os.environ.get("STATIC_MANIFEST", "false"),
        "PSA_MFA_REQUIRED_ROLES": "",
        # each target is one persona's requests from 16 connections, far past the per-user API throttle (1,200 a
        # minute) that a firm's many users each stay under: the run measures the pages, not the throttle's 429s
        "PSA_THROTTLE_USER": "1000000/minute",
    }
    cmd = [sys.executable, "-m", "gunicorn", "psa.wsgi", "-b", f"{HOST}:{port}", "-w", "2", "--threads", "4",
           "--log-level", "warning", "--timeout", "120"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env)
    for _ in range(120):
        try:
            requests.get(f"http://{HOST}:{port}/accounts/login/", timeout=2)
            return proc
        except requests.RequestException:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("gunicorn did not answer on 127.0.0.1 within 60 s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="")
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--load", choices=["tiny", "S", "M", "L"], default="", help="load a coherent firm first")
    args = parser.parse_args(argv)
    base = args.url.rstrip("/") or f"http://{HOST}:{args.port}"
    if not base.startswith((f"http://{HOST}", "http://localhost")):
        raise SystemExit("The load test runs against 127.0.0.1 only.")
    wrk_path()
    _django()
    if args.load:
        load(args.load)
    settle()
    users = personas()
    cookies = {role: {"sessionid": session_cookie(u)} for role, u in users.items()}
    proc = serve(args.port) if args.serve else None
    results: list[Result] = []
    try:
        plan = targets(users)
        deep = deep_api_page(base, cookies["admin"])
        if deep:
            plan.append(Target("time_entries_api_deep", "api", "admin", deep))
        for t in plan:
            if args.only and t.name not in args.only:
                continue
            queries = query_count(t, users[t.role])
            w = hammer(base + t.path, cookies[t.role], concurrency=args.concurrency, duration=args.duration)
            r = Result(t.name, t.kind, args.concurrency, round(w["requests"] / (w["duration_us"] / 1e6), 1),
                       round(w["p50_us"] / 1000, 1), round(w["p95_us"] / 1000, 1), round(w["p99_us"] / 1000, 1),
                       w["not_ok"] + w["socket_errors"], queries, requests=w["requests"])  # fmt: skip
            results.append(r)
            print(f"{r.name:<24} {r.kind:<7} {r.rps:>7} req/s  p50 {r.p50_ms:>8} ms  p95 {r.p95_ms:>8} ms  "
                  f"p99 {r.p99_ms:>8} ms  errors {r.errors}  queries {r.queries}", flush=True)  # fmt: skip
        if not args.only or "timesheet_cell_save" in args.only:
            r = timesheet_saves(base, concurrency=min(4, args.concurrency),
                                duration=args.duration)  # fmt: skip
            results.append(r)
            print(f"{r.name:<24} {r.kind:<7} {r.rps:>7} req/s  p95 {r.p95_ms} ms  {r.notes}", flush=True)
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
    RESULTS.mkdir(parents=True, exist_ok=True)
    keys = ("name", "kind", "concurrency", "rps", "p50_ms", "p95_ms", "p99_ms", "errors", "queries")
    out = [{k: asdict(r)[k] for k in keys} for r in results]
    (RESULTS / "loadtest.json").write_text(json.dumps(out, indent=2) + "\n")
    over = [r.name for r in results if r.errors or r.p95_ms > GOALS_MS[r.kind]]
    print(f"written {RESULTS / 'loadtest.json'}; over the goal or with errors: {', '.join(over) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
