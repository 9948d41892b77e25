"""The engine's clock."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC; read through ``datetime.now`` so that frozen clocks in tests apply."""
    return datetime.now(UTC).replace(tzinfo=None)
