"""驾驶舱 (manager dashboard) over the API: the overview's figures, the project list and one
project, the departments' figures, the month's supervision board and 催办.

Thin over the same ``workflows.dashboard`` functions the pages call (``web/dashboard``), with
the pages' access rule (``web.dashboard.access.scope_of``): district leaders, the 督查室 and
administrators see everything, a department head its own department's lines, anyone else 403.
"""

from __future__ import annotations

from functools import wraps

from flask import g
from marshmallow import Schema, fields, validate

from engine import Forbidden, local_today, utcnow
from workflows.dashboard import supervision as sv
from workflows.dashboard.departments import (
    DEFAULT_MONTHS,
    MAX_MONTHS,
    RANKING_RULE,
    department_overview,
)
from workflows.dashboard.overview import overview as overview_figures
from workflows.dashboard.project import (
    LATE_KINDS,
    LIGHTS,
    PAGE_SIZE,
    SORTS,
    parse_filter,
    project_detail,
    project_rows,
)
from workflows.ledger.operations import UnitDirectory
from workflows.ledger.service import can_manage
from workflows.ledger.urges import MAX_MESSAGE, check_month, record_urges
from workflows.lifecycle import PHASES

from ..auth.identity import current_engine
from ..dashboard.access import scope_of
from ..inputs import invalid
from . import bp
from .blueprint import INSTANCE_ID, allowed_only
from .fields import Day, QueryChoice, QueryInt, QueryText, Text
from .schemas import (
    _m,
    boolean,
    integer,
    many,
    maybe_integer,
    maybe_moment,
    maybe_string,
    moment,
    string,
    strings,
)

TAGS = ["dashboard"]
MAX_UNITS = 200  # as many as the page's 催办 form takes at once
MONTH_MESSAGE = "月份格式应为 YYYY-MM（如 2026-10）"
NOT_OPEN = "驾驶舱仅向区领导、督查室和部门负责人开放"
URGE_ONLY = "只有区政府督查室可以催办"


def dashboard_viewer(func):
    """403 unless the caller may see the dashboard, before the query or body is read; the
    view reads the caller's scope from ``g.dashboard_scope`` (as the pages do)."""

    @wraps(func)
    def view(*args, **kwargs):
        scope = scope_of(g.actor)
        if scope is None:
            raise Forbidden(NOT_OPEN)
        g.dashboard_scope = scope
        return func(*args, **kwargs)

    return view


def _departments():
    return g.dashboard_scope.departments


# ------------------------------------------------------------------ query strings


class OverviewQuery(Schema):
    """The overview's filters, named as on the page (``/dashboard/?period=&street=...``)."""

    period = QueryText(max_length=20, doc="登记期间：year（本年）、2026（某年）、2026-03（某月）")
    from_ = QueryText(max_length=10, doc="登记起始日期 YYYY-MM-DD")
    from_.data_key = "from"  # a keyword in Python (the request fields take no data_key)
    to = QueryText(max_length=10, doc="登记截止日期 YYYY-MM-DD")
    street = QueryText(max_length=64, doc="街镇（部门编码）")
    lead = QueryText(max_length=64, doc="牵头部门（部门编码）")
    leader = QueryText(max_length=64, doc="包联区领导（用户名）")
    key = QueryChoice(("1", "0"), doc="1：只看重点项目")
    status = QueryChoice(("terminated", "all"), doc="不填：在办及已办结；terminated 已终止；all 全部")
    mine_stage = QueryText(max_length=200, doc="关联的非煤矿山审批所处阶段")


class ProjectQuery(OverviewQuery):
    """The project list's filters (the links behind the overview's numbers), a sort and a page."""

    phase = QueryChoice(PHASES, doc="阶段分组")
    stage = QueryText(max_length=20, doc="阶段：名称或序号 1–13")
    light = QueryChoice(LIGHTS, doc="灯色")
    late = QueryChoice(tuple(LATE_KINDS), doc="start 逾期未开工 / production 逾期未投产 / "
                       "forecast 预测投产晚于约定")
    sort = QueryChoice(tuple(SORTS), default="-updated", doc="排序")
    limit = QueryInt(minimum=1, maximum=500, default=PAGE_SIZE, doc="每页条数")
    offset = QueryInt(minimum=0, maximum=1_000_000, default=0, doc="跳过条数")


class DepartmentsQuery(Schema):
    months = QueryInt(minimum=1, maximum=MAX_MONTHS, default=DEFAULT_MONTHS,
                      doc="统计期间（月数，含本月）")


