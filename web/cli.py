"""The ``kunflow`` command: init, run, deploy, worker, users.

Settings come from ``config.settings.load()``: defaults overridden by ``KUNFLOW_*`` variables.
"""

from __future__ import annotations

import logging
import sys
import unicodedata
from dataclasses import replace
from pathlib import Path

import click
from sqlalchemy.engine import make_url

from config import settings as settings_module
from engine import SYSTEM, Engine, EngineError, InvalidModel

from .auth.passwords import DEMO_PASSWORD, hash_password
from .provision import initialize

MIN_PASSWORD_LENGTH = 8  # outside demo mode
_LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"


def _engine(settings: dict) -> Engine:
    return Engine(settings["DATABASE_URL"], live_cache_size=0)


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(无法解析的数据库地址)"


def _echo_problems(exc: EngineError, indent: str = "  ") -> None:
    click.echo(f"{indent}{exc.message}", err=True)
    if isinstance(exc, InvalidModel):
        for e in exc.errors:
            where = ":".join(str(x) for x in (e.get("file"), e.get("line")) if x)
            element = f" [{e['element_id']}]" if e.get("element_id") else ""
            click.echo(f"{indent}  {where}{element} {e.get('message')}", err=True)


def _run_init(settings: dict) -> bool:
    """Migrate, sync the org chart, deploy the library; True when every file deployed."""
    engine = _engine(settings)
    try:
        org, deployed = initialize(engine, settings)
    finally:
        engine.db.dispose()
    click.echo(f"数据库：{_safe_url(settings['DATABASE_URL'])}（迁移完成）")
    line = f"组织架构：{org.departments} 个部门，{org.users} 个用户"
    if org.demo_passwords_set:
        line += f"；演示模式：为 {org.demo_passwords_set} 个用户设置了密码 {DEMO_PASSWORD}"
    click.echo(line)
    ok = True
    click.echo(f"流程库：{settings['BPMN_DIR']}")
    for path, result in deployed:
        if isinstance(result, EngineError):
            ok = False
            click.echo(f"  {path.name}: 部署失败", err=True)
            _echo_problems(result, "    ")
            continue
        d = result.definition
        status = "新版本" if result.created else "未变化"
        extra = f"（附带 {', '.join(d.files)}）" if d.files else ""
        click.echo(f"  {path.name}: {d.key} 版本 {d.version} {status}{extra}")
    return ok


@click.group(help="昆都仑区工作流平台 kunflow")
def main() -> None:
    pass


@main.command(help="迁移数据库、同步组织架构、部署流程库（可重复执行）")
def init() -> None:
    settings = settings_module.load()
    if not _run_init(settings):
        sys.exit(1)


@main.command(help="初始化后启动服务（gunicorn，1 个进程 8 个线程）与调度器")
@click.option("--host", default=None, help="监听地址（缺省 KUNFLOW_HOST 或 127.0.0.1）")
@click.option("--port", default=None, type=int, help="端口（缺省 KUNFLOW_PORT / PORT 或 5000）")
def run(host: str | None, port: int | None) -> None:
    overrides = {}
    if host:
        overrides["HOST"] = host
    if port:
        overrides["PORT"] = port
    settings = settings_module.load(overrides)
    if not _run_init(settings):
        click.echo("注意：有流程未能部署，其余功能照常启动。", err=True)
    shown_host = "127.0.0.1" if settings["HOST"] in ("0.0.0.0", "") else settings["HOST"]
    click.echo(
        f"kunflow 已启动：http://{shown_host}:{settings['PORT']}/（接口文档 /api/v1/openapi.json）"
    )
    if settings["DEMO"]:
        click.echo(
            "演示用户：<部门代码>-clerk / <部门代码>-head（如 invest-clerk、drc-clerk、invest-head），"
            f"以及 supervisor、leader、admin；密码均为 {DEMO_PASSWORD}"
        )
    from .server import Server

    logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
    Server(settings).run()


@main.command(help="部署一个 BPMN 文件及其附带的 DMN / 表单文件")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument(
    "extra_files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def deploy(file: Path, extra_files: tuple[Path, ...]) -> None:
    settings = settings_module.load()
    engine = _engine(settings)
    try:
        engine.migrate()
        files = {p.name: p.read_bytes() for p in extra_files}
        result = engine.deploy(file.name, file.read_bytes(), files, actor=SYSTEM)
    except EngineError as exc:
        click.echo(f"{file.name}: 部署失败", err=True)
        _echo_problems(exc)
        sys.exit(1)
    finally:
        engine.db.dispose()
    d = result.definition
    click.echo(f"{d.key} 版本 {d.version}（{'新版本' if result.created else '未变化'}）")
    for w in d.warnings:
        click.echo(f"  警告 [{w.get('element_id')}] {w.get('message')}", err=True)


@main.command(help="只运行调度器（生产环境的任务节点；阻塞运行）")
def worker() -> None:
    from .scheduler import HOUSEKEEPING_MINUTES, run_blocking

    logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
    settings = settings_module.load()
    engine = _engine(settings)
    click.echo(
        f"kunflow 调度器已启动（{_safe_url(settings['DATABASE_URL'])}；"
        f"例行维护每 {HOUSEKEEPING_MINUTES} 分钟一次），Ctrl-C 退出"
    )
    try:
        run_blocking(engine)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        engine.db.dispose()


@main.group(help="用户管理")
def users() -> None:
    pass


@users.command("list", help="列出用户")
def users_list() -> None:
    settings = settings_module.load()
    engine = _engine(settings)
    try:
        departments = {d.code: d.name for d in engine.list_departments()}
        rows = [
            (
                u.username,
                u.display_name,
                departments.get(u.department_code, u.department_code),
                " ".join(u.roles) + ("" if u.active else "（已停用）"),
            )
            for u in engine.list_users()
        ]
    finally:
        engine.db.dispose()
    click.echo(_table(("用户名", "姓名", "部门", "角色"), rows))


@users.command("set-password", help="设置用户密码（argon2 存储）")
@click.argument("username")
@click.option("--password", default=None, help="新密码（缺省时交互输入）")
def users_set_password(username: str, password: str | None) -> None:
    settings = settings_module.load()
    engine = _engine(settings)
    try:
        user = engine.get_user(username)
        if user is None:
            click.echo(f"用户 {username} 不存在", err=True)
            sys.exit(1)
        if password is None:
            password = click.prompt("新密码", hide_input=True, confirmation_prompt="再输入一次")
        if not settings["DEMO"]:
            if password == DEMO_PASSWORD:
                click.echo("未启用演示模式，不能使用演示密码", err=True)
                sys.exit(1)
            if len(password) < MIN_PASSWORD_LENGTH:
                click.echo(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符", err=True)
                sys.exit(1)
        elif not password:
            click.echo("密码不能为空", err=True)
            sys.exit(1)
        engine.sync_org([], [replace(user, password_hash=hash_password(password))])
    finally:
        engine.db.dispose()
    click.echo(f"已设置 {username} 的密码")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(_width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(row):
        cells = [str(c) + " " * (w - _width(str(c))) for c, w in zip(row, widths, strict=True)]
        return "  ".join(cells).rstrip()

    return "\n".join([line(headers), line(tuple("-" * w for w in widths)), *map(line, rows)])
