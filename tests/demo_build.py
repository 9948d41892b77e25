"""The demo (seed 2026) that several test files read, made once per test run.

``kunflow demo`` takes ~50 s of a core. Under pytest-xdist the controller starts it in the
background as the run begins (``start_in_background``, from tests/conftest.py), in the run's
shared temporary directory; a worker that needs it waits for it there (``built``) and takes
its own copy. Without the controller's head start (one process, or a run that needs no demo
at first sight), the first process to need it builds it under the same file lock.

    python -m tests.demo_build DIR      # build into DIR (what the background process runs)
"""

from __future__ import annotations

import fcntl
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = "2026"
# The files whose tests read the demo: a run that may collect one of them starts it early.
READERS = ("tests/api/test_demo_pages.py", "tests/workflows/test_dashboard_forecast.py",
           "tests/workflows/test_demo.py", "tests/workflows/test_inbox_sources.py")


def demo_env(root: Path) -> dict:
    return {"KUNFLOW_DATABASE_URL": f"sqlite:///{root / 'kunflow.db'}",
            "KUNFLOW_SECRET_KEY": "demo-test", "KUNFLOW_DEMO": "1",
            "KUNFLOW_ATTACHMENT_DIR": str(root / "attachments")}


def built(shared: Path) -> tuple[Path, str]:
    """(the directory of the demo built under ``shared``, the command's output): built now
    unless it is there, waiting for whoever is building it."""
    target = shared / f"demo-{SEED}"
    with open(shared / f"demo-{SEED}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = target / "output.txt"
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            done.write_text(_load(target), encoding="utf-8")
    return target, done.read_text(encoding="utf-8")


def copy(source: Path, root: Path) -> None:
    """A private copy of the demo in ``source`` at ``root`` (database and attachments)."""
    src = sqlite3.connect(source / "kunflow.db")
    dst = sqlite3.connect(root / "kunflow.db")
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    if (source / "attachments").exists():
        shutil.copytree(source / "attachments", root / "attachments")


def _load(root: Path) -> str:
    from click.testing import CliRunner

    from web.cli import main

    result = CliRunner().invoke(main, ["demo", "--seed", SEED], env=demo_env(root),
                                catch_exceptions=False)
    if result.exit_code != 0:
        raise RuntimeError(f"kunflow demo failed:\n{result.output}")
    return result.output


def wanted(args: list[str], rootdir: Path) -> bool:
    """Whether a run with these command-line paths may collect a test that reads the demo."""
    paths = [a.split("::")[0] for a in args if not a.startswith("-")] or ["tests"]
    for arg in paths:
        p = Path(arg)
        p = (p if p.is_absolute() else rootdir / p).resolve()
        for reader in READERS:
            r = (ROOT / reader).resolve()
            if r == p or p in r.parents:
                return True
    return False


def start_in_background(shared: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.demo_build", str(shared)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    built(Path(sys.argv[1]))
