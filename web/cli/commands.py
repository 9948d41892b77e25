"""The main commands: ``init``, ``run``, ``demo``, ``deploy``, ``worker``; and the engine that
each command of the ``kunflow`` command line works on."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from config import settings as settings_module
from engine import SYSTEM, Engine, EngineError

from ..auth.passwords import DEMO_PASSWORD
from ..provision import initialize
from ..wiring import build_case_files, build_engine
from .output import echo_problems, safe_url


def command_engine(settings: dict, live_cache_size: int = 0) -> Engine:
    """The engine of one command, built as the app builds its own (``web.wiring``); without a
    live cache unless asked: a command touches each case once; without a statement timeout:
    an operator's command (init on a big database, the demo) may run long on purpose. The
    caller closes it."""
    return build_engine(settings, live_cache_size=live_cache_size, statement_timeout_ms=0)


def run_init(settings: dict) -> bool:
    """Migrate, sync the org chart, deploy the library; True when every file deployed."""
    engine = command_engine(settings)
    try:
        org, deployed = initialize(engine, settings)
    finally:
        engine.close()
    click.echo(f"数据库：{safe_url(settings['DATABASE_URL'])}（迁移完成）")
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
            echo_problems(result, "    ")
            continue
        d = result.definition
        status = "新版本" if result.created else "未变化"
        extra = f"（附带 {', '.join(d.files)}）" if d.files else ""
        click.echo(f"  {path.name}: {d.key} 版本 {d.version} {status}{extra}")
    return ok


@click.command("init", help="迁移数据库、同步组织架构、部署流程库（可重复执行）")
def init() -> None:
    settings = settings_module.load()
    if not run_init(settings):
        sys.exit(1)


@click.command("run", help="初始化后启动服务（gunicorn，缺省每个 CPU 核一个进程、每进程 8 个线程）与本节点的调度器")
@click.option("--host", default=None, help="监听地址（缺省 KUNFLOW_HOST 或 127.0.0.1）")
@click.option("--port", default=None, type=int, help="端口（缺省 KUNFLOW_PORT / PORT 或 5000）")
def run(host: str | None, port: int | None) -> None:
    overrides = {}
    if host:
        overrides["HOST"] = host
    if port:
        overrides["PORT"] = port
    settings = settings_module.load(overrides)
    log_at_info(settings)
    if not run_init(settings):
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
    from ..server import Server, worker_count

    scheduler = "本节点调度器 1 个" if settings["SCHEDULER"] else "未启动调度器（KUNFLOW_SCHEDULER=0）"
    click.echo(f"工作进程 {worker_count(settings)} 个，每个 {settings['THREADS']} 个线程；{scheduler}")
    Server(settings).run()


@click.command("demo", help="加载演示数据：以各部门用户身份驱动流程引擎，模拟至 2026-11-28 的全年办理（docs/demo.md）")
@click.option("--seed", default=2026, show_default=True, type=int,
              help="随机种子：相同种子生成相同的案例")
@click.option("--if-empty", "if_empty", is_flag=True,
              help="数据库中已有流程实例时跳过（make run 每次调用）")
def demo(seed: int, if_empty: bool) -> None:
    from workflows.demo import SUPERVISION_KEY, DemoError, instance_count
    from workflows.lifecycle import STAGES as LIFECYCLE_STAGES

    settings = settings_module.load()
    if not settings["DEMO"]:
        click.echo("未启用演示模式（KUNFLOW_DEMO=0），不加载演示数据", err=not if_empty)
        sys.exit(0 if if_empty else 1)
    if not run_init(settings):
        click.echo("流程库未能全部部署，不能加载演示数据", err=True)
        sys.exit(1)
    engine = command_engine(settings, live_cache_size=5000)
    try:
        existing = instance_count(engine)
        if existing and if_empty:
            click.echo(f"数据库中已有 {existing} 个流程实例，跳过演示数据")
            return
        if engine.list_instances(SYSTEM, business_key=SUPERVISION_KEY, limit=1).total:
            click.echo("数据库中已有演示数据；重新加载请换用新的数据库（docs/demo.md）", err=True)
            sys.exit(1)
        files = build_case_files(engine, settings)
        summary = _load_demo(engine, seed, files)
    except DemoError as exc:
        click.echo(f"演示数据加载失败：{exc}", err=True)
        sys.exit(1)
    finally:
        engine.close()
    stages = "、".join(f"{name} {summary.stages.get(name, 0)}" for name in
                      (s.name for s in LIFECYCLE_STAGES))
    months = summary.supervision_months
    click.echo(f"演示数据已加载（种子 {summary.seed}，用时 {summary.seconds:.1f} 秒，"
               f"{summary.commands} 条引擎命令）：")
    click.echo(f"  项目 {summary.projects} 个（其中非煤矿山项目 {summary.mine_cases} 个）：{stages}")
    click.echo(f"  督查督办月报：{months[0] if months else '-'} 至 {months[-1] if months else '-'}，"
               f"共 {len(months)} 轮")
    click.echo(f"  街镇吹哨 {summary.whistles} 件，隐患整改 {summary.hazards} 件；"
               f"流程实例共 {summary.instances} 个，附件 {summary.attachments} 个")
    click.echo(f"  待办 {summary.open_tasks} 项，其中已超期 {summary.overdue_tasks} 项（截至 2026-11-28）")
    _echo_registers(summary)


def _echo_registers(summary) -> None:
    """The demo's registers, the cases started from their entries and the 街镇 holding work."""
    regs = summary.registers
    if regs is not None:
        click.echo(f"  演示名录：企业 {regs.enterprises} 家、矿山 {regs.mines} 座、选矿厂 {regs.plants} 座、"
                   f"尾矿库 {regs.tailings} 座" + (f"（已有 {regs.skipped} 家，未重复登记）"
                                                 if regs.skipped else ""))
        for note in regs.notes:
            click.echo(f"    {note}")
    closure = "，另发起矿山关闭 1 件" if summary.closure_started else "（mine_closure 未部署，未发起关闭）"
    click.echo(f"  从名录发起的案件 {summary.register_cases} 件（办理中 {summary.register_cases_open} 件）"
               f"{closure}")
    queues = summary.street_queues
    busy = sum(1 for n in queues.values() if n)
    click.echo(f"  街镇待办：{busy}/{len(queues)} 个街镇有待办，共 {sum(queues.values())} 项")


