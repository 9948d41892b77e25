"""The authorisation matrix: every route of the app (from ``app.url_map``) x every role x an
object of the caller's own department / of another department / one that does not exist, and
once without a session.

Each route's rule is declared in ``RULES`` below; a route without a rule fails
``test_every_route_has_a_rule`` with its name (add the rule when you add the route, see
docs/security.md). The assertions are about the access decision only:

- no 5xx anywhere;
- no session: the API answers 401, a page sends the browser to the login page (a page's POST
  answers 401), unless the rule is public;
- a role the rule does not allow gets 403 (or 404 where the rule hides the object's existence),
  never 2xx and never a validation error (a caller who may not act learns nothing from a body);
- a role the rule allows never gets 401/403 (a 4xx about the minimal body is fine);
- a caseworker or head of 区招商部门, or the 街道 caseworker, never gets an answer (a list, an
  export, a page) that contains a title, id or text of 区应急局's seeded objects.

State-changing calls (POST/PUT/PATCH/DELETE) carry the session's CSRF token and a minimal body
(``{}``, or the entry of ``BODIES`` where an empty one would stop every caller at validation
before the access decision); after each one that succeeded the SQLite database is restored
from a snapshot, so that every request meets the same seeded objects. One app and one seeded
SQLite database serve the whole module (~2,000 requests through the Flask test client).
"""

from __future__ import annotations

import io
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher, profiles

from engine import local_today, post_notice
from web.auth import passwords
from workflows.ledger.urges import record_urges

from .conftest import make_app

# ----------------------------------------------------------------------------- who calls

# One user per role of config/org.yaml; clerk and head belong to 区招商部门 (invest), whose
# objects are "own"; "other" objects belong to 区应急局 (emergency).
USERS = {
    "clerk": "invest-clerk",  # caseworker
    "head": "invest-head",  # caseworker + head
    "supervisor": "supervisor",  # caseworker + supervisor (督查室)
    "leader": "leader",  # 区领导
    "admin": "admin",  # process_admin + system_admin
    # a caseworker of a third department, a 街道: every seeded case, task, notice and ledger
    # row is another department's; of the two mines, the one in 昆北 is in its 属地
    "street": "kunbei-clerk",
}
ROLES = tuple(USERS)
OWN_DEPARTMENT_ONLY = ("clerk", "head", "street")  # who never sees 区应急局's objects
ANON = "anonymous"
VARIANTS = ("own", "other", "missing")

# ----------------------------------------------------------------------------- the rules

EVERYONE = frozenset(ROLES)
READ_ALL = frozenset({"supervisor", "leader", "admin"})  # Actor.reads_all
DASHBOARD = frozenset({"head", "supervisor", "leader", "admin"})  # heads: own department
LEDGER_OFFICE = frozenset({"supervisor", "admin"})  # workflows.ledger.service.can_manage
ADMIN = frozenset({"admin"})


@dataclass(frozen=True)
class Rule:
    """Who may call a route.

    ``roles``: the roles allowed at all (others: denied). ``own_only``: of those, the roles
    that reach only an object of their own department (another department's: denied).
    ``street``: the 街镇 read the registers of their own 属地 only (the street caseworker
    is refused the other mine). ``public``: also without a session. ``denied``: the statuses a denied role may get
    (403, or 404 where existence is hidden). ``assignee_only``: only the task's holder may
    act, and the seeded task is unclaimed: on the own object any 4xx is right, only another
    department's must be refused. ``unchanged``: a query whose rows a refused call must not
    change (for a form that answers a refusal with the same redirect as a success). ``why``: a note for the reader.
    """

    roles: frozenset = EVERYONE
    own_only: frozenset = frozenset()
    public: bool = False
    denied: tuple = (403, 404)
    assignee_only: bool = False
    street: bool = False
    unchanged: str | None = None  # SQL whose rows a refused call must leave as they were
    why: str = ""

    def expect(self, role: str, variant: str) -> str:
        if role == ANON:
            return "allow" if self.public else "login"
        if role == "street":
            if self.street and variant == "other":
                return "deny"
            # a caseworker to whom the seeded department objects are all another department's
            role = "clerk"
            if "clerk" in self.own_only and variant == "own":
                variant = "other"
        if role not in self.roles:
            return "deny"
        if variant == "other" and role in self.own_only:
            return "deny"
        if variant == "own" and self.assignee_only:
            return "any"
        return "allow"


