"""Logs: one line per record, JSON (``KUNFLOW_LOG_FORMAT=json``, the default: what a log
shipper reads) or text (for a person at a terminal), each carrying the id of the request that
wrote it. The id lives in a context variable set at the start of each request; a log record
factory copies it onto every record, whichever logger, handler or thread-local library wrote
it, so engine and SQLAlchemy records of a request carry it too."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

FORMATS = ("json", "text")
TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s [%(request_id)s]"
NO_REQUEST = "-"  # the request id of records written outside a request (scheduler, start-up)

REQUEST_ID: ContextVar[str | None] = ContextVar("kunflow_request_id", default=None)
# A caller's X-Request-ID is kept when it is a plain token (a load balancer's or another
# service's id); anything else (spaces, quotes, control characters, too long) could forge or
# break log lines, so the request gets a fresh id instead.
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_from(header: str | None) -> str:
    """The incoming ``X-Request-ID`` when it is a sane token, else a new random id."""
    if header and _SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def install_record_factory() -> None:
    """Every log record gets ``request_id`` (the current request's, or ``-``). Installed once
    per process; installing it again changes nothing."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "kunflow_request_id", False):
        return

    def make_record(*args, **kwargs):
        record = factory(*args, **kwargs)
        record.request_id = REQUEST_ID.get() or NO_REQUEST
        return record

    make_record.kunflow_request_id = True
    logging.setLogRecordFactory(make_record)


def make_formatter(log_format: str) -> logging.Formatter:
    """``json``: {"ts", "level", "logger", "message", "request_id", ...} with any ``extra``
    fields of the call (the access log's method, path, status, ...) and ``exc_info`` as text;
    ``text``: the classic one-line format with the request id at the end."""
    if log_format == "json":
        return JsonFormatter(
            "{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="ts",
            json_ensure_ascii=False,  # Chinese messages stay readable
        )
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT, defaults={"request_id": NO_REQUEST})
    raise ValueError(f"KUNFLOW_LOG_FORMAT 须为 json 或 text（当前为 {log_format!r}）")


# Only from WARNING: SpiffWorkflow writes a line for every task state change (dozens per fired
# timer, which the engine's event log records anyway); APScheduler two for every job run (every
# 30 s; a failing job is logged by kunflow.scheduler); Alembic one for each of its plug-ins.
QUIET_LOGGERS = ("spiff", "apscheduler.executors", "alembic.runtime.plugins")


def configure_logging(log_format: str) -> None:
    """The process's logging for ``kunflow run`` and ``kunflow worker``: INFO and up to stderr
    in ``log_format``; the chatty libraries' loggers (``QUIET_LOGGERS``) only from WARNING."""
    formatter = make_formatter(log_format)
    install_record_factory()
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    handler.kunflow = True
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "kunflow", False)]:
        root.removeHandler(old)  # configured again (tests): one line per record still
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)  # Python warnings as records too: no stray non-JSON lines
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
