"""A real streaming replica of the test database, on this machine, for the read-replica tests.

`replica_server` (once per module) takes `pg_basebackup -R` of the running PostgreSQL cluster - after the test
database exists, so the copy holds it - into a temporary folder, starts a second PostgreSQL on a free port that
streams from the primary, waits for it to accept connections, and at the end stops it and removes the folder.
Running as root, the copy and the server belong to the postgres user (PostgreSQL refuses to run as root).
`replica_alias` then points Django's "replica" alias and the router at that server's copy of the test database
for one transactional test (data must be committed to reach the replica).

It needs a replication line in the primary's pg_hba.conf (`host replication postgres 127.0.0.1/32 trust`; .ci/run
adds it): without one the tests are skipped with that reason, or fail under PSA_REQUIRE_FULL_STACK=1.
"""

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from psa.core.replica import REPLICA, replica_lag_forget
from tests.conftest import _missing
from tests.waiting import wait_for

REPLICATION_USER = "postgres"
# Settings a hot standby must have at least as high as its primary.
_AT_LEAST_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


@dataclass
class ReplicaServer:
    port: int
    database: str
    folder: Path

    def superuser(self) -> psycopg.Connection:
        """A superuser connection to the replica's copy of the test database (to pause and resume replay)."""
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=REPLICATION_USER, dbname=self.database, autocommit=True
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(argv: list[str]) -> list[str]:
    # PostgreSQL will not run as root: the copy and the server belong to the postgres user then.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(_as_postgres(argv), capture_output=True, text=True, timeout=300, **kwargs)


def _replication_refused(host: str, port: int) -> str | None:
    """Why the primary refuses a replication connection from here, or None when it accepts one."""
    try:
        psycopg.connect(
            host=host, port=port, user=REPLICATION_USER, dbname="postgres", replication="true", connect_timeout=5
        ).close()
    except psycopg.OperationalError as error:
        return str(error).strip().splitlines()[-1]
    return None


@pytest.fixture(scope="module")
def replica_server(django_db_setup, django_db_blocker) -> Iterator[ReplicaServer]:
    if connection.vendor != "postgresql":
        _missing("the read-replica tests need PostgreSQL: set DATABASE_URL")
    settings_dict = connection.settings_dict
    host, port = settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432)
    if host not in ("127.0.0.1", "localhost"):
        _missing(f"the read-replica tests start a replica on this machine: the primary must be local, not {host}")
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
        limits = {}
        for name in _AT_LEAST_PRIMARY:
            cursor.execute(f"SHOW {name}")
            limits[name] = cursor.fetchone()[0]
    bindir = Path(f"/usr/lib/postgresql/{major}/bin")
    if not (bindir / "pg_basebackup").exists():
        _missing(f"the read-replica tests need PostgreSQL {major}'s server binaries in {bindir}")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        _missing("the read-replica tests run PostgreSQL as the postgres user: runuser is missing")
    if refused := _replication_refused(host, port):
        _missing(
            f"the primary at {host}:{port} refuses replication connections for user {REPLICATION_USER} ({refused}); "
            f"add `host replication {REPLICATION_USER} 127.0.0.1/32 trust` to its pg_hba.conf and reload (.ci/run does)"
        )

    folder = Path(tempfile.mkdtemp(prefix="psa-replica-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = ReplicaServer(port=_free_port(), database=settings_dict["NAME"], folder=folder)
    started = False
    try:
        backup = _run(
            [str(bindir / "pg_basebackup"), "-h", host, "-p", str(port), "-U", REPLICATION_USER,
             "-D", str(data), "-R", "-X", "stream", "-c", "fast", "--no-sync"]
        )  # fmt: skip
        assert backup.returncode == 0, f"pg_basebackup failed: {backup.stderr}"
        config = {
            "port": str(server.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{folder}'",
            "hot_standby": "on",
            "fsync": "off",
            "shared_buffers": "'32MB'",
            "logging_collector": "off",
            "wal_receiver_status_interval": "'1s'",
            **limits,
        }
        conf_text = "".join(f"{k} = {v}\n" for k, v in config.items())
        hba_text = "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        for name, text in (("postgresql.conf", conf_text), ("pg_hba.conf", hba_text)):
            (data / name).write_text(text)
            if os.geteuid() == 0:
                shutil.chown(data / name, "postgres", "postgres")
        start = _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60", "start"])
        started = True
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        assert start.returncode == 0, f"the replica did not start: {start.stderr}\n{log}"

        def accepting() -> bool:
            try:
                with server.superuser() as conn:
                    return bool(conn.execute("SELECT pg_is_in_recovery()").fetchone()[0])
            except psycopg.OperationalError:
                return False

        assert wait_for(accepting, timeout=60), f"the replica did not accept connections:\n{log}"
        # The alias exists before the tests' database set-up, which checks the aliases a test names. As a mirror
        # of default to the test runner, it is never flushed (a standby is read-only); it still connects to the
        # replica's copy.
        primary = connections.settings[DEFAULT_DB_ALIAS]
        connections.settings[REPLICA] = {
            **primary, "HOST": "127.0.0.1", "PORT": server.port, "NAME": server.database,
            "TEST": {**primary.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS},
        }  # fmt: skip
        try:
            yield server
        finally:
            connections[REPLICA].close()
            del connections[REPLICA]
            del connections.settings[REPLICA]
    finally:
        if started:
            stop = _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"])
            if stop.returncode != 0:
                _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def replica_alias(replica_server, settings) -> Iterator[ReplicaServer]:
    """The router on, for one test that names both aliases:
    `pytest.mark.django_db(transaction=True, databases=["default", "replica"])` (data must be committed to reach
    the replica)."""
    settings.DATABASE_ROUTERS = ["psa.core.replica.ReplicaRouter"]
    settings.PSA_REPLICA_LAG_CHECK_MS = 0  # every scope measures: the tests move the lag on purpose
    replica_lag_forget()
    try:
        yield replica_server
    finally:
        connections[REPLICA].close()
        replica_lag_forget()
