"""名录 over HTTP: the API (create, read, update, start a case, import) and the pages (lists,
一企一档, forms, import preview), with who may do what."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook

from workflows.registers.fields import credit_code_check_char


def code(serial: int) -> str:
    first17 = f"91150203MA{serial:06d}T"
    return first17 + credit_code_check_char(first17)


@pytest.fixture
def firm_and_mine(as_user):
    firm = as_user("invest-clerk").post(
        "/api/v1/registers/enterprise",
        json={
            "name": "包头接口矿业有限公司",
            "credit_code": code(21),
            "town": "buerhantu",
            "status": "运营",
        },
    )
    assert firm.status_code == 201, firm.get_json()
    mine = as_user("emergency-clerk").post(
        "/api/v1/registers/mine",
        json={
            "name": "接口铁矿",
            "enterprise_id": firm.get_json()["id"],
            "town": "buerhantu",
            "status": "生产",
            "mining_licence_no": "C0021",
        },
    )
    assert mine.status_code == 201, mine.get_json()
    return firm.get_json(), mine.get_json()


def test_entries_are_created_changed_and_refused_in_chinese(as_user, firm_and_mine, error_of):
    firm, mine = firm_and_mine
    assert (mine["enterprise_name"], mine["town_name"]) == (firm["name"], "卜尔汉图镇")
    emergency = as_user("emergency-clerk")
    changed = emergency.client.put(
        f"/api/v1/registers/mine/{mine['id']}",
        headers=emergency.headers,
        json={"status": "整合技改"},
    )
    assert changed.status_code == 200
    assert (changed.get_json()["status"], changed.get_json()["mining_licence_no"]) == (
        "整合技改",
        "C0021",
    )
    bad = emergency.post(
        "/api/v1/registers/mine",
        json={
            "name": "坏矿",
            "enterprise_id": firm["id"],
            "town": "火星镇",
            "status": "生产",
            "mining_licence_issued": "2026-05-01",
            "mining_licence_expiry": "2026-04-01",
        },
    )
    assert bad.status_code == 422
    problems = {p["field"]: p["message"] for p in error_of(bad)["details"]["problems"]}
    assert problems == {"town": "「属地街镇」不是本区的街镇：火星镇"}
    wrong_field = emergency.post(
        "/api/v1/registers/mine", json={"name": "坏矿", "credit_code": code(3)}
    )
    assert wrong_field.status_code == 422
    assert error_of(wrong_field)["message"] == "该名录没有字段：credit_code"
    assert emergency.get("/api/v1/registers/well").status_code == 404
    assert emergency.get("/api/v1/registers/mine/99999999999").status_code == 404


def test_a_town_reads_its_own_entries_and_edits_none(as_user, firm_and_mine):
    _firm, mine = firm_and_mine
    town = as_user("buerhantu-clerk")
    listed = town.get("/api/v1/registers/mine").get_json()
    assert [m["id"] for m in listed["items"]] == [mine["id"]]
    refused = town.client.put(
        f"/api/v1/registers/mine/{mine['id']}", headers=town.headers, json={"status": "已关闭"}
    )
    assert refused.status_code == 403
    other = as_user("kunbei-clerk")
    assert other.get("/api/v1/registers/mine").get_json()["total"] == 0
    assert other.get(f"/api/v1/registers/mine/{mine['id']}").status_code == 403


def test_a_case_started_from_a_mine_is_on_the_enterprise_page(as_user, firm_and_mine):
    firm, mine = firm_and_mine
    emergency = as_user("emergency-clerk")
    page = emergency.get(f"/api/v1/registers/mine/{mine['id']}").get_json()
    assert [o["key"] for o in page["offered"]] == ["hazard_rectification", "mine_closure"]
    town = as_user("buerhantu-clerk")
    assert town.get(f"/api/v1/registers/mine/{mine['id']}").get_json()["offered"] == []
    refused = town.post(
        f"/api/v1/registers/mine/{mine['id']}/cases", json={"process_key": "hazard_rectification"}
    )
    assert refused.status_code == 403
    started = emergency.post(
        f"/api/v1/registers/mine/{mine['id']}/cases", json={"process_key": "hazard_rectification"}
    )
    assert started.status_code == 201, started.get_json()
    case = started.get_json()
    assert case["business_key"].startswith(f"KS-{mine['id']}-HR-")
    dossier = town.get(f"/api/v1/registers/enterprise/{firm['id']}").get_json()
    assert [m["name"] for m in dossier["facilities"]["mine"]] == ["接口铁矿"]
    assert [(c["instance_id"], c["entry_name"], c["status"]) for c in dossier["cases"]] == [
        (case["instance_id"], "接口铁矿", "running")
    ]


def _book(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "企业"
    ws.append(["企业名称 *", "统一社会信用代码 *", "属地街镇", "所属行业", "经营状态 *"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_import_over_the_api_is_all_or_nothing(as_user, error_of):
    invest = as_user("invest-clerk")

    def post(content: bytes, commit: bool):
        return invest.post(
            "/api/v1/registers/import",
            content_type="multipart/form-data",
            data={
                "file": (io.BytesIO(content), "名录.xlsx"),
                "commit": "true" if commit else "false",
            },
        )

    bad = _book(
        [
            ["好企业", code(31), "昆北街道办事处", "建材", "运营"],
            ["坏企业", "123", "kunbei", "", "运营"],
        ]
    )
    refused = post(bad, commit=True)
    assert refused.status_code == 422
    assert error_of(refused)["details"]["problems"] == [
        {
            "sheet": "企业",
            "row": 3,
            "field": "credit_code",
            "message": "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V）",
        }
    ]
    assert invest.get("/api/v1/registers/enterprise").get_json()["total"] == 0
    good = _book([["好企业", code(31), "昆北街道办事处", "建材", "运营"]])
    preview = post(good, commit=False)
    assert preview.status_code == 200 and preview.get_json()["committed"] is False
    done = post(good, commit=True).get_json()
    assert done["committed"] and done["sheets"][0]["created"] == 1
    assert invest.get("/api/v1/registers/enterprise").get_json()["items"][0]["town"] == "kunbei"
    assert (
        as_user("kunbei-clerk")
        .post(
            "/api/v1/registers/import",
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(good), "x.xlsx")},
        )
        .status_code
        == 403
    )


# ---------------------------------------------------------------- pages


class Browser:
    def __init__(self, app, username: str):
        self.client = app.test_client()
        page = self.client.get("/login")
        self.client.post(
            "/login",
            data={"username": username, "password": "demo", "csrf_token": _csrf(page.text)},
        )
        self.csrf = _csrf(self.client.get("/registers/mine").text)

    def get(self, url):
        return self.client.get(url, headers={"Accept": "text/html"})

    def post(self, url, data=None, **kw):
        return self.client.post(
            url,
            data={**(data or {}), "csrf_token": self.csrf},
            headers={"Accept": "text/html"},
            **kw,
        )


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field"
    return found.group(1)


def test_pages_list_show_edit_and_start(app, firm_and_mine):
    firm, mine = firm_and_mine
    emergency = Browser(app, "emergency-clerk")
    listed = emergency.get("/registers/mine?status=生产")
    assert listed.status_code == 200 and "接口铁矿" in listed.text
    assert "接口铁矿" not in emergency.get("/registers/mine?status=已关闭").text
    entry = emergency.get(f"/registers/mine/{mine['id']}")
    assert 'data-testid="start-hazard_rectification"' in entry.text
    bad = emergency.post(
        f"/registers/mine/{mine['id']}/edit",
        {"name": "", "enterprise_id": firm["id"], "town": "buerhantu", "status": "生产"},
    )
    assert bad.status_code == 422 and "「矿山名称」必须填写" in bad.text
    no_csrf = emergency.client.post(
        f"/registers/mine/{mine['id']}/start", data={"process_key": "hazard_rectification"}
    )
    assert no_csrf.status_code == 403
    started = emergency.post(
        f"/registers/mine/{mine['id']}/start", {"process_key": "hazard_rectification"}
    )
    assert started.status_code == 302 and started.headers["Location"].startswith("/cases/")
    dossier = emergency.get(f"/registers/enterprise/{firm['id']}")
    assert "一企一档" in dossier.text and "接口铁矿：日常监督与隐患整改闭环" in dossier.text
    town = Browser(app, "buerhantu-clerk")
    assert town.get(f"/registers/mine/{mine['id']}/edit").status_code == 403
    assert "发起：" not in town.get(f"/registers/mine/{mine['id']}").text
    assert town.get("/registers/import").status_code == 403


def test_the_import_page_previews_then_imports(app):
    invest = Browser(app, "invest-clerk")
    template = invest.get("/registers/import/template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    exported = invest.get("/registers/export.xlsx")
    assert exported.status_code == 200 and exported.data[:2] == b"PK"
    bad = invest.post(
        "/registers/import",
        {
            "action": "preview",
            "file": (io.BytesIO(_book([["", code(41), "", "", "运营"]])), "x.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "「企业名称」必须填写" in bad.text
    good = invest.post(
        "/registers/import",
        {
            "action": "preview",
            "file": (io.BytesIO(_book([["页面企业", code(41), "", "", "运营"]])), "x.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert good.status_code == 200 and 'data-testid="import-commit"' in good.text
    content = re.search(r'name="content" value="([^"]+)"', good.text).group(1)
    done = invest.post("/registers/import", {"action": "commit", "content": content})
    assert done.status_code == 302
    assert "页面企业" in invest.get("/registers/enterprise").text
