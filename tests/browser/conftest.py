"""A live kunflow server on a temporary SQLite database and Debian's chromium, driven by
Playwright. The server runs in its own process (gunicorn, as in production); the tests set up
cases through an engine on the same database file."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from config import settings as settings_module
from engine import CaseFiles, Engine
from web.provision import initialize
from web.wiring import build_case_files, build_engine

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("KUNFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, url: str, settings: dict, engine: Engine, files: CaseFiles):
        self.url, self.settings, self.engine, self.files = url, settings, engine, files

    def user(self, username: str):
        return self.engine.get_user(username).actor()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, suite_day):
    if not (ROOT / "web" / "static" / "dist" / "kunflow.js").is_file():
        pytest.fail("浏览器包未构建：先运行 make bundle（make test 会自动构建）")
    tmp = tmp_path_factory.mktemp("live")
    port = _free_port()
    env_settings = {
        "KUNFLOW_DATABASE_URL": f"sqlite:///{tmp / 'kunflow.db'}",
        "KUNFLOW_ATTACHMENT_DIR": str(tmp / "attachments"),
        "KUNFLOW_SECRET_KEY": "browser-tests-secret",
        "KUNFLOW_SCHEDULER": "0",
        "KUNFLOW_DEMO": "1",
        "KUNFLOW_HOST": "127.0.0.1",
        "KUNFLOW_PORT": str(port),
    }
    settings = settings_module.load({
        "DATABASE_URL": env_settings["KUNFLOW_DATABASE_URL"],
        "ATTACHMENT_DIR": env_settings["KUNFLOW_ATTACHMENT_DIR"],
        "SECRET_KEY": env_settings["KUNFLOW_SECRET_KEY"],
        "SCHEDULER": False, "DEMO": True, "PORT": port,
    })
    engine = build_engine(settings, live_cache_size=0)  # handlers as the server's own engine
    initialize(engine, settings)
    files = build_case_files(engine, settings)
    env = {**os.environ, **env_settings, "PYTHONPATH": str(ROOT)}
    log = open(tmp / "server.log", "wb")
    serve = "from config import settings; from web.server import Server; Server(settings.load()).run()"
    if suite_day is not None:  # KUNFLOW_TEST_TODAY: the server lives on the suite's day too
        serve = (f"import time_machine; time_machine.travel({suite_day.isoformat()!r}, "
                 f"tick=True).start(); {serve}")
    proc = subprocess.Popen(
        [sys.executable, "-c", serve],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(url + "/login", timeout=2).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or the worker still loading the app on a busy machine
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("服务未能启动：\n" + (tmp / "server.log").read_text(errors="replace"))
        time.sleep(0.2)
    yield LiveServer(url, settings, engine, files)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    engine.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.fail(f"找不到 chromium（{CHROMIUM}）：apt-get install -y chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def new_page(browser, viewport=DESKTOP):
    context = browser.new_context(viewport=viewport, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(15000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A Content-Security-Policy refusal is no page error, only a console message: count it as
    # one, so that every page the tests open shows the policy lets the bundle work.
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text else None)
    page.kf_errors = errors
    return page


@pytest.fixture
def page(browser):
    p = new_page(browser)
    yield p
    assert p.kf_errors == [], f"页面脚本错误：{p.kf_errors}"
    p.context.close()


def login(page, server: LiveServer, username: str, password: str = "demo") -> None:
    page.goto(server.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url("**/tasks**")


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
