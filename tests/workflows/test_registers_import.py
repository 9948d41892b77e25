"""Import of the registers from Excel: the template, a preview with row-level Chinese errors,
a bad row refusing the whole workbook, a good workbook imported (and imported again as
updates)."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from engine import Forbidden, InvalidInput
from tests.conftest import actor
from workflows.registers.entries import Registers
from workflows.registers.excel import RegisterImport, columns, export, template
from workflows.registers.fields import credit_code_check_char


def code(serial: int) -> str:
    first17 = f"91150203MA{serial:06d}T"
    return first17 + credit_code_check_char(first17)


def workbook(sheets: dict[str, list[list]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def headers(kind: str) -> list[str]:
    return [h + (" *" if req else "") for _n, h, req in columns(kind)]


def good_book(mine_status: str = "生产") -> bytes:
    ent = headers("enterprise")
    mine = headers("mine")
    return workbook(
        {
            "企业": [
                ent,
                [
                    "包头导入矿业有限公司",
                    code(11),
                    "卜尔汉图镇",
                    "铁矿采选",
                    "运营",
                    "张三",
                    "",
                    "",
                ],
                ["包头导入建材有限公司", code(12), "kunbei", "建材", "停产"],
            ],
            "矿山": [
                mine,
                [
                    "导入铁矿",
                    code(11),
                    "卜尔汉图镇",
                    "铁矿",
                    mine_status,
                    "C001",
                    "2020-01-01",
                    "2030-01-01",
                ],
            ],
        }
    )


@pytest.fixture
def importer(engine):
    return RegisterImport(Registers(engine))


def test_the_template_has_a_sheet_per_register_with_its_headers():
    wb = load_workbook(io.BytesIO(template()))
    assert wb.sheetnames == ["企业", "矿山", "选矿厂", "尾矿库", "填写说明"]
    first = [c.value for c in wb["矿山"][1]]
    assert first[:3] == ["矿山名称 *", "所属企业统一社会信用代码 *", "属地街镇 *"]
    assert wb["矿山"].freeze_panes == "A2"


def test_a_bad_row_refuses_the_whole_workbook_with_row_errors(engine, importer):
    admin = actor(engine, "admin")
    ent = headers("enterprise")
    mine = headers("mine")
    book = workbook(
        {
            "企业": [
                ent,
                ["包头导入矿业有限公司", code(11), "卜尔汉图镇", "铁矿采选", "运营"],
                ["", code(13)[:17] + "0", "火星镇", "", "营业"],
                ["重复企业", code(11), "kunbei", "", "运营"],
            ],
            "矿山": [
                mine,
                [
                    "导入铁矿",
                    code(11),
                    "卜尔汉图镇",
                    "铁矿",
                    "生产",
                    "C001",
                    "2020-01-01",
                    "2019-01-01",
                ],
                ["孤儿矿", code(99), "kunbei", "", "生产"],
            ],
        }
    )
    preview = importer.preview(book, admin)
    assert preview["ok"] is False and preview["committed"] is False
    errors = {(e["sheet"], e["row"], e["field"]): e["message"] for e in preview["errors"]}
    assert errors[("企业", 3, "name")] == "「企业名称」必须填写"
    assert errors[("企业", 3, "town")] == "「属地街镇」不是本区的街镇：火星镇"
    assert errors[("企业", 3, "status")].startswith("「经营状态」只能是运营、停产、注销")
    assert errors[("企业", 4, "credit_code")] == "与本表前面的一行重复"
    assert errors[("矿山", 2, "mining_licence_expiry")] == (
        "「采矿许可证有效期至」早于「采矿许可证发证日期」"
    )
    assert errors[("矿山", 3, "enterprise_code")].startswith(
        f"统一社会信用代码 {code(99)} 的企业未登记"
    )
    with pytest.raises(InvalidInput, match="未导入任何数据") as exc:
        importer.commit(book, admin)
    assert len(exc.value.details["problems"]) == len(preview["errors"])
    regs = Registers(engine)
    assert regs.list("enterprise", admin) == [] and regs.list("mine", admin) == []


def test_a_good_workbook_imports_and_imports_again_as_updates(engine, importer):
    admin = actor(engine, "admin")
    preview = importer.preview(good_book(), admin)
    assert preview["ok"] and not preview["committed"]
    assert Registers(engine).list("enterprise", admin) == []  # a preview writes nothing
    done = importer.commit(good_book(), admin)
    assert [(s["sheet"], s["created"], s["updated"]) for s in done["sheets"]] == [
        ("企业", 2, 0),
        ("矿山", 1, 0),
    ]
    again = importer.commit(good_book(mine_status="停产停建"), admin)
    assert [(s["sheet"], s["created"], s["updated"]) for s in again["sheets"]] == [
        ("企业", 0, 2),
        ("矿山", 0, 1),
    ]
    regs = Registers(engine)
    (mine,) = regs.list("mine", admin)
    assert (mine["status"], mine["enterprise_name"], mine["town"]) == (
        "停产停建",
        "包头导入矿业有限公司",
        "buerhantu",
    )
    assert [e["action"] for e in regs.events("mine", mine["id"])] == ["import", "import"]


def test_only_those_who_edit_every_register_in_the_file_may_import_it(engine, importer):
    with pytest.raises(Forbidden, match="矿山名录"):
        importer.preview(good_book(), actor(engine, "invest-clerk"))
    with pytest.raises(InvalidInput, match="xlsx"):
        importer.preview(b"not a workbook", actor(engine, "admin"))
    with pytest.raises(InvalidInput, match="未知的工作表"):
        importer.preview(workbook({"名单": [["a"]]}), actor(engine, "admin"))


def test_an_export_imports_again_as_updates_of_the_same_entries(engine, importer):
    admin = actor(engine, "admin")
    importer.commit(good_book(), admin)
    exported = export(Registers(engine), admin)
    wb = load_workbook(io.BytesIO(exported))
    assert [c.value for c in wb["矿山"][2]][:3] == ["导入铁矿", code(11), "卜尔汉图镇"]
    again = importer.commit(exported, admin)
    assert [(s["sheet"], s["created"], s["updated"]) for s in again["sheets"]] == [
        ("企业", 0, 2),
        ("矿山", 0, 1),
        ("选矿厂", 0, 0),
        ("尾矿库", 0, 0),
    ]
