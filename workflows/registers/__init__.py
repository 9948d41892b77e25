"""Registers (名录) of mines, 选矿厂, 尾矿库 and enterprises (issue 12): tables, operations with
Chinese validation, Excel import, the processes an entry may start. See docs/registers.md."""

from __future__ import annotations

from . import tables  # noqa: F401  (the tables join workflows.schema.metadata)
