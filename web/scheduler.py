"""Background jobs (APScheduler): started by ``kunflow run`` inside the web process, or alone by
``kunflow worker`` on production nodes. One scheduler per process (STYLE.md, habit 6).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine import CHINA_TZ, SYSTEM, Access, Engine, database_unavailable, utcnow
from workflows.dashboard.projection import refresh_lights

log = logging.getLogger("kunflow.scheduler")

HOUSEKEEPING_MINUTES = 10
TIMER_SECONDS = 30
TIMEZONE = CHINA_TZ  # district deadlines and monthly cycles are local time


def housekeeping(engine: Engine, access: Access | None = None) -> dict:
    """Every ten minutes: purge expired tokens, ended and idle sessions and login counts past
    their window, bring the 驾驶舱's project lights up to the time (a task fell due, an agreed
    date passed, with no step), and log the work."""
    tokens = engine.purge_expired_tokens()
    purged = access.purge() if access is not None else {"sessions": 0, "login_attempts": 0}
    lights = refresh_lights(engine, utcnow())
    running = engine.list_instances(SYSTEM, status="running", limit=1).total
    open_tasks = engine.list_tasks(SYSTEM, scope="all", state="open", limit=1).total
    log.info(
        "housekeeping: %d running instances, %d open tasks, %d expired tokens, %d ended or "
        "idle sessions and %d stale login records purged",
        running,
        open_tasks,
        tokens,
        purged["sessions"],
        purged["login_attempts"],
    )
    return {
        "running_instances": running,
        "open_tasks": open_tasks,
        "tokens_purged": tokens,
        "sessions_purged": purged["sessions"],
        "login_records_purged": purged["login_attempts"],
        "project_lights_changed": lights,
    }


def fire_timers(engine: Engine) -> int:
    """Advance every instance whose timer is due (boundary, intermediate, event-gateway)."""
    fired = engine.fire_due_timers()
    if fired:
        log.info("timers: %d instances advanced", fired)
    return fired


# >>> outbound: notices to the district's messaging platform
OUTBOUND_SECONDS = 60


def deliver_notices(engine: Engine) -> dict:
    """Send the notices due for an outbound channel (a no-op while none is configured)."""
    counts = engine.deliver_notices()
    if any(counts.values()):
        log.info("outbound notices: %d sent, %d to retry, %d failed after the last attempt",
                 counts["sent"], counts["retrying"], counts["failed"])
    return counts
# <<< outbound
# >>> inbox: deadline reminders (issue 14)
REMINDER_MINUTES = 10
REMINDER_LIMIT = 500  # reminders a round (one transaction) writes at most
REMINDER_ROUNDS = 20  # a backlog (the first run on a busy database) is worked off in one run


def deadline_reminders(engine: Engine) -> int:
    """Every ten minutes: notices for open tasks due within one working day or past due (each
    once per due time, oldest due first), in rounds of at most 500, each its own transaction,
    until a round is not full (at most ``REMINDER_ROUNDS`` rounds a run)."""
    sent = 0
    for _ in range(REMINDER_ROUNDS):
        written = engine.send_deadline_reminders(limit=REMINDER_LIMIT)
        sent += written
        if written < REMINDER_LIMIT:
            break
    if sent:
        log.info("reminders: %d deadline notices written", sent)
    return sent
# <<< inbox


# >>> obs: this scheduler's heartbeat (/readyz, kunflow_scheduler_heartbeat_age_seconds)
HEARTBEAT_SECONDS = 30


def node_name() -> str:
    """This host's name: the node of the heartbeats its scheduler writes."""
    return socket.gethostname()


def heartbeat_job(engine: Engine) -> Callable[[], None]:
    """The job that tells the database this node's scheduler runs: one row per node
    (``scheduler@<host>``), rewritten every ``HEARTBEAT_SECONDS``."""
    node, started_at = node_name(), utcnow()

    def heartbeat() -> None:
        engine.beat(f"scheduler@{node}", "scheduler", node, os.getpid(), started_at)

    return heartbeat
# <<< obs


def register_jobs(scheduler, engine: Engine, access: Access | None = None) -> None:
    """Every job of a kunflow process; each runs once at start, then on its interval.

    The timer job claims due instances (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so every node
    may run it) and advances them; running it at start fires what fell due while the service
    was down.
    """
    _every(scheduler, "timers", fire_timers, [engine], seconds=TIMER_SECONDS)
    _every(scheduler, "housekeeping", housekeeping, [engine, access],
           minutes=HOUSEKEEPING_MINUTES)
    # outbound: every minute; claims with SKIP LOCKED, so every node may run it
    _every(scheduler, "outbound", deliver_notices, [engine], seconds=OUTBOUND_SECONDS)
    _every(scheduler, "reminders", deadline_reminders, [engine], minutes=REMINDER_MINUTES)
    # obs: the heartbeat /readyz and the metrics read, every 30 s
    _every(scheduler, "heartbeat", heartbeat_job(engine), [], seconds=HEARTBEAT_SECONDS)


def _every(scheduler, name: str, job: Callable, args: list, **interval) -> None:
    """Run ``job(*args)`` now and then every ``interval``; one run at a time, missed runs
    coalesced into one."""
    scheduler.add_job(
        _logged(job),
        "interval",
        **interval,
        next_run_time=datetime.now(TIMEZONE),
        args=args,
        id=name,
        name=name,
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )


def _logged(job: Callable) -> Callable:
    def run(*args, **kwargs):
        try:
            result = job(*args, **kwargs)
        except Exception as exc:  # a failing run must not kill the scheduler; the next one retries
            cause = database_unavailable(exc)
            if cause is not None:  # an outage, not a bug: one line per run while it lasts
                log.error("job %s skipped, database unavailable: %s", job.__name__, cause)
            else:
                log.exception("job %s failed", job.__name__)
            _job_ran(job.__name__, ok=False)
            return None
        _job_ran(job.__name__, ok=True)
        return result

    run.__name__ = job.__name__
    return run


def _job_ran(name: str, ok: bool) -> None:
    # obs: imported at run time, in the process that runs the job: prometheus_client must not
    # be loaded by gunicorn's master before it has set the multiprocess directory.
    from .observability.metrics import job_ran

    job_ran(name, ok)


def start_background(engine: Engine, access: Access | None = None) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=TIMEZONE)
    register_jobs(scheduler, engine, access)
    scheduler.start()
    return scheduler


def run_blocking(engine: Engine, access: Access | None = None) -> None:
    scheduler = BlockingScheduler(timezone=TIMEZONE)
    register_jobs(scheduler, engine, access)
    scheduler.start()
