"""The district's own tables (supervision ledger, registers of mines, plants, tailings ponds
and enterprises), kept beside the engine's: ``SCHEMA`` is taken in by ``register(engine)``,
created by ``Engine.create_schema`` and migrated by ``Engine.migrate`` from the revisions in
``workflows/migrations/versions`` (one Alembic branch per area, each starting from nothing)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from engine import NAMING_CONVENTION, SchemaExtension

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

SCHEMA = SchemaExtension(
    name="workflows",
    metadata=metadata,
    versions_dir=Path(__file__).resolve().parent / "migrations" / "versions",
)
