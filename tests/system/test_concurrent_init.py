"""Two nodes start at the same moment on an empty database: both run ``kunflow init``
(migrations, org chart, calendar, process library); the second waits for the first and then
finds everything in place. Real processes, released together once both have imported kunflow."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.db import normalize_url
from tests.conftest import BPMN, ORG_FILE
from workflows.org import load_org

ROOT = Path(__file__).resolve().parents[2]
NODES = 2

# Each node imports kunflow, says it is ready, waits for the gate, then runs `kunflow init`.
_NODE = """
import sys, time
from pathlib import Path
from web.cli import main
ready, gate = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
while not gate.exists():
    time.sleep(0.005)
main(["init"])
"""


def _heads() -> set[str]:
    from alembic.script import ScriptDirectory

    import workflows
    from engine.migrate import alembic_config

    cfg = alembic_config(extra_versions=[workflows.SCHEMA.versions_dir])
    return set(ScriptDirectory.from_config(cfg).get_heads())


def _start_nodes(db_url: str, tmp: Path) -> list[tuple[subprocess.Popen, Path]]:
    env = {**os.environ, "KUNFLOW_DATABASE_URL": db_url, "KUNFLOW_SECRET_KEY": "init-race",
           "KUNFLOW_DEMO": "1"}
    gate = tmp / "gate"
    nodes = []
    for i in range(NODES):
        log = tmp / f"node-{i}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", _NODE, str(tmp / f"ready-{i}"), str(gate)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        nodes.append((proc, log))
    deadline = time.monotonic() + 120
    while not all((tmp / f"ready-{i}").exists() for i in range(NODES)):
        assert all(p.poll() is None for p, _ in nodes), [log.read_text() for _, log in nodes]
        assert time.monotonic() < deadline, "nodes did not start"
        time.sleep(0.01)
    gate.touch()
    return nodes


@pytest.mark.slow
def test_two_nodes_initialise_an_empty_database_at_the_same_moment(db_url, tmp_path):
    nodes = _start_nodes(db_url, tmp_path)
    for proc, log in nodes:
        try:
            proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, log.read_text()

    departments, users = load_org(ORG_FILE)
    library = sorted(p.stem for p in BPMN.glob("*.bpmn"))
    db = sa.create_engine(normalize_url(db_url))
    try:
        with db.connect() as conn:
            versions = {v for (v,) in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
            assert versions == _heads() and len(versions) == 4  # the engine's, ledger, registers, dashboard
            assert Counter(c for (c,) in conn.execute(sa.text("SELECT code FROM department"))) == (
                Counter(d.code for d in departments))
            assert Counter(u for (u,) in conn.execute(sa.text("SELECT username FROM app_user"))) == (
                Counter(u.username for u in users))
            # Each diagram of the library once, as version 1: the second node deployed nothing.
            deployed = conn.execute(sa.text("SELECT key, version FROM definition")).all()
            assert sorted(deployed) == [(key, 1) for key in library]
            kinds = Counter(k for (k,) in conn.execute(sa.text("SELECT kind FROM event")))
            assert kinds == Counter(deployed=len(library))
            years = [y for (y,) in conn.execute(sa.text("SELECT year FROM calendar_year"))]
            assert years and len(years) == len(set(years))
    finally:
        db.dispose()
