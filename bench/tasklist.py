#!/usr/bin/env python
"""Server time of the caseworker task lists with 100,000 tasks in the database (issue 5).

    .venv/bin/python bench/tasklist.py                    # SQLite file in a temporary directory
    .venv/bin/python bench/tasklist.py --pg postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/tasklist.py --tasks 20000 --instances 4000 --requests 10   # quicker

1. A fresh database, set up like ``kunflow init`` (``web.provision.initialize``: migrations,
   org chart of config/org.yaml with demo passwords, calendar, the process library of bpmn/).
   On PostgreSQL (``--pg URL``) everything goes into a schema of its own, dropped at the end.
2. A few hundred instances of the shipped district processes are REAL: started and advanced a
   few steps through ``Engine.start`` / ``Engine.complete`` (form data filled in from the task
   forms), so the lists mix engine-made rows with the rest.
3. The rest is BULK-INSERTED, not driven through the engine (that would take hours): about
   20,000 instance rows and 100,000 task rows of the same processes (their elements, lanes,
   departments and stages as the deployed diagrams name them), spread over two years: mostly
   completed cases, some running with ready or claimed tasks, deadlines past and future, titles
   and business keys in Chinese. Each bulk instance row carries the serialized state of a real,
   freshly started instance of its process (copied), so its case page loads; its task rows do not
   match that state, so its open tasks cannot be completed. No ``event`` rows are written for
   them, and ``next_due_at`` is empty, so no scheduler ever picks them up.
4. PostgreSQL: ``VACUUM ANALYZE`` after the load (what autovacuum does by itself after a bulk
   load). SQLite: no ``ANALYZE``, as in the embedded default nobody runs it.
5. ``web.create_app`` with the Flask test client: log in through the login form as the clerk of
   the busiest department (``--user`` to choose), then ``GET /tasks`` for each view (mine,
   department, done, started), without and with each filter (stage, light=red, q, process,
   sort=due, page 5). Server time is the time the WSGI app takes for the request (response body
   included, the test client's own work not); per case median and p95 over ``--requests``
   requests after warm-up, cases interleaved round-robin. SQL time and statement count per
   request are measured on the side (cursor events).

Last line: ``tasklist 100k: worst median X ms, worst p95 Y ms (target < 300 ms)``.
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402

from bench.runinfo import load_average, machine  # noqa: E402
from engine import routing  # noqa: E402
from engine.forms import fields as form_fields  # noqa: E402
from engine.model import instance, task  # noqa: E402

perf = time.perf_counter
TARGET_MS = 300.0

# The district's processes: bulk instances per 100 (the rest of the mix), the department that
# starts them, and how many tasks a bulk instance has on average.
MIX = {
    "project_lifecycle": {"share": 28, "starter": "invest", "mean_tasks": 7.5},
    "mine_approval": {"share": 8, "starter": "natres", "mean_tasks": 8.0},
    "hazard_rectification": {"share": 20, "starter": "emergency", "mean_tasks": 3.8},
    "whistle_referral": {"share": 44, "starter": "buerhantu", "mean_tasks": 3.6},
}
MONTHLY = "supervision_monthly"  # one instance a month, one report per unit, by 督查室
STREETS = ("buerhantu", "kunbei")
BUREAUS = ("drc", "miit", "natres", "eco", "agri", "emergency", "housing", "gov-data")
UNITS = BUREAUS + ("invest",) + STREETS

COMPANIES = ("鑫源", "华泰", "北方", "稀宝", "金石", "瑞德", "昆仑", "恒力", "中盛", "蒙西", "天骄",
             "包钢", "远景", "晶澳", "宏达", "盛世", "银河", "东方", "赛科", "金蒙")
INDUSTRIES = ("稀土新材料", "高纯硅", "光伏组件", "风电装备", "氢能", "装备制造", "现代物流",
              "精细化工", "铝合金", "冷链仓储", "数据中心", "生物医药", "钢结构", "储能电池")
PRODUCTS = ("年产5万吨", "年产10万吨", "年产2GW", "年产3000台套", "一期", "二期", "扩建",
            "技术改造", "智能化改造")
MINERALS = ("砂石", "石灰岩", "白云岩", "建筑用砂", "萤石", "石英岩")
PLACES = ("哈业脑包", "卜尔汉图", "阿尔丁", "昆北", "友谊", "沼潭", "前进", "团结", "鞍山道")
HAZARDS = ("粉尘涉爆", "有限空间作业", "危化品储存", "消防通道堵塞", "电气线路老化",
           "高处作业防护缺失", "特种设备超期未检", "尾矿库排洪")
WHISTLES = ("老旧小区管网漏水", "违规占道经营", "工地扬尘", "夜间施工噪音", "垃圾清运不及时",
            "违章建筑", "供暖不热", "路灯损坏", "井盖缺失", "油烟扰民")
COMMUNITIES = ("友谊", "青年路", "鞍山道", "团结", "少先路", "昆北", "前进道", "阿尔丁", "市府东路")


# ---------------------------------------------------------------------------------- helpers


def ms_stats(samples: list[float]) -> tuple[float, float]:
    """(median, p95) in ms of samples in seconds."""
    xs = sorted(samples)
    med = statistics.median(xs) * 1000
    p95 = xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))] * 1000
    return med, p95


class Progress:
    """One line that rewrites itself on a terminal, a line every ~10 % otherwise."""

    def __init__(self, label: str, total: int):
        self.label, self.total, self.done = label, max(total, 1), 0
        self.t0 = perf()
        self.tty = sys.stdout.isatty()
        self.last_decile = -1

    def add(self, n: int = 1) -> None:
        self.done += n
        pct = 100 * self.done // self.total
        if self.tty:
            print(f"\r  {self.label}: {self.done:,}/{self.total:,} ({pct} %)", end="", flush=True)
        elif pct // 10 != self.last_decile:
            self.last_decile = pct // 10
            print(f"  {self.label}: {self.done:,}/{self.total:,} ({pct} %)", flush=True)

    def close(self) -> None:
        end = "\n" if self.tty else ""
        print(f"{end}  {self.label}: {self.done:,} in {perf() - self.t0:.1f} s", flush=True)


# ---------------------------------------------------------------------------------- database


class Database:
    """A SQLite file in the work directory, or a new schema on the PostgreSQL server."""

    def __init__(self, workdir: Path, pg_url: str | None):
        self.pg_url, self.schema = pg_url, None
        if pg_url is None:
            self.url = f"sqlite:///{workdir / 'tasklist.db'}"
            self.kind = "SQLite"
            return
        self.schema = f"bench_tasklist_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            version = conn.execute(sa.text("show server_version")).scalar()
        sep = "&" if "?" in pg_url else "?"
        self.url = f"{pg_url}{sep}options=-csearch_path%3D{self.schema}"
        self.kind = f"PostgreSQL {version} (schema {self.schema})"

    def drop(self) -> None:
        if self.schema is None:
            return
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.admin.dispose()


def build_app(db: Database, workdir: Path):
    from web import create_app
    from web.provision import initialize

    app = create_app({
        "DATABASE_URL": db.url,
        "SCHEDULER": False,
        "SECRET_KEY": "bench",
        "DEMO": True,
        "ATTACHMENT_DIR": str(workdir / "attachments"),
    })
    initialize(app.extensions["kunflow"], app.extensions["kunflow.settings"])
    return app


# ---------------------------------------------------------------------------------- the library


class Process:
    """A deployed process as the generator needs it: its human tasks in diagram order with the
    department each routes to, and who starts it."""

    def __init__(self, eng, definition):
        self.key, self.name, self.definition_id = definition.key, definition.name, definition.id
        loaded = eng.spec(definition.id)
        self.loaded = loaded
        parsed = loaded.parsed
        directory = eng.directory()
        self.tasks = []
        for t in parsed.tasks.values():
            dept = routing.department_for(t.lane, parsed.lanes, t.properties, directory)
            self.tasks.append({
                "element_id": t.element_id, "name": t.name, "lane": t.lane, "department": dept,
                "props": t.properties, "stage": t.properties.get("stage"),
                "phase": t.properties.get("phase"),
                "multi": bool(t.properties.get("department_expression")),
                "deadline": any(t.properties.get(k) for k in
                                ("due_working_days", "due_hours", "due_expression")),
            })
        self.starter = MIX[self.key]["starter"] if self.key in MIX else "supervision"
        self.start_form = loaded.forms.get(parsed.start_form_key) if getattr(
            parsed, "start_form_key", None) else None
        self.state_json = None
        self.serializer_version = None


def library(eng) -> dict[str, Process]:
    return {d.key: Process(eng, d) for d in eng.list_definitions()
            if d.key in MIX or d.key == MONTHLY}


# ---------------------------------------------------------------------------------- texts


def title_and_key(key: str, rng: random.Random, year: int, seq: int) -> tuple[str, str]:
    if key == "project_lifecycle":
        company = f"{rng.choice(('包头', '内蒙古'))}{rng.choice(COMPANIES)}{rng.choice(INDUSTRIES)}"
        title = f"{company}{rng.choice(PRODUCTS)}项目"
        return title, f"{year}-150203-{rng.randint(10, 99)}-03-{seq:06d}"
    if key == "mine_approval":
        title = f"昆都仑区{rng.choice(PLACES)}{rng.choice(MINERALS)}矿"
        return title, f"昆矿〔{year}〕{seq:05d}号"
    if key == "hazard_rectification":
        title = (f"包头市{rng.choice(COMPANIES)}{rng.choice(INDUSTRIES)}有限公司"
                 f"{rng.choice(HAZARDS)}隐患整改")
        return title, f"昆应急隐患〔{year}〕{seq:05d}号"
    if key == "whistle_referral":
        title = f"{rng.choice(COMMUNITIES)}社区{rng.choice(WHISTLES)}"
        return title, f"吹哨〔{year}〕{seq:05d}号"
    return f"{year}年督查督办月报", f"督查〔{year}〕{seq:03d}号"


# ---------------------------------------------------------------------------------- real instances

PATTERN_SAMPLES = (
    "13800000000", "2026-01", "督办〔2026〕1号", "91150203MA0000000X", "示例",
)


def form_data(schema: dict | None, rng: random.Random) -> dict:
    """Values for a form-js schema that the server-side validation accepts."""
    data: dict = {}
    for comp in form_fields(schema or {}):
        key, kind = comp["key"], comp.get("type")
        rules = comp.get("validate") or {}
        if comp.get("readonly") or kind in ("text", "dynamiclist"):
            continue
        values = [v.get("value") for v in comp.get("values") or [] if isinstance(v, dict)]
        if kind in ("select", "radio"):
            if values:
                data[key] = rng.choice(values)
        elif kind in ("checklist", "taglist"):
            if values:
                data[key] = values[:1]
        elif kind == "checkbox":
            data[key] = rng.random() < 0.5
        elif kind == "number":
            low = rules.get("min") if rules.get("min") is not None else 1
            high = rules.get("max") if rules.get("max") is not None else low + 100
            data[key] = max(low, min(high, low + 10))
        elif kind == "datetime":
            data[key] = date.today().isoformat()
        elif kind == "filepicker":
            if rules.get("required"):
                data[key] = ["bench-attachment"]
        elif kind in ("textfield", "textarea"):
            text = "同意，按程序办理。"
            pattern = rules.get("pattern")
            if pattern:
                text = next((s for s in PATTERN_SAMPLES if re.fullmatch(pattern, s)), text)
            if rules.get("minLength"):
                text = text * (1 + rules["minLength"] // len(text))
            if rules.get("maxLength"):
                text = text[: rules["maxLength"]]
            data[key] = text
    return data


def drive_real(eng, processes: dict[str, Process], count: int, rng: random.Random,
               seq_base: int = 900000) -> dict:
    """Start ``count`` instances through the engine, spread over the processes, and advance
    each 0–6 steps by completing open tasks (claimed first half of the time). The first instance
    of each process is left just started: its state is the template of the bulk rows."""
    actors = {}

    def actor(username):
        if username not in actors:
            actors[username] = eng.get_user(username).actor()
        return actors[username]

    admin = actor("admin")
    stats = Counter()
    keys = list(MIX) + [MONTHLY]
    progress = Progress("real instances (engine)", count)
    for i in range(count):
        key = keys[i % len(keys)] if i < len(keys) else rng.choices(
            list(MIX), [m["share"] for m in MIX.values()])[0]
        p = processes[key]
        title, bkey = title_and_key(key, rng, date.today().year, seq_base + i)
        data = form_data(p.start_form, rng)
        starter = p.starter
        if key == "whistle_referral":  # either 街镇 blows the whistle and says which it is
            starter = rng.choice(STREETS)
            data["street"] = starter
        try:
            info = eng.start(key, actor(f"{starter}-clerk"), business_key=bkey, title=title,
                             data=data)
        except Exception as exc:  # report, and start the next one
            stats[f"start failed: {type(exc).__name__}"] += 1
            progress.add()
            continue
        stats["started"] += 1
        if p.state_json is None:
            with eng.db.connect() as conn:
                row = conn.execute(sa.select(instance.c.state_json, instance.c.serializer_version)
                                   .where(instance.c.id == info.id)).one()
            p.state_json, p.serializer_version = row.state_json, row.serializer_version
            progress.add()
            continue
        for _ in range(rng.randint(0, 6)):
            open_tasks = eng.get_instance(info.id, admin).tasks
            if not open_tasks:
                break
            t = rng.choice(open_tasks)
            if t.department_code is None:
                user = admin
            else:
                role = "head" if t.candidate_role == "head" or rng.random() < 0.2 else "clerk"
                user = actor(f"{t.department_code}-{role}")
            schema = p.loaded.forms.get(t.form_key) if t.form_key else None
            try:
                if rng.random() < 0.5:
                    eng.claim(t.id, user)
                eng.complete(t.id, user, form_data(schema, rng))
                stats["completed"] += 1
            except Exception as exc:
                stats[f"complete failed: {type(exc).__name__}"] += 1
                break
        progress.add()
    progress.close()
    return stats


# ---------------------------------------------------------------------------------- bulk rows


class Bulk:
    """Instance and task rows of the read model, generated and inserted in batches."""

    def __init__(self, eng, processes: dict[str, Process], rng: random.Random, now: datetime):
        self.eng, self.processes, self.rng, self.now = eng, processes, rng, now
        self.instances: list[dict] = []
        self.tasks: list[dict] = []
        self.seq = Counter()

    def user_of(self, dept: str | None, head: bool = False) -> str:
        if dept is None:
            return "admin"
        return f"{dept}-{'head' if head or self.rng.random() < 0.25 else 'clerk'}"

    def path(self, p: Process, street: str, length: int) -> list[tuple[dict, str | None]]:
        """(task spec, department) in diagram order: optional and street-specific elements
        filtered, multi-instance elements expanded to several departments."""
        rng = self.rng
        out = []
        for t in p.tasks:
            eid = t["element_id"]
            if eid.endswith(tuple(f"_{s}" for s in STREETS)) and not eid.endswith(f"_{street}"):
                continue
            if eid.startswith(("escalate_", "urge_", "interview_", "leader_", "revise_",
                               "explain_", "remind_", "renew_", "acceptance_")) \
                    and rng.random() < 0.8:
                continue
            if t["multi"]:
                if p.key == MONTHLY:
                    depts = list(UNITS)
                elif eid in ("joint_prereview", "give_consultation_opinion", "give_issue_opinion"):
                    depts = rng.sample(BUREAUS, rng.randint(3, 6))
                elif eid == "town_site_supervision":
                    depts = [street]
                else:
                    depts = [rng.choice(BUREAUS)]
                out.extend((t, d) for d in depts)
            else:
                out.append((t, t["department"]))
            if len(out) >= length:
                break
        return out[:max(1, length)]

    def instance(self, key: str, running: bool) -> None:
        rng, now, p = self.rng, self.now, self.processes[key]
        mean = MIX[key]["mean_tasks"] if key in MIX else 60
        length = max(1, min(80, int(rng.expovariate(1 / mean)) + 1)) if key in MIX else 60
        street = rng.choice(STREETS)
        steps = self.path(p, street, length)
        # A step takes 3 days on average: the history lies before the open step (which
        # arrived within the last 40 days), a finished case ended within the last two years.
        span = timedelta(days=3) * len(steps)
        if running:
            open_n = 1 if rng.random() < 0.75 else min(len(steps), 2)
            started = now - timedelta(days=rng.uniform(0, 40)) - span
        else:
            open_n = 0
            started = now - timedelta(days=rng.uniform(1, 700)) - span
        iid = self.next_id
        self.next_id += 1
        year = started.year
        self.seq[(key, year)] += 1
        title, bkey = title_and_key(key, rng, year, self.seq[(key, year)])
        clock = started
        last = None
        completed = 0
        terminated = not running and rng.random() < 0.03
        for i, (t, dept) in enumerate(steps):
            is_open = i >= len(steps) - open_n
            created = min(clock, now - timedelta(minutes=rng.uniform(5, 600)))
            due = None
            if t["deadline"] or rng.random() < 0.5:
                due = created + timedelta(days=rng.choice((1, 3, 5, 7, 10, 15, 20, 30)),
                                          hours=rng.randint(0, 8))
            head = t["props"].get("candidate_role") == "head"
            row = {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "instance_id": iid, "process_key": key, "element_id": t["element_id"],
                "name": t["name"], "lane": t["lane"], "department_code": dept,
                "candidate_role": t["props"].get("candidate_role"), "assignee": None,
                "state": "ready", "created_at": created, "claimed_at": None, "due_at": due,
                "completed_at": None, "completed_by": None,
                "form_key": t["props"].get("form_key"), "stage": t["stage"],
                "paused_at": None, "due_provisional": False,
            }
            if is_open:
                if due is not None:
                    # Open deadlines: about a quarter overdue, some due tomorrow, most ahead.
                    r = rng.random()
                    if r < 0.25:
                        row["due_at"] = now - timedelta(days=rng.uniform(0.1, 20))
                    elif r < 0.35:
                        row["due_at"] = now + timedelta(hours=rng.uniform(1, 20))
                    else:
                        row["due_at"] = now + timedelta(days=rng.uniform(2, 30))
                if rng.random() < 0.4:
                    user = self.user_of(dept, head)
                    row.update(state="claimed", assignee=user,
                               claimed_at=min(now, created + timedelta(hours=rng.uniform(0.1, 20))))
            else:
                took = timedelta(days=rng.uniform(0.05, 6))
                user = self.user_of(dept, head)
                done_at = min(created + took, now - timedelta(minutes=1))
                if terminated and i == len(steps) - 1:
                    row.update(state="cancelled", completed_at=done_at)
                else:
                    row.update(state="completed", completed_at=done_at, completed_by=user)
                    completed += 1
                if rng.random() < 0.6:
                    row.update(assignee=user, claimed_at=created + took / 3)
                # Parallel opinions (multi-instance) arrive together; the rest follow in turn.
                nxt = steps[i + 1][0] if i + 1 < len(steps) else None
                if nxt is not t:
                    clock = done_at
            self.tasks.append(row)
            last = (t, row)
        ended = None if running else (last[1]["completed_at"] or clock)
        status = "running" if running else ("terminated" if terminated else "completed")
        starter = street if key == "whistle_referral" else p.starter
        self.instances.append({
            "id": iid, "definition_id": p.definition_id, "process_key": key,
            "business_key": bkey, "title": title, "status": status, "version": completed + 1,
            "serializer_version": p.serializer_version, "state_json": p.state_json,
            "started_by": f"{starter}-{'clerk' if rng.random() < 0.85 else 'head'}",
            "started_at": started, "updated_at": ended or clock, "ended_at": ended,
            "next_due_at": None, "completed_tasks": completed, "parent_instance_id": None,
            "parent_task_id": None, "stage": last[0]["stage"], "phase": last[0]["phase"],
        })

    def generate(self, n_instances: int, n_tasks: int) -> None:
        """About ``n_instances`` instances; then more until there are ``n_tasks`` task rows."""
        rng = self.rng
        with self.eng.db.connect() as conn:
            self.next_id = (conn.execute(sa.select(sa.func.max(instance.c.id))).scalar() or 0) + 1
        keys = list(MIX)
        weights = [MIX[k]["share"] for k in keys]
        # The monthly supervision round: one a month over two years, the last one running.
        for m in range(24):
            self.instance(MONTHLY, running=(m == 23))
        progress = Progress("bulk rows generated (instances)", n_instances)
        while len(self.instances) < n_instances or len(self.tasks) < n_tasks:
            self.instance(rng.choices(keys, weights)[0], running=rng.random() < 0.22)
            progress.add()
        progress.close()

    def insert(self, batch: int = 5000) -> None:
        is_pg = self.eng.db.dialect.name == "postgresql"
        progress = Progress("bulk rows inserted (instance + task)",
                            len(self.instances) + len(self.tasks))
        for rows, table in ((self.instances, instance), (self.tasks, task)):
            for i in range(0, len(rows), batch):
                with self.eng.db.begin() as conn:
                    conn.execute(table.insert(), rows[i:i + batch])
                progress.add(len(rows[i:i + batch]))
        if is_pg:  # explicit ids: move the sequence past them
            with self.eng.db.begin() as conn:
                conn.execute(sa.text(
                    "SELECT setval(pg_get_serial_sequence('instance', 'id'), "
                    "(SELECT max(id) FROM instance))"))
        progress.close()


# ---------------------------------------------------------------------------------- measuring


class WsgiTimer:
    """Wraps the app's WSGI callable: time of one request, its body produced."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.last = 0.0

    def __call__(self, environ, start_response):
        t0 = perf()
        body = list(self.wsgi_app(environ, start_response))
        self.last = perf() - t0
        return body


