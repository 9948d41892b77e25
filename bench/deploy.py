#!/usr/bin/env python
"""Validate + deploy of bpmn/mine_approval.bpmn with its DMN and form files (issue 11: < 1 s).

    .venv/bin/python bench/deploy.py               # 20 rounds on SQLite
    .venv/bin/python bench/deploy.py --rounds 50

Each round changes a comment in the diagram, so every deploy creates a new version (an
unchanged file creates nothing and would not be a deploy). Per round, timed separately:

- validate: ``Engine.validate_model`` (the model check and the engine's parse, as the modeler's
  校验 button and the admin API run it);
- deploy: ``Engine.deploy`` (which runs the same check first, then stores the version).

Fresh SQLite file (migrated, org chart seeded), one warm-up round not counted. Prints mean,
median and max in ms, and ``validate+deploy mean=<ms>`` last.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine import SYSTEM, Engine  # noqa: E402
from web.provision import library_files  # noqa: E402
from workflows.org import load_org  # noqa: E402


def _files() -> tuple[Path, bytes, dict[str, bytes]]:
    for path, extra in library_files(ROOT / "bpmn"):
        if path.stem == "mine_approval":
            return path, path.read_bytes(), extra
    raise SystemExit("bpmn/mine_approval.bpmn not found")


def _variant(bpmn: bytes, n: int) -> bytes:
    """The diagram with a comment that differs per round (a new checksum, a new version)."""
    head, sep, rest = bpmn.partition(b"?>")
    return head + sep + f"\n<!-- bench round {n} -->".encode() + rest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    path, bpmn, files = _files()
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(f"sqlite:///{tmp}/bench.db")
        engine.migrate()
        departments, users = load_org(ROOT / "config" / "org.yaml")
        engine.sync_org(departments, users)
        validate_ms, deploy_ms = [], []
        for n in range(args.rounds + 1):
            xml = _variant(bpmn, n)
            t0 = time.perf_counter()
            report = engine.validate_model(path.name, xml, files, actor=SYSTEM)
            t1 = time.perf_counter()
            result = engine.deploy(path.name, xml, files, actor=SYSTEM)
            t2 = time.perf_counter()
            assert not report.errors, report.errors
            assert result.created and result.definition.version == n + 1
            if n:  # round 0 warms up
                validate_ms.append((t1 - t0) * 1000)
                deploy_ms.append((t2 - t1) * 1000)
        engine.close()
    total = [v + d for v, d in zip(validate_ms, deploy_ms, strict=True)]
    print(f"mine_approval.bpmn + {len(files)} files, {args.rounds} rounds, SQLite")
    for label, values in (("validate", validate_ms), ("deploy", deploy_ms),
                          ("validate+deploy", total)):
        print(f"  {label:16} mean {statistics.mean(values):7.1f} ms   median "
              f"{statistics.median(values):7.1f} ms   max {max(values):7.1f} ms")
    print(f"validate+deploy mean={statistics.mean(total):.1f}ms")


if __name__ == "__main__":
    main()
