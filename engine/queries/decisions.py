"""Query: the DMN change preview. Each decision table of a process's (draft) DMN files is
evaluated, with SpiffWorkflow's DMN engine, against the inputs of its newest recorded real
evaluations (``decision_log``); the cases whose outcome would differ are listed."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR

from ..checks import text
from ..context import Context
from ..decisions import plain, replay_table
from ..dto import Actor, DecisionChange, DecisionPreview
from ..errors import Forbidden, InvalidInput, InvalidModel, NotFound
from ..model import decision_log, instance, process_draft
from ..sandbox import Budget, ScriptViolation
from ..specs import KunflowBpmnParser

MAX_LIMIT = 1000
# The whole preview (every row of every table, each within the script limits) stops after this
# many script time limits: 1,000 rows of a 10,000-rule table would hold a worker for an hour.
RUN_LIMIT_FACTOR = 15
_clock = time.monotonic  # the tests replace it

# No entities, no network: DMN text comes from the browser.
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)

RECORDED = (
    sa.select(decision_log.c.instance_id, decision_log.c.element_id, decision_log.c.inputs_json,
              decision_log.c.outputs_json, decision_log.c.at, instance.c.business_key,
              instance.c.title)
    .select_from(decision_log.outerjoin(instance, instance.c.id == decision_log.c.instance_id))
    .where(decision_log.c.process_key == sa.bindparam("key"),
           decision_log.c.decision_id == sa.bindparam("decision_id"))
    .order_by(decision_log.c.id.desc())
    .limit(sa.bindparam("limit"))
)

DRAFT_FILES = sa.select(process_draft.c.files_json).where(
    process_draft.c.process_key == sa.bindparam("key"))


def check_files(files) -> dict[str, str]:
    """``files`` as {file name: text}; InvalidInput otherwise."""
    if not isinstance(files, dict):
        raise InvalidInput("files 必须是 {文件名: 内容} 对象")
    for name, content in files.items():
        text(name, "文件名", 200, required=True)
        if not isinstance(content, str):
            raise InvalidInput(f"文件 {name} 的内容必须是文本")
    return files


def decision_tables(files: dict[str, str]) -> list[tuple[str, str, str | None, object]]:
    """(file name, decision id, decision name, decision table) of each DMN file, parsed as
    the engine parses it at deploy; InvalidModel naming the file when one does not parse."""
    out = []
    for name in sorted(files):
        if not name.endswith(".dmn"):
            continue
        parser = KunflowBpmnParser(validator=VALIDATOR)
        try:
            root = etree.fromstring(files[name].encode("utf-8"), _XML_PARSER)
            parser.add_dmn_xml(root, filename=name)
            for decision_id, dmn_parser in parser.dmn_parsers.items():
                dmn_parser.parse()
                decision = dmn_parser.decision
                if decision.decisionTables:
                    out.append((name, decision_id, decision.name or None,
                                decision.decisionTables[0]))
        except (etree.XMLSyntaxError, ValidationException, SpiffWorkflowException, KeyError,
                ValueError, IndexError, AttributeError) as exc:
            message = f"决策表文件 {name} 无法解析：{exc}"
            raise InvalidModel(message, [{"file": name, "element_id": None,
                                          "message": message, "line": None}]) from None
    return out


def error_text(exc: Exception) -> str:
    if isinstance(exc, ScriptViolation):
        return exc.incident_message(None)
    detail = getattr(exc, "error_msg", None) or str(exc) or type(exc).__name__
    return f"草稿决策表无法计算：{type(exc).__name__}: {detail}"[:2000]


class DecisionQueries:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def preview_decision_change(self, key: str, actor: Actor,
                                files: dict[str, str] | None = None, limit: int = 200
                                ) -> list[DecisionPreview]:
        """Each decision table of ``files`` (None: the draft's files) evaluated against the
        inputs of the newest ``limit`` recorded evaluations of that decision in ``key``'s
        cases: how many were evaluated, and the ones whose outcome changes (newest first)."""
        if not actor.is_admin:
            raise Forbidden("只有流程管理员可以预览决策表变更")
        text(key, "process_key", 200, required=True)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInput("limit 必须是正整数")
        limit = min(limit, MAX_LIMIT)
        with self.ctx.uow(readonly=True) as uow:
            conn = uow.conn
            if files is None:
                row = conn.execute(DRAFT_FILES, {"key": key}).first()
                if row is None:
                    raise NotFound(f"流程 {key} 没有草稿")
                files = json.loads(row.files_json or "{}")
            tables = decision_tables(check_files(files))
            recorded = {
                decision_id: list(conn.execute(
                    RECORDED, {"key": key, "decision_id": decision_id, "limit": limit}))
                for _, decision_id, _, _ in tables
            }
            # Cell expressions may call the calendar helpers: load it through this connection.
            self.ctx.calendar.current(conn)
            deadline = _clock() + RUN_LIMIT_FACTOR * self.ctx.script_limits.seconds
            return [self.preview(name, decision_id, title, table, recorded[decision_id],
                                 deadline)
                    for name, decision_id, title, table in tables]

    def preview(self, name, decision_id, title, table, rows, deadline: float
                ) -> DecisionPreview:
        changed = []
        for r in rows:
            if _clock() > deadline:
                seconds = int(RUN_LIMIT_FACTOR * self.ctx.script_limits.seconds)
                raise InvalidInput(
                    f"决策表变更预览超过时间上限（{seconds} 秒），在决策表 {decision_id} 处停止："
                    "请减小 limit（取较少的决策记录），或精简规则")
            inputs = json.loads(r.inputs_json)
            before = json.loads(r.outputs_json)
            after, error = self.replay(table, inputs)
            if error is None and plain(after) == before:
                continue
            changed.append(DecisionChange(
                instance_id=r.instance_id, business_key=r.business_key, title=r.title,
                element_id=r.element_id, inputs=inputs, before=before, after=after, at=r.at,
                error=error))
        return DecisionPreview(file=name, decision_id=decision_id, evaluated=len(rows),
                               changed=tuple(changed), name=title)

    def replay(self, table, inputs: dict) -> tuple[dict | None, str | None]:
        """(result, None) or (None, why it failed), within the limits of diagram code."""
        budget = Budget(self.ctx.script_limits)
        try:
            with budget.running():
                after = replay_table(table, inputs, self.ctx.script_engine)
            budget.check()
        except Exception as exc:  # diagram code may raise anything
            return None, error_text(budget.violation or exc)
        return after, None
