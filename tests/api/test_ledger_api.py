"""/api/v1/ledger: the supervision office previews and imports a 分解表 (whole or not at all),
adds a 现场交办 row and exports the ledger; leaders read it all; a unit reads its own rows."""

from __future__ import annotations

import io
import re

import time_machine
from openpyxl import load_workbook

from tests.workflows.test_ledger import GOOD, TITLE, breakdown

FROZEN = "2026-02-20T02:00:00Z"


def _file(content: bytes, name: str = "分解表.xlsx") -> dict:
    return {"file": (io.BytesIO(content), name)}


def _post_file(user, path: str, content: bytes, name: str = "分解表.xlsx"):
    return user.post(path, data=_file(content, name), content_type="multipart/form-data")


@time_machine.travel(FROZEN, tick=False)
def test_import_preview_commit_list_row_and_export(as_user, error_of):
    office = as_user("supervision-clerk")
    preview = _post_file(office, "/api/v1/ledger/import/preview", breakdown(GOOD))
    assert preview.status_code == 200
    body = preview.get_json()
    assert body["ok"] and len(body["rows"]) == 4 and body["source_tables"] == [TITLE]
    assert office.get("/api/v1/ledger/rows").get_json()["total"] == 0  # nothing yet

    bad = GOOD + [[5, "推进城市更新", "王志军", "区发改委", "区星际开发局", None]]
    refused = _post_file(office, "/api/v1/ledger/import", breakdown(bad))
    assert refused.status_code == 422
    err = error_of(refused)
    assert err["message"] == "分解表有 2 处错误，未导入任何事项"
    assert [e["text"] for e in err["details"]] == [
        "第 7 行 · 责任单位：单位“区星际开发局”不在组织架构中",
        "第 7 行 · 完成时限：缺少完成时限",
    ]
    assert office.get("/api/v1/ledger/rows").get_json()["total"] == 0  # refused whole

    done = _post_file(office, "/api/v1/ledger/import", breakdown(GOOD))
    assert done.status_code == 201 and len(done.get_json()["row_ids"]) == 4
    listed = office.get("/api/v1/ledger/rows?unit=housing").get_json()
    assert [r["number"] for r in listed["items"]] == ["1", "3"]
    row = office.get(f"/api/v1/ledger/rows/{listed['items'][0]['id']}").get_json()
    assert row["units"] == ["drc", "housing", "kunbei"] and row["deadline"] == "2026-12-31"
    assert [e["kind"] for e in row["events"]] == ["open"] and row["progress"] == []

    exported = office.get("/api/v1/ledger/export")
    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"].startswith("attachment;")
    ws = load_workbook(io.BytesIO(exported.data)).active
    assert ws["A1"].value == "昆都仑区重点工作督查台账（截至2026年2月20日）"
    assert [ws.cell(r, 4).value for r in range(4, 8)] == [g[1] for g in GOOD]


@time_machine.travel(FROZEN, tick=False)
def test_files_are_refused_in_chinese_and_only_the_office_imports(as_user, error_of):
    office = as_user("supervision-clerk")
    r = _post_file(office, "/api/v1/ledger/import/preview", b"a,b\n", "分解表.csv")
    assert r.status_code == 422 and error_of(r)["message"] == "只能导入 Excel 工作簿（.xlsx）文件"
    r = office.post("/api/v1/ledger/import", json={})
    assert r.status_code == 422
    clerk = as_user("housing-clerk")
    r = _post_file(clerk, "/api/v1/ledger/import", breakdown(GOOD))
    assert r.status_code == 403 and error_of(r)["message"] == "只有区政府督查室可以维护督查台账"