class SqlTimer:
    """SQL statements and their time, from the cursor events of the app's engine."""

    def __init__(self, db):
        self.count, self.seconds, self._t0 = 0, 0.0, 0.0
        sa_event.listen(db, "before_cursor_execute", self._before)
        sa_event.listen(db, "after_cursor_execute", self._after)

    def _before(self, *args):
        self._t0 = perf()

    def _after(self, *args):
        self.count += 1
        self.seconds += perf() - self._t0

    def reset(self) -> None:
        self.count, self.seconds = 0, 0.0


def login(app, username: str):
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"username": username, "password": "demo",
                                           "csrf_token": token})
    if response.status_code != 302:
        raise RuntimeError(f"login as {username} failed: {response.status_code}")
    return client


def cases_for(eng, username: str) -> list[tuple[str, dict]]:
    """The list pages to time: each view plain and with each filter, the filter values taken
    from the data (the busy department's most common stage and process)."""
    user = eng.get_user(username)
    dept = user.department_code
    with eng.db.connect() as conn:
        stage = conn.execute(
            sa.select(task.c.stage).where(task.c.department_code == dept,
                                          task.c.stage.is_not(None))
            .group_by(task.c.stage).order_by(sa.func.count().desc()).limit(1)).scalar()
        process = conn.execute(
            sa.select(task.c.process_key).where(task.c.department_code == dept)
            .group_by(task.c.process_key).order_by(sa.func.count().desc()).limit(1)).scalar()
    filters = [("", {}), ("stage", {"stage": stage}), ("light=red", {"light": "red"}),
               ("q", {"q": "稀土"}), ("process", {"process": process}), ("sort=due", {"sort": "due"}),
               ("page 5", {"page": 5})]
    cases = []
    for view in ("mine", "department", "done", "started"):
        for label, params in filters:
            if view == "started" and label in ("light=red", "sort=due"):
                continue  # the started list has neither
            cases.append((f"{view:<10} {label or '(none)'}", {"view": view, **params}))
    return cases


