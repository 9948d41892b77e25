"""Background jobs (APScheduler): started by ``kunflow run`` inside the web process, or alone by
``kunflow worker`` on production nodes. One scheduler per process (STYLE.md, habit 6).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine import SYSTEM, Engine

log = logging.getLogger("kunflow.scheduler")

HOUSEKEEPING_MINUTES = 10
TIMER_SECONDS = 30
TIMEZONE = ZoneInfo("Asia/Shanghai")  # district deadlines and monthly cycles are local time


def housekeeping(engine: Engine, login_throttle=None) -> dict:
    """Every ten minutes: forget stale login failures, purge expired tokens, log the work."""
    dropped = login_throttle.prune() if login_throttle is not None else 0
    tokens = engine.purge_expired_tokens()
    running = engine.list_instances(SYSTEM, status="running", limit=1).total
    open_tasks = engine.list_tasks(SYSTEM, scope="all", state="open", limit=1).total
    log.info(
        "housekeeping: %d running instances, %d open tasks, %d stale login records dropped, "
        "%d expired tokens purged",
        running,
        open_tasks,
        dropped,
        tokens,
    )
    return {
        "running_instances": running,
        "open_tasks": open_tasks,
        "login_records_dropped": dropped,
        "tokens_purged": tokens,
    }


def fire_timers(engine: Engine) -> int:
    """Advance every instance whose timer is due (boundary, intermediate, event-gateway)."""
    fired = engine.fire_due_timers()
    if fired:
        log.info("timers: %d instances advanced", fired)
    return fired


def register_jobs(scheduler, engine: Engine, login_throttle=None) -> None:
    """Every job of a kunflow process; each runs once at start, then on its interval.

    The timer job claims due instances (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so every node
    may run it) and advances them; running it at start fires what fell due while the service
    was down.
    """
    scheduler.add_job(
        _logged(fire_timers),
        "interval",
        seconds=TIMER_SECONDS,
        next_run_time=datetime.now(TIMEZONE),
        args=[engine],
        id="timers",
        name="timers",
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    scheduler.add_job(
        _logged(housekeeping),
        "interval",
        minutes=HOUSEKEEPING_MINUTES,
        next_run_time=datetime.now(TIMEZONE),
        args=[engine, login_throttle],
        id="housekeeping",
        name="housekeeping",
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )


def _logged(job: Callable) -> Callable:
    def run(*args, **kwargs):
        try:
            return job(*args, **kwargs)
        except Exception:  # a failing run must not kill the scheduler; the next one retries
            log.exception("job %s failed", job.__name__)
            return None

    run.__name__ = job.__name__
    return run


def start_background(engine: Engine, login_throttle=None) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=TIMEZONE)
    register_jobs(scheduler, engine, login_throttle)
    scheduler.start()
    return scheduler


def run_blocking(engine: Engine) -> None:
    scheduler = BlockingScheduler(timezone=TIMEZONE)
    register_jobs(scheduler, engine)
    scheduler.start()
