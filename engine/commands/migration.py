"""Moving running cases to another version of their process (issue 11, area 4).

Each instance moves in its own unit of work: lock it, load its workflow, align the old spec
with the target's (SpiffWorkflow's ``SpiffWorkflow.bpmn.util.diff``: ``SpecDiff`` /
``WorkflowDiff``, the parts of ``diff_workflow``, so that the admin's mapping can be laid over
the alignment before the workflow's tasks are aligned), refuse with a Chinese reason what
cannot move safely, else ``migrate_workflow`` swaps the specs, the open task rows are re-derived
from the target (element, name, lane, department, form, stage, deadline) and the instance row
points at the target definition, with a ``migrated`` audit event.

Refused (the instance stays as it was):
- the instance is not running or suspended, belongs to another process, or already runs on
  the target version;
- an active element (READY / WAITING / STARTED) has no counterpart in the target (after the
  mapping);
- an active multi-instance task changed (its own spec or its instances' spec);
- an active embedded sub-process or call activity changed (an embedded sub-process also when
  anything inside it changed), or a sub-process the case holds is gone from the target;
- a finished element the case still keeps (a parent of an active one, a send-back target) has no
  counterpart and cannot be spliced out of the task tree;
- running the engine on the migrated workflow fails (it would raise an incident).

Call activities: the called process runs as its own instance (its own process key and
version); migrating the caller leaves the child alone. An active call activity whose spec is
unchanged keeps its task (and so the child's link to it); a changed one is refused.

Timers: a waiting event whose spec did not change keeps its due time (SpiffWorkflow's reset
would restart it from now); a changed timer starts again from the migration.

Dry run: the same checks and the same changes on a copy of the workflow (serialized and
loaded again), without running the engine and without writing anything.

Open tasks: a task whose department changes is put back into the new department's queue
(unclaimed); its deadline is re-computed from its arrival when the due rule changed.
"""

from __future__ import annotations

import logging
import time
from copy import deepcopy
from dataclasses import dataclass

import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from .. import routing
from ..checks import MAX_ID, text
from ..checks import instance_id as checked_instance_id
from ..clock import utcnow
from ..context import Context
from ..definitions import LoadedSpec
from ..deployments import Deployments
from ..dto import Actor, MigrationReport, MigrationResult
from ..errors import EngineError, Forbidden, InvalidInput, NotFound
from ..model import definition, instance, task
from ..persistence import Persistence, Step, info_of
from ..projections import ready_human_tasks
from ..queries import instance_head
from ..rows import Head, event_row
from ..serialization import SERIALIZER_VERSION, _serializer, dump_state, load_state
from ..timers import next_timer_due
from ..unit_of_work import retry_on_deadlock

log = logging.getLogger(__name__)

MAX_INSTANCES = 5000  # instances of one migration request
# One request works on its cases for at most this long (a worker is killed after 120 s and its
# answer lost): the cases not reached are reported with OUT_OF_TIME, to be sent again.
BULK_SECONDS = 60
OUT_OF_TIME = "本次请求已用尽处理时间（{0} 秒），此实例未处理：请再次提交（已处理的实例不受影响）"
_clock = time.monotonic  # the tests replace it
MAX_MAPPING = 500
ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
STATUS_NAMES = {"running": "办理中", "suspended": "已挂起", "completed": "已办结",
                "terminated": "已终止", "incident": "故障"}
DUE_FIELDS = ("due_working_days", "due_days", "due_hours", "due_expression")


class Refused(Exception):
    """An instance that cannot move; the message (Chinese) says why."""


@dataclass
class Plan:
    """What the checks found for one instance: the aligned diff and the active moves."""

    workflow_diff: WorkflowDiff
    spec_diff: SpecDiff
    subprocesses: list  # (sub-workflow, WorkflowDiff, target spec)
    moves: list  # (old element id, new element id) of each active element
    drop: list  # finished tasks without a counterpart, to splice out


def element_id_of(spec) -> str:
    return getattr(spec, "bpmn_id", None) or spec.name


def label(spec) -> str:
    name = getattr(spec, "bpmn_name", None)
    if not name and isinstance(spec, LoopTask):  # the name is on the instances' spec
        child = spec._wf_spec.task_specs.get(spec.task_spec)
        name = getattr(child, "bpmn_name", None)
    eid = element_id_of(spec)
    return f"“{name}”（{eid}）" if name and name != eid else f"“{eid}”"


