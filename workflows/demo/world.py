"""The demo's world: the engine as the district's users act on it, with the clock under the
demo's control (time-machine), and the simulation that runs the cases side by side on one
timeline (see ``workflows.demo``)."""

from __future__ import annotations

import heapq
import io
import random
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from engine import (
    CHINA_TZ,
    CaseFiles,
    Engine,
    InvalidInput,
    TaskInfo,
    calendar_service,
    to_local,
    utcnow,
)

TODAY = datetime(2026, 11, 28, 10, 0)  # the demo's "now", China time


class DemoError(RuntimeError):
    """The demo could not drive a case as planned (a task it expected is not open)."""


def china(moment: datetime) -> datetime:
    """Naive UTC (the engine's clock) as China wall time."""
    return to_local(moment).replace(tzinfo=None)


def utc(local: datetime) -> datetime:
    """China wall time as the engine's naive UTC."""
    return local.replace(tzinfo=CHINA_TZ).astimezone(UTC).replace(tzinfo=None)

@dataclass(frozen=True)
class Upload:
    """A file a step attaches as evidence (named; made and uploaded when the step is done)."""

    name: str


def _photo(n: int) -> bytes:
    """A small PNG (a flat colour that varies with ``n``) standing in for a site photo."""
    width, height = 64, 48
    colour = bytes(((60 + 37 * n) % 200 + 30, (90 + 53 * n) % 200 + 30, (120 + 71 * n) % 200 + 30))
    raw = b"".join(b"\x00" + colour * width for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


class World:
    """The engine as the district's users act on it, with the clock under the demo's control."""

    def __init__(self, engine: Engine, traveller, seed: int, files: CaseFiles | None = None):
        self.engine = engine
        self.files = files
        self.traveller = traveller
        self.seed = seed
        self.admin = engine.get_user("admin").actor()
        self.calendar = calendar_service(engine).current()
        self._actors: dict = {}
        self.commands = 0
        self.attachments = 0

    # -- time

    def now(self) -> datetime:
        return utcnow()

    def move_to(self, moment: datetime) -> None:
        if moment > self.now():
            self.traveller.move_to(moment.replace(tzinfo=UTC))

    def today(self) -> date:
        return china(self.now()).date()

    def office(self, day: date, rng: random.Random, earliest: int = 8 * 60 + 40) -> datetime:
        """A moment in office hours (08:40–17:20 China time) of ``day``, as naive UTC."""
        minute = rng.randint(earliest, 17 * 60 + 20) if earliest < 17 * 60 + 20 else earliest
        return utc(datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute))

    def workdays(self, n: float, rng: random.Random) -> datetime:
        """About ``n`` working days from now, in office hours; below 1, later the same working
        day when there is time left, else the next working day's morning."""
        local = china(self.now())
        if n < 1:
            later = local + timedelta(minutes=rng.randint(30, 180))
            if self.calendar.is_workday(local.date()) and later.hour < 17:
                return utc(later)
            return self.office(self.calendar.add_working_days(local.date(), 1), rng)
        return self.office(self.calendar.add_working_days(local.date(), int(n)), rng)

    def office_after(self, moment: datetime) -> datetime:
        """``moment`` when it falls in office hours of a working day, else the start of the
        next office hours (08:45–09:15 China time)."""
        local = china(moment)
        minutes = local.hour * 60 + local.minute
        if self.calendar.is_workday(local.date()) and 8 * 60 + 40 <= minutes <= 17 * 60 + 20:
            return moment
        day = local.date()
        if not (self.calendar.is_workday(day) and minutes < 8 * 60 + 40):
            day = self.calendar.add_working_days(day, 1)
        return utc(datetime.combine(day, datetime.min.time())
                   + timedelta(minutes=8 * 60 + 45 + local.minute % 30))

    def on(self, day: date, rng: random.Random) -> datetime:
        """Office hours of ``day`` or, when it is not a working day, of the next one."""
        return self.office(self.calendar.add_working_days(day, 0), rng)

    def first_of_next_month(self, hour: int = 9) -> datetime:
        local = china(self.now())
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        return utc(datetime(year, month, 1, hour))

    # -- people

    def actor(self, username: str):
        found = self._actors.get(username)
        if found is None:
            found = self._actors[username] = self.engine.get_user(username).actor()
        return found

    @staticmethod
    def user_for(t: TaskInfo) -> str:
        return f"{t.department_code}-{'head' if t.candidate_role == 'head' else 'clerk'}"

    # -- commands

    def start(self, process_key: str, username: str, key: str, title: str,
              data: dict | None = None) -> int:
        self.commands += 1
        return self.engine.start(process_key, self.actor(username), business_key=key,
                                 title=title, data=data).id

    def open_tasks(self, iid: int) -> list[TaskInfo]:
        """The case's open tasks in an order that does not depend on their (random) ids, so
        that the same seed makes the same choices."""
        return sorted(self.engine.get_instance(iid, self.admin).tasks, key=task_order)

    def find(self, iid: int, element_id: str, department: str | None = None) -> TaskInfo | None:
        for t in self.open_tasks(iid):
            if t.element_id == element_id and department in (None, t.department_code):
                return t
        return None

    def is_open(self, iid: int, element_id: str) -> bool:
        return self.find(iid, element_id) is not None

    def status(self, iid: int) -> str:
        return self.engine.get_instance(iid, self.admin).status

    def data(self, iid: int) -> dict:
        return self.engine.get_instance(iid, self.admin, with_data=True).data or {}

    def task_data(self, iid: int, element_id: str) -> dict:
        """The data the open task of ``element_id`` shows its form (DemoError when not open)."""
        t = self.find(iid, element_id)
        if t is None:
            raise DemoError(f"实例 #{iid} 的 {element_id} 未打开（状态 {self.status(iid)}）")
        return self.engine.get_task(t.id, self.admin).data or {}

    def claim(self, t: TaskInfo, username: str | None = None) -> None:
        username = username or self.user_for(t)
        if t.assignee is None:
            self.commands += 1
            self.engine.claim(t.id, self.actor(username))

    def complete(self, t: TaskInfo, data: dict, username: str | None = None,
                 claim: bool = True) -> None:
        """Complete ``t`` as ``username`` (its holder, else its department's clerk or head),
        claiming it first as the task page does, unless ``claim`` is False: the API lets a
        member complete an unclaimed task of the department in one command."""
        username = username or t.assignee or self.user_for(t)
        if claim:
            self.claim(t, username)
        data = self._uploads(t, username, data)
        self.commands += 1
        try:
            self.engine.complete(t.id, self.actor(username), data)
        except InvalidInput as exc:
            raise DemoError(f"{t.element_id}（{t.process_key} #{t.instance_id}）：{exc.message} "
                            f"{exc.details}") from None

    def do(self, iid: int, element_id: str, data: dict, department: str | None = None) -> TaskInfo:
        """Complete the open task of ``element_id`` as its department's clerk (or head)."""
        t = self.find(iid, element_id, department)
        if t is None:
            opened = sorted(x.element_id for x in self.open_tasks(iid))
            raise DemoError(f"实例 #{iid} 的 {element_id} 未打开（打开的：{opened}，"
                            f"状态 {self.status(iid)}）")
        self.complete(t, data)
        return t

    def each(self, iid: int, element_id: str, data_for: Callable[[TaskInfo], dict],
             limit: int | None = None) -> int:
        """Complete the open instances of a multi-instance task (up to ``limit``)."""
        done = 0
        for t in [x for x in self.open_tasks(iid) if x.element_id == element_id]:
            if limit is not None and done >= limit:
                break
            self.complete(t, data_for(t))
            done += 1
        return done

    def attach(self, *names: str) -> list[Upload]:
        """Evidence for a form's file field: uploaded to the task when it is completed."""
        return [Upload(name) for name in names]

    def _uploads(self, t: TaskInfo, username: str, data: dict) -> dict:
        """The data with each Upload replaced by the id of a file attached to the task (with
        CaseFiles), or by a named id when the demo runs without a file store."""
        result = {}
        for key, value in data.items():
            if isinstance(value, list) and value and all(isinstance(v, Upload) for v in value):
                value = [self._upload(t, username, key, v.name) for v in value]
            result[key] = value
        return result

    def _upload(self, t: TaskInfo, username: str, field_key: str, name: str) -> str:
        self.attachments += 1
        if self.files is None:
            return f"demo-{self.attachments:05d}-{name}"
        stem, _, ext = name.rpartition(".")
        if ext in ("jpg", "jpeg", "png"):
            filename, content_type, content = f"{stem}.png", "image/png", _photo(self.attachments)
        else:
            filename, content_type = f"{stem}（演示）.txt", "text/plain; charset=utf-8"
            content = (f"昆都仑区工作流平台 · 演示附件\n文件：{stem}\n环节：{t.name}\n"
                       f"案件：{t.business_key or ''} {t.title or ''}\n"
                       f"上传：{china(self.now()):%Y-%m-%d %H:%M}\n"
                       "（演示数据，由 kunflow demo 生成，并非真实文件）\n").encode()
        self.commands += 1
        return self.files.add_attachment(
            self.actor(username), filename=filename, content_type=content_type,
            stream=io.BytesIO(content), task_id=t.id, field=field_key).id

    def correlate(self, name: str, key: str, payload: dict, username: str) -> dict:
        self.commands += 1
        return self.engine.correlate_message(name, key, payload, actor=self.actor(username))

    # -- timers

    def advance(self, until: datetime) -> None:
        """Move the clock to ``until``, firing every timer that falls due on the way at its
        due time (as the scheduler would have done)."""
        for _ in range(100_000):
            due = self.engine.next_timer_due()
            if due is None or due > until:
                break
            self.move_to(due + timedelta(seconds=1))
            self.commands += self.engine.fire_due_timers()
        else:
            raise DemoError("定时器未能推进（同一时刻反复到期）")
        self.move_to(until)