def measure_and_report(app, username: str, requests: int, warmup: int,
                       target_ms: float) -> tuple[float, float]:
    """``measure``, then a table of every case (server time median and p95, SQL median,
    statements; OVER past ``target_ms``); the worst median and the worst p95."""
    t0 = perf()
    cases, urls, totals, samples, sql_ms, statements = measure(app, username, requests, warmup)
    print(f"GET /tasks as {username}: server time per request in ms, {requests} requests "
          f"per case after {warmup} warm-up, cases interleaved ({perf() - t0:.1f} s)")
    print(f"  {'view      filter':<24} {'total':>7} {'median':>8} {'p95':>8} {'SQL med':>8} "
          f"{'stmts':>6}")
    worst_med = worst_p95 = 0.0
    for (label, _), url in zip(cases, urls, strict=True):
        med, p95 = ms_stats(samples[url])
        smed = statistics.median(sql_ms[url]) * 1000
        worst_med, worst_p95 = max(worst_med, med), max(worst_p95, p95)
        flag = "  OVER" if p95 > target_ms else ""
        print(f"  {label:<24} {totals[url]:>7} {med:8.1f} {p95:8.1f} {smed:8.1f} "
              f"{statements[url]:>6}{flag}")
    return worst_med, worst_p95


def measure(app, username: str, requests: int, warmup: int):
    from urllib.parse import urlencode

    eng = app.extensions["kunflow"]
    timer = WsgiTimer(app.wsgi_app)
    app.wsgi_app = timer
    sql = SqlTimer(eng.db)
    client = login(app, username)
    cases = cases_for(eng, username)
    urls = [f"/tasks?{urlencode(params)}" for _, params in cases]
    totals = {}
    for url in urls:
        for _ in range(warmup):
            r = client.get(url)
            if r.status_code != 200:
                raise RuntimeError(f"GET {url}: {r.status_code}")
        totals[url] = int(_total_of(r.text))
    samples = defaultdict(list)
    sql_ms = defaultdict(list)
    statements = {}
    for _ in range(requests):
        gc.collect()
        for url in urls:
            sql.reset()
            client.get(url)
            samples[url].append(timer.last)
            sql_ms[url].append(sql.seconds)
            statements[url] = sql.count
    return cases, urls, totals, samples, sql_ms, statements


