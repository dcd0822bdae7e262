"""A real Celery worker process on Redis, reading the test database.

The worker runs `celery -A psa worker` in a subprocess with DATABASE_URL pointed at the test database and its
own queue name, so it sees only this test run's tasks. Tests that use it must commit their data
(`transactional_db`), because the worker reads through its own connection.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent


def _database_url_for_worker() -> str:
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        user = s.get("USER") or ""
        pw = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
        host = s.get("HOST") or "127.0.0.1"
        port = s.get("PORT") or 5432
        return f"postgres://{user}{pw}@{host}:{port}/{s['NAME']}"
    return f"sqlite:///{s['NAME']}"


class WorkerProcess:
    def __init__(self, queue: str, env: dict, *, all_queues: bool = False) -> None:
        """A worker on `queue` alone, or with all_queues on every queue the settings declare (as production
        starts one with no -Q); `queue` then only names the worker and its log."""
        self.queue = queue
        self.all_queues = all_queues
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(env["PSA_VAR_DIR"]) / f"worker-{queue}.log"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "psa",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                *([] if self.all_queues else ["-Q", self.queue]),
                "-n",
                f"{self.queue}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()[-3000:]}")
            return b"ready." in self.log_path.read_bytes()

        if not wait_for(ready, timeout=90):  # a loaded machine takes its time to import Django and Celery
            raise RuntimeError(f"worker not ready in 90 s:\n{self.log_path.read_text()[-3000:]}")

    def drain(self, timeout: float = 60.0) -> None:
        """Wait until the worker has run everything queued so far: a marker task sent now runs after it (one
        queue, a solo pool taking one message at a time, first in first out). What a test expects NOT to happen
        has then had its chance to happen."""
        from psa.celery import app

        marker = app.send_task("celery.backend_cleanup", queue=self.queue)
        if not wait_for(lambda: f"[{marker.id}] succeeded" in self.log(), timeout=timeout):
            raise RuntimeError(f"the worker did not reach the marker in {timeout} s:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        """Kill -9: what a crash or an OOM kill does."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def celery_worker_process(transactional_db, settings, tmp_path):
    """Start a worker on a private queue; route every task there for this test."""
    from psa.celery import app

    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DATABASE_URL=_database_url_for_worker(),
        CELERY_TASK_DEFAULT_QUEUE=queue,
        CELERY_ONE_QUEUE="true",  # every job on the private queue, whatever its own queue in production
        PSA_VAR_DIR=str(tmp_path / "var"),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
        DB_CONN_MAX_AGE="0",
    )
    old_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    settings.JOB_QUEUE_OF_TASK = {}
    worker = WorkerProcess(queue, env)
    worker.mail_dir = tmp_path / "mail"
    try:
        worker.start()  # inside the try: a worker that never came up still gives the queue settings back
        yield worker
    finally:
        worker.stop()
        app.conf.task_default_queue = old_queue
        from django.db import connections

        connections.close_all()
