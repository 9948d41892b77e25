"""A database of a benchmark's own: a PostgreSQL database named by the path of its URL, or a
SQLite file under var/bench."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa


def psycopg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def make_database(pg_url: str, drop: bool) -> str:
    """Create the database ``pg_url`` names when it is missing (dropped first with ``drop``);
    the server's version."""
    parts = urlsplit(pg_url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name or ""):
        raise SystemExit(f"--pg needs a database name of letters, digits and _ (got {name!r})")
    server = sa.create_engine(psycopg_url(urlunsplit(parts._replace(path="/postgres"))),
                              isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            if drop:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            return conn.execute(sa.text("show server_version")).scalar()
    finally:
        server.dispose()


def fresh_database(pg_url: str | None, sqlite_name: str) -> str:
    """An empty database for a run: the PostgreSQL database ``pg_url`` names, dropped and made
    again, or (no URL) ``var/bench/<sqlite_name>.db``, its old files deleted. Its URL."""
    if pg_url:
        make_database(pg_url, drop=True)
        return pg_url
    path = Path(__file__).resolve().parent.parent / "var" / "bench" / f"{sqlite_name}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob(f"{sqlite_name}.db*"):
        old.unlink()
    return f"sqlite:///{path}"
