"""Alembic migrations, run programmatically (``kunflow init`` and ``Engine.migrate``)."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection=None, extra_versions=()) -> Config:
    """The engine's migrations, plus the revision folders of schema extensions."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if extra_versions:
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option(
            "version_locations",
            os.pathsep.join([str(MIGRATIONS / "versions"), *(str(p) for p in extra_versions)]),
        )
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(sa_engine, revision: str = "heads", extra_versions=()) -> None:
    """Upgrade to ``revision`` (every branch's head by default: the engine's and those of the
    schema extensions in ``extra_versions``)."""
    with sa_engine.connect() as conn:
        # A migration may rewrite a big table: no statement timeout (DB_STATEMENT_TIMEOUT_MS)
        # for it, and the connection's own one back before it returns to the pool.
        timeout = None
        if conn.dialect.name == "postgresql":
            timeout = conn.exec_driver_sql("SHOW statement_timeout").scalar()
            conn.exec_driver_sql("SET statement_timeout = 0")
            conn.commit()
        command.upgrade(alembic_config(conn, extra_versions), revision)
        conn.commit()
        if timeout is not None:
            conn.execute(sa.text("SELECT set_config('statement_timeout', :v, false)"),
                         {"v": timeout})
            conn.commit()
