"""Limits of diagram code and their enforcement: ``ScriptLimits``, the process's resident
memory, the ``Budget`` of one instance in one command (time and memory), and the refusals that
the guards and the compiler raise through it (sticky: a later check raises them again)."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from .errors import ScriptMemoryExceeded, ScriptRejected, ScriptTimeout, ScriptViolation


@dataclass(frozen=True)
class ScriptLimits:
    """Limits of diagram code (``SCRIPT_TIME_LIMIT`` seconds, ``SCRIPT_MEMORY_MB``)."""

    seconds: float = 2.0
    memory_mb: int = 256

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_mb) * 1024 * 1024


DEFAULT_LIMITS = ScriptLimits()

# Integers beyond this many bits are refused as operands/results of *, **, <<, //, % and pow:
# CPython multiplies and divides such numbers in super-linear time, inside one C call.
MAX_INT_BITS = 1 << 17
BIG_ALLOCATION = 1 << 20  # estimated allocations above this compare the resident memory
_MEMORY_EVERY = 1024  # checks between two looks at the resident memory

# ---------------------------------------------------------------------------- resident memory

_statm: list = [None, -1]  # [pid, fd]: one descriptor per process, read with pread
_statm_lock = threading.Lock()


def resident_bytes() -> int:
    """The process's resident memory in bytes (/proc/self/statm; else the peak from getrusage)."""
    pid, fd = _statm
    if pid != os.getpid():
        with _statm_lock:
            if _statm[0] != os.getpid():
                if _statm[1] >= 0:  # the parent's, inherited by a fork
                    try:
                        os.close(_statm[1])
                    except OSError:
                        pass
                try:
                    new_fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    new_fd = -1
                _statm[:] = [os.getpid(), new_fd]  # a forked child reads its own file
            pid, fd = _statm
    if fd >= 0:
        try:
            return int(os.pread(fd, 128, 0).split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


try:
    _PAGE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
    _PAGE = 4096

# ---------------------------------------------------------------------------- the budget

_BUDGET: ContextVar[Budget | None] = ContextVar("kunflow_script_budget", default=None)


class Budget:
    """Time and memory of diagram code for one instance in one command.

    ``running()`` marks the stretches that count (diagram code and engine steps); time spent
    elsewhere (database work between them) does not. The first violation is kept and raised
    again by every later check.
    """

    __slots__ = ("limits", "used", "depth", "start", "deadline", "ticks", "rss_base",
                 "violation")

    def __init__(self, limits: ScriptLimits = DEFAULT_LIMITS):
        self.limits = limits
        self.used = 0.0
        self.depth = 0
        self.start = 0.0
        self.deadline = float("inf")
        self.ticks = 0
        self.rss_base = 0
        self.violation: ScriptViolation | None = None

    @contextmanager
    def running(self):
        token = _BUDGET.set(self)
        self.depth += 1
        if self.depth == 1:
            self.start = time.monotonic()
            self.deadline = self.start + (self.limits.seconds - self.used)
            if self.violation is not None:
                self.deadline = float("-inf")
            self.rss_base = resident_bytes()
        try:
            yield self
        finally:
            self.depth -= 1
            if self.depth == 0:
                self.used += time.monotonic() - self.start
                self.deadline = float("inf")
            _BUDGET.reset(token)

    def tick(self) -> bool:
        """The check compiled into loops, functions and comprehensions."""
        if time.monotonic() > self.deadline:
            self._out_of_time()
        self.ticks += 1
        if not self.ticks % _MEMORY_EVERY:
            self.check_memory(0)
        return True

    def step(self, task=None) -> None:
        """Before each engine step: the same clock bounds a run that loops without diagram
        code doing much (a gateway that leads back to a script task forever)."""
        if time.monotonic() > self.deadline:
            self._out_of_time(task)
        self.ticks += 1
        if not self.ticks % 64:
            self.check_memory(0, task)

    def check(self) -> None:
        """Raise the violation diagram code (or a library) may have swallowed."""
        if self.violation is not None:
            raise self.violation

    def check_memory(self, extra: int, task=None) -> None:
        limit = self.limits.memory_bytes
        if extra > limit:
            self.fail(ScriptMemoryExceeded(_memory_text(limit)), task)
        if self.depth and resident_bytes() + extra - self.rss_base > limit:
            self.fail(ScriptMemoryExceeded(_memory_text(limit)), task)

    def fail(self, violation: ScriptViolation, task=None):
        if self.violation is None:
            if task is not None and violation.task is None:
                violation.task = task
            self.violation = violation
            self.deadline = float("-inf")  # every later check raises it again
        raise self.violation

    def _out_of_time(self, task=None):
        if self.violation is not None:
            raise self.violation
        seconds = f"{self.limits.seconds:g}"
        self.fail(ScriptTimeout(f"运行超过 {seconds} 秒的时间限制，已停止"), task)


def _memory_text(limit: int) -> str:
    return f"占用内存超过 {limit // (1024 * 1024)} MB 的限制，已停止"


def current_budget() -> Budget | None:
    """The budget of the evaluation in progress, None outside one."""
    return _BUDGET.get()


def step(task=None) -> None:
    """``will_complete_task`` hook for ``do_engine_steps``: the budget in force checks its
    clock before each engine step."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.step(task)


@contextmanager
def evaluation(limits: ScriptLimits = DEFAULT_LIMITS):
    """The budget in force (the command's), or a new one for a lone evaluation."""
    budget = _BUDGET.get()
    if budget is None:
        budget = Budget(limits)
    with budget.running():
        budget.tick()
        yield budget
    budget.check()


def check_allocation(nbytes: int) -> None:
    """Refuse an allocation estimated at ``nbytes`` beyond the memory limit."""
    if nbytes <= BIG_ALLOCATION:
        return
    budget = _BUDGET.get()
    if budget is None:
        if nbytes > DEFAULT_LIMITS.memory_bytes:
            raise ScriptMemoryExceeded(_memory_text(DEFAULT_LIMITS.memory_bytes))
        return
    budget.check_memory(nbytes)


def tick() -> None:
    """The limit check of the budget in force (none outside an evaluation)."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def reject(detail: str):
    """Stop diagram code that did what it may not (``ScriptRejected``, sticky)."""
    budget = _BUDGET.get()
    violation = ScriptRejected(detail)
    if budget is not None:
        budget.fail(violation)
    raise violation


def refuse_big_number():
    """Stop diagram code at an integer beyond ``MAX_INT_BITS`` (sticky)."""
    violation = ScriptMemoryExceeded(f"数值超过 {MAX_INT_BITS} 位，已停止")
    budget = _BUDGET.get()
    if budget is not None:
        budget.fail(violation)
    raise violation


def char_size(value) -> int:
    """Bytes per character of ``value`` in an allocation estimate (1 for bytes and ASCII)."""
    return 1 if isinstance(value, bytes) or (isinstance(value, str) and value.isascii()) else 4