PUBLIC = Rule(public=True)
LOGIN = Rule()
REGISTER_READ = Rule(street=True)  # an entry: everyone, a 街镇 in its own 属地 only


def roles(*allowed, own_only=frozenset(), **kw) -> Rule:
    names = set()
    for a in allowed:
        names |= {a} if isinstance(a, str) else set(a)
    return Rule(roles=frozenset(names), own_only=frozenset(own_only), **kw)


# Reads of a department's object: its department's caseworkers, and whoever reads everything.
DEPT_READ = roles(EVERYONE, own_only={"clerk", "head"})
# Acts on a department's task: its department's caseworkers only.
DEPT_ACT = roles("clerk", "head", own_only={"clerk", "head"})
# Asking a 加签: the task's holder (on the unclaimed seeded task: refused or invalid).
HOLDER = roles("clerk", "head", own_only={"clerk", "head"}, assignee_only=True)
# Withdrawing a 加签: its asker or the asked-on task's holder, that department's head, an
# administrator (engine.commands.consults).
WITHDRAW = roles("clerk", "head", "admin", own_only={"clerk", "head"})
# 转办: the holder or a member, the department's head, an administrator (check_may_hand).
HAND_OVER = roles("clerk", "head", "admin", own_only={"clerk", "head"})

# A redirect that only flashes a refusal: the page's form answers every outcome with one.
FLASHED = (302, 403, 404)

