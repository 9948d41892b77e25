"""``kunflow calendar``: the working-day calendar (China's statutory holidays and make-up
workdays) that deadlines count on: ask it, list a year, import, seed, set a day."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa

from config import settings as settings_module
from engine import (
    SYSTEM,
    EngineError,
    WorkCalendar,
    calendar_service,
    local_today,
    parse_date,
    parse_schedule,
)

from .commands import command_engine
from .output import table, year_runs

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
    engine = command_engine(settings)
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
        engine.close()


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


@click.group("calendar", help="工作日历：法定节假日与调休上班（计算工作日期限）")
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
    click.echo(table(("日期", "星期", "安排", "名称", "来源"), rows))


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
    click.echo(f"官方数据（chinesecalendar）：写入 {year_runs(summary.official_years)}")
    click.echo(f"估算数据（holidays.China，暂定）：写入 {year_runs(summary.estimated_years)}")
    if summary.unchanged_years:
        click.echo(f"未变化：{year_runs(summary.unchanged_years)}")
    if summary.kept_years:
        click.echo(f"保留已有官方数据：{year_runs(summary.kept_years)}")


@calendar_group.command("set", help="手工设定某天上班（workday）或放假（holiday）；seed 不会覆盖")
@click.argument("day", type=_DATE)
@click.argument("kind", type=click.Choice(["workday", "holiday"]))
@click.option("--name", default=None, help="名称，如“国庆节调休上班”")
def calendar_set(day, kind: str, name: str | None) -> None:
    info = _with_calendar(lambda service: service.set_day(day, kind == "workday", name, SYSTEM))
    state = "上班" if info.is_workday else "放假"
    click.echo(f"{info.date.isoformat()} 设为{state}（手工）")
