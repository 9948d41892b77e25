"""What each register holds, field by field: the one description that validation, the pages'
forms, the Excel sheets and the API read (Chinese labels; English names)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

KINDS = ("enterprise", "mine", "plant", "tailings")
KIND_NAMES = {"enterprise": "企业", "mine": "矿山", "plant": "选矿厂", "tailings": "尾矿库"}

ENTERPRISE_STATUSES = ("运营", "停产", "注销")
MINE_STATUSES = ("生产", "停产停建", "整合技改", "临近关闭", "已关闭")
PLANT_STATUSES = ("生产", "停产", "已关闭")
TAILINGS_STATUSES = ("运行", "停用", "闭库")
TAILINGS_GRADES = ("一等", "二等", "三等", "四等", "五等")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str = "text"  # text | longtext | date | choice | town | enterprise | credit_code
    required: bool = False
    choices: tuple[str, ...] = ()
    max_length: int = 200


def _licence(prefix: str, label: str) -> tuple[Field, ...]:
    return (
        Field(f"{prefix}_no", f"{label}编号", max_length=100),
        Field(f"{prefix}_issued", f"{label}发证日期", "date"),
        Field(f"{prefix}_expiry", f"{label}有效期至", "date"),
    )


_FACILITY_HEAD = (
    Field("enterprise_id", "所属企业", "enterprise", required=True),
    Field("town", "属地街镇", "town", required=True),
)
NOTES = Field("notes", "备注", "longtext", max_length=2000)

FIELDS: dict[str, tuple[Field, ...]] = {
    "enterprise": (
        Field("name", "企业名称", required=True),
        Field("credit_code", "统一社会信用代码", "credit_code", required=True, max_length=18),
        Field("town", "属地街镇", "town"),
        Field("industry", "所属行业", max_length=100),
        Field("status", "经营状态", "choice", True, ENTERPRISE_STATUSES),
        Field("contact", "联系人及电话"),
        Field("address", "地址", max_length=400),
        NOTES,
    ),
    "mine": (
        Field("name", "矿山名称", required=True),
        *_FACILITY_HEAD,
        Field("mineral", "开采矿种", max_length=100),
        Field("status", "矿山状态", "choice", True, MINE_STATUSES),
        *_licence("mining_licence", "采矿许可证"),
        *_licence("safety_licence", "安全生产许可证"),
        Field("scale", "生产规模", max_length=100),
        NOTES,
    ),
    "plant": (
        Field("name", "选矿厂名称", required=True),
        *_FACILITY_HEAD,
        Field("status", "生产状态", "choice", True, PLANT_STATUSES),
        Field("capacity", "处理能力", max_length=100),
        *_licence("safety_licence", "安全生产许可证"),
        Field("discharge_permit_no", "排污许可证编号", max_length=100),
        Field("discharge_permit_expiry", "排污许可证有效期至", "date"),
        NOTES,
    ),
    "tailings": (
        Field("name", "尾矿库名称", required=True),
        *_FACILITY_HEAD,
        Field("grade", "等别", "choice", False, TAILINGS_GRADES, max_length=8),
        Field("status", "运行状态", "choice", True, TAILINGS_STATUSES),
        Field("closed_on", "闭库日期", "date"),
        Field("capacity", "总库容", max_length=100),
        *_licence("safety_licence", "安全生产许可证"),
        NOTES,
    ),
}

LICENCES: dict[str, tuple[tuple[str, str], ...]] = {
    # (expiry field, issue field or "") whose expiry is watched
    "enterprise": (),
    "mine": (
        ("mining_licence_expiry", "mining_licence_issued"),
        ("safety_licence_expiry", "safety_licence_issued"),
    ),
    "plant": (("safety_licence_expiry", "safety_licence_issued"), ("discharge_permit_expiry", "")),
    "tailings": (("safety_licence_expiry", "safety_licence_issued"),),
}


def field(kind: str, name: str) -> Field:
    return next(f for f in FIELDS[kind] if f.name == name)


# GB 32100-2015: 18 characters from this alphabet, the last one a check character.
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CODE_SHAPE = re.compile(rf"[{_CODE_CHARS}]{{18}}")


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a 统一社会信用代码 whose first 17 are given."""
    total = sum(_CODE_CHARS.index(c) * w for c, w in zip(first17, _CODE_WEIGHTS, strict=True))
    return _CODE_CHARS[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a valid 统一社会信用代码, or None."""
    if not _CODE_SHAPE.fullmatch(code):
        return "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V）"
    if credit_code_check_char(code[:17]) != code[17]:
        return "统一社会信用代码校验位不正确，请核对"
    return None


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st of a short month becomes its last)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")
