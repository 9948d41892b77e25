"""The ``kunflow`` command: init, run, deploy, worker, users, calendar.

Settings come from ``config.settings.load()``: defaults overridden by ``KUNFLOW_*`` variables.
"""

from __future__ import annotations

import logging
import sys
import unicodedata
from dataclasses import replace
from pathlib import Path

import click
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import workflows
from config import settings as settings_module
from engine import SYSTEM, Engine, EngineError, InvalidModel, NotFound
from engine.calendar import (
    WorkCalendar,
    calendar_service,
    local_today,
    parse_date,
    parse_schedule,
)

from .auth import build_access
from .auth.passwords import DEMO_PASSWORD, hash_password
from .provision import initialize

MIN_PASSWORD_LENGTH = 8  # outside demo mode
_LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"


def _engine(settings: dict, live_cache_size: int = 0) -> Engine:
    engine = Engine(settings["DATABASE_URL"], live_cache_size=live_cache_size,
                    **settings_module.engine_options(settings))
    workflows.register(engine, settings["ORG_FILE"])  # the district's service-task handlers
    return engine


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(无法解析的数据库地址)"


def _echo_problems(exc: EngineError, indent: str = "  ") -> None:
    click.echo(f"{indent}{exc.message}", err=True)
    if isinstance(exc, InvalidModel):
        for e in exc.errors:
            where = ":".join(str(x) for x in (e.get("file"), e.get("line")) if x)
            element = f" [{e['element_id']}]" if e.get("element_id") else ""
            click.echo(f"{indent}  {where}{element} {e.get('message')}", err=True)


def _run_init(settings: dict) -> bool:
    """Migrate, sync the org chart, deploy the library; True when every file deployed."""
    engine = _engine(settings)
    try:
        org, deployed = initialize(engine, settings)
    finally:
        engine.db.dispose()
    click.echo(f"数据库：{_safe_url(settings['DATABASE_URL'])}（迁移完成）")
    line = f"组织架构：{org.departments} 个部门，{org.users} 个用户"
    if org.demo_passwords_set:
        line += f"；演示模式：为 {org.demo_passwords_set} 个用户设置了密码 {DEMO_PASSWORD}"
    click.echo(line)
    ok = True
    click.echo(f"流程库：{settings['BPMN_DIR']}")
    for path, result in deployed:
        if isinstance(result, EngineError):
            ok = False
            click.echo(f"  {path.name}: 部署失败", err=True)
            _echo_problems(result, "    ")
            continue
        d = result.definition
        status = "新版本" if result.created else "未变化"
        extra = f"（附带 {', '.join(d.files)}）" if d.files else ""
        click.echo(f"  {path.name}: {d.key} 版本 {d.version} {status}{extra}")
    return ok


@click.group(help="昆都仑区工作流平台 kunflow")
def main() -> None:
    pass


@main.command(help="迁移数据库、同步组织架构、部署流程库（可重复执行）")
def init() -> None:
    settings = settings_module.load()
    if not _run_init(settings):
        sys.exit(1)


@main.command(help="初始化后启动服务（gunicorn，1 个进程 8 个线程）与调度器")
@click.option("--host", default=None, help="监听地址（缺省 KUNFLOW_HOST 或 127.0.0.1）")
@click.option("--port", default=None, type=int, help="端口（缺省 KUNFLOW_PORT / PORT 或 5000）")
def run(host: str | None, port: int | None) -> None:
    overrides = {}
    if host:
        overrides["HOST"] = host
    if port:
        overrides["PORT"] = port
    settings = settings_module.load(overrides)
    if not _run_init(settings):
        click.echo("注意：有流程未能部署，其余功能照常启动。", err=True)
    shown_host = "127.0.0.1" if settings["HOST"] in ("0.0.0.0", "") else settings["HOST"]
    click.echo(
        f"kunflow 已启动：http://{shown_host}:{settings['PORT']}/（接口文档 /api/v1/openapi.json）"
    )
    if settings["DEMO"]:
        click.echo(
            "演示用户：<部门代码>-clerk / <部门代码>-head（如 invest-clerk、drc-clerk、invest-head），"
            f"以及 supervisor、leader、admin；密码均为 {DEMO_PASSWORD}"
        )
    from .server import Server

    logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
    Server(settings).run()


