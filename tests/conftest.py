"""Shared fixtures: database URLs (SQLite always, PostgreSQL when reachable), a seeded engine."""

from __future__ import annotations

import functools
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

import workflows
from config import settings as settings_module
from engine import Engine
from tests import demo_build
from web.wiring import build_engine
from workflows.org import load_org

ROOT = Path(__file__).resolve().parent.parent
BPMN = ROOT / "bpmn"
FIXTURES = ROOT / "tests" / "fixtures"
ORG_FILE = ROOT / "config" / "org.yaml"
PG_URL = os.environ.get("KUNFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    if os.environ.get("KUNFLOW_TEST_PG", "auto") == "off":
        return False
    try:
        eng = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                               connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(sa.text("select 1"))
        eng.dispose()
        return True
    except Exception:
        return False


PG_AVAILABLE = _pg_available()


@pytest.fixture(scope="session", autouse=True)
def library_checked_once():
    """The model check and parse of a shipped diagram (``bpmn/``, byte for byte) with the same
    files and org chart give the same answer every time, so a test process makes it once:
    every API test's app runs ``kunflow init``, which deploys the whole library, and the check
    was a third of that. Any other diagram (a fixture, an edited copy) is checked each time."""
    from engine import modelcheck

    shipped = {p.name: p.read_bytes() for p in BPMN.glob("*.bpmn")}
    check = modelcheck.validate
    made: dict = {}

    def validate(filename, bpmn, files, directory):
        if shipped.get(filename) != bpmn:
            return check(filename, bpmn, files, directory)
        key = (filename, tuple(sorted((files or {}).items())), tuple(sorted(directory.items())))
        if key not in made:
            made[key] = check(filename, bpmn, files, directory)
        return made[key]

    modelcheck.validate = validate
    yield
    modelcheck.validate = check


@pytest.fixture(scope="session", autouse=True)
def suite_day():
    """``KUNFLOW_TEST_TODAY=2027-03-01 make test`` runs the whole suite as if that were today
    (the clock keeps ticking from 10:00 Beijing time on that day): the suite must pass on any
    day of any year, so a test that computes a deadline freezes the clock itself."""
    day = os.environ.get("KUNFLOW_TEST_TODAY")
    if not day:
        yield None
        return
    moment = datetime.fromisoformat(day).replace(hour=2, tzinfo=UTC)  # 10:00 in Beijing
    with time_machine.travel(moment, tick=True):
        yield moment


def _backends():
    backends = [pytest.param("sqlite", id="sqlite")]
    backends.append(
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=pytest.mark.skipif(not PG_AVAILABLE, reason=f"PostgreSQL not reachable at {PG_URL}"),
        )
    )
    return backends


@pytest.fixture(params=_backends())
def db_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a new schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kunflow.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def seed_org(engine: Engine) -> None:
    departments, users = load_org(ORG_FILE)
    engine.sync_org(departments, users)


@functools.cache
def _district_handlers() -> dict:
    # What workflows.register installs, made once per session: reading the org chart and the
    # 包联 rules takes ~25 ms, and cold drivers build an Engine before every step.
    return workflows.handlers(ORG_FILE)


# What the suite's engines are built from: the default settings (not the environment's
# KUNFLOW_* variables) and the org chart of config/; each test brings its database.
ENGINE_SETTINGS = {**settings_module.DEFAULTS, "ORG_FILE": str(ORG_FILE)}


def district_engine(db_url: str, **options) -> Engine:
    """An Engine with the district's service-task handlers registered, built as the app and
    the ``kunflow`` command build it (``web.wiring.build_engine``): the shipped diagrams call
    the handlers. ``options``: the Engine's keyword arguments."""
    return build_engine({**ENGINE_SETTINGS, "DATABASE_URL": db_url},
                        handlers=_district_handlers(), **options)


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    """The xdist controller starts the demo's load in the background (tests/demo_build.py)."""
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", None):
        return
    if demo_build.wanted(list(config.args), Path(str(config.rootpath))):
        shared = config._tmp_path_factory.getbasetemp()
        config._kunflow_demo = demo_build.start_in_background(shared)


def pytest_unconfigure(config):
    loading = getattr(config, "_kunflow_demo", None)
    if loading is not None and loading.poll() is None:
        loading.kill()
        loading.wait()


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory, worker_id):
    """The demo (seed 2026) loaded through ``kunflow demo`` into a temporary SQLite file:
    (SQLite URL, the command's environment, its output). Made once per run, in the run's shared
    temporary directory (tests/demo_build.py); each process reads a copy of its own."""
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent
    source, output = demo_build.built(shared)
    root = tmp_path_factory.mktemp("demo")
    demo_build.copy(source, root)
    env = demo_build.demo_env(root)
    return env["KUNFLOW_DATABASE_URL"], env, output


@pytest.fixture
def engine(db_url):
    """A migrated, org-seeded engine (with the district's service-task handlers) with the
    sample diagrams deployed."""
    eng = district_engine(db_url)
    eng.migrate()
    seed_org(eng)
    admin = eng.get_user("admin").actor()
    for name in ("sample_review.bpmn", "sample_loop.bpmn"):
        eng.deploy(name, (BPMN / name).read_bytes(), actor=admin)
    yield eng
    eng.close()


def actor(engine: Engine, username: str):
    return engine.get_user(username).actor()


@pytest.fixture
def rebuild(db_url):
    """``rebuild()`` gives a new Engine on the same database (cold caches, as after a restart,
    the service-task handlers registered again); every engine it made is disposed of at the end
    of the test."""
    made = []

    def make() -> Engine:
        eng = district_engine(db_url)
        made.append(eng)
        return eng

    yield make
    for eng in made:
        eng.close()
