"""Tables of an application built on the engine, migrated with the engine's own.

An application (the district's ``workflows/``) keeps data of its own beside the instances —
ledgers, registers — in tables it defines on its own SQLAlchemy ``MetaData``, with Alembic
revisions in its own folder on a branch of their own. ``Engine.add_schema`` takes them in:
``create_schema`` creates them and ``migrate`` upgrades every branch to its head. The engine
knows nothing of what they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

# Constraint and index names, the same for the engine's tables and an extension's (Alembic
# migrations name them explicitly, so a rename here needs a migration).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


@dataclass(frozen=True)
class SchemaExtension:
    """``name``: who owns the tables; ``metadata``: their definitions; ``versions_dir``: the
    folder of their Alembic revisions (each branch's first revision has ``down_revision =
    None`` and a ``branch_labels`` of its own)."""

    name: str
    metadata: sa.MetaData
    versions_dir: Path