def _total_of(html: str) -> str:
    m = re.search(r"共 (\d+) 条", html)
    return m.group(1) if m else "-1"


# ---------------------------------------------------------------------------------- main


def describe(eng, username: str) -> None:
    with eng.db.connect() as conn:
        n_inst = conn.execute(sa.select(sa.func.count()).select_from(instance)).scalar()
        n_task = conn.execute(sa.select(sa.func.count()).select_from(task)).scalar()
        by_state = dict(conn.execute(sa.select(task.c.state, sa.func.count())
                                     .group_by(task.c.state)).all())
        by_status = dict(conn.execute(sa.select(instance.c.status, sa.func.count())
                                      .group_by(instance.c.status)).all())
        by_dept = conn.execute(sa.select(task.c.department_code, sa.func.count())
                               .group_by(task.c.department_code)
                               .order_by(sa.func.count().desc())).all()
        by_proc = conn.execute(sa.select(task.c.process_key, sa.func.count())
                               .group_by(task.c.process_key)
                               .order_by(sa.func.count().desc())).all()
    print(f"database: {n_inst:,} instances ({', '.join(f'{k} {v:,}' for k, v in by_status.items())})"
          f", {n_task:,} tasks ({', '.join(f'{k} {v:,}' for k, v in by_state.items())})")
    print("  tasks by process: " + ", ".join(f"{k} {v:,}" for k, v in by_proc))
    print("  tasks by department: " + ", ".join(f"{k} {v:,}" for k, v in by_dept))
    print(f"  lists timed as {username} ({eng.get_user(username).display_name})")