def task_order(t: TaskInfo) -> tuple:
    return (t.created_at, t.instance_id, t.element_id, t.department_code or "", t.name or "")


class Simulation:
    """Cases side by side on one timeline (see the module docstring)."""

    def __init__(self, world: World, end: datetime,
                 progress: Callable[[datetime], None] | None = None):
        self.world, self.end, self.progress = world, end, progress
        self._heap: list = []
        self._seq = 0

    def spawn(self, when: datetime, case: Iterator[datetime]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, case))

    def run(self) -> None:
        while self._heap:
            when, _, case = heapq.heappop(self._heap)
            if when > self.end:
                continue  # what a case would do after "today" does not happen
            self.world.advance(when)
            if self.progress:
                self.progress(self.world.now())
            try:
                wake = next(case)
            except StopIteration:
                continue
            self.spawn(max(wake, self.world.now() + timedelta(seconds=1)), case)
        self.world.advance(self.end)
        if self.progress:
            self.progress(self.end)

def doc_no(prefix: str, w: World, rng: random.Random) -> str:
    """A document number of this year: ``prefix〔2026〕42号``."""
    return f"{prefix}〔{china(w.now()).year}〕{rng.randint(3, 180)}号"


def iso_day(moment: datetime) -> str:
    """The China date of ``moment`` (naive UTC), ``YYYY-MM-DD``."""
    return china(moment).date().isoformat()
