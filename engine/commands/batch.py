"""Suspend, resume or terminate many cases at once (issue 11, area 4): each instance in its own
unit of work through the instance commands, with the admin's reason; one failing instance
does not stop the others."""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa

from ..checks import MAX_ID, text
from ..context import Context
from ..dto import Actor, BatchReport, BatchResult
from ..errors import EngineError, Forbidden, InvalidInput
from ..model import instance
from .instances import InstanceCommands
from .migration import BULK_SECONDS, OUT_OF_TIME, check_ids

log = logging.getLogger(__name__)

ACTIONS = ("suspend", "resume", "terminate")
_clock = time.monotonic  # the tests replace it


class BatchCommands:
    def __init__(self, ctx: Context, instance_commands: InstanceCommands):
        self.ctx = ctx
        self.commands = instance_commands

    def batch_instances(self, actor: Actor, action: str, instance_ids, reason: str
                        ) -> BatchReport:
        """``action`` (suspend | resume | terminate) on each instance, one unit of work each;
        ``reason`` is required and goes into each audit event."""
        if not actor.is_admin:
            raise Forbidden("只有流程管理员可以批量挂起、恢复或终止流程实例")
        if action not in ACTIONS:
            raise InvalidInput("action 应为 suspend、resume 或 terminate")
        text(reason, "原因", 2000, required=True)
        ids = check_ids(instance_ids)
        command = getattr(self.commands, action)
        results = []
        deadline = _clock() + BULK_SECONDS
        for n, iid in enumerate(ids):
            if _clock() > deadline:
                statuses = self.statuses(ids[n:])
                results += [BatchResult(i, False, statuses.get(i), OUT_OF_TIME.format(
                    BULK_SECONDS)) for i in ids[n:]]
                break
            try:
                info = command(iid, actor, reason)
                results.append(BatchResult(iid, True, info.status))
            except EngineError as exc:
                results.append(BatchResult(iid, False, self.status(iid), str(exc)))
            except Exception as exc:  # one broken case must not stop the others
                log.exception("batch %s of instance %s failed", action, iid)
                results.append(BatchResult(iid, False, self.status(iid),
                                           f"操作失败：{type(exc).__name__}"))
        ok = sum(1 for r in results if r.ok)
        return BatchReport(action, tuple(results), ok, len(results) - ok)

    def statuses(self, ids) -> dict:
        wanted = [i for i in ids if isinstance(i, int) and 1 <= i <= MAX_ID]
        with self.ctx.uow(readonly=True) as uow:
            return dict(uow.conn.execute(sa.select(instance.c.id, instance.c.status)
                                         .where(instance.c.id.in_(wanted))).all())

    def status(self, iid: int) -> str | None:
        if not 1 <= iid <= MAX_ID:
            return None
        with self.ctx.uow(readonly=True) as uow:
            return uow.conn.execute(sa.select(instance.c.status)
                                    .where(instance.c.id == iid)).scalar()