def busiest_clerk(eng) -> str:
    with eng.db.connect() as conn:
        dept = conn.execute(
            sa.select(task.c.department_code).where(task.c.department_code.is_not(None),
                                                    task.c.department_code != "leaders")
            .group_by(task.c.department_code).order_by(sa.func.count().desc()).limit(1)).scalar()
    return f"{dept}-clerk"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL server URL (a schema is made and dropped)")
    ap.add_argument("--tasks", type=int, default=100_000, help="task rows (default 100000)")
    ap.add_argument("--instances", type=int, default=20_000, help="instances (default 20000)")
    ap.add_argument("--real", type=int, default=300,
                    help="instances driven through the engine (default 300)")
    ap.add_argument("--requests", type=int, default=20, help="timed requests per case")
    ap.add_argument("--warmup", type=int, default=2, help="untimed requests per case first")
    ap.add_argument("--user", help="whose lists to time (default: clerk of the busiest department)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the database (and the temp dir)")
    args = ap.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="kunflow-tasklist-"))
    rng = random.Random(args.seed)
    t_start = perf()
    db = Database(workdir, args.pg)
    print(f"kunflow bench/tasklist.py on {date.today()}: {machine()}; {load_average()}")
    print(f"database: {db.kind}; work directory {workdir}")
    app = None
    try:
        t0 = perf()
        app = build_app(db, workdir)
        eng = app.extensions["kunflow"]
        processes = library(eng)
        print(f"initialized (migrate, org chart, calendar, {len(eng.list_definitions())} "
              f"process definitions) in {perf() - t0:.1f} s")

        # Real instances first: the first of each process gives the state the bulk rows copy.
        t0 = perf()
        templates = drive_real(eng, processes, min(len(processes), args.real), rng)
        missing = [k for k, p in processes.items() if p.state_json is None]
        if missing:
            raise RuntimeError(f"could not start {missing}: {dict(templates)}")

        print(f"bulk insert: {args.instances:,} instances / {args.tasks:,} tasks of the read "
              "model written directly (not through the engine); state_json copied from a real "
              "started instance of the same process")
        bulk = Bulk(eng, processes, rng, datetime.now(UTC).replace(tzinfo=None))
        bulk.generate(args.instances, args.tasks)
        bulk.insert()
        stats = drive_real(eng, processes, max(0, args.real - len(processes)), rng,
                           seq_base=910000)
        stats.update(templates)
        print("  real instances: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
        if eng.db.dialect.name == "postgresql":
            t1 = perf()
            with eng.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
            print(f"  VACUUM ANALYZE (as autovacuum would after a bulk load): {perf() - t1:.1f} s")
        build_s = perf() - t0

        username = args.user or busiest_clerk(eng)
        describe(eng, username)
        print(f"build time {build_s:.1f} s")
        print()
        worst_med, worst_p95 = measure_and_report(app, username, args.requests, args.warmup,
                                                  TARGET_MS)
        print()
        print(f"bench time {perf() - t_start:.1f} s; {load_average()}")
        size = f"{args.tasks // 1000}k" if args.tasks % 1000 == 0 else str(args.tasks)
        print(f"tasklist {size}: worst median {worst_med:.1f} ms, worst p95 {worst_p95:.1f} ms "
              f"(target < {TARGET_MS:.0f} ms) on {db.kind.split(' (')[0]}")
        return 0
    finally:
        if app is not None:
            app.extensions["kunflow"].db.dispose()
        if args.keep:
            print(f"kept: {db.url}")
        else:
            db.drop()
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