class SupervisionQuery(Schema):
    month = QueryText(max_length=7, doc="所报月份 YYYY-MM；不填为有数据的最近月份")


class UrgeBody(Schema):
    month = Text(required=True, max_length=7, doc="所报月份 YYYY-MM", example="2026-10")
    units = fields.List(
        Text(required=True, max_length=64),
        required=True,
        validate=validate.Length(1, MAX_UNITS, error=f"请指定 1 至 {MAX_UNITS} 个单位"),
        error_messages={"invalid": "字段 units 必须是单位编码（字符串）的列表",
                        "required": "缺少字段 units", "null": "缺少字段 units"},
        **_m("催办的单位（部门编码）"),
    )
    message = Text(max_length=MAX_MESSAGE, doc="催办说明", nullable=True)


def _filter(query: dict, today):
    """The page's filter (``parse_filter``: the same names, the same checks and messages)."""
    args = {("from" if k == "from_" else k): v for k, v in query.items()
            if k not in ("sort", "limit", "offset") and v is not None}
    return parse_filter(args, today)


# ------------------------------------------------------------------ responses


class CountByStage(Schema):
    number = integer("阶段序号 1–13")
    name = string("阶段")
    phase = string("阶段分组")
    count = integer("项目数")


class CountByPhase(Schema):
    phase = string("阶段分组")
    count = integer("项目数")


class Lights(Schema):
    red = integer("红灯")
    yellow = integer("黄灯")
    green = integer("绿灯")


class MineCount(Schema):
    stage = maybe_string("非煤矿山审批所处阶段")
    status = string("案件状态")
    count = integer("案件数")


def _counts(doc):
    return fields.Dict(keys=fields.String(), values=fields.Integer(), required=True, **_m(doc))


class SupervisionSummary(Schema):
    month = string("本月 YYYY-MM")
    month_label = string("本月（中文）")
    rounds = _counts("本月启动的月度督查轮次：状态 → 数量")
    opened = integer("本月建账事项")
    closed = integer("本月销账事项")
    open = integer("在办事项")
    reports = _counts("本月各单位报送：状态 → 数量")
    late_reports = integer("本月逾期报送")


class OverviewOut(Schema):
    total = integer("项目总数")
    stages = many(CountByStage, "13 个阶段的项目数（含 0）")
    phases = many(CountByPhase, "四个阶段分组的项目数")
    unstaged = integer("尚未进入阶段的项目数")
    lights = fields.Nested(Lights, required=True, **_m("灯色"))
    late_start = integer("逾期未开工")
    late_production = integer("逾期未投产")
    forecast_late = integer("预测投产晚于约定")
    mine = many(MineCount, "非煤矿山审批案件：阶段、状态")
    supervision = fields.Nested(SupervisionSummary, required=True, **_m("本月督查督办"))


class ProjectOut(Schema):
    instance_id = integer("项目案件 id")
    business_key = maybe_string("项目代码")
    name = maybe_string("项目名称")
    investor = maybe_string("投资主体")
    project_type = string("mine 非煤矿山 / ratify 核准 / file 备案 / approve 审批 / unknown")
    street = maybe_string("街镇（部门编码）")
    lead_department = maybe_string("牵头部门（部门编码）")
    leader = maybe_string("包联区领导（用户名）")
    is_key = boolean("重点项目")
    investment = fields.Float(required=True, allow_none=True, **_m("投资额（万元）"))
    stage = maybe_string("所处阶段")
    stage_number = maybe_integer("阶段序号 1–13")
    phase = maybe_string("阶段分组")
    status = string("案件状态")
    light = string("灯色 red / yellow / green")
    light_reason = maybe_string("亮灯原因")
    planned_start = Day(required=True, allow_none=True, **_m("计划开工"))
    planned_production = Day(required=True, allow_none=True, **_m("计划投产"))
    actual_start = Day(required=True, allow_none=True, **_m("实际开工"))
    actual_production = Day(required=True, allow_none=True, **_m("实际投产"))
    open_tasks = integer("在办任务")
    overdue_tasks = integer("逾期任务")
    updated_at = moment("最近更新（UTC）")


class ProjectList(Schema):
    items = many(ProjectOut)
    total = integer()
    limit = integer()
    offset = integer()


