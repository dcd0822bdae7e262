"""`make run` serves the demo with DEBUG off and stops cleanly: the launcher it runs (psa.launcher) starts web,
worker and beat on a fresh SQLite file and the embedded broker, serves static files through WhiteNoise over
plain http://127.0.0.1, answers a friendly 404 that lists no routes, and on SIGTERM or Ctrl-C (SIGINT) leaves
none of the three processes (nor their children) behind. Every wait is bounded."""

import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The demo is zero-setup: none of the test run's services or production switches reach it.
DROPPED = {
    "DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE", "STATIC_MANIFEST", "PSA_VAR_DIR", "PYTEST_XDIST_WORKER", "DJANGO_ALLOW_ASYNC_UNSAFE",
}  # fmt: skip
STARTED = re.compile(r"^\[launcher\] (web|worker|beat) started, pid (\d+)", re.MULTILINE)


def _demo_env(var_dir: Path, static_root: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    env.update(PSA_DEMO="true", PSA_VAR_DIR=str(var_dir), STATIC_ROOT=str(static_root), PSA_LAUNCHER_GRACE_S="20")
    return env


@pytest.fixture(scope="module")
def demo_static(tmp_path_factory) -> Path:
    """The static files as `make install` collects them for the demo."""
    var_dir = tmp_path_factory.mktemp("demo-install")
    static_root = var_dir / "static"
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT, env=_demo_env(var_dir, static_root), check=True, timeout=180,
    )  # fmt: skip
    return static_root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode(errors="replace")


class Launched:
    """The launcher as `make run` starts it, with its output collected by a thread."""

    def __init__(self, var_dir: Path, static_root: Path):
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "psa.launcher", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=_demo_env(var_dir, static_root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.output.append(line)

    @property
    def text(self) -> str:
        return "".join(self.output)

    def pids(self) -> dict[str, int]:
        return {name: int(pid) for name, pid in STARTED.findall(self.text)}

    def wait_until_up(self, timeout: float = 150) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.text
            up = len(self.pids()) == 3 and "beat: Starting" in self.text and " ready." in self.text
            if up and _get(f"http://127.0.0.1:{self.port}/healthz")[0] == 200:
                return
            time.sleep(0.5)
        pytest.fail(f"the demo did not come up in {timeout} s:\n{self.text}")

    def kill_everything(self) -> None:
        for pid in [self.proc.pid, *self.pids().values()]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_the_demo_runs_with_debug_off_and_stops_web_worker_and_beat_on_a_signal(tmp_path, demo_static, signum):
    demo = Launched(tmp_path, demo_static)
    try:
        demo.wait_until_up()
        base = f"http://127.0.0.1:{demo.port}"
        status, _, body = _get(f"{base}/no-such-page/")
        assert status == 404 and "URLconf" not in body and "psa.urls" not in body and "api/v1/" not in body
        assert "There is nothing here" in body
        status, headers, _ = _get(f"{base}/static/psa/favicon.svg")
        assert status == 200 and headers.get("Content-Type", "").startswith("image/svg")
        status, headers, body = _get(f"{base}/accounts/login/")
        assert status == 200, body  # plain http, no redirect to https
        assert "secure" not in headers.get("Set-Cookie", "").lower()
        pids = demo.pids()

        demo.proc.send_signal(signum)
        demo.proc.wait(timeout=45)
        deadline = time.monotonic() + 10
        while any(_group_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        alive = [name for name, pid in pids.items() if _group_alive(pid)]
        assert alive == [], f"still running after {signal.Signals(signum).name}: {alive}\n{demo.text}"
        assert demo.proc.returncode == 0, demo.text
    finally:
        demo.kill_everything()


def test_the_demo_refuses_its_plain_http_settings_for_a_public_host(tmp_path):
    env = _demo_env(tmp_path, tmp_path / "static")
    env["ALLOWED_HOSTS"] = "psa.example.com"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "PSA_DEMO" in result.stderr


def test_make_run_starts_the_launcher():
    result = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert re.search(r"PSA_DEMO=true .*-m psa\.launcher --host 127\.0\.0\.1 --port 8000", result.stdout), (
        result.stdout + result.stderr
    )


@pytest.mark.slow
@pytest.mark.timeout(1800)  # every migration on SQLite, then the whole demo: minutes on a busy machine
def test_make_install_migrates_and_seeds_the_demo_on_its_sqlite_file_and_every_page_opens(tmp_path):
    # Given the demo's own settings and a fresh SQLite file, as `make install` (and so `make run`) starts
    env = _demo_env(tmp_path, tmp_path / "static")
    env["PSA_DEMO_FIRM"] = "true"
    for command in (["migrate", "--noinput"], ["seed_demo", "--quiet"]):
        # When it migrates and seeds the demo
        result = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
        )
        # Then each step succeeds (SQLite keeps decimals as floating point: the database's sum checks must hold)
        assert result.returncode == 0, f"manage.py {' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    with sqlite3.connect(tmp_path / "psa.sqlite3") as db:
        issued = db.execute("SELECT count(*) FROM billing_invoice WHERE number IS NOT NULL").fetchone()[0]
        unbalanced = db.execute(
            "SELECT count(*) FROM (SELECT entry_id FROM ledger_journalline GROUP BY entry_id"
            " HAVING round(sum(debit) - sum(credit), 2) != 0)"
        ).fetchone()[0]
    assert issued > 0, "the demo issued no invoice"
    assert unbalanced == 0
    # And every page without arguments opens for each demo user (SQLite runs none of PostgreSQL's own SQL)
    crawl = subprocess.run(
        [sys.executable, "-m", "tests.web.demo_crawl"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert crawl.returncode == 0, f"pages answered 500 on the demo:\n{crawl.stdout}\n{crawl.stderr[-3000:]}"
