"""Alembic migrations, run programmatically (``kunflow init`` and ``Engine.migrate``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(sa_engine, revision: str = "head") -> None:
    with sa_engine.connect() as conn:
        command.upgrade(alembic_config(conn), revision)
        conn.commit()
