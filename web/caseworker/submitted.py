"""Submitted task data as the case timeline shows it: any JSON shape, readable, never an error.

A field reads as its form label and a chosen option as the option's label; attachment ids as
links; a list of objects (a form-js dynamic list such as the supervision ledger) as a table
whose columns carry the list's field labels; an object as label/value pairs; a list of plain
values as one line. Deeper than ``MAX_DEPTH`` levels the rest is JSON text, and a long list
shows its first ``MAX_ITEMS`` entries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from engine import FieldLabel

MAX_DEPTH = 4
MAX_ITEMS = 200
EMPTY = "—"


@dataclass(frozen=True)
class Shown:
    """One value, ready for the ``shown`` macro (``_submitted.html``).

    ``kind``: ``text``; ``files`` (``links``: (attachment id or None, text)); ``table``
    (``columns``: (key, label), ``rows``: one Shown per column); ``pairs`` ((label, key,
    Shown)); ``items`` (Shown each). ``more``: entries of a long list left out."""

    kind: str
    text: str = ""
    links: tuple = ()
    columns: tuple = ()
    rows: tuple = ()
    pairs: tuple = ()
    items: tuple = ()
    more: int = 0


def submitted_pairs(data, fields: Mapping[str, FieldLabel],
                    attachments: Mapping[str, str]) -> tuple:
    """(label, key, Shown) for each submitted key of one completion; ``attachments`` maps the
    case's attachment ids to their file names."""
    if not isinstance(data, dict):
        return (("提交的数据", "data", show(data, None, attachments)),)
    return _pairs(data, fields, attachments, 0)


def show(value, field: FieldLabel | None, attachments: Mapping[str, str],
         depth: int = 0) -> Shown:
    """``value`` (anything JSON can hold) as the timeline shows it."""
    if isinstance(value, list | tuple):
        return _show_list(list(value), field, attachments, depth)
    if isinstance(value, dict):
        if not value:
            return Shown("text", EMPTY)
        if depth >= MAX_DEPTH:
            return Shown("text", _json(value))
        nested = field.nested if field is not None else {}
        return Shown("pairs", pairs=_pairs(value, nested, attachments, depth + 1))
    return Shown("text", _scalar(value, field))


def _pairs(data: dict, fields: Mapping[str, FieldLabel], attachments, depth) -> tuple:
    out = []
    for key, value in data.items():
        f = fields.get(key) if isinstance(key, str) else None
        out.append((f.label if f else str(key), str(key), show(value, f, attachments, depth)))
    return tuple(out)


def _show_list(values: list, field, attachments, depth) -> Shown:
    if not values:
        return Shown("text", EMPTY)
    if depth >= MAX_DEPTH:
        return Shown("text", _json(values))
    more = max(0, len(values) - MAX_ITEMS)
    values = values[:MAX_ITEMS]
    if all(isinstance(v, str) for v in values) and (
        (field is not None and field.files) or any(v in attachments for v in values)
    ):
        return Shown("files", links=tuple((v, attachments[v]) if v in attachments else (None, v)
                                          for v in values), more=more)
    if all(isinstance(v, dict) for v in values):
        return _table(values, field, attachments, depth, more)
    if not any(isinstance(v, list | tuple | dict) for v in values):
        text = "、".join(_scalar(v, field) for v in values)
        return Shown("text", text + (f" 等 {len(values) + more} 项" if more else ""))
    return Shown("items", items=tuple(show(v, field, attachments, depth + 1) for v in values),
                 more=more)


def _table(rows: list[dict], field, attachments, depth, more) -> Shown:
    nested = field.nested if field is not None else {}
    keys: list = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    columns = tuple((str(k), nested[k].label if isinstance(k, str) and k in nested else str(k))
                    for k in keys)
    body = tuple(
        tuple(show(row[k], nested.get(k) if isinstance(k, str) else None, attachments,
                   depth + 1) if k in row else Shown("text", "") for k in keys)
        for row in rows)
    return Shown("table", columns=columns, rows=body, more=more)


def _scalar(value, field: FieldLabel | None) -> str:
    if value is None:
        return EMPTY
    if value is True:
        return "是"
    if value is False:
        return "否"
    if field is not None and str(value) in field.options:
        return field.options[str(value)]
    return value if isinstance(value, str) else _json(value)


def _json(value) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 2000 else text[:2000] + "…"