@main.command(help="加载演示数据：以各部门用户身份驱动流程引擎，模拟至 2026-11-28 的全年办理（docs/demo.md）")
@click.option("--seed", default=2026, show_default=True, type=int,
              help="随机种子：相同种子生成相同的案例")
@click.option("--if-empty", "if_empty", is_flag=True,
              help="数据库中已有流程实例时跳过（make run 每次调用）")
def demo(seed: int, if_empty: bool) -> None:
    from engine.casefiles import CaseFiles, FileStore
    from workflows.demo import SUPERVISION_KEY, DemoError, instance_count
    from workflows.lifecycle import STAGES as LIFECYCLE_STAGES

    settings = settings_module.load()
    if not settings["DEMO"]:
        click.echo("未启用演示模式（KUNFLOW_DEMO=0），不加载演示数据", err=not if_empty)
        sys.exit(0 if if_empty else 1)
    if not _run_init(settings):
        click.echo("流程库未能全部部署，不能加载演示数据", err=True)
        sys.exit(1)
    engine = _engine(settings, live_cache_size=5000)
    try:
        existing = instance_count(engine)
        if existing and if_empty:
            click.echo(f"数据库中已有 {existing} 个流程实例，跳过演示数据")
            return
        if engine.list_instances(SYSTEM, business_key=SUPERVISION_KEY, limit=1).total:
            click.echo("数据库中已有演示数据；重新加载请换用新的数据库（docs/demo.md）", err=True)
            sys.exit(1)
        files = CaseFiles(engine, FileStore(settings["ATTACHMENT_DIR"]),
                          max_bytes=int(settings["ATTACHMENT_MAX_MB"]) * 1024 * 1024)
        summary = _load_demo(engine, seed, files)
    except DemoError as exc:
        click.echo(f"演示数据加载失败：{exc}", err=True)
        sys.exit(1)
    finally:
        engine.db.dispose()
    stages = "、".join(f"{name} {summary.stages.get(name, 0)}" for name in
                      (s.name for s in LIFECYCLE_STAGES))
    months = summary.supervision_months
    click.echo(f"演示数据已加载（种子 {summary.seed}，用时 {summary.seconds:.1f} 秒，"
               f"{summary.commands} 条引擎命令）：")
    click.echo(f"  项目 {summary.projects} 个（其中非煤矿山项目 {summary.mine_cases} 个）：{stages}")
    click.echo(f"  督查督办月报：{months[0] if months else '-'} 至 {months[-1] if months else '-'}，"
               f"共 {len(months)} 轮")
    click.echo(f"  街镇吹哨 {summary.whistles} 件，隐患整改 {summary.hazards} 件；"
               f"流程实例共 {summary.instances} 个，附件 {summary.attachments} 个")
    click.echo(f"  待办 {summary.open_tasks} 项，其中已超期 {summary.overdue_tasks} 项（截至 2026-11-28）")


def _load_demo(engine: Engine, seed: int, files):
    from workflows.demo import load_demo

    state = {"shown": 0}

    def shown(day) -> str | None:
        return f"模拟至 {day:%Y-%m-%d}" if day else None

    with click.progressbar(length=1000, label="正在生成演示数据", show_eta=False,
                           item_show_func=shown) as bar:
        def progress(start, now, end) -> None:
            total = max(1.0, (end - start).total_seconds())
            done = min(1000, int(1000 * (now - start).total_seconds() / total))
            if done > state["shown"]:
                bar.update(done - state["shown"], now)
                state["shown"] = done

        return load_demo(engine, seed, progress, files)