class MappedSpecDiff(SpecDiff):
    """``SpecDiff`` whose comparison also handles kunflow's own task-spec classes (subclasses
    of library specs that the serializer registry does not know by name). Elements align by
    id only (the library's guess by structure is left out: the mapping defaults to the same ids,
    and the admin maps the rest)."""

    def _search_unmatched(self, spec):
        return None

    def _compare_task_specs(self, spec, candidate):
        if type(spec) is not type(candidate):
            return ["typename"]
        s1, s2 = self._as_dict(spec), self._as_dict(candidate)
        return [key for key, value in s1.items() if s2.get(key) != value]

    def _as_dict(self, spec) -> dict:
        registry = self._registry
        for cls in type(spec).__mro__:
            typename = registry.typenames.get(cls)
            if typename in registry.convert_to_dict:
                dct = registry.convert_to_dict[typename](spec)
                return dct if isinstance(dct, dict) else {}
        return {}

    def remap(self, original, new, mapping: dict[str, str]) -> None:
        """Lay the admin's mapping (old element id -> new element id) over the alignment,
        with the helper specs SpiffWorkflow derives from an element (``<id>.Boundary…``)."""
        old_by_id = {element_id_of(s): s for s in original.task_specs.values()}
        for old_id, new_id in mapping.items():
            old = old_by_id.get(old_id)
            target = new.task_specs.get(new_id)
            if old is None or target is None or old_id == new_id:
                continue
            pairs = [(old, target)]
            for name, spec in original.task_specs.items():
                if name.startswith(old.name + "."):
                    helper = new.task_specs.get(target.name + name[len(old.name):])
                    if helper is not None:
                        pairs.append((spec, helper))
            for spec, aligned in pairs:
                self.alignment[spec] = aligned
                self.comparisons[spec] = self._compare_task_specs(spec, aligned)
                if aligned in self.added:
                    self.added.remove(aligned)


def check_mapping(mapping, target: LoadedSpec, target_version: int) -> dict[str, str]:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise InvalidInput("mapping 必须是对象（旧节点标识 → 新节点标识）")
    if len(mapping) > MAX_MAPPING:
        raise InvalidInput(f"mapping 最多 {MAX_MAPPING} 项")
    out = {}
    for old_id, new_id in mapping.items():
        text(old_id, "mapping 的旧节点标识", 200, required=True)
        text(new_id, f"节点“{old_id}”的新节点标识", 200, required=True)
        if new_id not in target.spec.task_specs:
            raise InvalidInput(f"映射的目标节点“{new_id}”在版本 {target_version} 中不存在")
        out[old_id] = new_id
    return out


def rollback_of(from_version: int, to_version: int) -> tuple[bool, str | None]:
    """(whether moving from ``from_version`` to ``to_version`` goes back to an older version,
    the Chinese note that says so). A rollback is allowed; the dry run and the audit say it."""
    if to_version < from_version:
        return True, f"回退到旧版本（v{from_version} → v{to_version}）"
    return False, None


def check_ids(instance_ids) -> list[int]:
    if not isinstance(instance_ids, list | tuple) or not instance_ids:
        raise InvalidInput("请选择要处理的流程实例")
    if len(instance_ids) > MAX_INSTANCES:
        raise InvalidInput(f"一次最多处理 {MAX_INSTANCES} 个流程实例")
    seen, ids = set(), []
    for value in instance_ids:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput("实例编号必须是整数")
        if value not in seen:
            seen.add(value)
            ids.append(value)
    return ids


def spec_diff_of(cache: dict, original, new, mapping: dict[str, str]) -> MappedSpecDiff:
    """The mapped diff of two specs, computed once per pair within one request (it depends
    on the specs and the mapping only; the cases' trees are aligned to it afterwards)."""
    key = (id(original), id(new))
    diff = cache.get(key)
    if diff is None:
        diff = cache[key] = MappedSpecDiff(_serializer().registry, original, new)
        diff.remap(original, new, mapping)
    return diff


