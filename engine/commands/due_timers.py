"""Command of the scheduler: fire the timers that are due, one unit of work per instance; an
instance whose timer step fails is parked as an incident and the run goes on."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from ..clock import utcnow
from ..context import Context
from ..errors import Conflict, EngineError
from ..model import instance
from ..persistence import Persistence, Step, element_of
from ..rows import INSTANCE_HEAD, Head, event_row
from ..sandbox import ScriptViolation
from ..unit_of_work import retry_on_deadlock


class DueTimers:
    def __init__(self, ctx: Context, persistence: Persistence):
        self.ctx = ctx
        self.persistence = persistence

    def fire_due_timers(self, limit: int = 200) -> int:
        """Advance instances whose next timer is due; one unit of work per instance.

        On PostgreSQL the due row is claimed with ``FOR UPDATE SKIP LOCKED``, so several
        scheduler processes share the work without firing a timer twice; on SQLite the
        writer lock serializes them. Returns the number of instances handled.

        A timer step that fails, is refused, or runs past the limits of diagram code makes its
        instance an incident (``Running.advance``), which no later run picks until an admin
        retries it. Should the step fail all the same (its state cannot be stored …), its
        transaction is rolled back and the instance is parked as an incident in a transaction
        of its own. Either way the run goes on with the other due instances.
        """
        fired = 0
        passed: set[int] = set()  # callers held by a command, or lost a race: the next run
        while fired < limit:
            picked: list[int] = []
            try:
                outcome = self.fire_next_timer(passed, picked)
            except (Conflict, sa.exc.OperationalError):
                if not picked:
                    raise
                passed.add(picked[0])  # a race or a passing database fault: the next run
                continue
            except Exception as exc:  # rolled back: park it, go on with the others
                if not picked:
                    raise
                self.park_failed(picked[0], exc)
                outcome = True
            if outcome is None:
                return fired
            fired += outcome
        return fired

    @retry_on_deadlock
    def fire_next_timer(self, passed: set[int], picked: list[int]) -> bool | None:
        """Fire the earliest due instance not in ``passed``: True when fired, False when its
        callers were locked (added to ``passed``), None when nothing is due. ``picked`` gets
        the instance being fired, for the caller to park it if the step fails."""
        with self.ctx.uow() as uow:
            conn = uow.conn
            now = utcnow()
            stmt = (
                sa.select(
                    instance.c.id, instance.c.definition_id, instance.c.process_key,
                    instance.c.status, instance.c.version, instance.c.completed_tasks,
                    instance.c.next_due_at,
                )
                .where(instance.c.next_due_at <= now, instance.c.status == "running")
                .order_by(instance.c.next_due_at)
                .limit(1)
            )
            if passed:
                stmt = stmt.where(instance.c.id.not_in(passed))
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            row = conn.execute(stmt).first()
            if row is None:
                return None
            # The lock order puts callers first, and this row is already held: wait for
            # nobody, leave a called process whose caller is in use to the next run.
            if not self.ctx.locks.try_lock_instance(conn, row.id):
                passed.add(row.id)
                return False
            picked[:] = [row.id]
            self.fire(conn, uow, row, now)
            uow.commit()
            return True

    def fire(self, conn, uow, row, now) -> None:
        """Refresh the timers of the due instance ``row`` and store the step."""
        store = self.persistence.store
        head = Head(row.id, row.definition_id, row.process_key, row.status,
                    row.version, row.completed_tasks)
        loaded = self.ctx.spec(head.definition_id)
        try:
            wf = store.load_workflow(conn, head)
        except EngineError as exc:
            # A state that cannot load must not block every other timer.
            store.park(conn, head, now, str(exc))
            return
        incident = self.persistence.running.advance(wf, wf.refresh_timers)
        events = [event_row(head.id, None, None, "timer_fired", now,
                            {"due_at": row.next_due_at.isoformat()})]
        store.save(conn, uow, head, Step(wf, loaded, now, events, incident=incident))
        # A timer the library does not consider due yet (clock skew) is retried a
        # minute later instead of being picked again at once.
        conn.execute(
            instance.update()
            .where(instance.c.id == head.id, instance.c.next_due_at <= now)
            .values(next_due_at=now + timedelta(minutes=1))
        )

    def park_failed(self, instance_id: int, exc: Exception) -> None:
        """Park a running instance whose timer step failed outside ``Running.advance``."""
        task = getattr(exc, "task", None)
        task_id = str(task.id) if task is not None else None
        element = element_of(task)
        if isinstance(exc, ScriptViolation):
            message = exc.incident_message(element)
        else:
            message = f"定时器处理失败：{type(exc).__name__}: {exc}"
        self.ctx.live.discard(instance_id)
        with self.ctx.uow() as uow:
            head = uow.conn.execute(INSTANCE_HEAD, {"id": instance_id}).first()
            if head is None or head.status != "running":
                return
            self.persistence.store.park(uow.conn, head, utcnow(), message, task_id, element)
            uow.commit()