class ProjectFull(ProjectOut):
    industry = maybe_string("行业")
    report_light = maybe_string("最近月度进度的灯色")
    signed_on = Day(required=True, allow_none=True, **_m("签约日期"))
    planned_full_production = Day(required=True, allow_none=True, **_m("计划达产"))
    started_at = moment("登记时间（UTC）")
    ended_at = maybe_moment("结束时间（UTC）")


class StageOut(Schema):
    number = integer("阶段序号")
    name = string("阶段")
    phase = string("阶段分组")
    state = string("done 已过 / current 当前 / ahead 未到")
    entered = Day(required=True, allow_none=True, **_m("进入日期"))
    left = Day(required=True, allow_none=True, **_m("离开日期"))
    working_days = maybe_integer("用时（工作日）")


class OpenStepOut(Schema):
    id = string("任务 id")
    element_id = string("环节标识")
    name = maybe_string("环节")
    department_code = maybe_string("办理部门")
    assignee = maybe_string("办理人")
    state = string("ready / claimed")
    created_at = moment("到达时间（UTC）")
    due_at = maybe_moment("办理时限（UTC）")
    stage = maybe_string("阶段")
    paused_at = maybe_moment("停表时间（UTC）")
    overdue = boolean("已逾期")


class LinkedCaseOut(Schema):
    id = integer("案件 id")
    process_key = string("流程标识")
    kind = string("案件类别")
    business_key = maybe_string("业务编号")
    title = maybe_string("标题")
    status = string("状态")
    stage = maybe_string("所处阶段")
    started_at = moment("启动时间（UTC）")
    ended_at = maybe_moment("结束时间（UTC）")
    link = string("child 子流程 / code 按项目代码关联")


class DwellOut(Schema):
    stage_number = integer("阶段序号")
    project_type = string("项目类型（* 为全部类型）")
    samples = integer("样本数")
    median = fields.Float(required=True, **_m("中位数（工作日）"))
    low = fields.Float(required=True, **_m("第 10 百分位"))
    high = fields.Float(required=True, **_m("第 90 百分位"))


class StageForecastOut(Schema):
    stage_number = integer("阶段序号")
    stage = string("阶段")
    current = boolean("当前阶段")
    stats = fields.Nested(DwellOut, required=True, allow_none=True,
                          **_m("同类项目用时（尚无样本为 null）"))
    expected_end = Day(required=True, allow_none=True, **_m("预计结束"))
    earliest_end = Day(required=True, allow_none=True, **_m("最早"))
    latest_end = Day(required=True, allow_none=True, **_m("最晚"))


class ForecastOut(Schema):
    stages = many(StageForecastOut, "各剩余阶段的预测")
    production = Day(required=True, allow_none=True, **_m("预计投产"))
    production_earliest = Day(required=True, allow_none=True, **_m("最早投产"))
    production_latest = Day(required=True, allow_none=True, **_m("最晚投产"))
    planned_production = Day(required=True, allow_none=True, **_m("约定投产"))
    late = boolean("预计投产晚于约定")
    method = string("预测方法")


class PauseOut(Schema):
    start = Day(required=True, **_m("停表"))
    end = Day(required=True, allow_none=True, **_m("复表（仍停表为 null）"))
    reason = maybe_string("原因")
    working_days = integer("停表工作日")


class ClockRowOut(Schema):
    task_id = string("任务 id")
    name = string("环节")
    department_code = maybe_string("办理部门")
    assignee = maybe_string("办理人")
    state = string("任务状态")
    arrived = Day(required=True, **_m("到达"))
    due = Day(required=True, **_m("时限"))
    completed = Day(required=True, allow_none=True, **_m("办结"))
    limit_days = integer("时限（工作日，扣除停表）")
    used_days = integer("已用（工作日，扣除停表）")
    paused_days = integer("停表（工作日）")
    over = boolean("超时")
    open = boolean("在办")
    pauses = many(PauseOut, "停表记录")


class ClockGroupOut(Schema):
    stage = maybe_string("阶段")
    open = boolean("有在办环节")
    parallel = boolean("并联审批")
    rows = many(ClockRowOut, "各环节的计时")


class ProjectDetailOut(Schema):
    project = fields.Nested(ProjectFull, required=True, **_m("项目"))
    stages = many(StageOut, "13 个阶段的时间轴")
    open_steps = many(OpenStepOut, "在办环节")
    cases = many(LinkedCaseOut, "关联案件")
    forecast = fields.Nested(ForecastOut, required=True, **_m("投产预测"))
    clocks = many(ClockGroupOut, "计时（并联审批、有时限的在办环节、停表过的环节）")