def plan(wf, source: LoadedSpec, target: LoadedSpec, mapping: dict[str, str],
         target_version: int, cache: dict | None = None) -> Plan:
    """The checks of one instance's workflow against the target spec; Refused when it cannot
    move. Touches nothing (but ``cache``: spec diffs by pair of specs)."""
    cache = {} if cache is None else cache
    spec_diff = spec_diff_of(cache, wf.spec, target.spec, mapping)
    for t in wf.get_tasks(skip_subprocesses=True):  # specs the traversal did not reach
        if t.task_spec not in spec_diff.alignment:
            spec_diff.alignment[t.task_spec] = target.spec.task_specs.get(t.task_spec.name)
    changed = spec_diff.changed
    wdiff = WorkflowDiff(wf, spec_diff)
    v = f"版本 {target_version} "
    moves = []
    for t in wf.get_tasks(state=ACTIVE, skip_subprocesses=True):
        spec = t.task_spec
        new = spec_diff.alignment.get(spec)
        if new is None:
            raise Refused(f"进行中的节点{label(spec)}在{v}中没有对应节点，请在映射中指定")
        if isinstance(spec, LoopTask) and spec in changed:
            raise Refused(f"多实例节点{label(spec)}在{v}中已修改，且有进行中的实例")
        parent = t.parent.task_spec if t.parent is not None else None
        if isinstance(parent, LoopTask) and (parent in changed or spec in changed):
            raise Refused(f"多实例节点{label(parent)}在{v}中已修改，且有进行中的实例")
        if isinstance(spec, SubWorkflowTask) and spec in changed:
            kind = "调用活动" if t.id not in wf.subprocesses else "子流程"
            raise Refused(f"{kind}{label(spec)}在{v}中已修改，且其中有进行中的节点")
        if getattr(spec, "bpmn_id", None):
            moves.append((element_id_of(spec), element_id_of(new)))
    subprocesses = []
    for sp_id, sp in wf.subprocesses.items():
        new_spec = target.subprocess_specs.get(sp.spec.name)
        owner = wf.get_task_from_id(sp_id) if sp_id in wf.tasks else None
        owner_label = label(owner.task_spec) if owner is not None else f"“{sp.spec.name}”"
        if new_spec is None:
            raise Refused(f"子流程{owner_label}在{v}中不存在")
        sub_diff = spec_diff_of(cache, sp.spec, new_spec, mapping)
        if not sp.is_completed() and (sub_diff.changed or sub_diff.removed or sub_diff.added):
            raise Refused(f"子流程{owner_label}在{v}中已修改，且其中有进行中的节点")
        if sub_diff.removed:
            raise Refused(f"已完成的子流程{owner_label}在{v}中已修改，无法迁移")
        subprocesses.append((sp, WorkflowDiff(sp, sub_diff), new_spec))
    drop = []
    for t in wf.get_tasks(skip_subprocesses=True):
        if spec_diff.alignment.get(t.task_spec) is None:
            if t.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE):
                continue  # predicted again from the target (``migrate_workflow``); checked after
            if not t.has_state(TaskState.FINISHED_MASK) or t.parent is None:
                raise Refused(f"节点{label(t.task_spec)}在{v}中没有对应节点，请在映射中指定")
            drop.append(t)
    return Plan(wdiff, spec_diff, subprocesses, moves, drop)


def splice_out(wf, tasks) -> None:
    """Remove finished tasks without a counterpart from the tree: their children hang from
    their parent instead (kunflow keeps its history in the task and event tables)."""
    for t in tasks:
        parent = t.parent
        index = parent._children.index(t.id)
        parent._children[index:index + 1] = list(t._children)
        for child in t.children:
            child._parent = parent.id
        wf.tasks.pop(t.id, None)
    if wf.last_task is not None and wf.last_task.id not in wf.tasks:
        wf.last_task = None


def transform(wf, target: LoadedSpec, found: Plan, target_version: int) -> None:
    """Move ``wf`` onto the target spec as ``found`` planned (in memory); Refused when a task
    would be left without a spec of the target."""
    # ``migrate_workflow`` resets the READY and WAITING tasks to predict their successors
    # from the target; the reset gives each the data of its parent and clears its internal
    # data. What is the case's own goes back: the task's data (a multi-instance task's
    # item, a reopened task's data) and, where the spec did not change, its internal data
    # (a timer's due time, a held clock).
    changed = found.spec_diff.changed
    kept = {t.id: (deepcopy(t.data), deepcopy(t.internal_data), t.task_spec in changed)
            for t in wf.get_tasks(state=TaskState.READY | TaskState.WAITING)}
    migrate_workflow(found.workflow_diff, wf, target.spec)
    for sp, sub_diff, new_spec in found.subprocesses:
        migrate_workflow(sub_diff, sp, new_spec)
    wf.subprocess_specs = target.subprocess_specs
    splice_out(wf, [t for t in found.drop if t.id in wf.tasks])
    for t in wf.get_tasks(state=TaskState.READY | TaskState.WAITING):
        if t.id in kept:
            data, internal, spec_changed = kept[t.id]
            t.data = data
            if not spec_changed:
                t.internal_data.update(internal)
    for t in wf.get_tasks(skip_subprocesses=True):
        if target.spec.task_specs.get(t.task_spec.name) is not t.task_spec:
            raise Refused(f"节点{label(t.task_spec)}在版本 {target_version} 中没有对应节点，"
                          "请在映射中指定")


