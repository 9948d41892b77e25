"""The scale scripts of bench/ still run: populate (and its resume) and the timers burst, at toy
scale on SQLite. Their figures are not checked (benchmarks never assert timings), only that
they make what they say through the engine and end with their figure line."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import populate, timers_burst  # noqa: E402


def _rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_populate_makes_cases_through_the_engine_and_resumes(tmp_path, capsys):
    db = tmp_path / "pop.db"
    argv = ["--db", str(db), "--cases", "20", "--tasks", "100", "--days", "30", "--quiet"]
    assert populate.main(argv) == 0
    first = capsys.readouterr().out.strip().splitlines()[-1]
    assert first.startswith("populate SQLite pop.db: +")

    keys = {k for (k,) in _rows(db, "SELECT business_key FROM instance "
                                     "WHERE business_key LIKE 'POP-0%'")}
    assert keys == {f"POP-{n:06d}" for n in range(20)}
    # every case has its task rows and the audit events of the commands that made them
    assert _rows(db, "SELECT count(*) FROM instance i WHERE business_key LIKE 'POP-0%' AND "
                     "NOT EXISTS (SELECT 1 FROM task t WHERE t.instance_id = i.id)") == [(0,)]
    completed = _rows(db, "SELECT count(*) FROM task WHERE state = 'completed'")[0][0]
    events = _rows(db, "SELECT count(*) FROM event WHERE kind = 'task_completed'")[0][0]
    assert completed > 0 and events >= completed
    # dated over the simulated month, not today
    days = _rows(db, "SELECT count(DISTINCT date(started_at)) FROM instance "
                     "WHERE business_key LIKE 'POP-0%'")[0][0]
    assert days > 1

    # a rerun counts what is there and makes only what is missing
    before = _rows(db, "SELECT count(*) FROM instance")[0][0]
    assert populate.main(argv[:3] + ["25"] + argv[4:]) == 0
    second = capsys.readouterr().out.strip().splitlines()
    assert any("5 to make" in line for line in second)
    keys = {k for (k,) in _rows(db, "SELECT business_key FROM instance "
                                     "WHERE business_key LIKE 'POP-0%'")}
    assert keys == {f"POP-{n:06d}" for n in range(25)}
    assert _rows(db, "SELECT count(*) FROM instance")[0][0] >= before + 5


def test_timers_burst_fires_every_due_timer_once(capsys):
    assert timers_burst.main(["--timers", "8"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert any("8 instances advanced" in line and "0 still due" in line for line in out)
    assert out[-1].startswith("timers burst 8 on SQLite: last fired after ")


@pytest.mark.parametrize("script", ["tasklists_scale", "burst", "dashboard"])
def test_the_other_scale_scripts_import(script):
    # they need a populated database or a server to run; importing catches a renamed helper
    __import__(f"bench.{script}")
