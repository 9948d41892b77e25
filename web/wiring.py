"""The composition root: kunflow's parts built from the settings, in one place for the web app
(``create_app``), the ``kunflow`` command and the tests.

Settings come from ``config.settings.load()`` (defaults, ``KUNFLOW_*`` variables, overrides).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

import workflows
from config.settings import engine_options, notice_webhook
from engine import Access, CaseFiles, Engine, FileStore, LoginPolicy, WebhookSender


def build_engine(settings: Mapping, *, handlers: Mapping[str, Callable] | None = None,
                 **options) -> Engine:
    """The Engine on ``settings["DATABASE_URL"]`` with the live cache of ``LIVE_CACHE_SIZE``
    and the limits of ``config.settings.engine_options``; ``options`` (the Engine's keyword
    arguments) override them. The district's service-task handlers are registered: those of
    ``workflows.handlers`` for ``settings["ORG_FILE"]``, or ``handlers`` when given (made once
    for many engines); and the district's read models (``workflows.add_read_models``)."""
    webhook = notice_webhook(settings)  # outbound: SettingsError before anything is built
    kwargs = {"live_cache_size": int(settings["LIVE_CACHE_SIZE"]),
              **engine_options(settings), **options}
    engine = Engine(settings["DATABASE_URL"], **kwargs)
    engine.add_schema(workflows.SCHEMA)
    if handlers is None:
        workflows.register(engine, settings["ORG_FILE"])
    else:
        for name, handler in handlers.items():
            engine.services.register(name, handler)
        workflows.add_read_models(engine, settings["ORG_FILE"])
    # >>> outbound: notices to the district's messaging platform when a webhook is set
    if webhook is not None:
        engine.set_notice_senders([WebhookSender(**webhook)])
    # <<< outbound
    return engine


def build_case_files(engine: Engine, settings: Mapping) -> CaseFiles:
    """Attachments, drafts and comments of ``engine``'s cases: files under ``ATTACHMENT_DIR``,
    each at most ``ATTACHMENT_MAX_MB``."""
    return CaseFiles(
        engine,
        FileStore(settings["ATTACHMENT_DIR"]),
        max_bytes=int(settings["ATTACHMENT_MAX_MB"]) * 1024 * 1024,
    )


def build_access(engine: Engine, settings: Mapping) -> Access:
    """Sessions and login throttle on the engine's database, as ``settings`` configure them."""
    policy = LoginPolicy(
        free_failures=int(settings["LOGIN_FREE_FAILURES"]),
        address_free_failures=int(settings["LOGIN_ADDRESS_FREE_FAILURES"]),
        first_delay_seconds=int(settings["LOGIN_FIRST_DELAY_SECONDS"]),
        max_delay_seconds=int(settings["LOGIN_MAX_DELAY_SECONDS"]),
        window=timedelta(minutes=int(settings["LOGIN_WINDOW_MINUTES"])),
        known_address_for=timedelta(days=int(settings["LOGIN_KNOWN_ADDRESS_DAYS"])),
    )
    return engine.make_access(
        policy=policy, session_idle=timedelta(minutes=int(settings["SESSION_IDLE_MINUTES"]))
    )
