"""Decide which database and broker `make test` / `make bench` use, and print shell exports.

DATABASE_URL / REDIS_URL from the environment win. Otherwise a PostgreSQL and a Redis on their default local
ports are used when they answer; otherwise tests run on SQLite and the PostgreSQL-only ones are skipped
(the reason goes to stderr, and pytest prints each skip).
"""

import os
import shlex
import socket
import sys


def _say(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _postgres_url() -> str | None:
    if os.environ.get("DATABASE_URL"):
        _say(f"database: DATABASE_URL from the environment ({os.environ['DATABASE_URL'].split('@')[-1]})")
        return None
    if not _port_open("127.0.0.1", 5432):
        _say("database: no PostgreSQL on 127.0.0.1:5432 — using SQLite; PostgreSQL-only tests will be skipped")
        return None
    try:
        import psycopg

        user = os.environ.get("PGUSER") or "postgres"
        with psycopg.connect(f"postgresql://{user}@127.0.0.1:5432/postgres", connect_timeout=2, autocommit=True) as c:
            if not c.execute("SELECT 1 FROM pg_database WHERE datname = 'psa'").fetchone():
                c.execute("CREATE DATABASE psa")
        _say(f"database: local PostgreSQL at 127.0.0.1:5432 as {user}")
        return f"postgres://{user}@127.0.0.1:5432/psa"
    except Exception as exc:
        _say(f"database: PostgreSQL on 5432 refused ({exc}) — using SQLite; PostgreSQL-only tests will be skipped")
        return None


def _redis_url() -> str | None:
    if os.environ.get("REDIS_URL"):
        _say("broker: REDIS_URL from the environment")
        return None
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                _say("broker: local Redis at 127.0.0.1:6379")
                return "redis://127.0.0.1:6379/0"
    except OSError:
        pass
    _say("broker: no Redis on 127.0.0.1:6379 — worker tests will be skipped")
    return None


if __name__ == "__main__":
    for name, value in (("DATABASE_URL", _postgres_url()), ("REDIS_URL", _redis_url())):
        if value:
            print(f"export {name}={shlex.quote(value)}")
