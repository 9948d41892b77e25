"""The district's own tables (supervision ledger, registers of mines, plants, tailings ponds
and enterprises), kept beside the engine's: ``SCHEMA`` is taken in by ``register(engine)``,
created by ``Engine.create_schema`` and migrated by ``Engine.migrate`` from the revisions in
``workflows/migrations/versions`` (one Alembic branch per area, each starting from nothing)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from engine import SchemaExtension

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

SCHEMA = SchemaExtension(
    name="workflows",
    metadata=metadata,
    versions_dir=Path(__file__).resolve().parent / "migrations" / "versions",
)
