"""An application's own tables ride along with the engine's: created, migrated on a branch of
their own, and written by service-task handlers in the step's own transaction."""

from __future__ import annotations

import textwrap

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine import Engine, SchemaExtension, active_connection
from engine.model import metadata as engine_metadata

REVISION = textwrap.dedent('''
    """toy table"""
    import sqlalchemy as sa
    from alembic import op

    revision = "toy_0001"
    down_revision = None
    branch_labels = ("toy",)
    depends_on = None


    def upgrade():
        op.create_table("toy_note", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("text", sa.String(200), nullable=False))


    def downgrade():
        op.drop_table("toy_note")
''')


def _extension(tmp_path) -> SchemaExtension:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "toy_0001.py").write_text(REVISION, encoding="utf-8")
    meta = sa.MetaData()
    sa.Table(
        "toy_note",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.String(200), nullable=False),
    )
    return SchemaExtension("toy", meta, versions)


def test_migrate_upgrades_the_engine_and_every_extension_branch(tmp_path):
    ext = _extension(tmp_path)
    eng = Engine(f"sqlite:///{tmp_path / 'x.db'}")
    eng.add_schema(ext)
    eng.add_schema(ext)  # the same extension twice changes nothing
    try:
        eng.migrate()
        eng.migrate()  # idempotent
        with eng.db.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn), [engine_metadata, ext.metadata]
            )
            heads = {r[0] for r in conn.execute(sa.text("select version_num from alembic_version"))}
    finally:
        eng.close()
    assert [d for d in diff if d[0] in {"add_table", "remove_table"}] == []
    assert "toy_0001" in heads and len(heads) == 2


def test_create_schema_creates_the_extension_tables(tmp_path):
    ext = _extension(tmp_path)
    eng = Engine(f"sqlite:///{tmp_path / 'y.db'}")
    eng.add_schema(ext)
    try:
        eng.create_schema()
        assert "toy_note" in sa.inspect(eng.db).get_table_names()
    finally:
        eng.close()


def test_a_handler_writes_in_the_transaction_of_the_step_that_called_it(tmp_path):
    ext = _extension(tmp_path)
    eng = Engine(f"sqlite:///{tmp_path / 'z.db'}")
    eng.add_schema(ext)
    note = ext.metadata.tables["toy_note"]
    eng.create_schema()
    with eng.unit_of_work() as uow:
        uow.conn.execute(note.insert().values(text="kept"))
        uow.commit()
    with eng.unit_of_work() as uow:
        uow.conn.execute(note.insert().values(text="rolled back"))
        assert active_connection() is uow.conn
    with pytest.raises(RuntimeError):
        active_connection()
    with eng.unit_of_work(readonly=True) as uow:
        texts = [r.text for r in uow.conn.execute(sa.select(note.c.text))]
    eng.close()
    assert texts == ["kept"]
