#!/usr/bin/env python
"""Month-end burst: clerks of every unit completing their queues at once, against the real
server, with locust (issue 15, benchmark 3d).

    .venv/bin/python bench/burst.py                         # SQLite: 20 and 50 clients, 60 s,
                                                            # 1 worker and one per core
    .venv/bin/python bench/burst.py --pg postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/burst.py --seconds 15 --clients 20 --workers 1   # a short look

1. A seed database set up like ``kunflow init`` with ``--cases`` cases started through
   ``Engine.start`` (the processes of bench/populate.py's mix: whistles and 三找 requests from
   the 街镇, hazards, projects, mines, sand, radiation), so that the units have queues. SQLite:
   a file in a temporary directory; PostgreSQL (``--pg`` names the server; the URL's database
   is only used to connect): a database ``kunflow_burst_seed_<random>``. Dropped at the end.
2. For each run (workers × clients) a copy of the seed (SQLite's backup API; PostgreSQL's
   ``CREATE DATABASE … TEMPLATE``), so every run starts from the same queues.
3. The server on 127.0.0.1 and a free port: ``kunflow run`` (gunicorn, 8 threads a worker) with
   ``KUNFLOW_WORKERS`` when the settings know it; until then, for more than one worker,
   gunicorn's own command line with ``--workers N`` and the same worker class and threads
   (printed with the results). The scheduler is off in every run (no timer is due; the runs
   compare like with like).
4. locust, headless, ``--clients`` users all started at once, for ``--seconds``, the clients of
   bench/burst_locustfile.py: desks that the clerks and heads of the units take in turn (the
   busiest units first), no think time: list the unit's tasks, open one this person may do,
   upload the evidence its form requires, complete it; a person with nothing to do hands the
   desk on at once. Client and server share the machine's cores: on two cores, locust's own
   process takes part of what a second worker would get.

Per run: completions per second, p50 / p95 / max of ``complete`` (ms, as locust sees them),
genuine 409s (counted apart), errors (any other failure), hand-overs of a desk and idle seconds
(a whole round of empty queues), load average. Per client count: the scaling ratio N workers /
1 worker. Last line:
``burst on <db>: 20 clients X/s (p95 Y ms) with 1 worker, Z/s with N: ratio R; 50 clients …``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.runinfo import load_average, machine  # noqa: E402

perf = time.perf_counter
VENV_BIN = Path(sys.executable).parent
TARGET_P95_MS = 150.0
TARGET_RATIO = 1.7
SEED_MIX = {"whistle_referral": 30, "service_request": 25, "hazard_rectification": 15,
            "project_lifecycle": 12, "mine_approval": 8, "river_sand": 5, "radioactive_check": 5}


# ---------------------------------------------------------------------------------- databases


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Databases:
    """The seed database and its per-run copies, on SQLite or on the PostgreSQL server."""

    def __init__(self, workdir: Path, pg_url: str | None):
        self.workdir, self.pg_url = workdir, pg_url
        self.tag = uuid.uuid4().hex[:8]
        self.made: list[str] = []
        if pg_url:
            parts = urlsplit(pg_url)
            self.server = sa.create_engine(
                urlunsplit(parts._replace(scheme="postgresql+psycopg", path="/postgres")),
                isolation_level="AUTOCOMMIT")
            self.kind = "PostgreSQL"
        else:
            self.kind = "SQLite"

    def _pg(self, name: str) -> str:
        return urlunsplit(urlsplit(self.pg_url)._replace(path=f"/{name}"))

    def seed_url(self) -> str:
        if not self.pg_url:
            return f"sqlite:///{self.workdir / 'seed.db'}"
        name = f"kunflow_burst_seed_{self.tag}"
        with self.server.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.made.append(name)
        return self._pg(name)

    def copy(self, run: str) -> str:
        if not self.pg_url:
            target = self.workdir / f"{run}.db"
            with sqlite3.connect(self.workdir / "seed.db") as src, sqlite3.connect(target) as dst:
                src.backup(dst)
            return f"sqlite:///{target}"
        name = f"kunflow_burst_{run}_{self.tag}"
        with self.server.connect() as conn:
            conn.execute(sa.text(
                f'CREATE DATABASE "{name}" TEMPLATE "kunflow_burst_seed_{self.tag}"'))
        self.made.append(name)
        return self._pg(name)

    def drop(self, url: str) -> None:
        if not self.pg_url:
            path = Path(url[len("sqlite:///"):])
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        name = urlsplit(url).path.lstrip("/")
        with self.server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.made:
            self.made.remove(name)

    def close(self) -> None:
        if self.pg_url:
            for name in list(self.made):
                self.drop(self._pg(name))
            self.server.dispose()


def seed(url: str, workdir: Path, cases: int) -> list[str]:
    """Set up the seed database and start ``cases`` cases; the clerk and the head of each unit
    with open tasks, the busiest first, then those of the other bureaus (their queues fill as
    cases move on)."""
    from bench.dashboard_data import app_for
    from bench.populate import fill_form
    from engine.model import task

    app = app_for(url, workdir, initialize=True)
    eng = app.extensions["kunflow"]
    rng = random.Random(15)
    users = eng.list_users()
    starters, forms = {}, {}
    for d in eng.list_definitions():
        if d.key in SEED_MIX:
            starters[d.key] = [eng.get_user(u.username).actor() for u in users
                               if u.username.endswith("-clerk")
                               and any(x.key == d.key for x in eng.startable_definitions(
                                   u.actor()))]
            loaded = eng.spec(d.id)
            key = getattr(loaded.parsed, "start_form_key", None)
            forms[d.key] = loaded.forms.get(key) if key else None
    t0 = perf()
    for n in range(cases):
        key = rng.choices(list(SEED_MIX), list(SEED_MIX.values()))[0]
        eng.start(key, rng.choice(starters[key]), business_key=f"BURST-{n:05d}",
                  title=f"月末集中办理 {n}", data=fill_form(forms[key], rng, 0.8))
    with eng.db.connect() as conn:
        queues = conn.execute(
            sa.select(task.c.department_code, sa.func.count())
            .where(task.c.state == "ready", task.c.department_code.is_not(None))
            .group_by(task.c.department_code).order_by(sa.func.count().desc())).all()
    known = {u.username for u in users}
    units = [d for d, _n in queues]
    units += [d for d in ("drc", "miit", "natres", "eco", "agri", "emergency", "housing",
                          "gov-data", "invest", "supervision") if d not in units]
    ordered = [name for d in units for name in (f"{d}-clerk", f"{d}-head") if name in known]
    print(f"  seed: {cases:,} cases started in {perf() - t0:.1f} s; open queues: "
          + ", ".join(f"{d} {n}" for d, n in queues[:12]) + (" …" if len(queues) > 12 else ""),
          flush=True)
    eng.close()
    return ordered


# ---------------------------------------------------------------------------------- server


def workers_setting_known() -> bool:
    import config.settings as settings_module

    return "WORKERS" in settings_module.DEFAULTS


def start_server(url: str, workers: int, workdir: Path, log_path: Path):
    """The server on a free port; (process, port, how it was started)."""
    port = free_port()
    env = {**os.environ, "KUNFLOW_DATABASE_URL": url, "KUNFLOW_HOST": "127.0.0.1",
           "KUNFLOW_PORT": str(port), "KUNFLOW_SCHEDULER": "false",
           "KUNFLOW_SECRET_KEY": "bench-burst", "KUNFLOW_DEMO": "true",
           "KUNFLOW_ATTACHMENT_DIR": str(workdir / "attachments"),
           "KUNFLOW_LOGIN_FREE_FAILURES": "1000", "KUNFLOW_LOGIN_ADDRESS_FREE_FAILURES": "1000"}
    if workers == 1 or workers_setting_known():
        env["KUNFLOW_WORKERS"] = str(workers)
        cmd = [str(VENV_BIN / "kunflow"), "run"]
        how = f"kunflow run (KUNFLOW_WORKERS={workers})" if workers > 1 else "kunflow run"
    else:
        cmd = [str(VENV_BIN / "gunicorn"), "--workers", str(workers), "--worker-class",
               "gthread", "--threads", "8", "--bind", f"127.0.0.1:{port}", "--timeout", "120",
               "--access-logfile", "-", "web:create_app()"]
        how = f"gunicorn --workers {workers} --threads 8 (KUNFLOW_WORKERS not there yet)"
    log = open(log_path, "ab")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}): see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json",
                                        timeout=5) as response:
                if response.status == 200:
                    # every worker answers once before the clock starts (each loads the app)
                    for _ in range(4 * workers):
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=30)
                    return proc, port, how
        except OSError:
            pass
        time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"the server did not answer within 180 s: see {log_path}")


def stop_server(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: gunicorn and its workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ---------------------------------------------------------------------------------- load


def issue_tokens(port: int, people: list[str]) -> list[str]:
    """A bearer token per person (``POST /api/v1/auth/token``), as ``user:token``."""
    pairs = []
    for username in people:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/auth/token", method="POST",
            data=json.dumps({"username": username, "password": "demo"}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            pairs.append(f"{username}:{json.loads(response.read())['token']}")
    return pairs


def run_locust(port: int, clients: int, seconds: int, people: list[str], prefix: Path) -> dict:
    tokens = issue_tokens(port, people)
    env = {**os.environ, "BURST_TOKENS": ",".join(tokens), "PYTHONPATH": str(ROOT)}
    cmd = [str(VENV_BIN / "locust"), "-f", str(ROOT / "bench" / "burst_locustfile.py"),
           "--headless", "--users", str(clients), "--spawn-rate", str(clients),
           "--run-time", f"{seconds}s", "--host", f"http://127.0.0.1:{port}",
           "--csv", str(prefix), "--only-summary", "--stop-timeout", "5",
           "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    with open(f"{prefix}.log", "wb") as log:
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
                              timeout=seconds + 120)
    if done.returncode != 0:
        tail = Path(f"{prefix}.log").read_text(errors="replace").splitlines()[-5:]
        raise RuntimeError("locust failed:\n" + "\n".join(tail))
    rows = {}
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows[row["Name"]] = row
    failures = Counter()
    failures_csv = Path(f"{prefix}_failures.csv")
    if failures_csv.exists():
        with open(failures_csv, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                failures[f"{row['Name']}: {row['Error'][:120]}"] += int(row["Occurrences"])
    return {"rows": rows, "failures": failures}


def summarize(result: dict, seconds: int) -> dict:
    rows = result["rows"]

    def count(name, field="Request Count"):
        return int(rows[name][field]) if name in rows else 0

    complete = rows.get("complete", {})
    done = count("complete") - count("complete", "Failure Count")
    return {
        "completions": done, "per_s": done / seconds,
        "p50": float(complete.get("50%") or 0), "p95": float(complete.get("95%") or 0),
        "max": float(complete.get("Max Response Time") or 0),
        "conflicts": count("complete 409"), "idle": count("idle"),
        "switches": count("switch"),
        "errors": sum(count(n, "Failure Count") for n in rows if n != "Aggregated"),
        "list_p95": float(rows.get("list", {}).get("95%") or 0),
        "failures": result["failures"],
    }


# ---------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL server (databases made and dropped)")
    ap.add_argument("--clients", type=int, nargs="+", default=[20, 50])
    ap.add_argument("--workers", type=int, nargs="+", default=None,
                    help="server worker processes to compare (default: 1 and the cores)")
    ap.add_argument("--seconds", type=int, default=60, help="length of each run (default 60)")
    ap.add_argument("--cases", type=int, default=1000, help="cases in the seed (default 1000)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, CSV)")
    args = ap.parse_args(argv)
    workers = args.workers or sorted({1, os.cpu_count() or 2})

    workdir = Path(tempfile.mkdtemp(prefix="kunflow-burst-"))
    dbs = Databases(workdir, args.pg)
    print(f"kunflow bench/burst.py: {machine()}; {load_average()}", flush=True)
    print(f"  {dbs.kind}; runs of {args.seconds} s, clients {args.clients}, workers {workers}; "
          f"work directory {workdir}", flush=True)
    results: dict[tuple[int, int], dict] = {}
    try:
        people = seed(dbs.seed_url(), workdir, args.cases)
        print(f"  the desks are taken in turn by: {', '.join(people)}", flush=True)
        print(f"  {'workers':>7} {'clients':>7} {'done/s':>7} {'p50':>6} {'p95':>6} {'max':>6} "
              f"{'409':>5} {'errors':>6} {'switch':>6} {'idle':>5} {'list p95':>8}  load average / "
              "server")
        for w in workers:
            for c in args.clients:
                run = f"w{w}c{c}"
                url = dbs.copy(run)
                proc, port, how = start_server(url, w, workdir, workdir / f"{run}-server.log")
                try:
                    result = run_locust(port, c, args.seconds, people, workdir / run)
                finally:
                    stop_server(proc)
                    dbs.drop(url)
                s = results[(w, c)] = summarize(result, args.seconds)
                print(f"  {w:>7} {c:>7} {s['per_s']:7.1f} {s['p50']:6.0f} {s['p95']:6.0f} "
                      f"{s['max']:6.0f} {s['conflicts']:>5} {s['errors']:>6} {s['switches']:>6} "
                      f"{s['idle']:>5} {s['list_p95']:8.0f}  {load_average()} / {how}", flush=True)
                for what, n in s["failures"].most_common(5):
                    print(f"      {n} × {what}")
    finally:
        dbs.close()
        if args.keep:
            print(f"kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    parts = []
    one, many = min(workers), max(workers)
    for c in args.clients:
        base = results.get((one, c))
        top = results.get((many, c))
        if base is None:
            continue
        text = f"{c} clients {base['per_s']:.1f}/s (p95 {base['p95']:.0f} ms) with {one} worker"
        if top is not None and many != one:
            ratio = top["per_s"] / base["per_s"] if base["per_s"] else 0.0
            text += (f", {top['per_s']:.1f}/s (p95 {top['p95']:.0f} ms) with {many}: ratio "
                     f"{ratio:.2f}")
        parts.append(text)
    errors = sum(s["errors"] for s in results.values())
    print(f"burst on {dbs.kind}: " + "; ".join(parts) + f"; errors {errors} (targets: p95 <= "
          f"{TARGET_P95_MS:.0f} ms at 20 clients, ratio >= {TARGET_RATIO})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