@time_machine.travel(FROZEN, tick=False)
def test_onsite_row_and_what_each_user_reads(as_user, error_of):
    office = as_user("supervision-clerk")
    _post_file(office, "/api/v1/ledger/import", breakdown(GOOD))
    r = office.post(
        "/api/v1/ledger/onsite",
        json={
            "task": "协调解决施工用电接入",
            "leader": "王志军",
            "assigned_on": "2026-02-18",
            "units": ["区住建局"],
            "lead_unit": "drc",
            "deadline": "2026年4月底",
            "occasion": "现场调研",
        },
    )
    assert r.status_code == 201, r.get_json()
    row = r.get_json()
    assert (row["origin"], row["source_table"], row["number"]) == ("onsite", "现场交办", "XC-001")
    assert row["origin_note"] == "王志军 2026-02-18 现场交办（现场调研）"
    assert [e["kind"] for e in row["events"]] == ["open", "onsite"]
    r = office.post(
        "/api/v1/ledger/onsite",
        json={
            "task": "某事项",
            "leader": "王志军",
            "assigned_on": "2026-02-18",
            "units": ["某某局"],
            "deadline": "2026年4月底",
        },
    )
    assert r.status_code == 422
    assert error_of(r)["details"][0]["text"] == "责任单位：单位“某某局”不在组织架构中"
    r = office.post("/api/v1/ledger/onsite", json={
        "task": "某事项", "leader": "王志军", "assigned_on": "2026-02-18", "units": "区住建局",
        "deadline": "2026年4月底"})
    assert r.status_code == 422
    assert "units 必须是单位（部门编码或名称）的列表" in str(error_of(r))  # in Chinese

    # leaders read everything; a unit reads its own rows only, and nobody else's
    assert as_user("leader").get("/api/v1/ledger/rows").get_json()["total"] == 5
    kunbei = as_user("kunbei-clerk")
    mine = kunbei.get("/api/v1/ledger/rows").get_json()["items"]
    assert [r["number"] for r in mine] == ["1"]
    other = as_user("leader").get("/api/v1/ledger/rows?unit=natres").get_json()["items"][0]
    assert kunbei.get(f"/api/v1/ledger/rows/{other['id']}").status_code == 404
    assert kunbei.get("/api/v1/ledger/rows?unit=natres").get_json()["total"] == 1  # own only


# ---------------------------------------------------------------- the pages


def _login(app, username: str):
    client = app.test_client()
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert (
        client.post(
            "/login", data={"username": username, "password": "demo", "csrf_token": token}
        ).status_code
        == 302
    )
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ledger/").text).group(1)
    return client, csrf


@time_machine.travel(FROZEN, tick=False)
def test_pages_preview_confirm_onsite_need_csrf_and_units_read_only(app):
    office, csrf = _login(app, "supervision-clerk")
    form = {"file": (io.BytesIO(breakdown(GOOD)), "分解表.xlsx")}
    assert (
        office.post("/ledger/import", data=form, content_type="multipart/form-data").status_code
        == 403
    )  # no CSRF
    preview = office.post(
        "/ledger/import",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(breakdown(GOOD)), "分解表.xlsx"), "csrf_token": csrf},
    )
    assert preview.status_code == 200 and "共 4 项，全部无误" in preview.text
    content = re.search(r'name="content" value="([^"]+)"', preview.text).group(1)
    done = office.post(
        "/ledger/import",
        data={"confirm": "1", "filename": "分解表.xlsx", "content": content, "csrf_token": csrf},
    )
    assert done.status_code == 302
    listing = office.get("/ledger/?unit=kunbei").text
    assert "全年重点项目开工率达到90%以上" in listing and "安全生产治本攻坚三年行动" not in listing
    assert "已导入 4 项" in listing
    made = office.post(
        "/ledger/onsite",
        data={
            "task": "协调施工用电",
            "leader": "王志军",
            "assigned_on": "2026-02-18",
            "units": ["housing", "drc"],
            "lead_unit": "",
            "deadline": "长期",
            "occasion": "",
            "csrf_token": csrf,
        },
    )
    assert made.status_code == 302 and "/ledger/rows/" in made.headers["Location"]
    row = office.get(made.headers["Location"]).text
    assert "王志军 2026-02-18 现场交办" in row and "现场交办" in row
    exported = office.get("/ledger/export?status=open")
    assert exported.status_code == 200
    assert len(list(load_workbook(io.BytesIO(exported.data)).active.iter_rows(min_row=4))) == 5

    unit, unit_csrf = _login(app, "housing-clerk")
    page = unit.get("/ledger/").text
    assert "区住建局（只读）" in page and 'data-testid="ledger-import"' not in page
    assert unit.get("/ledger/onsite").status_code == 403
    assert (
        unit.post("/ledger/onsite", data={"task": "x", "csrf_token": unit_csrf}).status_code == 403
    )


def test_a_nul_character_in_a_filter_or_field_is_refused_not_a_database_error(app, as_user):
    """PostgreSQL refuses NUL in text: the API answers 422 and the pages 400, in Chinese, on
    both databases (a schemathesis run found the 500)."""
    office = as_user("supervision-clerk")
    assert office.get("/api/v1/ledger/rows?source_table=a%00b").status_code == 422
    assert office.get("/api/v1/ledger/rows?unit=%00").status_code == 422
    onsite = office.post("/api/v1/ledger/onsite", json={
        "task": "协调\x00用电", "leader": "王志军", "assigned_on": "2026-06-02",
        "units": ["drc"], "deadline": "长期"})
    assert onsite.status_code == 422
    page, _csrf = _login(app, "supervision-clerk")
    refused = page.get("/ledger/?source_table=a%00b")
    assert refused.status_code == 400 and "NUL" in refused.text
    assert page.get("/registers/mine?q=%00").status_code == 400
