"""The district's own tables (workflows/schema.py): the Alembic branches in
workflows/migrations build exactly what the table modules declare, beside the engine's."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import workflows
from engine import Engine
from engine.model import metadata as engine_metadata


def test_migrations_match_the_district_tables(db_url):
    eng = Engine(db_url)
    workflows.register(eng)
    try:
        eng.migrate()
        with eng.db.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn),
                                    [engine_metadata, workflows.SCHEMA.metadata])
    finally:
        eng.close()
    relevant = {"add_table", "remove_table", "add_column", "remove_column", "add_index",
                "remove_index"}
    assert [d for d in diff if (d[0] if isinstance(d, tuple) else d[0][0]) in relevant] == []
