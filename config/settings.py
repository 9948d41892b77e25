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
    # Rotation (docs/operations.md): earlier keys, comma separated, still accepted for cookies
    # signed before the change; new cookies are signed with SECRET_KEY only.
    "SECRET_KEY_FALLBACKS": "",
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
    "STEP_DATA_MAX_KB": 1024,  # JSON one step (start, completion, fix) may add to a case's data
    # Security (docs/security.md). A browser session ends after this long without a request.
    "SESSION_IDLE_MINUTES": 480,
    # Served over HTTPS (directly or behind a TLS proxy): cookies get ``Secure``, responses HSTS.
    "SECURE_COOKIES": False,
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto headers are trusted;
    # 0 (direct) ignores those headers, so nobody can pick the address the throttle counts.
    "PROXY_COUNT": 0,
    # Login throttle: failures that are free per account (per account and address at an
    # address the account signed in from) and per address over all accounts; past them each
    # attempt waits twice as long as the one before, from LOGIN_FIRST_DELAY_SECONDS up to
    # LOGIN_MAX_DELAY_SECONDS. Failures older than LOGIN_WINDOW_MINUTES no longer count; an
    # address is known for LOGIN_KNOWN_ADDRESS_DAYS after a successful login from it.
    "LOGIN_FREE_FAILURES": 5,
    "LOGIN_ADDRESS_FREE_FAILURES": 20,
    "LOGIN_FIRST_DELAY_SECONDS": 2,
    "LOGIN_MAX_DELAY_SECONDS": 900,
    "LOGIN_WINDOW_MINUTES": 60,
    "LOGIN_KNOWN_ADDRESS_DAYS": 30,
    # Diagram code (scripts, conditions, timer/assignee/deadline expressions) of one instance
    # in one command: seconds of run time and MB of memory growth (docs/scripting.md).
    "SCRIPT_TIME_LIMIT": 2.0,
    "SCRIPT_MEMORY_MB": 256,
    # >>> outbound: notices to the district's messaging platform (docs/notices-webhook.md)
    # Empty URL: off. With a URL the secret is required (every body is signed with it).
    "NOTICE_WEBHOOK_URL": "",
    "NOTICE_WEBHOOK_SECRET": "",
    "NOTICE_WEBHOOK_TIMEOUT": 10.0,  # seconds one delivery may take
    # <<< outbound
    # >>> obs: logs and metrics (docs/operations.md)
    # json: one JSON object a line (ts, level, logger, message, request_id, ...); text: for people.
    "LOG_FORMAT": "json",
    # Bearer token that opens /metrics from other hosts (empty: 127.0.0.1 / ::1 only).
    "METRICS_TOKEN": "",
    # <<< obs
    # >>> workers: processes of `kunflow run`, the database pool (docs/operations.md)
    "WORKERS": 0,  # gunicorn worker processes of `kunflow run`; 0: one per CPU core
    "THREADS": 8,  # threads of each worker (requests served at once by one worker)
    "TIMER_SECONDS": 30,  # how often the scheduler looks for due timers
    # PostgreSQL, per process (each worker and the scheduler): connections kept open, more
    # opened at a peak, and how long one statement may run before the server cancels it
    # (0: no limit). SQLite ignores them.
    "DB_POOL_SIZE": 10,
    "DB_MAX_OVERFLOW": 10,
    "DB_STATEMENT_TIMEOUT_MS": 30000,
    # <<< workers
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
        "max_step_data_bytes": int(settings["STEP_DATA_MAX_KB"]) * 1024,
        # >>> workers
        "pool_size": max(1, int(settings.get("DB_POOL_SIZE", DEFAULTS["DB_POOL_SIZE"]))),
        "max_overflow": max(0, int(settings.get("DB_MAX_OVERFLOW",
                                                DEFAULTS["DB_MAX_OVERFLOW"]))),
        "statement_timeout_ms": max(0, int(settings.get("DB_STATEMENT_TIMEOUT_MS",
                                                        DEFAULTS["DB_STATEMENT_TIMEOUT_MS"]))),
        # <<< workers
    }


# >>> outbound: notices to the district's messaging platform
class SettingsError(ValueError):
    """Settings the service cannot start with; the message says which and why."""


def notice_webhook(settings: dict) -> dict | None:
    """The webhook sender's arguments (url, secret, timeout), or None when it is off."""
    url = str(settings.get("NOTICE_WEBHOOK_URL") or "").strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise SettingsError(
            f"KUNFLOW_NOTICE_WEBHOOK_URL 须以 http:// 或 https:// 开头（当前为 {url!r}）")
    secret = str(settings.get("NOTICE_WEBHOOK_SECRET") or "")
    if not secret.strip():
        raise SettingsError(
            "已设置 KUNFLOW_NOTICE_WEBHOOK_URL，但缺少 KUNFLOW_NOTICE_WEBHOOK_SECRET："
            "通知外发的每个请求都要用它签名，请与消息平台约定密钥后设置")
    raw = settings.get("NOTICE_WEBHOOK_TIMEOUT")
    try:
        timeout = 10.0 if raw is None or raw == "" else float(raw)
    except (TypeError, ValueError):
        timeout = 0.0
    if not 0 < timeout <= 120:
        raise SettingsError("KUNFLOW_NOTICE_WEBHOOK_TIMEOUT 须为 0 到 120 之间的秒数")
    return {"url": url, "secret": secret, "timeout": timeout}
# <<< outbound


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
    settings["SECRET_KEY_FALLBACKS"] = secret_key_fallbacks(settings)
    if str(settings["DATABASE_URL"]).startswith("sqlite:///"):
        Path(str(settings["DATABASE_URL"])[len("sqlite:///"):]).parent.mkdir(
            parents=True, exist_ok=True
        )
    return settings


def secret_key_fallbacks(settings: dict) -> list[str]:
    """Earlier secret keys still accepted while browsers hold cookies signed with them."""
    raw = settings.get("SECRET_KEY_FALLBACKS") or ""
    keys = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    return [k.strip() for k in keys if k and k.strip() and k.strip() != settings["SECRET_KEY"]]


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