class MigrationCommands:
    def __init__(self, ctx: Context, persistence: Persistence, deployments: Deployments):
        self.ctx = ctx
        self.persistence = persistence
        self.deployments = deployments

    def migrate_instances(self, actor: Actor, instance_ids, target_version: int,
                          mapping: dict[str, str] | None = None, dry_run: bool = False,
                          process_key: str | None = None) -> MigrationReport:
        """Move each instance to ``target_version`` of its process, one unit of work each;
        ``dry_run``: the same checks, nothing written. ``process_key``: the process whose
        version is meant (default: the one process the instances belong to)."""
        if not actor.is_admin:
            raise Forbidden("只有流程管理员可以迁移流程实例")
        ids = check_ids(instance_ids)
        if isinstance(target_version, bool) or not isinstance(target_version, int) \
                or target_version < 1:
            raise InvalidInput("target_version 必须是正整数")
        text(process_key, "process_key", 200)
        with self.ctx.uow(readonly=True) as uow:
            if process_key is None:
                keys = {r.process_key for r in uow.conn.execute(
                    sa.select(instance.c.process_key).where(instance.c.id.in_(ids)).distinct())}
                if not keys:
                    raise NotFound("所选流程实例不存在")
                if len(keys) > 1:
                    raise InvalidInput("所选实例属于多个流程，请按流程分别迁移")
                process_key = keys.pop()
            drow = self.deployments.definition_row(uow.conn, process_key, target_version)
        target = self.ctx.spec(drow.id)
        mapping = check_mapping(mapping, target, target_version)
        results = []
        diffs: dict = {}  # spec diffs by pair of specs, shared by the cases of one version
        deadline = _clock() + BULK_SECONDS
        for n, iid in enumerate(ids):
            if _clock() > deadline:
                keys = self.business_keys(ids[n:])
                results += [MigrationResult(i, keys.get(i), False, OUT_OF_TIME.format(
                    BULK_SECONDS)) for i in ids[n:]]
                break
            try:
                results.append(self.migrate_one(iid, actor, drow, target, mapping, dry_run,
                                                diffs))
            except (Refused, EngineError) as exc:
                results.append(MigrationResult(iid, self.business_key(iid), False, str(exc)))
            except Exception as exc:  # one broken case must not stop the others
                log.exception("migration of instance %s failed", iid)
                results.append(MigrationResult(iid, self.business_key(iid), False,
                                               f"迁移失败：{type(exc).__name__}: {exc}"[:2000]))
        ok = sum(1 for r in results if r.ok)
        return MigrationReport(process_key, target_version, bool(dry_run), tuple(results), ok,
                               len(results) - ok)

    def business_keys(self, ids) -> dict:
        wanted = [i for i in ids if isinstance(i, int) and 1 <= i <= MAX_ID]
        with self.ctx.uow(readonly=True) as uow:
            return dict(uow.conn.execute(sa.select(instance.c.id, instance.c.business_key)
                                         .where(instance.c.id.in_(wanted))).all())

    def business_key(self, iid: int) -> str | None:
        if not 1 <= iid <= MAX_ID:
            return None
        with self.ctx.uow(readonly=True) as uow:
            return uow.conn.execute(sa.select(instance.c.business_key)
                                    .where(instance.c.id == iid)).scalar()

    @retry_on_deadlock
    def migrate_one(self, iid, actor: Actor, drow, target: LoadedSpec, mapping, dry_run,
                    diffs: dict | None = None) -> MigrationResult:
        iid = checked_instance_id(iid)
        with self.ctx.uow(readonly=dry_run) as uow:
            conn = uow.conn
            if not dry_run:
                self.ctx.locks.lock_instance(conn, iid)
            head = instance_head(conn, iid)
            row = conn.execute(
                sa.select(instance.c.business_key, definition.c.version)
                .join(definition, definition.c.id == instance.c.definition_id)
                .where(instance.c.id == iid)).one()
            bk, from_version = row.business_key, row.version
            if head.process_key != drow.key:
                raise Refused(f"实例属于流程 {head.process_key}，目标版本属于流程 {drow.key}")
            if head.status not in ("running", "suspended"):
                status = STATUS_NAMES.get(head.status, head.status)
                raise Refused(f"实例状态为“{status}”，只能迁移办理中或已挂起的实例")
            if head.definition_id == drow.id:
                raise Refused(f"实例已在版本 {drow.version} 上")
            source = self.ctx.spec(head.definition_id)
            wf = self.persistence.store.load_workflow(conn, head)
            if dry_run:  # the same checks and changes on a copy; the case's own stays as is
                self.ctx.live.checkin(iid, head.version, wf)
                copy = load_state(dump_state(wf), SERIALIZER_VERSION, wf.spec,
                                  wf.subprocess_specs, script_engine=self.ctx.script_engine)
                found = plan(copy, source, target, mapping, drow.version, diffs)
                transform(copy, target, found, drow.version)
                return MigrationResult(iid, bk, True, None, tuple(found.moves), from_version,
                                       *rollback_of(from_version, drow.version))
            try:
                found = plan(wf, source, target, mapping, drow.version, diffs)
            except Refused:
                self.ctx.live.checkin(iid, head.version, wf)  # untouched
                raise
            moves = tuple(found.moves)
            try:
                self.apply(conn, uow, actor, head, wf, source, target, drow, found, mapping,
                           from_version)
            except BaseException:
                self.ctx.live.discard(iid)  # the object was changed; the database was not
                raise
            uow.commit()
        return MigrationResult(iid, bk, True, None, moves, from_version,
                               *rollback_of(from_version, drow.version))

    def apply(self, conn, uow, actor, head, wf, source, target, drow, found: Plan, mapping,
              from_version) -> None:
        now = utcnow()
        transform(wf, target, found, drow.version)
        if head.status == "running":
            incident = self.persistence.running.advance(wf, None)
            if incident is not None:
                raise Refused(f"迁移后流程无法继续：{incident['message']}")
        self.retarget_open_tasks(conn, head.id, wf, source, target, now)
        events = [event_row(head.id, None, actor, "migrated", now, {
            "from_version": from_version, "to_version": drow.version,
            "rollback": rollback_of(from_version, drow.version)[0],
            "mapping": mapping, "moves": [list(m) for m in found.moves]})]
        self.persistence.store.save(
            conn, uow, Head(head.id, drow.id, head.process_key, head.status, head.version,
                            head.completed_tasks),
            Step(wf, target, now, events))
        values = {"definition_id": drow.id}
        if head.status == "suspended":  # the save leaves a suspended case without a timer;
            values["next_due_at"] = next_timer_due(wf)  # resuming does not compute it again
        conn.execute(instance.update().where(instance.c.id == head.id).values(**values))

    def retarget_open_tasks(self, conn, iid: int, wf, source: LoadedSpec,
                            target: LoadedSpec, now) -> None:
        """Re-derive each open task row whose task stays ready from the target spec: element,
        name, lane, department (a new department's queue: unclaimed), candidate role, form,
        stage; the deadline when the due rule changed (counted from the task's arrival)."""
        ready = ready_human_tasks(wf)
        directory = self.ctx.directory()
        updates = []
        for row in conn.execute(OPEN_ROWS, {"iid": iid}):
            t = ready.get(row.id)
            if t is None:
                continue  # no longer ready: the save closes it
            info = info_of(target, t)
            old = source.parsed.tasks.get(row.element_id)
            props, assignee, due_at, provisional = self.persistence.running.routing(
                wf, t, info, row.created_at, conn)
            dept = routing.department_for(t.lane, target.parsed.lanes, props, directory)
            values = {column: getattr(row, column) for column in RETARGETED}
            values.update(element_id=t.element_id, name=t.name, lane=t.lane,
                          department_code=dept, candidate_role=info.candidate_role,
                          form_key=info.form_key, stage=info.stage)
            if old is None or any(getattr(old, f) != getattr(info, f) for f in DUE_FIELDS):
                values.update(due_at=due_at, due_provisional=provisional)
            if dept != row.department_code:
                values.update(assignee=assignee, state="claimed" if assignee else "ready",
                              claimed_at=now if assignee else None)
            if any(values[c] != getattr(row, c) for c in RETARGETED):
                updates.append({"b_id": row.id, **values})
        if updates:
            conn.execute(RETARGET_TASK, updates)


# The columns of an open task row that a migration re-derives, and its prepared statements.
RETARGETED = ("element_id", "name", "lane", "department_code", "candidate_role", "form_key",
              "stage", "due_at", "due_provisional", "assignee", "state", "claimed_at")
OPEN_ROWS = sa.select(task.c.id, task.c.created_at, *(task.c[c] for c in RETARGETED)).where(
    task.c.instance_id == sa.bindparam("iid"), task.c.state.in_(("ready", "claimed")))
RETARGET_TASK = task.update().where(task.c.id == sa.bindparam("b_id")).values(
    **{c: sa.bindparam(c) for c in RETARGETED})
