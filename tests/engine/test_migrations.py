"""The Alembic migrations build exactly the schema that engine/model.py declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine import Engine
from engine.model import metadata


def test_migrations_match_the_model(db_url):
    eng = Engine(db_url)
    try:
        eng.migrate()
        with eng.db.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        eng.db.dispose()
    # Only differences that matter: tables, columns and indexes missing or extra.
    assert [d for d in diff if _relevant(d)] == []


def _relevant(change) -> bool:
    kind = change[0] if isinstance(change, tuple) else change[0][0]
    return kind in {"add_table", "remove_table", "add_column", "remove_column",
                    "add_index", "remove_index"}