RULES: dict[str, Rule] = {
    # ------------------------------------------------------------------ public
    "static": PUBLIC,
    "home.index": PUBLIC,
    "auth_pages.login": PUBLIC,
    "auth.issue_token": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,  # without a session there is nothing to end
    "auth.get_csrf": PUBLIC,
    "api.openapi_document": PUBLIC,
    # issue 15: the load balancer's probes; /metrics from this machine (the test client's
    # 127.0.0.1) or with the metrics token (tests/api/test_observability.py refuses others)
    "observability.healthz": PUBLIC,
    "observability.readyz": PUBLIC,
    "observability.prometheus_metrics": PUBLIC,
    # ------------------------------------------------------------------ every signed-in user
    "auth_pages.logout": LOGIN,
    "api.me": LOGIN,
    "api.list_departments": LOGIN,
    "api.list_users": LOGIN,
    "api.calendar_add": LOGIN,
    "api.calendar_between": LOGIN,
    "api.calendar_days": LOGIN,
    "api.list_definitions": LOGIN,
    "api.get_definition": LOGIN,
    "api.list_definition_versions": LOGIN,
    "api.get_definition_xml": LOGIN,
    "api.list_tasks": LOGIN,  # scoped by the engine: mine, my department, all for readers
    "api.list_instances": LOGIN,
    "api.list_notices": LOGIN,
    "api.unread_notice_count": LOGIN,
    "api.read_all_notices": LOGIN,
    "api.list_delegations": LOGIN,
    "api.create_delegation": LOGIN,  # the deputy must be of the caller's department
    "api.list_ledger_rows": LOGIN,  # scoped: a unit reads its own rows
    "api.export_ledger_rows": LOGIN,
    "api.registers_list": LOGIN,  # scoped: a 街镇 reads its own entries
    "api.registers_entry": REGISTER_READ,
    "caseworker.tasks": LOGIN,
    "caseworker.start_list": LOGIN,
    "caseworker.notices": LOGIN,
    "caseworker.read_all_notices": LOGIN,
    "handover.delegations": LOGIN,
    "handover.set_delegation": LOGIN,
    "registers.index": LOGIN,
    "registers.entries": LOGIN,
    "registers.entry": REGISTER_READ,
    "registers.import_template": LOGIN,
    "registers.export_workbook": LOGIN,
    "ledger.rows": LOGIN,
    "ledger.export": LOGIN,
    # ------------------------------------------------------------------ a department's case
    "api.get_instance": DEPT_READ,
    "api.list_instance_events": DEPT_READ,
    "api.list_instance_tasks": DEPT_READ,
    "api.list_instance_attachments": DEPT_READ,
    "api.get_instance_diagram": DEPT_READ,
    "api.get_instance_diagram_xml": DEPT_READ,
    "api.get_related_instances": DEPT_READ,
    "api.get_task": DEPT_READ,
    "api.get_task_context": DEPT_READ,
    "api.list_task_pauses": DEPT_READ,
    "api.list_opinions": DEPT_READ,
    "api.get_draft": DEPT_READ,  # one's own draft: 404 for anyone else
    "api.get_attachment": DEPT_READ,
    "api.get_attachment_content": DEPT_READ,
    "caseworker.task_page": DEPT_READ,
    "caseworker.case_page": DEPT_READ,
    "caseworker.case_diagram": DEPT_READ,
    "caseworker.download": DEPT_READ,
    "api.claim_task": DEPT_ACT,
    "api.unclaim_task": DEPT_ACT,
    "api.complete_task": DEPT_ACT,
    "api.pause_task": DEPT_ACT,
    "api.resume_task": DEPT_ACT,
    "api.send_back_task": DEPT_ACT,
    "api.transfer_task": HAND_OVER,
    # a draft is of a form the caller is to submit: who may work on the task (as attachments)
    "api.save_draft": DEPT_ACT,
    "caseworker.save_draft": DEPT_ACT,
    # a comment (an event of the case): whoever may read the case, 督查室 and 区领导 included
    "api.add_comment": DEPT_READ,
    "caseworker.comment": DEPT_READ,
    "api.upload_attachment": DEPT_ACT,
    "api.ask_opinion": HOLDER,
    "api.answer_opinion": DEPT_ACT,  # a 加签 asked of the department: any member answers
    "api.withdraw_opinion": WITHDRAW,
    # a department head in their department, an administrator anywhere (routing.can_reassign)
    "api.reassign_task": roles("head", "admin", own_only={"head"}),
    "caseworker.claim": DEPT_ACT,
    "caseworker.unclaim": DEPT_ACT,
    "caseworker.submit": DEPT_ACT,
    "caseworker.send_back": DEPT_ACT,
    "caseworker.pause": DEPT_ACT,
    "caseworker.resume": DEPT_ACT,
    "caseworker.upload": DEPT_ACT,
    "caseworker.ask_opinion": HOLDER,
    "caseworker.answer_opinion": DEPT_ACT,
    "caseworker.withdraw_opinion": WITHDRAW,
    "handover.transfer": HAND_OVER,
    # starting a case: the departments of the diagram's start lanes (sample_review: 区招商部门),
    # and administrators
    "api.start_instance": roles("clerk", "head", "admin", own_only={"clerk", "head"}),
    "caseworker.start_case": roles("clerk", "head", "admin", own_only={"clerk", "head"}),
    # ------------------------------------------------------------------ personal and unit items
    "api.read_notice": roles("clerk", "head", own_only={"clerk", "head"},
                             why="a notice of one's department or oneself"),
    "caseworker.open_notice": roles(
        "clerk", "head", own_only={"clerk", "head"}, denied=FLASHED,
        unchanged="SELECT notice_id, username FROM notice_read ORDER BY 1, 2"),
    "caseworker.urge_seen": roles(
        "clerk", "head", own_only={"clerk", "head"}, denied=FLASHED,
        unchanged="SELECT id, seen_at, seen_by FROM ledger_urge ORDER BY id"),
    "api.revoke_delegation": roles("clerk", "head", "admin", own_only={"clerk", "head"}),
    "handover.revoke_delegation": roles("clerk", "head", "admin",
                                        own_only={"clerk", "head"}),
    "api.get_ledger_row": roles(EVERYONE, own_only={"clerk", "head"}),
    "ledger.row": roles(EVERYONE, own_only={"clerk", "head"}),
    # ------------------------------------------------------------------ 督查室
    "api.preview_ledger_import": roles(LEDGER_OFFICE),
    "api.commit_ledger_import": roles(LEDGER_OFFICE),
    "api.add_onsite_assignment": roles(LEDGER_OFFICE),
    "api.create_dashboard_urges": roles(LEDGER_OFFICE),
    "ledger.import_breakdown": roles(LEDGER_OFFICE),
    "ledger.onsite": roles(LEDGER_OFFICE),
    "dashboard.supervision_urge": roles(LEDGER_OFFICE),
    "dashboard.supervision_notice_issue": roles(LEDGER_OFFICE),
    # ------------------------------------------------------------------ 驾驶舱
    "api.get_dashboard_overview": roles(DASHBOARD),
    "api.list_dashboard_projects": roles(DASHBOARD),
    "api.get_dashboard_departments": roles(DASHBOARD),
    "api.get_dashboard_supervision": roles(DASHBOARD),
    "api.get_dashboard_project": roles(DASHBOARD, own_only={"head"}),
    "dashboard.overview": roles(DASHBOARD),
    "dashboard.projects": roles(DASHBOARD),
    "dashboard.project": roles(DASHBOARD, own_only={"head"}),
    "dashboard.departments": roles(DASHBOARD),
    "dashboard.department": roles(DASHBOARD, own_only={"head"}),
    "dashboard.export_projects": roles(DASHBOARD),
    "dashboard.heatmap_index": roles(DASHBOARD),
    "dashboard.heatmap": roles(DASHBOARD),
    "dashboard.heatmap_xml": roles(DASHBOARD),
    "dashboard.supervision": roles(DASHBOARD),
    "dashboard.supervision_export": roles(DASHBOARD),
    "dashboard.supervision_notice": roles(DASHBOARD, own_only={"head"}),
    "dashboard.supervision_notice_docx": roles(DASHBOARD, own_only={"head"}),
    "api.list_incidents": roles(READ_ALL),
    # ------------------------------------------------------------------ registers
    # the mine register is kept by 区应急局 and 区自然资源分局 (and administrators)
    "api.registers_create": roles(ADMIN),
    "api.registers_update": roles(ADMIN),
    "api.registers_start": roles(ADMIN, why="mine processes start in natres/emergency"),
    "registers.create": roles(ADMIN),
    "registers.edit": roles(ADMIN),
    "registers.start": roles(ADMIN),
    # the import takes any register the caller keeps: 区招商部门 keeps the enterprises
    "api.registers_import": roles("clerk", "head", "admin", own_only={"clerk", "head"}),
    "registers.import_page": roles("clerk", "head", "admin", own_only={"clerk", "head"}),
    # ------------------------------------------------------------------ administrators
    **{endpoint: roles(ADMIN) for endpoint in (
        "api.deploy_definition", "api.validate_model", "api.import_model",
        "api.list_processes", "api.new_process", "api.get_process_draft",
        "api.save_process_draft", "api.discard_process_draft", "api.deploy_process_draft",
        "api.diff_versions", "api.get_version_xml", "api.get_version_file", "api.dmn_preview",
        "api.trial_run", "api.list_admin_instances", "api.migrate_instances",
        "api.batch_instances", "api.suspend_instance", "api.resume_instance",
        "api.terminate_instance", "api.retry_instance", "api.skip_incident",
        "api.instance_tokens", "api.move_token", "api.calendar_import",
        "api.correlate_message", "api.list_notice_deliveries", "api.retry_notice_delivery",
        "api.revoke_user_access", "api.list_security_events",  # system_admin
        "admin.processes", "admin.diff", "admin.edit", "admin.edit_file", "admin.instances",
        "admin.incidents", "admin.incident", "admin.notice_deliveries",
        "admin.retry_notice_delivery",
    )},
}


