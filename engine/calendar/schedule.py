"""A year's official schedule read from an import file (CSV or JSON) or the API's JSON body, and
the error that lists every problem of such a file."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date

from ..errors import InvalidInput

IMPORT_YEARS = (2000, 2100)  # years an imported schedule may be for
MAX_NAME = 200  # characters of a day's name
_WEEKDAY_NAMES = "一二三四五六日"


@dataclass(frozen=True)
class Schedule:
    """A year's official schedule as read from an import file."""

    year: int
    holidays: tuple[tuple[date, str | None], ...]
    workdays: tuple[tuple[date, str | None], ...]


class ScheduleError(InvalidInput):
    """An import file with problems; ``problems`` lists ``{line, field, message}``."""

    def __init__(self, problems: list[dict]):
        first = problems[0]
        more = f"（共 {len(problems)} 处错误）" if len(problems) > 1 else ""
        super().__init__(
            f"导入文件有误{more}：{_where(first)}{first['message']}",
            {"field": first.get("field"), "problems": problems},
        )
        self.problems = problems


def _where(problem: dict) -> str:
    parts = []
    if problem.get("line"):
        parts.append(f"第 {problem['line']} 行")
    if problem.get("field"):
        parts.append(f"字段 {problem['field']}")
    return "，".join(parts) + "：" if parts else ""


def _problem(message: str, line: int | None = None, field: str | None = None) -> dict:
    return {"line": line, "field": field, "message": message}


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_JSON_FIELDS = ("year", "holidays", "workdays")
_TYPES = {"holiday": False, "workday": True}


