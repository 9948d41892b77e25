"""Background jobs (APScheduler): run by ``kunflow run`` in one process of its own beside the
web workers (``web/scheduler_process.py``: exactly one per node, however many workers serve),
or alone by ``kunflow worker``. One scheduler per process (STYLE.md, habit 6); each says it is
alive every half minute (a ``heartbeat`` row named ``scheduler@<host>:<pid>``).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apscheduler.schedulers.blocking import BlockingScheduler

from engine import CHINA_TZ, SYSTEM, Access, Engine, database_unavailable, utcnow
from workflows.dashboard.projection import refresh_lights

from .wiring import build_access, build_engine

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


TIMER_ROUND = 200  # instances one call of the sweep fires at most
TIMER_BUDGET_SECONDS = 300  # a backlog is worked off in one run, for at most this long


def fire_timers(engine: Engine, budget: float = TIMER_BUDGET_SECONDS) -> int:
    """Advance every instance whose timer is due (boundary, intermediate, event-gateway): in
    rounds of ``TIMER_ROUND`` (each instance its own unit of work) until a round is not full,
    so 10,000 timers due at once are fired in one run instead of 200 every interval. After
    ``budget`` seconds the run stops and the next one goes on (other jobs keep their threads)."""
    started = time.monotonic()
    fired = 0
    while True:
        done = engine.fire_due_timers(limit=TIMER_ROUND)
        fired += done
        if done < TIMER_ROUND or time.monotonic() - started >= budget:
            break
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


# >>> workers: the scheduler's heartbeat (issue 15)
HEARTBEAT_SECONDS = 30
HEARTBEAT_KIND = "scheduler"
HEARTBEAT_KEEP = timedelta(days=7)  # rows of schedulers silent this long are removed at a start


@dataclass(frozen=True)
class SchedulerIdentity:
    """Who beats: ``scheduler@<host>:<pid>`` on host ``node``, running since ``started_at``."""

    node: str
    pid: int
    started_at: datetime = field(default_factory=utcnow)

    @property
    def name(self) -> str:
        return f"{HEARTBEAT_KIND}@{self.node}:{self.pid}"

    @classmethod
    def of_this_process(cls) -> SchedulerIdentity:
        return cls(node=node_name(), pid=os.getpid())


def node_name() -> str:
    """This host's name: the node of the heartbeats its scheduler writes (/readyz)."""
    return socket.gethostname()


def heartbeat(engine: Engine, identity: SchedulerIdentity) -> None:
    """Say that this scheduler is alive (``Engine.beat``)."""
    engine.beat(identity.name, HEARTBEAT_KIND, identity.node, identity.pid, identity.started_at)
# <<< workers


def register_jobs(scheduler, engine: Engine, access: Access | None = None,
                  identity: SchedulerIdentity | None = None,
                  timer_seconds: float = TIMER_SECONDS) -> None:
    """Every job of a kunflow process; each runs once at start, then on its interval.

    The timer job (every ``timer_seconds``) claims due instances (``FOR UPDATE SKIP LOCKED``
    on PostgreSQL, so every node may run it) and advances them; running it at start fires what
    fell due while the service was down. The heartbeat names ``identity`` (this process by
    default).
    """
    _every(scheduler, "heartbeat", heartbeat,
           [engine, identity or SchedulerIdentity.of_this_process()],
           seconds=HEARTBEAT_SECONDS)
    _every(scheduler, "timers", fire_timers, [engine], seconds=timer_seconds)
    _every(scheduler, "housekeeping", housekeeping, [engine, access],
           minutes=HOUSEKEEPING_MINUTES)
    # outbound: every minute; claims with SKIP LOCKED, so every node may run it
    _every(scheduler, "outbound", deliver_notices, [engine], seconds=OUTBOUND_SECONDS)
    _every(scheduler, "reminders", deadline_reminders, [engine], minutes=REMINDER_MINUTES)


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


def run_blocking(engine: Engine, access: Access | None = None,
                 identity: SchedulerIdentity | None = None,
                 timer_seconds: float = TIMER_SECONDS) -> None:
    """Run every job in this thread until SIGTERM or SIGINT (or ``SystemExit``): a job that is
    running then finishes its unit of work first, and the heartbeat row goes."""
    identity = identity or SchedulerIdentity.of_this_process()
    scheduler = BlockingScheduler(timezone=TIMEZONE)
    register_jobs(scheduler, engine, access, identity, timer_seconds)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_signal) if main else None
    try:
        _forget_silent_schedulers(engine)
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        if scheduler.running:
            scheduler.shutdown(wait=True)
        try:
            engine.end_beat(identity.name)
        except Exception:  # the database is gone: the row ages out on its own
            log.warning("heartbeat row %s not removed", identity.name, exc_info=True)


# >>> workers: the scheduler process of a node (issue 15)
def serve(settings: Mapping, parent_pid: int | None = None) -> None:
    """The scheduler process: every job on an engine of its own, until SIGTERM or SIGINT; with
    ``parent_pid`` also when that process is gone (the gunicorn master was killed: a master
    started again starts its own scheduler, and two would run on this node)."""
    engine = build_engine(settings)
    try:
        if parent_pid is not None:
            _watch_parent(parent_pid)
        log.info("scheduler started (process %d, server %s)", os.getpid(), parent_pid or "-")
        run_blocking(engine, build_access(engine, settings),
                     timer_seconds=max(1.0, float(settings.get("TIMER_SECONDS") or TIMER_SECONDS)))
        log.info("scheduler stopped (process %d)", os.getpid())
    finally:
        engine.close()


def _exit_on_signal(signum, _frame) -> None:
    raise SystemExit(0)


def _watch_parent(parent_pid: int, every: float = 1.0) -> None:
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(every)
        log.warning("the server (process %d) is gone: the scheduler stops", parent_pid)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _forget_silent_schedulers(engine: Engine) -> None:
    try:
        engine.purge_heartbeats(utcnow() - HEARTBEAT_KEEP)
    except Exception:  # housekeeping only; the jobs matter more
        log.warning("old heartbeat rows not purged", exc_info=True)
# <<< workers