def _pdf():
    return {"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "evidence.pdf")}


# Minimal bodies that reach the access decision (an empty one would stop at validation for
# every caller): endpoint -> values of the variant -> keyword arguments of the request.
BODIES = {
    "api.upload_attachment": lambda v: {"data": _pdf(), "content_type": "multipart/form-data"},
    "caseworker.upload": lambda v: {"data": _pdf(), "content_type": "multipart/form-data"},
    "api.save_draft": lambda v: {"json": {"data": {}}},
    "caseworker.save_draft": lambda v: {"json": {"data": {}}},
    "caseworker.submit": lambda v: {"json": {"data": {}}},
    "api.add_comment": lambda v: {"json": {"text": "意见"}},
    "caseworker.comment": lambda v: {"data": {"text": "意见"}},
    "api.ask_opinion": lambda v: {"json": {"question": "请提意见", "departments": ["natres"]}},
    "caseworker.ask_opinion": lambda v: {"data": {"question": "请提意见",
                                                  "departments": "natres"}},
    "api.answer_opinion": lambda v: {"json": {"opinion": "同意"}},
    "caseworker.answer_opinion": lambda v: {"data": {"opinion": "同意"}},
    "caseworker.withdraw_opinion": lambda v: {"data": {"reason": "撤回"}},
    # to a colleague in the task's department
    "api.transfer_task": lambda v: {"json": {"to": v["colleague"], "reason": "出差"}},
    "handover.transfer": lambda v: {"data": {"to": v["colleague"], "reason": "出差"}},
    "api.reassign_task": lambda v: {"json": {"username": "invest-clerk"}},
    "api.send_back_task": lambda v: {"json": {"target": "x", "reason": "退回"}},
    "caseworker.send_back": lambda v: {"data": {"target": "x", "reason": "退回"}},
    "caseworker.pause": lambda v: {"data": {"reason": "专家评审"}},
    "api.start_instance": lambda v: {"json": {"process_key": "sample_review"}},
    "api.registers_start": lambda v: {"json": {"process_key": "mine_closure"}},
    "registers.start": lambda v: {"data": {"process_key": "mine_closure"}},
    "api.create_dashboard_urges": lambda v: {"json": {"month": "2026-05",
                                                      "units": ["invest"]}},
    "dashboard.supervision_urge": lambda v: {"data": {"month": "2026-05", "units": "invest"}},
    "api.skip_incident": lambda v: {"json": {"reason": "修复"}},
    "api.move_token": lambda v: {"json": {"activate": "x", "reason": "修复"}},
    "api.registers_import": lambda v: {"data": _pdf(), "content_type": "multipart/form-data"},
    "api.preview_ledger_import": lambda v: {"data": _pdf(),
                                            "content_type": "multipart/form-data"},
    "api.commit_ledger_import": lambda v: {"data": _pdf(),
                                           "content_type": "multipart/form-data"},
}
# Objects that differ by route from the seeded ones: endpoint -> variant -> values (set at
# seeding).
OBJECTS: dict[str, dict] = {}
# Query strings that name the unit a page is about.
QUERIES = {
    "dashboard.supervision_notice": lambda v: {"unit": v["code"]},
    "dashboard.supervision_notice_docx": lambda v: {"unit": v["code"]},
    "dashboard.supervision_notice_issue": lambda v: {"unit": v["code"]},
}


# ----------------------------------------------------------------------------- the app


@dataclass
class World:
    app: object
    clients: dict
    csrf: dict
    cookies: dict
    values: dict  # variant -> {url parameter: value}
    db_path: str
    snapshot: sqlite3.Connection
    foreign: dict  # what only another department may see: marker -> what it is

    def rows(self, query: str) -> list:
        live = sqlite3.connect(self.db_path)
        try:
            return live.execute(query).fetchall()
        finally:
            live.close()

    def restore(self) -> None:
        """Put the database back as seeded (after a call that changed it)."""
        live = sqlite3.connect(self.db_path)
        try:
            self.snapshot.backup(live)
        finally:
            live.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
        mp.setattr(passwords, "_hasher", hasher)
        mp.setattr(passwords, "_DUMMY_HASH", hasher.hash("no such user"))
        root = tmp_path_factory.mktemp("authz")
        db_path = str(root / "kunflow.db")
        app = make_app(f"sqlite:///{db_path}", ATTACHMENT_DIR=str(root / "attachments"),
                       LIVE_CACHE_SIZE=0)
        try:
            yield _seed(app, db_path)
        finally:
            app.extensions["kunflow"].close()


def _login(app, username):
    client = app.test_client()
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert r.status_code == 200, r.get_json()
    return client, r.get_json()["csrf_token"]


def _seed(app, db_path) -> World:
    engine = app.extensions["kunflow"]
    clients, csrf = {}, {}
    for role, username in USERS.items():
        clients[role], csrf[role] = _login(app, username)
    seeders = {}
    for name in ("invest-clerk", "emergency-clerk", "supervision-clerk"):
        seeders[name] = _login(app, name)

    def call(who, method, url, **kw):
        client, token = seeders[who] if who in seeders else (clients[who], csrf[who])
        r = client.open(url, method=method, headers={"X-CSRF-Token": token}, **kw)
        assert r.status_code < 300, (url, r.status_code, r.get_data(as_text=True)[:300])
        return r.get_json()

    own = call("invest-clerk", "POST", "/api/v1/instances",
               json={"process_key": "sample_review", "title": "本部门案件"})
    other = call("emergency-clerk", "POST", "/api/v1/instances",
                 json={"process_key": "hazard_rectification", "title": "外部门案件"})
    own_task, other_task = own["tasks"][0]["id"], other["tasks"][0]["id"]

    def upload(who, task_id):
        r = call(who, "POST", f"/api/v1/tasks/{task_id}/attachments",
                 data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "evidence.pdf")},
                 content_type="multipart/form-data")
        return r["attachment"]["id"]

    own_file, other_file = upload("invest-clerk", own_task), upload("emergency-clerk", other_task)

    def consult(who, process_key, asked):
        """A 加签 on a case of its own: the asker claims the case's task and asks ``asked``."""
        started = call(who, "POST", "/api/v1/instances", json={"process_key": process_key})
        task_id = started["tasks"][0]["id"]
        call(who, "POST", f"/api/v1/tasks/{task_id}/claim", json={})
        asked = call(who, "POST", f"/api/v1/tasks/{task_id}/opinions",
                     json={"question": "请提意见", "departments": [asked]})
        return asked["items"][0]["task_id"]

    asked_by_us = consult("invest-clerk", "sample_review", "emergency")  # a task of emergency
    asked_of_us = consult("emergency-clerk", "hazard_rectification", "invest")  # of invest
    start = (local_today() + timedelta(days=30)).isoformat()
    end = (local_today() + timedelta(days=35)).isoformat()
    own_delegation = call("invest-clerk", "POST", "/api/v1/delegations",
                          json={"deputy": "invest-head", "starts_on": start, "ends_on": end})
    other_delegation = call("emergency-clerk", "POST", "/api/v1/delegations",
                            json={"deputy": "emergency-head", "starts_on": start, "ends_on": end})
    rows = {}
    for unit, code in (("区招商部门", "own"), ("区应急局", "other")):
        rows[code] = call("supervision-clerk", "POST", "/api/v1/ledger/onsite", json={
            "task": f"{unit}现场交办事项", "leader": "王志军", "assigned_on": "2026-02-18",
            "units": [unit], "deadline": "2026年4月底", "occasion": "现场调研"})["id"]
    firm = call("admin", "POST", "/api/v1/registers/enterprise", json={
        "name": "矩阵测试企业", "credit_code": "91150203MA000001T9", "status": "运营"})
    mine = call("admin", "POST", "/api/v1/registers/mine", json={
        "name": "矩阵测试矿", "enterprise_id": firm["id"], "town": "kunbei", "status": "生产"})
    other_mine = call("admin", "POST", "/api/v1/registers/mine", json={
        "name": "矩阵测试矿二", "enterprise_id": firm["id"], "town": "kunhe", "status": "生产"})
    from tests.api.test_dashboard_pages import project
    from workflows.dashboard.tables import dash_project

    with engine.unit_of_work() as uow:
        now = datetime(2026, 6, 1)
        notices = {
            "own": post_notice(uow.conn, kind="notice", subject="本部门通知", now=now,
                               department_code="invest"),
            "other": post_notice(uow.conn, kind="notice", subject="外部门通知", now=now,
                                 department_code="emergency"),
        }
        urges = {
            code: record_urges(uow.conn, month="2026-05", units=[unit], message="请报送",
                               actor="supervisor")[0]["id"]
            for code, unit in (("own", "invest"), ("other", "emergency"))
        }
        uow.conn.execute(dash_project.insert().values(**project(own["id"], 3)))
        uow.conn.execute(dash_project.insert().values(
            **project(other["id"], 3, lead_department="emergency", street="kunhe")))
        uow.commit()

    common = {"kind": "mine", "version": 1}
    values = {
        "own": {
            **common,
            "task_id": own_task, "instance_id": own["id"], "attachment_id": own_file,
            "key": "sample_review", "process_key": "sample_review", "filename": "none.form",
            "name": "none.form", "username": "invest-clerk", "entry_id": mine["id"],
            "row_id": rows["own"], "delegation_id": own_delegation["id"],
            "notice_id": notices["own"], "urge_id": urges["own"], "delivery_id": 1,
            "incident_id": 1, "code": "invest", "filename_static": "dist/kunflow.css",
            "colleague": "invest-head",
        },
        "other": {
            **common,
            "task_id": other_task, "instance_id": other["id"], "attachment_id": other_file,
            "key": "hazard_rectification", "process_key": "hazard_rectification", "filename": "none.form",
            "name": "none.form", "username": "emergency-clerk", "entry_id": other_mine["id"],
            "row_id": rows["other"], "delegation_id": other_delegation["id"],
            "notice_id": notices["other"], "urge_id": urges["other"], "delivery_id": 1,
            "incident_id": 1, "code": "emergency", "filename_static": "dist/kunflow.css",
            "colleague": "emergency-head",
        },
        "missing": {
            **common, "version": 999,
            "task_id": "00000000-0000-0000-0000-000000000000", "instance_id": 999999,
            "attachment_id": "0" * 32, "key": "no_such_process", "process_key": "no_such_process",
            "filename": "none.form", "name": "none.form", "username": "no-such-user",
            "entry_id": 999999, "row_id": 999999, "delegation_id": 999999,
            "notice_id": 999999, "urge_id": 999999, "delivery_id": 999999, "incident_id": 999999,
            "code": "no-such-department", "filename_static": "no/such/file.css",
            "colleague": "invest-head",
        },
    }
    # The 加签 routes take the consult's task: to answer, one asked of the department; to
    # withdraw, one the department asked.
    for endpoint in ("api.answer_opinion", "caseworker.answer_opinion"):
        OBJECTS[endpoint] = {"own": {"task_id": asked_of_us}, "other": {"task_id": asked_by_us}}
    for endpoint in ("api.withdraw_opinion", "caseworker.withdraw_opinion"):
        OBJECTS[endpoint] = {"own": {"task_id": asked_by_us}, "other": {"task_id": asked_of_us}}
    cookies = {role: c.get_cookie("session").value for role, c in clients.items()}
    # /readyz wants a live scheduler: one that beats "forever" (the matrix has no clock to
    # freeze, and a slow run must not turn the answer into a 503).
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO heartbeat (name, kind, node, pid, started_at, beat_at) "
                     "VALUES ('scheduler@matrix:1', 'scheduler', 'matrix', 1, "
                     "'2026-01-01 00:00:00', '2999-01-01 00:00:00')")
    snapshot = sqlite3.connect(":memory:")
    live = sqlite3.connect(db_path)
    live.backup(snapshot)
    live.close()
    # Texts and ids of 区应急局's objects: no page or answer a 区招商部门 caseworker or head (or
    # the 街道 caseworker) gets may contain them.
    foreign = {
        "外部门案件": "the title of another department's case",
        other_task: "another department's task id",
        other_file: "another department's attachment id",
        "区应急局现场交办事项": "another unit's ledger row",
        "外部门通知": "another department's notice",
    }
    return World(app, clients, csrf, cookies, values, db_path, snapshot, foreign)


