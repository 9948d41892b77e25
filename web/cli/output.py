"""What the ``kunflow`` command prints: tables that line up with Chinese text, runs of years, a
database address without its password, an engine error with its problems."""

from __future__ import annotations

import unicodedata

import click
from sqlalchemy.engine import make_url

from engine import EngineError, InvalidModel


def safe_url(url: str) -> str:
    """The database address with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(无法解析的数据库地址)"


def echo_problems(exc: EngineError, indent: str = "  ") -> None:
    """The error's message on stderr and, for a diagram that cannot be deployed, each problem
    with its file, line and element."""
    click.echo(f"{indent}{exc.message}", err=True)
    if isinstance(exc, InvalidModel):
        for e in exc.errors:
            where = ":".join(str(x) for x in (e.get("file"), e.get("line")) if x)
            element = f" [{e['element_id']}]" if e.get("element_id") else ""
            click.echo(f"{indent}  {where}{element} {e.get('message')}", err=True)


def year_runs(years: tuple[int, ...]) -> str:
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


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: two for each wide (CJK) character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Rows under their headers and a rule, each column as wide as its widest cell."""
    widths = [max(display_width(str(r[i])) for r in [headers, *rows])
              for i in range(len(headers))]

    def line(row):
        cells = [str(c) + " " * (w - display_width(str(c)))
                 for c, w in zip(row, widths, strict=True)]
        return "  ".join(cells).rstrip()

    return "\n".join([line(headers), line(tuple("-" * w for w in widths)), *map(line, rows)])
