"""The parts every room of the engine shares, built once by the facade (``engine/facade.py``)
and handed to each room: the database and its locks, the spec and live-workflow caches, the
calendar, the script engine with its limits, the service handlers, and the department
directory. Rooms never build parts of their own.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .definitions import LoadedSpec, SpecCache
from .live_cache import LiveCache
from .locks import InstanceLocks, SetupLock
from .model import definition, definition_file, department
from .routing import kind_groups
from .unit_of_work import UnitOfWork

if TYPE_CHECKING:  # the facade builds the registry; the context only carries it
    from .scripting import ServiceRegistry

DIRECTORY_TTL = 30.0  # seconds a read of the department table serves ``directory()``


class Context:
    """What the rooms share. ``script_engine`` is set by the facade right after construction:
    the diagram helpers it carries read this context (calendar, directory)."""

    def __init__(self, *, db, database_url: str, locks: InstanceLocks, setup_lock: SetupLock,
                 specs: SpecCache, live: LiveCache, calendar, services: ServiceRegistry,
                 script_limits, max_step_data_bytes: int):
        self.db = db
        self.database_url = database_url
        self.dialect = db.dialect.name
        # Commands on one instance queue (engine/locks.py); set-up runs one node at a time.
        self.locks = locks
        self.setup_lock = setup_lock
        self.specs = specs
        self.live = live
        self.calendar = calendar
        self.services = services
        # Diagram code of one instance in one command: at most this long, this much memory
        # (engine/sandbox.py, docs/scripting.md).
        self.script_limits = script_limits
        self.script_engine = None
        # what one step (start, completion, incident fix, message) may add to a case's data:
        # the state is loaded and saved whole at every later step; files are attachments
        self.max_step_data_bytes = int(max_step_data_bytes)
        # An application's read models (``engine/read_models.py``), called by every save.
        self.read_models: list = []
        self._directory: dict[str, str] | None = None
        self._kinds: dict[str, tuple[str, ...]] = {}
        self._directory_at = 0.0
        self._directory_lock = threading.Lock()

    def uow(self, readonly: bool = False) -> UnitOfWork:
        """A unit of work on the database: rolled back unless committed."""
        return UnitOfWork(self.db, readonly=readonly)

    # ------------------------------------------------------------------ specs

    def spec(self, definition_id: int) -> LoadedSpec:
        """The parsed definition version (cached; parsed from its stored files once)."""
        return self.specs.get(definition_id, self.definition_source)

    def definition_source(self, definition_id: int) -> tuple[str, bytes, dict[str, bytes]]:
        """(file name, BPMN bytes, {file name: bytes} of its DMN and form files)."""
        with self.uow(readonly=True) as uow:
            row = uow.conn.execute(
                sa.select(definition.c.filename, definition.c.bpmn_xml).where(
                    definition.c.id == definition_id
                )
            ).one()
            files = {
                r.filename: r.content.encode("utf-8")
                for r in uow.conn.execute(
                    sa.select(definition_file.c.filename, definition_file.c.content).where(
                        definition_file.c.definition_id == definition_id,
                    )
                )
            }
        return row.filename, row.bpmn_xml.encode("utf-8"), files

    # ------------------------------------------------------------------ departments

    def directory(self) -> dict[str, str]:
        """Department names and codes -> code (refreshed every 30 s, or after
        ``forget_directory``)."""
        d = self._directory
        if d is None or time.monotonic() - self._directory_at > DIRECTORY_TTL:
            with self._directory_lock, self.uow(readonly=True) as uow:
                d, kinds = {}, {}
                for r in uow.conn.execute(sa.select(department.c.code, department.c.name,
                                                    department.c.kind)
                                          .order_by(department.c.code)):
                    d[r.code] = r.code
                    d[r.name] = r.code
                    for group in kind_groups(r.kind):
                        kinds.setdefault(group, []).append(r.code)
                self._kinds = {k: tuple(v) for k, v in kinds.items()}
                self._directory, self._directory_at = d, time.monotonic()
        return d

    def department_kinds(self) -> dict[str, tuple[str, ...]]:
        """Department kind -> sorted codes, refreshed with ``directory``. A dotted kind counts in
        every group it names (``routing.kind_groups``): ``street.town`` under ``street.town``,
        ``street`` and ``town``."""
        self.directory()
        return self._kinds

    def forget_directory(self) -> None:
        """The department table changed: the next ``directory()`` reads it again."""
        self._directory = None