# ----------------------------------------------------------------------------- the calls


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _values(world, rule, variant) -> dict:
    return {**world.values[variant], **OBJECTS.get(rule.endpoint, {}).get(variant, {})}


def _url(world, rule, variant) -> str:
    values = _values(world, rule, variant)
    if rule.endpoint == "static":
        values["filename"] = values["filename_static"]
    adapter = world.app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, {a: values[a] for a in rule.arguments},
                         method=None)


def _call(world, role, rule, method, variant, csrf=True):
    url = _url(world, rule, variant)
    values = _values(world, rule, variant)
    kw = {}
    if rule.endpoint in QUERIES:
        kw["query_string"] = QUERIES[rule.endpoint](values)
    if rule.endpoint in BODIES:
        kw.update(BODIES[rule.endpoint](values))
    elif method not in ("GET", "DELETE"):
        kw["json"] = {}
    if role == ANON:
        client = world.app.test_client()
        return client.open(url, method=method, **kw)
    client = world.clients[role]
    # The session as it was after login: a logout or a flash message must not carry over.
    client.set_cookie("session", world.cookies[role])
    headers = {"X-CSRF-Token": world.csrf[role]} if method != "GET" and csrf else {}
    return client.open(url, method=method, headers=headers, **kw)


def _check(world, role, rule, method, variant) -> str | None:
    """One call; the problem found, or None."""
    spec = RULES[rule.endpoint]
    expected = spec.expect(role, variant)
    before = world.rows(spec.unchanged) if spec.unchanged else None
    r = _call(world, role, rule, method, variant)
    changed = bool(spec.unchanged) and world.rows(spec.unchanged) != before
    status, location = r.status_code, r.headers.get("Location", "")
    body = r.get_data().decode("utf-8", "replace")
    text = body[:300]
    r.close()  # a file's response holds the file open until closed
    if method != "GET" and (status < 400 or status >= 500):
        world.restore()
    where = f"{method} {rule.rule} as {role} ({variant}): {status}"
    if status >= 500:
        return f"{where} — a server error"
    if role == ANON:
        to_login = status == 401 or (status == 302 and "/login" in location)
        if expected == "login" and not to_login:
            return f"{where} — without a session: 401 (API, a page's POST) or the login page"
        if expected == "allow" and status == 401:
            return f"{where} — public: no login needed"
        return None
    if variant == "missing":
        # Not found, however the route says it (a page's form flashes it); a role refused
        # outright may be told so first. Never a success, never 401 for a signed-in user.
        if status == 401 or (expected == "deny" and status < 300):
            return f"{where} — a missing object"
        return None
    if role in OWN_DEPARTMENT_ONLY and status < 300:
        for marker, what in world.foreign.items():
            if marker in body:
                return f"{where} — shows {what}"
    if expected == "deny":
        if status not in spec.denied:
            return f"{where} — must be refused with one of {spec.denied}"
        if changed:
            return f"{where} — refused, yet it changed {spec.unchanged!r}"
    elif expected == "any":
        if status == 401:
            return f"{where} — signed in, yet 401"
    elif status == 401:
        return f"{where} — signed in, yet 401"
    elif status == 403:
        return f"{where} — must be allowed ({text})"
    return None


