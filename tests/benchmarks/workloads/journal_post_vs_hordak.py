"""journal_post_vs_hordak: the 10k entries of journal_post (2-3 lines each, one transaction) posted through PSA's
entry_post against the same entries posted through django-hordak's API (one Transaction and a Leg per line, each
leg validated by Leg.save, hordak's trigger checking each transaction sums to zero), timed the same way (start to
commit, median of three) in the same run, in alternating rounds (ours, then hordak's). Goal: ours at most half
hordak's time (twice its rate).

Hordak needs Django 5.0, so it runs as its own process from its own virtual environment (.venv-hordak, built by
`make bench` from tests/benchmarks/hordak/requirements.txt; built here through the same make rule when missing) on
its own database (`<bench database>_hordak`, dropped and created each round). PSA's side does more per entry (client
and project dimensions, idempotency key, numbering, period lock and the open-period triggers), hordak's less.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from django.db import connection

from tests.benchmarks.gen_ledger import ledger_truncate
from tests.benchmarks.harness import Record, timed
from tests.benchmarks.workloads.journal_post import ENTRIES, plan_entries, post_all

ROOT = Path(__file__).resolve().parents[3]
HORDAK_VENV = ROOT / ".venv-hordak"
HORDAK_PYTHON = HORDAK_VENV / "bin" / "python"
STAMP = HORDAK_VENV / ".installed"
POST = ROOT / "tests" / "benchmarks" / "hordak" / "post.py"
ROUNDS = 3


def hordak_venv_ensure() -> Path:
    """The hordak virtual environment, built by the Makefile rule when missing (an error names what failed)."""
    if not STAMP.exists():
        done = subprocess.run(
            ["make", "--no-print-directory", "-C", str(ROOT), ".venv-hordak/.installed"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not STAMP.exists():
            raise RuntimeError(f"could not build .venv-hordak for django-hordak:\n{done.stdout}\n{done.stderr}")
    return HORDAK_PYTHON


def hordak_database_url() -> str:
    """A database of its own for hordak next to the bench database (dropped and created empty)."""
    import psycopg

    settings = connection.settings_dict
    name = f"{settings['NAME']}_hordak"
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings.get("PASSWORD") else "")
    base = f"postgresql://{auth}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def hordak_post(plan: list, *, repeat: int) -> dict:
    """Post `plan` (journal_post's (memo, day, lines)) through django-hordak `repeat` times; its report (times,
    counts and the balance per account code of the last run)."""
    python = hordak_venv_ensure()
    rows = [
        [day.isoformat(), memo, [[code, str(d), str(c)] for code, d, c, _client, _project in lines]]
        for memo, day, lines in plan
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(rows, f)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON"))}
        env["HORDAK_DATABASE_URL"] = hordak_database_url()
        done = subprocess.run(
            [str(python), str(POST), f.name, str(repeat)], capture_output=True, text=True, env=env, check=False
        )
    finally:
        Path(f.name).unlink()
    if done.returncode != 0:
        raise RuntimeError(f"django-hordak's run failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(size: str) -> list[Record]:
    n = ENTRIES[size]
    _facts, plan, specs, load = plan_entries(size)
    # Alternating rounds (ours, then hordak's), as harness.paired does for the raw-SQL baselines: the two cores are
    # shared with other processes, and a burst of their load then falls on both sides of a round rather than on all
    # of one side's runs. Each side's median of the three rounds is its time.
    ours_times: list[float] = []
    theirs_times: list[float] = []
    for _ in range(ROUNDS):
        ours_s, _ = timed(lambda: post_all(specs), setup=load, repeat=1)
        ours_times.append(ours_s)
        ledger_truncate()
        theirs = hordak_post(plan, repeat=1)
        theirs_times.append(theirs["times"][0])
    ours_s, theirs_s = statistics.median(ours_times), statistics.median(theirs_times)
    lines = sum(len(s.lines) for s in specs)
    print(f"  hordak {n / theirs_s:,.0f} entries/s, PSA {n / ours_s:,.0f} entries/s", file=sys.stderr)
    return [
        Record(
            name="journal_post_vs_hordak",
            size=size,
            ours_s=ours_s,
            baseline_s=theirs_s,
            goal_ratio=0.5,
            round_ratios=[round(o / t, 3) for o, t in zip(ours_times, theirs_times, strict=True)],
            notes=f"{n:,} entries / {lines:,} lines in one transaction: PSA entry_post {n / ours_s:,.0f}/s vs "
            f"django-hordak 2.0 (Transaction + Leg per line) {n / theirs_s:,.0f}/s; baseline is hordak",
        )
    ]
