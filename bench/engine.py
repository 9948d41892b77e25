#!/usr/bin/env python
"""Completion cost of kunflow against a floor measured in the same run.

    .venv/bin/python bench/engine.py            # full run (a few minutes)
    .venv/bin/python bench/engine.py --quick    # rougher, within a minute

Per completion of one ready user task, median and p95 in ms, on bpmn/sample_review.bpmn and on
../shared/reference/models/lifecycle.bpmn:

(a) floor: bare SpiffWorkflow 3.2 with a full reload per completion: deserialize with the
    library's default spiff serializer (spec embedded), complete one ready task,
    do_engine_steps, serialize, then one SQLAlchemy Core transaction writing that JSON to a
    SQLite file (WAL, synchronous=NORMAL, BEGIN IMMEDIATE: the settings kunflow uses, taken from
    engine.db.make_engine). The JSON is kept in memory between completions (no read is timed).
(b) kunflow: ``Engine.complete(task_id, actor, data)`` on a fresh SQLite file (migrated, org
    seeded, diagrams deployed). Informational (b0): the same with the live workflow cache
    disabled, so every completion loads the state from the database.
(c) the same completion through the HTTP API: ``web.create_app`` with Flask's test client,
    bearer token, ``POST /api/v1/tasks/{id}/complete``.

Steady state: a population of instances (60, or 20 with --quick) is started and aged so that
their stages are spread over the whole process; completions go round-robin across them, and an
instance that ends is replaced by a new one. Starting and choosing the next task are not timed,
only the completion. Variants run interleaved in chunks (gc.collect() before each chunk), after
warm-up completions that are not counted.

Growth: sample_loop.bpmn, cost of one completion in an instance that has 10, 100 and 500
completed tasks, through the Engine (b, and b0 without the live cache): median of 30 completions
around each point (3 instances per point, each completed 10 times from P-5 to P+4 completed
tasks; --quick: 1 instance, 10 completions), all points measured interleaved. And the floor's
cycle (a) at the same points: the library-default JSON snapshot of one instance at P completed
tasks reloaded, completed, serialized and written 30 times (--quick: 10).

Last line: ``engine/floor=<b/a> http/floor=<c/a> growth500/10=<ratio>`` for lifecycle.bpmn.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from uuid import UUID

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.spiff.parser import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from bench.runinfo import load_average, machine  # noqa: E402
from engine import SYSTEM, Engine  # noqa: E402
from engine.compaction import raise_iterator_depth  # noqa: E402
from engine.db import make_engine  # noqa: E402
from workflows.org import load_org  # noqa: E402

# The floor measurements' models live in ../shared/reference beside the checkout;
# KUNFLOW_REFERENCE_DIR points elsewhere when the checkout lives somewhere else.
REFERENCE = Path(os.environ.get("KUNFLOW_REFERENCE_DIR")
                 or ROOT.parent / "shared" / "reference").resolve()
if not REFERENCE.is_dir():
    sys.exit(f"找不到参考模型目录 {REFERENCE}：把仓库放在 shared/ 旁边，或设置 KUNFLOW_REFERENCE_DIR")
LIFECYCLE = REFERENCE / "models" / "lifecycle.bpmn"
SAMPLE = ROOT / "bpmn" / "sample_review.bpmn"
LOOP = ROOT / "bpmn" / "sample_loop.bpmn"

perf = time.perf_counter


# ---------------------------------------------------------------------------------- helpers


def ms_stats(samples: list[float]) -> tuple[float, float]:
    """(median, p95) in ms of samples in seconds."""
    xs = sorted(samples)
    med = statistics.median(xs) * 1000
    p95 = xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))] * 1000
    return med, p95


def fmt(samples: list[float]) -> str:
    med, p95 = ms_stats(samples)
    return f"median {med:7.2f} ms   p95 {p95:7.2f} ms   (n={len(samples)})"


@dataclass
class Diagram:
    label: str
    path: Path
    # element id -> function(instance sequence number) -> extra form data for that task
    extra: dict = field(default_factory=dict)

    def form(self, element_id: str, seq: int, n: int) -> dict:
        data = {"comment": f"ok {element_id}", "by_bench": True, "n": n}
        fn = self.extra.get(element_id)
        if fn is not None:
            data.update(fn(seq))
        return data


DIAGRAMS = [
    # review_passed: approved == True; one instance in four is rejected (shorter path).
    Diagram("sample_review", SAMPLE, {"consolidate_review": lambda s: {"approved": s % 4 != 3}}),
    # Gateway_ApprovalAuthority: total_investment_bn >= 1000 -> council, else chairman.
    Diagram(
        "lifecycle",
        LIFECYCLE,
        {"Task_PrepareProposal": lambda s: {"total_investment_bn": 1500 if s % 2 else 500,
                                            "project_name": f"project {s}"}},
    ),
]


# ---------------------------------------------------------------------------------- (a) floor


class Floor:
    """Bare SpiffWorkflow 3.2, library defaults, full reload per completion + one SQLite write."""

    def __init__(self, bpmn_path: Path, workdir: Path, name: str):
        parser = SpiffBpmnParser()
        parser.add_bpmn_file(str(bpmn_path))
        pid = parser.get_process_ids()[0]
        self.spec = parser.get_spec(pid)
        self.subprocess_specs = parser.get_subprocess_specs(pid)
        self.ser = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        # The same SQLAlchemy engine settings kunflow uses (WAL, synchronous=NORMAL, BEGIN
        # IMMEDIATE), on its own file.
        self.db = make_engine(f"sqlite:///{workdir / f'floor_{name}.db'}")
        meta = sa.MetaData()
        self.table = sa.Table(
            "floor_instance",
            meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("state_json", sa.Text, nullable=False),
        )
        meta.create_all(self.db)
        t = self.table
        self.stmt_update = (
            t.update()
            .where(t.c.id == sa.bindparam("b_id"))
            .values(state_json=sa.bindparam("state_json"), version=t.c.version + 1)
        )
        self.stmt_insert = t.insert()
        self._next_id = 0

    def new_workflow(self, data: dict | None = None) -> BpmnWorkflow:
        wf = BpmnWorkflow(self.spec, self.subprocess_specs)
        wf.task_tree.data.update(data or {})
        wf.do_engine_steps()
        return wf

    def insert(self, state_json: str) -> int:
        self._next_id += 1
        with self.db.begin() as conn:
            conn.execute(self.stmt_insert, {"id": self._next_id, "version": 1,
                                            "state_json": state_json})
        return self._next_id

    def cycle(self, row_id: int, state_json: str, task_id: UUID, data: dict):
        """The timed operation: reload, complete, run on, serialize, write."""
        wf = self.ser.deserialize_json(state_json)
        task = wf.get_task_from_id(task_id)
        task.data.update(data)
        task.run()
        wf.do_engine_steps()
        out = self.ser.serialize_json(wf)
        with self.db.begin() as conn:
            conn.execute(self.stmt_update, {"b_id": row_id, "state_json": out})
        return wf, out


def ready_manual(wf) -> list:
    tasks = wf.get_tasks(state=TaskState.READY, manual=True)
    return sorted(tasks, key=lambda t: (t.task_spec.bpmn_id or t.task_spec.name, str(t.id)))


class FloorPopulation:
    def __init__(self, floor: Floor, diagram: Diagram, size: int):
        self.floor, self.diagram = floor, diagram
        self.slots: list[dict] = []
        self.seq = 0
        self.n = 0
        self.json_sizes: list[int] = []
        for _ in range(size):
            self.slots.append(self._new())
        self.pos = 0

    def _new(self) -> dict:
        self.seq += 1
        wf = self.floor.new_workflow()
        js = self.floor.ser.serialize_json(wf)
        rid = self.floor.insert(js)
        nxt = ready_manual(wf)
        return {"id": rid, "json": js, "seq": self.seq,
                "next": (nxt[0].id, nxt[0].task_spec.bpmn_id)}

    def step(self, index: int) -> float:
        slot = self.slots[index]
        tid, element = slot["next"]
        self.n += 1
        data = self.diagram.form(element, slot["seq"], self.n)
        t0 = perf()
        wf, out = self.floor.cycle(slot["id"], slot["json"], tid, data)
        dt = perf() - t0
        self.json_sizes.append(len(out))
        nxt = ready_manual(wf)
        if wf.is_completed() or not nxt:
            self.slots[index] = self._new()
        else:
            slot["json"] = out
            slot["next"] = (nxt[0].id, nxt[0].task_spec.bpmn_id)
        return dt

    def run(self, ops: int) -> list[float]:
        out = []
        for _ in range(ops):
            out.append(self.step(self.pos))
            self.pos = (self.pos + 1) % len(self.slots)
        return out


# ---------------------------------------------------------------------------------- (b) engine


def seed(eng: Engine) -> None:
    departments, users = load_org(ROOT / "config" / "org.yaml")
    eng.sync_org(departments, users)


class Actors:
    """One actor per department (its clerk, or its head where the task asks for role head);
    admin for tasks that route to no department (every lifecycle.bpmn task)."""

    def __init__(self, eng: Engine):
        self.eng = eng
        self._cache: dict[str, object] = {}

    def get(self, username: str):
        a = self._cache.get(username)
        if a is None:
            a = self._cache[username] = self.eng.get_user(username).actor()
        return a

    def username_for(self, department_code: str | None, candidate_role: str | None) -> str:
        if department_code is None:
            return "admin"
        if candidate_role == "head":
            return f"{department_code}-head"
        return f"{department_code}-clerk"

    def for_task(self, t):
        return self.get(self.username_for(t.department_code, t.candidate_role))


@dataclass(frozen=True)
class OpenTask:
    id: str
    element_id: str
    department_code: str | None
    candidate_role: str | None


class TaskLookup:
    """Which tasks of an instance are open, read straight from the task table with a plain
    sqlite3 connection (not timed; the engine's list_tasks would cost as much as a completion
    and slow the benchmark down for nothing)."""

    SQL = ("SELECT id, element_id, department_code, candidate_role FROM task "
           "WHERE instance_id = ? AND state IN ('ready', 'claimed') ORDER BY element_id, id")

    def __init__(self, database_url: str):
        self.conn = sqlite3.connect(database_url[len("sqlite:///"):], isolation_level=None,
                                    check_same_thread=False)

    def open_tasks(self, iid: int) -> list[OpenTask]:
        return [OpenTask(*row) for row in self.conn.execute(self.SQL, (iid,))]

    def close(self) -> None:
        self.conn.close()


class EnginePopulation:
    def __init__(self, eng: Engine, key: str, diagram: Diagram, size: int, actors: Actors,
                 lookup: TaskLookup):
        self.eng, self.key, self.diagram, self.actors = eng, key, diagram, actors
        self.lookup = lookup
        self.admin = actors.get("admin")
        self.slots: list[dict] = []
        self.seq = 0
        self.n = 0
        for _ in range(size):
            self.slots.append(self._new())
        self.pos = 0

    def _new(self) -> dict:
        self.seq += 1
        info = self.eng.start(self.key, self.admin, business_key=f"bench-{self.seq}",
                              title=f"bench {self.seq}")
        nxt = sorted(info.tasks, key=lambda t: (t.element_id, t.id))
        return {"id": info.id, "seq": self.seq, "next": nxt[0]}

    def step(self, index: int) -> float:
        slot = self.slots[index]
        t = slot["next"]
        actor = self.actors.for_task(t)
        self.n += 1
        data = self.diagram.form(t.element_id, slot["seq"], self.n)
        t0 = perf()
        self.eng.complete(t.id, actor, data)
        dt = perf() - t0
        nxt = self.lookup.open_tasks(slot["id"])
        if not nxt:
            self.slots[index] = self._new()
        else:
            slot["next"] = nxt[0]
        return dt

    def run(self, ops: int) -> list[float]:
        out = []
        for _ in range(ops):
            out.append(self.step(self.pos))
            self.pos = (self.pos + 1) % len(self.slots)
        return out


# ---------------------------------------------------------------------------------- (c) HTTP


def web_available() -> bool:
    try:
        import web  # noqa: F401
        from web import create_app  # noqa: F401
    except Exception:
        return False
    return True


class HttpPopulation:
    """Same as EnginePopulation, through the JSON API with Flask's test client."""

    def __init__(self, client, tokens, key: str, diagram: Diagram, size: int, actors: Actors,
                 lookup: TaskLookup):
        self.client, self.tokens, self.key, self.diagram = client, tokens, key, diagram
        self.actors, self.lookup = actors, lookup
        self.slots: list[dict] = []
        self.seq = 0
        self.n = 0
        for _ in range(size):
            self.slots.append(self._new())
        self.pos = 0

    def _auth(self, username: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens.get(username)}"}

    def _new(self) -> dict:
        self.seq += 1
        r = self.client.post(
            "/api/v1/instances",
            json={"process_key": self.key, "business_key": f"http-{self.seq}",
                  "title": f"http {self.seq}", "data": {}},
            headers=self._auth("admin"),
        )
        if r.status_code != 201:
            raise RuntimeError(f"start failed: {r.status_code} {r.get_data(as_text=True)[:300]}")
        body = r.get_json()
        tasks = sorted(body["tasks"], key=lambda t: (t["element_id"], t["id"]))
        return {"id": body["id"], "seq": self.seq, "next": tasks[0]}

    def _open(self, iid: int) -> list[dict]:
        return [t.__dict__ for t in self.lookup.open_tasks(iid)]

    def step(self, index: int) -> float:
        slot = self.slots[index]
        t = slot["next"]
        user = self.actors.username_for(t.get("department_code"), t.get("candidate_role"))
        headers = self._auth(user)
        self.n += 1
        body = {"data": self.diagram.form(t["element_id"], slot["seq"], self.n)}
        url = f"/api/v1/tasks/{t['id']}/complete"
        t0 = perf()
        r = self.client.post(url, json=body, headers=headers)
        dt = perf() - t0
        if r.status_code != 200:
            raise RuntimeError(f"complete failed: {r.status_code} {r.get_data(as_text=True)[:300]}")
        nxt = self._open(slot["id"])
        if not nxt:
            self.slots[index] = self._new()
        else:
            slot["next"] = nxt[0]
        return dt

    def run(self, ops: int) -> list[float]:
        out = []
        for _ in range(ops):
            out.append(self.step(self.pos))
            self.pos = (self.pos + 1) % len(self.slots)
        return out


