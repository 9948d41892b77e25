"""The master's watch over the scheduler process (``web/scheduler_process.py``): a scheduler that
ends is started again, at once after a long run, after a pause that doubles while it keeps
dying at start; stopped, it is not started again. The settings reach it on standard input.
A short Python command stands in for the scheduler; the clock is the test's."""

from __future__ import annotations

import json
import sys

import pytest

from web import scheduler_process
from web.scheduler_process import MAX_PAUSE, SchedulerProcess
from web.server import worker_count


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(scheduler_process.time, "monotonic", c)
    return c


def test_a_scheduler_that_keeps_dying_is_started_again_after_growing_pauses(clock, tmp_path):
    out = tmp_path / "settings.json"
    echo = f"import sys; open({str(out)!r}, 'w').write(sys.stdin.read())"
    proc = SchedulerProcess({"DATABASE_URL": "sqlite://", "SECRET_KEY": "s"},
                            command=[sys.executable, "-c", echo])
    proc.start()
    proc.proc.wait(30)
    assert json.loads(out.read_text()) == {"DATABASE_URL": "sqlite://", "SECRET_KEY": "s"}

    pauses = []
    for _ in range(8):
        clock.now += 5  # it ran for five seconds, then ended
        proc.proc.wait(30)
        proc.check()
        assert proc.starts == len(pauses) + 1  # not yet: it waits for the pause
        pauses.append(proc.restart_at - clock.now)
        clock.now = proc.restart_at
        proc.check()
        assert proc.starts == len(pauses) + 1
    assert pauses[:3] == [1.0, 2.0, 4.0] and pauses[-1] == MAX_PAUSE

    clock.now += 3600  # a long run: started again at once, the pause back to the first
    proc.proc.wait(30)
    proc.check()
    assert proc.starts == len(pauses) + 2 and proc.pause == 1.0
    proc.stop()
    clock.now += 3600
    proc.check()
    assert proc.starts == len(pauses) + 2  # stopped on purpose: stays stopped


def test_workers_default_to_one_per_core(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert worker_count({"WORKERS": 0}) == 6
    assert worker_count({}) == 6
    assert worker_count({"WORKERS": 3}) == 3
