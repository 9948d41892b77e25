"""Settings: defaults overridden by ``KUNFLOW_*`` environment variables (then by a test dict)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"

DEFAULTS = {
    "DATABASE_URL": f"sqlite:///{VAR / 'kunflow.db'}",
    "SECRET_KEY": None,  # generated into var/secret_key on first use when not set
    "HOST": "127.0.0.1",
    "PORT": 5000,
    "DEMO": True,  # demo users with the password "demo" are refused unless demo mode is on
    "ORG_FILE": str(ROOT / "config" / "org.yaml"),
    "BPMN_DIR": str(ROOT / "bpmn"),
    "TOKEN_TTL_HOURS": 12,
    "SCHEDULER": True,
    "LIVE_CACHE_SIZE": 2000,
    "ATTACHMENT_DIR": str(VAR / "attachments"),
    "ATTACHMENT_MAX_MB": 15,
    # Diagram code (scripts, conditions, timer/assignee/deadline expressions) of one instance
    # in one command: seconds of run time and MB of memory growth (docs/scripting.md).
    "SCRIPT_TIME_LIMIT": 2.0,
    "SCRIPT_MEMORY_MB": 256,
}

_BOOL = {"1": True, "true": True, "yes": True, "on": True,
         "0": False, "false": False, "no": False, "off": False}


def _coerce(default, raw: str):
    if isinstance(default, bool):
        return _BOOL.get(raw.strip().lower(), default)
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            return default
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            return default
    return raw


def engine_options(settings: dict) -> dict:
    """The Engine's keyword arguments that come from settings (besides the database)."""
    return {
        "script_time_limit": float(settings["SCRIPT_TIME_LIMIT"]),
        "script_memory_mb": int(settings["SCRIPT_MEMORY_MB"]),
    }


def load(overrides: dict | None = None) -> dict:
    """Defaults, then ``KUNFLOW_<NAME>`` from the environment, then ``overrides``."""
    settings = dict(DEFAULTS)
    for name, default in DEFAULTS.items():
        raw = os.environ.get(f"KUNFLOW_{name}")
        if raw is not None and raw != "":
            settings[name] = _coerce(default, raw) if default is not None else raw
    if "PORT" in os.environ and "KUNFLOW_PORT" not in os.environ:
        settings["PORT"] = _coerce(5000, os.environ["PORT"])
    settings.update(overrides or {})
    if not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = _secret_key()
    if str(settings["DATABASE_URL"]).startswith("sqlite:///"):
        Path(str(settings["DATABASE_URL"])[len("sqlite:///"):]).parent.mkdir(
            parents=True, exist_ok=True
        )
    return settings


def _secret_key() -> str:
    path = VAR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        VAR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
        return key