def parse_date(value) -> date | None:
    """``YYYY-MM-DD`` as a date; None when it is not one (only that exact form is accepted)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_schedule(content: bytes | str, filename: str = "", year: int | None = None) -> Schedule:
    """Read a schedule file: CSV (``date,type,name``) or JSON (``{"year", "holidays",
    "workdays"}``), chosen by the file name's suffix or else by the content. Raises
    ``ScheduleError`` listing every problem (line, field, message in Chinese)."""
    text = _decode(content) if isinstance(content, bytes) else content
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix == "json" or (suffix != "csv" and text.lstrip().startswith("{")):
        return schedule_from_json(text, year)
    return schedule_from_csv(text, year)


def _decode(content: bytes) -> str:
    # Excel on a Chinese Windows saves CSV as GB18030/GBK; everything else is UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ScheduleError([_problem("文件编码无法识别，请保存为 UTF-8")])


def schedule_from_json(text: str, year: int | None = None) -> Schedule:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScheduleError(
            [_problem(f"不是有效的 JSON（第 {exc.colno} 列：{exc.msg}）", line=exc.lineno)]
        ) from None
    except RecursionError:
        raise ScheduleError([_problem("JSON 嵌套层级过深")]) from None
    return schedule_from_data(data, year)


def schedule_from_data(data, year: int | None = None) -> Schedule:
    """A schedule from the JSON import format already parsed (the API's request body)."""
    if not isinstance(data, dict):
        raise ScheduleError(
            [_problem('内容须为 JSON 对象：{"year": 2027, "holidays": [...], "workdays": [...]}')]
        )
    problems: list[dict] = []
    for key in sorted(set(data) - set(_JSON_FIELDS)):
        problems.append(_problem(f"未知字段 {key}（只能有 year、holidays、workdays）", field=key))

    stated = data.get("year")
    if stated is None:
        problems.append(_problem("缺少字段 year（年份，如 2027）", field="year"))
    elif not isinstance(stated, int) or isinstance(stated, bool):
        problems.append(_problem("year 须为整数年份，如 2027", field="year"))
        stated = None
    elif not IMPORT_YEARS[0] <= stated <= IMPORT_YEARS[1]:
        problems.append(
            _problem(f"year 须在 {IMPORT_YEARS[0]}–{IMPORT_YEARS[1]} 之间", field="year")
        )
        stated = None
    if year is not None and stated is not None and stated != year:
        problems.append(_problem(f"文件是 {stated} 年的安排，不是 {year} 年", field="year"))

    holidays: list[tuple[date, str | None, int | None, str]] = []
    raw = data.get("holidays")
    if raw is None:
        problems.append(_problem("缺少字段 holidays（放假日期列表）", field="holidays"))
    elif not isinstance(raw, list):
        problems.append(_problem("holidays 须为列表", field="holidays"))
    elif not raw:
        problems.append(_problem("holidays 不能为空：一年总有法定节假日", field="holidays"))
    else:
        for i, item in enumerate(raw):
            field = f"holidays[{i}]"
            if not isinstance(item, dict):
                problems.append(
                    _problem('须为对象，如 {"date": "2027-01-01", "name": "元旦"}', field=field)
                )
                continue
            for key in sorted(set(item) - {"date", "name"}):
                problems.append(
                    _problem(f"未知字段 {key}（只能有 date、name）", field=f"{field}.{key}")
                )
            day = _checked_date(item.get("date"), problems, None, f"{field}.date")
            name = _checked_name(item.get("name"), problems, None, f"{field}.name")
            if day is not None:
                holidays.append((day, name, None, f"{field}.date"))

    workdays: list[tuple[date, str | None, int | None, str]] = []
    raw = data.get("workdays", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        problems.append(_problem('workdays 须为日期列表，如 ["2027-02-20"]', field="workdays"))
    else:
        for i, item in enumerate(raw):
            field = f"workdays[{i}]"
            day = _checked_date(item, problems, None, field)
            if day is not None:
                workdays.append((day, None, None, field))
    return _schedule(stated if stated is not None else year, holidays, workdays, problems)


def schedule_from_csv(text: str, year: int | None = None) -> Schedule:
    """``date,type,name`` rows (header optional, ``#`` comments and blank lines skipped)."""
    problems: list[dict] = []
    holidays: list[tuple[date, str | None, int | None, str]] = []
    workdays: list[tuple[date, str | None, int | None, str]] = []
    reader = csv.reader(io.StringIO(text))
    seen_row = False
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(_problem(f"CSV 格式错误：{exc}", line=reader.line_num))
            break
        line = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if not seen_row and cells[0].lower().lstrip("\ufeff") in ("date", "日期"):
            seen_row = True
            continue  # the header
        seen_row = True
        if len(cells) < 2 or len(cells) > 3:
            problems.append(
                _problem(
                    f"应有 2–3 列（date,type,name），这一行有 {len(cells)} 列",
                    line=line,
                )
            )
            continue
        day = _checked_date(cells[0], problems, line, "date")
        kind = cells[1].lower()
        if kind not in _TYPES:
            problems.append(
                _problem(
                    f"类型“{cells[1]}”无效，应为 holiday（放假）或 workday（调休上班）",
                    line=line,
                    field="type",
                )
            )
            continue
        name = _checked_name(
            cells[2] if len(cells) == 3 and cells[2] else None, problems, line, "name"
        )
        if day is not None:
            (workdays if _TYPES[kind] else holidays).append((day, name, line, "date"))
    if not seen_row and not problems:
        problems.append(_problem("文件中没有数据行（每行：date,type,name）"))
    if year is None:
        firsts = sorted((line or 0, day.year) for day, _n, line, _f in holidays + workdays)
        year = firsts[0][1] if firsts else None
    return _schedule(year, holidays, workdays, problems)


def _checked_date(value, problems, line, field) -> date | None:
    if value is None or value == "":
        problems.append(_problem("缺少日期", line=line, field=field))
        return None
    day = parse_date(value)
    if day is None:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        problems.append(
            _problem(f"日期“{shown[:40]}”无效，应为 YYYY-MM-DD", line=line, field=field)
        )
    return day


def _checked_name(value, problems, line, field) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(_problem("名称须为字符串", line=line, field=field))
        return None
    value = value.strip()
    if "\x00" in value or len(value) > MAX_NAME:
        problems.append(
            _problem(f"名称不能含 NUL 字符，最长 {MAX_NAME} 个字符", line=line, field=field)
        )
        return None
    return value or None


def _schedule(year, holidays, workdays, problems) -> Schedule:
    seen: dict[date, str] = {}
    for day, _name, line, field in holidays + workdays:
        if year is not None and day.year != year:
            problems.append(_problem(f"日期 {day} 不在 {year} 年内", line=line, field=field))
        elif day in seen:
            problems.append(
                _problem(f"日期 {day} 重复（已在 {seen[day]} 出现）", line=line, field=field)
            )
        seen.setdefault(day, f"第 {line} 行" if line else field)
    for day, _name, line, field in workdays:
        if day.weekday() < 5:
            problems.append(
                _problem(
                    f"{day} 是星期{_WEEKDAY_NAMES[day.weekday()]}，本来就上班；"
                    "workday 只列周末调休上班的日子",
                    line=line,
                    field=field,
                )
            )
    if not holidays and not problems:
        problems.append(_problem("没有放假日期（type 为 holiday 的行）", field="holidays"))
    if problems:
        problems.sort(key=lambda p: (p["line"] is None, p["line"] or 0))
        raise ScheduleError(problems)
    return Schedule(
        year,
        tuple(sorted((d, n) for d, n, _l, _f in holidays)),
        tuple(sorted((d, n) for d, n, _l, _f in workdays)),
    )