class MonthRateOut(Schema):
    month = string("月份 YYYY-MM")
    on_time = integer("按时办结（有时限的）")
    with_due = integer("有时限的办结数")
    rate = fields.Float(required=True, allow_none=True, **_m("按时办结率（0–1）"))


class DepartmentOut(Schema):
    code = string("部门编码")
    name = string("部门")
    group = string("区直部门 / 街镇")
    open_tasks = integer("在办任务")
    overdue_tasks = integer("逾期未办结")
    completed = integer("统计期内办结")
    on_time = integer("按时办结（有时限的）")
    with_due = integer("有时限的办结数")
    rate = fields.Float(required=True, allow_none=True, **_m("按时办结率（0–1）"))
    rank = maybe_integer("排名（1 为最需关注；不参加排名为 null）")
    months = many(MonthRateOut, "逐月按时办结")


class TaskTypeOut(Schema):
    process_key = string("流程标识")
    process_name = string("流程")
    element_id = string("环节标识")
    name = string("环节")
    department_code = string("部门编码")
    count = integer("办结数")
    median_days = maybe_integer("用时中位数（工作日）")
    p80_days = maybe_integer("用时第 80 百分位（工作日）")


class DepartmentsOut(Schema):
    months = strings("统计期间的月份（由早到晚）")
    departments = many(DepartmentOut, "各部门（区直部门在前，逾期多的在前）")
    ranking = strings("排名（部门编码，第 1 名在前）")
    ranking_rule = string("排名规则")
    task_types = many(TaskTypeOut, "各类任务用时（中位数长的在前）")


class UrgeCount(Schema):
    count = integer("本月催办次数")
    open = integer("未读")
    last = maybe_moment("最近催办（UTC）")


class UnitLineOut(Schema):
    unit = string("单位（部门编码）")
    name = string("单位")
    state = string("报送状态：" + "、".join(f"{k} {v}" for k, v in sv.REPORT_STATES.items()))
    state_label = string("报送状态（中文）")
    reported_at = maybe_moment("报送时间（UTC）")
    lights = fields.Nested(Lights, required=True, **_m("事项灯色"))
    rows = integer("本轮事项")
    closed = integer("本月销账")
    open = integer("在办")
    rolled = integer("结转")
    step = maybe_string("逾期报送升级到的一步：催办、督办单、约谈、通报")
    step_rank = integer("升级步序（-1 无）")
    urges = fields.Nested(UrgeCount, required=True, **_m("本月催办"))
    task_id = maybe_string("在办的报送任务 id")


class SupervisionTotals(Schema):
    states = _counts("报送状态 → 单位数")
    lights = fields.Nested(Lights, required=True, **_m("事项灯色合计"))
    units = integer("单位数")
    closed = integer("本月销账")
    open = integer("在办")


class SupervisionOut(Schema):
    month = string("所报月份 YYYY-MM")
    months = strings("有数据的月份（新的在前）")
    may_urge = boolean("调用者可以催办（区政府督查室）")
    lines = many(UnitLineOut, "各单位（问题多的在前）")
    totals = fields.Nested(SupervisionTotals, required=True, **_m("合计"))


class UrgeOut(Schema):
    id = integer("催办 id")
    month = string("所报月份")
    department_code = string("单位（部门编码）")
    department_name = string("单位")
    row_id = maybe_integer("台账事项 id")
    task_id = maybe_string("单位在办的报送任务 id")
    message = maybe_string("催办说明")
    urged_by = string("催办人")
    urged_at = moment("催办时间（UTC）")


class UrgesOut(Schema):
    items = many(UrgeOut, "新建的催办（每个单位一条）")


# ------------------------------------------------------------------ routes


@bp.get(
    "/dashboard/overview",
    tags=TAGS,
    summary="驾驶舱总览：项目总数、灯色、逾期、各阶段分组和阶段、非煤矿山审批、本月督查督办",
    description="筛选与总览页相同（period、from、to、street、lead、leader、key 等）。"
    "区领导、督查室看全部；部门负责人只看本部门牵头或属地的项目；其他用户 403。",
)
@dashboard_viewer
@bp.arguments(OverviewQuery, location="query")
@bp.response(200, OverviewOut)
@bp.errors(403, 422)
def get_dashboard_overview(query):
    today = local_today()
    return overview_figures(current_engine(), _filter(query, today), _departments(), today)