class Tokens:
    def __init__(self, client):
        self.client = client
        self._tokens: dict[str, str] = {}

    def get(self, username: str) -> str:
        tok = self._tokens.get(username)
        if tok is None:
            r = self.client.post("/api/v1/auth/token",
                                 json={"username": username, "password": "demo"})
            if r.status_code != 200:
                raise RuntimeError(f"token for {username}: {r.status_code} "
                                   f"{r.get_data(as_text=True)[:300]}")
            tok = self._tokens[username] = r.get_json()["token"]
        return tok


def make_http(workdir: Path):
    """A fresh app on its own SQLite file, initialised like ``kunflow init`` (migrate, org chart
    with demo passwords, deploy bpmn/), through web.provision.initialize with its own engine as
    the command does."""
    from web import create_app
    from web.provision import initialize

    config = {
        "DATABASE_URL": f"sqlite:///{workdir / 'http.db'}",
        "SECRET_KEY": "bench-secret",
        "DEMO": True,
        "SCHEDULER": False,
        "BPMN_DIR": str(ROOT / "bpmn"),
        "ORG_FILE": str(ROOT / "config" / "org.yaml"),
    }
    app = create_app(config)
    settings = app.extensions["kunflow.settings"]
    init_engine = Engine(settings["DATABASE_URL"], live_cache_size=0)
    try:
        initialize(init_engine, settings)
    finally:
        init_engine.db.dispose()
    return app, app.test_client()


