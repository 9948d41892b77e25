"""Command: start a case (the newest version of a process), with the business-key rule: a case
started without a key gets one made up of the process's initials, the day in China and a random
suffix (``XMSM-20260301-3FA2``), whether it comes from a page, the API or Python."""

from __future__ import annotations

import secrets

from .. import routing
from ..checks import check_data, check_field_names, check_size, text
from ..clock import to_local, utcnow
from ..context import Context
from ..deployments import Deployments
from ..dto import Actor, InstanceInfo
from ..errors import Forbidden, InvalidInput
from ..forms import validate as validate_form
from ..persistence import Persistence, Step
from ..queries import read_instance
from ..rows import event_row
from ..unit_of_work import retry_on_deadlock


def new_business_key(process_key: str) -> str:
    """A business key for a case started without one: the initials of the process key's
    words (at most four; ``KF`` without any), today's date in China, four random hex digits."""
    today = to_local(utcnow()).strftime("%Y%m%d")
    prefix = "".join(w[0] for w in process_key.split("_") if w).upper()[:4] or "KF"
    return f"{prefix}-{today}-{secrets.token_hex(2).upper()}"


class StartCommand:
    def __init__(self, ctx: Context, persistence: Persistence, deployments: Deployments):
        self.ctx = ctx
        self.persistence = persistence
        self.deployments = deployments

    @retry_on_deadlock
    def start(
        self,
        process_key: str,
        actor: Actor,
        business_key: str | None = None,
        title: str | None = None,
        data: dict | None = None,
    ) -> InstanceInfo:
        """Start the newest version of ``process_key`` and run it to its first wait state. A
        ``business_key`` that is None or blank is made up (``new_business_key``)."""
        if data is not None and not isinstance(data, dict):
            raise InvalidInput("data 必须是 JSON 对象")
        text(process_key, "process_key", 200, required=True)
        text(business_key, "business_key", 200)
        text(title, "title", 400)
        check_data(data or {})
        check_field_names(data, self.ctx.script_engine.environment.globals)
        if business_key is None or not business_key.strip():
            business_key = new_business_key(process_key)
        store = self.persistence.store
        with self.ctx.uow() as uow:
            conn = uow.conn
            drow = self.deployments.definition_row(conn, process_key, None)
            loaded = self.ctx.spec(drow.id)
            parsed = loaded.parsed
            starters, restricted = routing.start_departments(
                parsed.start_lanes, parsed.lanes, parsed.start_departments,
                self.ctx.directory(), self.ctx.department_kinds())
            if not routing.can_start(actor, starters, restricted):
                raise Forbidden("本部门不能发起该流程")
            if not parsed.manual_start and not actor.is_admin:
                raise Forbidden("该流程由定时器或消息启动，不能手工发起")
            form = loaded.forms.get(parsed.start_form_key) if parsed.start_form_key else None
            check_size(data or {}, self.ctx.max_step_data_bytes, form)
            if form is not None:
                problems = validate_form(form, data or {})
                if problems:
                    raise InvalidInput("表单校验未通过：" + "；".join(problems.values()),
                                       problems)
            self.ctx.calendar.current(conn)
            wf = store.new_workflow(loaded, business_key)
            wf.task_tree.data.update(data or {})
            starter = parsed.starter_variable
            if starter and not (actor.is_admin and (data or {}).get(starter)):
                # the diagram records the starter's department: nobody starts a case in
                # another department's name; an administrator may name one on its behalf
                wf.task_tree.data[starter] = actor.department_code
            now = utcnow()
            head = store.insert_instance(conn, drow, business_key, title, actor.username, now)
            events = [
                event_row(head.id, None, actor, "instance_started", now,
                          {"process_key": process_key, "version": drow.version,
                           "business_key": business_key, "title": title, "data": data or {}})
            ]
            incident = self.persistence.running.advance(wf, None)
            store.save(conn, uow, head, Step(wf, loaded, now, events, incident=incident))
            info = read_instance(conn, head.id)
            uow.commit()
        return info