@main.command(help="部署一个 BPMN 文件及其附带的 DMN / 表单文件")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument(
    "extra_files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def deploy(file: Path, extra_files: tuple[Path, ...]) -> None:
    settings = settings_module.load()
    engine = _engine(settings)
    try:
        files = {p.name: p.read_bytes() for p in extra_files}
        with engine.setup_lock:  # beside a node's `kunflow init`, one after the other
            engine.migrate()
            result = engine.deploy(file.name, file.read_bytes(), files, actor=SYSTEM)
    except EngineError as exc:
        click.echo(f"{file.name}: 部署失败", err=True)
        _echo_problems(exc)
        sys.exit(1)
    finally:
        engine.db.dispose()
    d = result.definition
    click.echo(f"{d.key} 版本 {d.version}（{'新版本' if result.created else '未变化'}）")
    for w in d.warnings:
        click.echo(f"  警告 [{w.get('element_id')}] {w.get('message')}", err=True)


@main.command(help="只运行调度器（生产环境的任务节点；阻塞运行）")
def worker() -> None:
    from .scheduler import HOUSEKEEPING_MINUTES, run_blocking

    logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
    settings = settings_module.load()
    engine = _engine(settings)
    click.echo(
        f"kunflow 调度器已启动（{_safe_url(settings['DATABASE_URL'])}；"
        f"例行维护每 {HOUSEKEEPING_MINUTES} 分钟一次），Ctrl-C 退出"
    )
    try:
        run_blocking(engine, build_access(engine, settings))
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        engine.db.dispose()


@main.group(help="用户管理")
def users() -> None:
    pass


@users.command("list", help="列出用户")
def users_list() -> None:
    settings = settings_module.load()
    engine = _engine(settings)
    try:
        departments = {d.code: d.name for d in engine.list_departments()}
        rows = [
            (
                u.username,
                u.display_name,
                departments.get(u.department_code, u.department_code),
                " ".join(u.roles) + ("" if u.active else "（已停用）"),
            )
            for u in engine.list_users()
        ]
    finally:
        engine.db.dispose()
    click.echo(_table(("用户名", "姓名", "部门", "角色"), rows))


@users.command("set-password", help="设置用户密码（argon2 存储）")
@click.argument("username")
@click.option("--password", default=None, help="新密码（缺省时交互输入）")
def users_set_password(username: str, password: str | None) -> None:
    settings = settings_module.load()
    engine = _engine(settings)
    try:
        user = engine.get_user(username)
        if user is None:
            click.echo(f"用户 {username} 不存在", err=True)
            sys.exit(1)
        if password is None:
            password = click.prompt("新密码", hide_input=True, confirmation_prompt="再输入一次")
        if not settings["DEMO"]:
            if password == DEMO_PASSWORD:
                click.echo("未启用演示模式，不能使用演示密码", err=True)
                sys.exit(1)
            if len(password) < MIN_PASSWORD_LENGTH:
                click.echo(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符", err=True)
                sys.exit(1)
        elif not password:
            click.echo("密码不能为空", err=True)
            sys.exit(1)
        engine.sync_org([], [replace(user, password_hash=hash_password(password))])
    finally:
        engine.db.dispose()
    click.echo(f"已设置 {username} 的密码（该用户已登录的会话和令牌均已失效）")


@users.command("revoke-sessions", help="注销用户的全部登录会话和令牌（须重新登录）")
@click.argument("username")
def users_revoke_sessions(username: str) -> None:
    settings = settings_module.load()
    engine = _engine(settings)
    try:
        revoked = build_access(engine, settings).end_user_access(username, SYSTEM)
    except NotFound as exc:
        click.echo(exc.message, err=True)
        sys.exit(1)
    finally:
        engine.db.dispose()
    click.echo(f"已注销 {username} 的 {revoked.sessions} 个会话和 {revoked.tokens} 个令牌")


# ---------------------------------------------------------------------------------- calendar

_WEEKDAYS = "一二三四五六日"
_SOURCES = {
    "official": "官方",
    "imported": "官方（导入）",
    "estimated": "估算",
    "manual": "手工",
}


class _DateType(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        day = parse_date(value.strip()) if isinstance(value, str) else None
        if day is None:
            self.fail(f"日期“{value}”无效，应为 YYYY-MM-DD", param, ctx)
        return day


_DATE = _DateType()


def _with_calendar(action):
    """Run ``action(service)`` on the configured database; report a missing schema plainly."""
    settings = settings_module.load()
    engine = _engine(settings)
    try:
        return action(calendar_service(engine))
    except EngineError as exc:
        click.echo(exc.message, err=True)
        problems = exc.details.get("problems", []) if isinstance(exc.details, dict) else []
        for p in problems[1:]:  # the message names the first
            where = f"第 {p['line']} 行 " if p.get("line") else ""
            field = f"{p['field']}：" if p.get("field") else ""
            click.echo(f"  {where}{field}{p['message']}", err=True)
        sys.exit(1)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        if "calendar_" not in str(exc):
            raise
        click.echo("数据库中还没有工作日历表：请先运行 kunflow init", err=True)
        sys.exit(1)
    finally:
        engine.db.dispose()


def _provisional_note(calendar: WorkCalendar, a, b) -> str:
    years = [y for y in range(min(a, b).year, max(a, b).year + 1) if not calendar.is_official(y)]
    if not years:
        return ""
    shown = "、".join(str(y) for y in years[:5]) + ("等" if len(years) > 5 else "")
    click.echo(
        f"注：{shown} 年尚无官方放假安排，按法定节假日规则估算（不含调休上班日）；"
        "国务院公布后请导入：kunflow calendar import FILE",
        err=True,
    )
    return "（暂定）"


@main.group("calendar", help="工作日历：法定节假日与调休上班（计算工作日期限）")
def calendar_group() -> None:
    pass


@calendar_group.command(
    "add",
    help="START 之后第 N 个工作日（START 当天不计；N 为 0 时是 START 或其后第一个工作日；"
    "负数往前数）",
    context_settings={"ignore_unknown_options": True},  # lets N be negative (-5)
)
@click.argument("start", type=_DATE)
@click.argument("n", type=click.IntRange(-100_000, 100_000))
def calendar_add(start, n: int) -> None:
    def action(service):
        calendar = service.current()
        result = calendar.add_working_days(start, n)
        return f"{result.isoformat()}{_provisional_note(calendar, start, result)}"

    click.echo(_with_calendar(action))


@calendar_group.command("between", help="A 之后到 B（含）的工作日数；B 早于 A 时为负数")
@click.argument("a", type=_DATE)
@click.argument("b", type=_DATE)
def calendar_between(a, b) -> None:
    def action(service):
        calendar = service.current()
        return f"{calendar.working_days_between(a, b)}{_provisional_note(calendar, a, b)}"

    click.echo(_with_calendar(action))


@calendar_group.command("is-workday", help="某天是否上班，以及原因")
@click.argument("day", type=_DATE)
def calendar_is_workday(day) -> None:
    def action(service):
        calendar = service.current()
        info = calendar.day(day)
        kind = "工作日" if info.is_workday else "休息日"
        reason = info.name or ("周末" if day.weekday() >= 5 else "")
        reason = f"（{reason}）" if reason else ""
        note = _provisional_note(calendar, day, day)
        return f"{day.isoformat()} 星期{_WEEKDAYS[day.weekday()]} {kind}{reason}{note}"

    click.echo(_with_calendar(action))


@calendar_group.command("days", help="某年（缺省今年）与“周一至周五上班”不同的日子")
@click.argument("year", type=click.IntRange(1, 9999), required=False)
def calendar_days(year: int | None) -> None:
    year = year or local_today().year
    info = _with_calendar(lambda service: service.year(year))
    state = "" if info.stored else "，数据库中没有，按数据包计算"
    provisional = "" if info.official else "；计算结果为暂定"
    click.echo(f"{year} 年：{_SOURCES.get(info.source, info.source)}数据{state}{provisional}")
    rows = [
        (
            d.date.isoformat(),
            f"星期{_WEEKDAYS[d.date.weekday()]}",
            "上班" if d.is_workday else "放假",
            d.name or "",
            _SOURCES.get(d.source, d.source or ""),
        )
        for d in info.days
    ]
    click.echo(_table(("日期", "星期", "安排", "名称", "来源"), rows))


@calendar_group.command(
    "import",
    help="导入一年的官方放假安排（替换该年的全部记录）。CSV：每行 date,type,name，type 为 "
    "holiday（放假）或 workday（调休上班）；JSON："
    '{"year": 2027, "holidays": [{"date": "2027-01-01", "name": "元旦"}], '
    '"workdays": ["2027-02-20"]}',
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="文件应是哪一年的安排")
def calendar_import(file: Path, year: int | None) -> None:
    def action(service):
        schedule = parse_schedule(file.read_bytes(), file.name, year)
        return service.import_schedule(schedule, SYSTEM)

    summary = _with_calendar(action)
    weekend = f"（另有 {summary.weekend_holidays} 天在周末）" if summary.weekend_holidays else ""
    before = (
        f"替换了原有 {summary.replaced} 条{_SOURCES.get(summary.previous_source, '')}记录"
        if summary.previous_source
        else "该年原先没有记录"
    )
    click.echo(
        f"{summary.year} 年工作日历已导入（官方）：工作日放假 {summary.holidays} 天{weekend}，"
        f"调休上班 {summary.workdays} 天；{before}"
    )


@calendar_group.command(
    "seed", help="从 chinesecalendar 写入官方年份，并估算到明后年（可重复执行）"
)
@click.option("--force", is_flag=True, help="也覆盖已有的官方、导入和手工记录")
def calendar_seed(force: bool) -> None:
    summary = _with_calendar(lambda service: service.seed(force=force))
    click.echo(f"官方数据（chinesecalendar）：写入 {_years(summary.official_years)}")
    click.echo(f"估算数据（holidays.China，暂定）：写入 {_years(summary.estimated_years)}")
    if summary.unchanged_years:
        click.echo(f"未变化：{_years(summary.unchanged_years)}")
    if summary.kept_years:
        click.echo(f"保留已有官方数据：{_years(summary.kept_years)}")


@calendar_group.command("set", help="手工设定某天上班（workday）或放假（holiday）；seed 不会覆盖")
@click.argument("day", type=_DATE)
@click.argument("kind", type=click.Choice(["workday", "holiday"]))
@click.option("--name", default=None, help="名称，如“国庆节调休上班”")
def calendar_set(day, kind: str, name: str | None) -> None:
    info = _with_calendar(lambda service: service.set_day(day, kind == "workday", name, SYSTEM))
    state = "上班" if info.is_workday else "放假"
    click.echo(f"{info.date.isoformat()} 设为{state}（手工）")


def _years(years: tuple[int, ...]) -> str:
    """``2004–2026`` for a run of years, ``无`` for none."""
    if not years:
        return "无"
    runs, start, prev = [], years[0], years[0]
    for y in years[1:]:
        if y != prev + 1:
            runs.append((start, prev))
            start = y
        prev = y
    runs.append((start, prev))
    return "、".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs) + " 年"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(_width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(row):
        cells = [str(c) + " " * (w - _width(str(c))) for c, w in zip(row, widths, strict=True)]
        return "  ".join(cells).rstrip()

    return "\n".join([line(headers), line(tuple("-" * w for w in widths)), *map(line, rows)])