@bp.get(
    "/dashboard/projects",
    tags=TAGS,
    summary="项目清单（总览各数字背后的清单）",
    description="筛选与项目清单页相同（phase、stage、light、late、street、lead、leader、key、"
    "period 等），另有排序和 limit / offset。",
)
@dashboard_viewer
@bp.arguments(ProjectQuery, location="query")
@bp.response(200, ProjectList)
@bp.errors(403, 422)
def list_dashboard_projects(query):
    rows, total = project_rows(
        current_engine(), _filter(query, local_today()), _departments(), local_today(),
        sort=query["sort"], limit=query["limit"], offset=query["offset"])
    return {"items": rows, "total": total, "limit": query["limit"], "offset": query["offset"]}


@bp.get(
    f"/dashboard/projects/{INSTANCE_ID}",
    tags=TAGS,
    summary="一个项目：阶段时间轴、约定与实际日期、在办环节、关联案件、投产预测、计时",
    description="部门负责人只能查看本部门牵头或属地的项目（否则 403）；不是项目返回 404。",
)
@dashboard_viewer
@bp.response(200, ProjectDetailOut)
@bp.errors(403, 404)
def get_dashboard_project(instance_id: int):
    return project_detail(current_engine(), instance_id, _departments(), local_today())


@bp.get(
    "/dashboard/departments",
    tags=TAGS,
    summary="部门办理：各部门在办、逾期、办结、按时办结率、排名，各类任务用时",
    description="部门负责人只看本部门。",
)
@dashboard_viewer
@bp.arguments(DepartmentsQuery, location="query")
@bp.response(200, DepartmentsOut)
@bp.errors(403, 422)
def get_dashboard_departments(query):
    overview = department_overview(current_engine(), _departments(), months=query["months"])
    return {
        "months": list(overview.months),
        "departments": overview.departments,
        "ranking": [f.code for f in overview.ranking],
        "ranking_rule": RANKING_RULE,
        "task_types": overview.task_types,
    }


def _month(value: str | None, months: list[str]) -> str:
    if value is None:
        return months[0] if months else local_today().strftime("%Y-%m")
    month = check_month(value)
    if month is None:
        raise invalid(MONTH_MESSAGE, "month")
    return month


@bp.get(
    "/dashboard/supervision",
    tags=TAGS,
    summary="督查督办：某月各责任单位的报送状态、事项灯色、逾期升级、催办和销账",
    description="部门负责人只看本单位。",
)
@dashboard_viewer
@bp.arguments(SupervisionQuery, location="query")
@bp.response(200, SupervisionOut)
@bp.errors(403, 422)
def get_dashboard_supervision(query):
    directory = UnitDirectory(current_engine().list_departments())
    with current_engine().unit_of_work(readonly=True) as uow:
        months = sv.months(uow.conn)
        month = _month(query.get("month"), months)
        board = sv.unit_lines(uow.conn, month, _departments(), utcnow(), directory.name)
    return {**board, "months": months, "may_urge": can_manage(g.actor)}


@bp.post(
    "/dashboard/urges",
    tags=TAGS,
    summary="催办（区政府督查室）：所选单位某月的报送",
    description="每个单位记一条催办（连同其本轮在办的报送任务）和一条台账记录，单位的用户在"
    "任务列表顶部看到，与驾驶舱督查督办页的“催办”按钮相同。单位须在组织架构中。",
)
@dashboard_viewer
@allowed_only(can_manage, URGE_ONLY)  # before the body: a head or leader learns nothing from it
@bp.arguments(UrgeBody)
@bp.response(201, UrgesOut, description="已催办")
@bp.errors(403, 422)
def create_dashboard_urges(body):
    month = check_month(body["month"])
    if month is None:
        raise invalid(MONTH_MESSAGE, "month")
    directory = UnitDirectory(current_engine().list_departments())
    for code in body["units"]:
        if directory.code(code) != code:
            raise invalid(f"单位“{code[:40]}”不在组织架构中", "units")
        if not g.dashboard_scope.covers(code):
            raise Forbidden("只能催办本单位")
    with current_engine().unit_of_work() as uow:
        made = record_urges(uow.conn, month=month, units=body["units"], message=body["message"],
                            actor=g.actor.username)
        uow.commit()
    return {"items": [{**u, "department_name": directory.name(u["department_code"])}
                      for u in made]}
