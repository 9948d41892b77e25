"""``/readyz``: may a load balancer send this node work? Two checks:

- the database answers ``SELECT 1`` within ``DATABASE_TIMEOUT`` seconds (run in a helper
  thread, so a database that does not answer at all — a dropped network, a host that is gone —
  costs the check two seconds, not the TCP timeout; while one such probe still hangs, the next
  check fails at once instead of stacking threads);
- a scheduler wrote its heartbeat within ``HEARTBEAT_FRESH``: this node's scheduler when the
  node runs one (``SCHEDULER=1``), else any node's (timers fire somewhere).

The answer names which check failed (machine-readable codes, Chinese messages) and nothing
else: no host names, no database address, no error text.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from engine import Engine, utcnow

log = logging.getLogger("kunflow.health")

DATABASE_TIMEOUT = 2.0  # seconds
HEARTBEAT_FRESH = timedelta(minutes=2)  # four missed beats of a 30-second heartbeat


class DatabaseProbe:
    """``SELECT 1`` with a time limit; at most one probe in flight per app."""

    def __init__(self, engine: Engine, timeout: float = DATABASE_TIMEOUT):
        self.engine = engine
        self.timeout = timeout
        self._lock = threading.Lock()
        self._pending: threading.Event | None = None

    def check(self) -> str | None:
        """None when the database answered; else ``database_timeout`` or
        ``database_unreachable``."""
        outcome: dict = {}
        with self._lock:
            if self._pending is not None and not self._pending.is_set():
                return "database_timeout"  # the previous probe still waits for an answer
            done = self._pending = threading.Event()

        def probe() -> None:
            try:
                self.engine.ping()
            except Exception as exc:
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=probe, name="kunflow-readyz", daemon=True).start()
        if not done.wait(self.timeout):
            log.warning("readyz: the database did not answer within %.1f s", self.timeout)
            return "database_timeout"
        if "error" in outcome:
            log.warning("readyz: database unreachable (%s)", type(outcome["error"]).__name__)
            return "database_unreachable"
        return None


MESSAGES = {
    "database_timeout": "数据库未在 {seconds:g} 秒内响应",
    "database_unreachable": "无法连接数据库",
    "heartbeat_missing": "未找到调度器心跳（调度器未运行）",
    "heartbeat_stale": "调度器心跳已超过 {limit} 秒未更新（调度器可能已停止或卡住）",
    "database_required": "数据库不可用，无法检查调度器",
}


def readiness(engine: Engine, probe: DatabaseProbe, *, node: str, runs_scheduler: bool
              ) -> tuple[bool, dict]:
    """(ready, the body of ``/readyz``)."""
    limit = int(HEARTBEAT_FRESH.total_seconds())
    checks: dict[str, dict] = {}
    problem = probe.check()
    checks["database"] = _result(problem, seconds=probe.timeout)
    scope = "this_node" if runs_scheduler else "any_node"
    if problem is not None:
        checks["scheduler"] = {"ok": False, "scope": scope,
                               **_result("database_required")}
    else:
        checks["scheduler"] = {"scope": scope, **_scheduler(engine, node, runs_scheduler, limit)}
    failed = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "ready" if not failed else "not_ready", "checks": checks}
    if failed:
        body["failed"] = failed
        body["message"] = "；".join(checks[name]["message"] for name in failed)
    return not failed, body


def _scheduler(engine: Engine, node: str, runs_scheduler: bool, limit: int) -> dict:
    try:
        beats = engine.heartbeats(kind="scheduler")
    except Exception as exc:
        log.warning("readyz: heartbeats unreadable (%s)", type(exc).__name__)
        return _result("database_unreachable")
    if runs_scheduler:
        beats = [b for b in beats if b["node"] == node]
    if not beats:
        return _result("heartbeat_missing")
    age = max(0.0, (utcnow() - max(b["beat_at"] for b in beats)).total_seconds())
    result = _result("heartbeat_stale" if age > limit else None, limit=limit)
    result["age_seconds"] = round(age, 1)
    return result


def _result(code: str | None, **values) -> dict:
    if code is None:
        return {"ok": True}
    return {"ok": False, "code": code, "message": MESSAGES[code].format(**values)}