def _load_demo(engine: Engine, seed: int, files):
    from workflows.demo import load_demo

    state = {"shown": 0}

    def shown(day) -> str | None:
        return f"模拟至 {day:%Y-%m-%d}" if day else None

    with click.progressbar(length=1000, label="正在生成演示数据", show_eta=False,
                           item_show_func=shown) as bar:
        def progress(start, now, end) -> None:
            total = max(1.0, (end - start).total_seconds())
            done = min(1000, int(1000 * (now - start).total_seconds() / total))
            if done > state["shown"]:
                bar.update(done - state["shown"], now)
                state["shown"] = done

        return load_demo(engine, seed, progress, files)


@click.command("deploy", help="部署一个 BPMN 文件及其附带的 DMN / 表单文件")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument(
    "extra_files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def deploy(file: Path, extra_files: tuple[Path, ...]) -> None:
    settings = settings_module.load()
    engine = command_engine(settings)
    try:
        files = {p.name: p.read_bytes() for p in extra_files}
        with engine.setup_lock:  # beside a node's `kunflow init`, one after the other
            engine.migrate()
            result = engine.deploy(file.name, file.read_bytes(), files, actor=SYSTEM)
    except EngineError as exc:
        click.echo(f"{file.name}: 部署失败", err=True)
        echo_problems(exc)
        sys.exit(1)
    finally:
        engine.close()
    d = result.definition
    click.echo(f"{d.key} 版本 {d.version}（{'新版本' if result.created else '未变化'}）")
    for w in d.warnings:
        click.echo(f"  警告 [{w.get('element_id')}] {w.get('message')}", err=True)


def log_at_info(settings: dict) -> None:
    """The server's and the scheduler's log at INFO, in ``KUNFLOW_LOG_FORMAT`` (json or text,
    with the request id: ``web/observability/logs.py``)."""
    from ..observability.logs import configure_logging

    try:
        configure_logging(str(settings["LOG_FORMAT"]))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("worker", help="只运行调度器（生产环境的任务节点；阻塞运行）")
def worker() -> None:
    from ..scheduler import HOUSEKEEPING_MINUTES, serve

    settings = settings_module.load()
    log_at_info(settings)
    click.echo(
        f"kunflow 调度器已启动（{safe_url(settings['DATABASE_URL'])}；"
        f"例行维护每 {HOUSEKEEPING_MINUTES} 分钟一次），Ctrl-C 退出"
    )
    serve(settings)  # until SIGTERM or Ctrl-C; a running job finishes first