# ----------------------------------------------------------------------------- the tests


def unruled_routes(app) -> list[str]:
    """The app's routes that RULES does not cover, as ``METHOD /rule (endpoint name)``."""
    return sorted({f"{m} {r.rule} (endpoint {r.endpoint})" for r, m in _routes(app)
                   if r.endpoint not in RULES})


def test_a_new_route_without_a_rule_is_named():
    from flask import Flask

    app = Flask(__name__)
    app.add_url_rule("/reports/<int:report_id>", "reports.report", lambda report_id: "",
                     methods=["GET", "POST"])
    assert unruled_routes(app) == [
        "GET /reports/<int:report_id> (endpoint reports.report)",
        "POST /reports/<int:report_id> (endpoint reports.report)",
    ]


def test_every_route_has_a_rule(world):
    missing = unruled_routes(world.app)
    assert not missing, (
        "routes without an authorisation rule — add one to RULES in "
        "tests/api/test_authz_matrix.py:\n" + "\n".join(missing))
    stale = sorted(set(RULES) - {r.endpoint for r in world.app.url_map.iter_rules()})
    assert not stale, f"rules of routes that no longer exist: {stale}"


@pytest.mark.parametrize("role", [ANON, *ROLES])
def test_matrix(world, role):
    problems = []
    for rule, method in _routes(world.app):
        if rule.endpoint not in RULES:
            continue  # reported by test_every_route_has_a_rule
        variants = VARIANTS if rule.arguments else ("own",)
        if role == ANON:
            variants = variants[:1]
        for variant in variants:
            problem = _check(world, role, rule, method, variant)
            if problem:
                problems.append(problem)
    assert not problems, "\n".join(problems)


def test_every_state_change_needs_the_csrf_token(world):
    """A signed-in browser's cookie goes with any site's form: every POST/PUT/PATCH/DELETE
    that a session may make is refused (403) without the session's CSRF token, and changes
    nothing — whichever role, and before the access rule or the body is looked at."""
    problems = []
    for rule, method in _routes(world.app):
        if method == "GET" or RULES[rule.endpoint].public:
            continue
        before = world.rows("SELECT count(*), max(id) FROM event")
        r = _call(world, "admin", rule, method, "own", csrf=False)
        r.close()
        if r.status_code != 403:
            problems.append(f"{method} {rule.rule}: {r.status_code}")
            world.restore()
        elif world.rows("SELECT count(*), max(id) FROM event") != before:
            problems.append(f"{method} {rule.rule}: refused, yet an event was written")
            world.restore()
    assert not problems, "without the CSRF token:\n" + "\n".join(problems)