def deploy_http(client, tokens, path: Path) -> str:
    with open(path, "rb") as f:
        r = client.post(
            "/api/v1/definitions",
            data={"file": (f, path.name)},
            headers={"Authorization": f"Bearer {tokens.get('admin')}"},
            content_type="multipart/form-data",
        )
    if r.status_code not in (200, 201):
        raise RuntimeError(f"deploy {path.name}: {r.status_code} {r.get_data(as_text=True)[:300]}")
    return r.get_json()["key"]


# ---------------------------------------------------------------------------------- sections


def age(pop, lifetime: int) -> None:
    """Spread the population over the process: slot i gets i*lifetime/len completions."""
    size = len(pop.slots)
    for i in range(size):
        for _ in range((i * lifetime) // size):
            pop.step(i)


def lifetime_of(floor: Floor, diagram: Diagram) -> int:
    """Completions one instance of the diagram takes (its default path), via the floor."""
    wf = floor.new_workflow()
    n = 0
    while not wf.is_completed():
        nxt = ready_manual(wf)
        if not nxt:
            break
        t = nxt[0]
        t.data.update(diagram.form(t.task_spec.bpmn_id, 0, n))
        t.run()
        wf.do_engine_steps()
        n += 1
    return n


def steady_state(variants, ops: int, warmup: int, chunk: int) -> dict[str, list[float]]:
    """Warm up each variant, then run `ops` completions of each, interleaved in chunks of
    `chunk` completions (the order of the variants rotating from round to round), with a
    gc.collect() before every chunk. Fine interleaving makes every variant see the same
    machine: the ratios hold up even when other work shares the cores."""
    for _, pop in variants:
        pop.run(warmup)
    samples = {name: [] for name, _ in variants}
    rounds = [min(chunk, ops - i) for i in range(0, ops, chunk)]
    for r, n in enumerate(rounds):
        for j in range(len(variants)):
            name, pop = variants[(r + j) % len(variants)]
            gc.collect()
            samples[name].extend(pop.run(n))
    return samples


def growth_engine(engines, key: str, points, k: int, half: int, lookup: TaskLookup):
    """Cost of a completion in sample_loop.bpmn instances with about P completed tasks.

    ``engines``: {label: (Engine, Actors)}. For each engine and point P, k instances are first
    advanced (not timed) to P - half completed tasks; then all instances of all engines are
    completed round-robin 2 * half times, timed. So every point's samples (k * 2 * half, centred
    on P) are taken in the same period of time, and drift in the machine's speed does not skew
    the ratio between points.
    """
    insts = []
    for label, (eng, actors) in engines.items():
        admin = actors.get("admin")
        for p in points:
            for i in range(k):
                info = eng.start(key, admin, business_key=f"loop-{label}-{p}-{i}",
                                 title=f"loop {p} {i}",
                                 data={"target_rounds": 10**6, "review_round": 0})
                inst = {"id": info.id, "next": info.tasks[0].id, "c": 0, "point": p,
                        "label": label, "eng": eng, "actors": actors, "admin": admin,
                        "lookup": lookup}
                while inst["c"] < p - half:
                    _loop_step(inst)
                insts.append(inst)
    samples = {label: {p: [] for p in points} for label in engines}
    for _ in range(2 * half):
        gc.collect()
        for inst in insts:
            samples[inst["label"]][inst["point"]].append(_loop_step(inst))
    return samples


def _loop_step(inst) -> float:
    c, actors = inst["c"], inst["actors"]
    if c == 0:
        actor, data = actors.get("invest-clerk"), {"material": "bench"}
    else:
        actor, data = actors.get("drc-clerk"), {"review_round": c, "opinion": f"round {c}"}
    t0 = perf()
    inst["eng"].complete(inst["next"], actor, data)
    dt = perf() - t0
    inst["c"] += 1
    inst["next"] = inst["lookup"].open_tasks(inst["id"])[0].id
    return dt


def growth_floor(points, reps: int, workdir: Path):
    """Bare SpiffWorkflow, one sample_loop instance advanced in memory; at each point the
    snapshot (library default JSON, spec embedded) goes through the floor cycle `reps` times."""
    # SpiffWorkflow stops walking task trees at depth 1000 (about 333 loop rounds: see
    # spiffworkflow-3.2-notes.md, point 1); lift that as kunflow does, or the floor would stall
    # before 500. (Constructing an Engine already did this; made explicit here.)
    raise_iterator_depth()
    floor = Floor(LOOP, workdir, "loop")
    wf = floor.new_workflow({"target_rounds": 10**6, "review_round": 0})
    out = {}
    sizes = {}
    c = 0
    t = ready_manual(wf)[0]
    for p in points:
        while c < p:
            t.data.update({"material": "bench"} if c == 0 else {"review_round": c,
                                                                 "opinion": f"round {c}"})
            t.run()
            wf.do_engine_steps()
            t = _ready_below(t)
            c += 1
        snap = floor.ser.serialize_json(wf)
        sizes[p] = (len(snap), len(wf.tasks))
        rid = floor.insert(snap)
        tid = t.id
        data = {"review_round": c, "opinion": f"round {c}"}
        gc.collect()
        floor.cycle(rid, snap, tid, dict(data))  # warm-up
        samples = []
        for _ in range(reps):
            t0 = perf()
            floor.cycle(rid, snap, tid, dict(data))
            samples.append(perf() - t0)
        out[p] = samples
    floor.db.dispose()
    return out, sizes


def _ready_below(task):
    """The next READY user task in the subtree of ``task`` (only to advance the loop quickly:
    a full-tree search per step would cost O(tree) on top of the library's own walks)."""
    stack = list(task.children)
    while stack:
        t = stack.pop()
        if t.state == TaskState.READY and t.task_spec.manual:
            return t
        stack.extend(t.children)
    raise RuntimeError("no ready task below the completed one")


# ---------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="rougher run, within a minute")
    ap.add_argument("--no-http", action="store_true", help="skip (c) even if web/ exists")
    ap.add_argument("--keep", action="store_true", help="keep the temporary databases")
    args = ap.parse_args(argv)

    if args.quick:
        size, ops, warmup, chunk, floor_reps, k = 20, 60, 10, 10, 10, 1
    else:
        size, ops, warmup, chunk, floor_reps, k = 60, 300, 30, 10, 30, 3
    points, half = (10, 100, 500), 5

    workdir = Path(tempfile.mkdtemp(prefix="kunflow-bench-"))
    t_start = perf()
    print(f"kunflow bench/engine.py {'--quick ' if args.quick else ''}on {date.today()}: "
          f"{machine()}; {load_average()}")
    print(f"steady state: {size} instances per variant, {warmup} warm-up + {ops} measured "
          f"completions per variant, interleaved in chunks of {chunk}; databases in {workdir}")

    # (b) the engine: one fresh, migrated, seeded database with every diagram deployed.
    eng = Engine(f"sqlite:///{workdir / 'engine.db'}")
    eng.migrate()
    seed(eng)
    keys = {}
    for d in DIAGRAMS + [Diagram("sample_loop", LOOP)]:
        res = eng.deploy(d.path.name, d.path.read_bytes(), actor=SYSTEM)
        keys[d.label] = res.definition.key
    eng_cold = Engine(eng.database_url, live_cache_size=0)  # same file, no live cache
    actors = Actors(eng)
    actors_cold = Actors(eng_cold)
    lookup = TaskLookup(eng.database_url)

    http = None
    if not args.no_http and web_available():
        try:
            app, client = make_http(workdir)
            tokens = Tokens(client)
            http = (app, client, tokens)
            http_lookup = TaskLookup(app.extensions["kunflow"].database_url)
        except Exception as exc:  # report and go on with (a) and (b)
            print(f"(c) skipped: the web app could not be set up: {exc!r}")
    elif not args.no_http:
        print("(c) skipped: web.create_app does not exist yet")

    results = {}
    spent = {"setup": perf() - t_start}
    for d in DIAGRAMS:
        t_section = perf()
        floor = Floor(d.path, workdir, d.label)
        life = lifetime_of(floor, d)
        variants = []
        pa = FloorPopulation(floor, d, size)
        age(pa, life)
        variants.append(("a", pa))
        pb = EnginePopulation(eng, keys[d.label], d, size, actors, lookup)
        age(pb, life)
        variants.append(("b", pb))
        pb0 = EnginePopulation(eng_cold, keys[d.label], d, size, actors_cold, lookup)
        age(pb0, life)
        variants.append(("b0", pb0))
        if http is not None:
            try:
                app, client, tokens = http
                hkey = deploy_http(client, tokens, d.path)
                pc = HttpPopulation(client, tokens, hkey, d, size, actors, http_lookup)
                age(pc, life)
                variants.append(("c", pc))
            except Exception as exc:
                print(f"(c) skipped for {d.label}: {exc!r}")
        samples = steady_state(variants, ops, warmup, chunk)
        floor.db.dispose()
        results[d.label] = samples
        with eng.db.connect() as conn:
            state_len = conn.execute(sa.text(
                "select avg(length(state_json)) from instance where process_key = :k "
                "and status = 'running'"), {"k": keys[d.label]}).scalar()
        print()
        print(f"{d.label} ({d.path.name}; {life} completions per instance on its main path)")
        print(f"  (a)  floor: bare SpiffWorkflow reload + SQLite write  {fmt(samples['a'])}")
        print(f"  (b)  kunflow Engine.complete                         {fmt(samples['b'])}")
        print(f"  (b0) Engine.complete, live cache disabled            {fmt(samples['b0'])}")
        if "c" in samples:
            print(f"  (c)  HTTP POST /api/v1/tasks/{{id}}/complete          {fmt(samples['c'])}")
        print(f"  stored JSON per instance: floor {statistics.mean(pa.json_sizes) / 1024:.1f} KB"
              f" (spec embedded), kunflow {float(state_len or 0) / 1024:.1f} KB (state only)")
        print("  " + ratio_line(samples))
        gc.collect()
        spent[d.label] = perf() - t_section

    # Growth: sample_loop.bpmn through the engine, and the floor's cycle at the same points.
    gc.collect()
    t_section = perf()
    grown = growth_engine({"b": (eng, actors), "b0": (eng_cold, actors_cold)},
                          keys["sample_loop"], points, k, half, lookup)
    warm, cold = grown["b"], grown["b0"]
    spent["growth engine"] = perf() - t_section
    gc.collect()
    t_section = perf()
    fl, sizes = growth_floor(points, floor_reps, workdir)
    spent["growth floor"] = perf() - t_section
    print()
    print("growth: sample_loop.bpmn, cost of one completion in an instance with N completed tasks")
    print(f"  {'N':>5}  {'(b) engine':>22}  {'(b0) no live cache':>22}  {'(a) floor cycle':>22}"
          f"  floor JSON / tasks in tree")
    for p in points:
        bm, bp = ms_stats(warm[p])
        cm, cp = ms_stats(cold[p])
        fm, fp = ms_stats(fl[p])
        print(f"  {p:>5}  {bm:8.2f} (p95 {bp:6.2f}) ms  {cm:8.2f} (p95 {cp:6.2f}) ms"
              f"  {fm:8.2f} (p95 {fp:6.2f}) ms  {sizes[p][0] / 1024:7.1f} KB / {sizes[p][1]}")
    g_eng = ms_stats(warm[500])[0] / ms_stats(warm[10])[0]
    g_cold = ms_stats(cold[500])[0] / ms_stats(cold[10])[0]
    g_floor = ms_stats(fl[500])[0] / ms_stats(fl[10])[0]
    print(f"  500/10: engine {g_eng:.2f}, engine without live cache {g_cold:.2f}, "
          f"floor cycle {g_floor:.2f}")
    with eng.db.connect() as conn:
        lens = conn.execute(sa.text(
            "select completed_tasks, length(state_json) from instance where process_key = :k "
            "order by completed_tasks"), {"k": keys["sample_loop"]}).all()
    print("  kunflow stored state: " + ", ".join(
        f"{n} tasks {ln / 1024:.1f} KB" for n, ln in {r[0]: r[1] for r in lens}.items()
        if n in {p + half for p in points}))

    lookup.close()
    eng.db.dispose()
    eng_cold.db.dispose()
    if http is not None:
        http_lookup.close()
        _dispose_app(http[0])
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"bench time {perf() - t_start:.1f} s (" + ", ".join(
        f"{name} {sec:.1f} s" for name, sec in spent.items()) + f"); {load_average()}")
    for label in ("sample_review",):
        print(f"{label}: " + ratio_line(results[label]))
    print(ratio_line(results["lifecycle"], growth=g_eng, final=True))
    return 0


def _dispose_app(app) -> None:
    for ext in getattr(app, "extensions", {}).values():
        db = getattr(getattr(ext, "db", None), "dispose", None)
        if callable(db):
            db()


def ratio_line(samples: dict, growth: float | None = None, final: bool = False) -> str:
    a = ms_stats(samples["a"])[0]
    b = ms_stats(samples["b"])[0] / a
    c = f"{ms_stats(samples['c'])[0] / a:.2f}" if "c" in samples else "n/a"
    line = f"engine/floor={b:.2f} http/floor={c}"
    if growth is not None:
        line += f" growth500/10={growth:.2f}"
    return line


if __name__ == "__main__":
    sys.exit(main())
