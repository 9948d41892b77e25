"""Operations commands: ``kunflow audit verify`` (the audit log's hash chains, and the anchors
kept outside the database), ``kunflow audit anchor``, ``kunflow
backup PATH`` and ``kunflow restore PATH`` (SQLite; PostgreSQL uses pg_dump / pg_restore, as
the commands print). docs/operations.md explains them."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from sqlalchemy.exc import SQLAlchemyError

from config import settings as settings_module
from engine import AnchorError, describe_break
from engine.backup import BackupError, backup_sqlite, restore_sqlite, sqlite_path

from .commands import command_engine
from .output import safe_url


@click.group("audit", help="审计日志（哈希链）")
def audit() -> None:
    pass


def _read_log(settings: dict, read):
    """``read(engine)`` on the audit log; exit 2 with a line when it cannot be read or an
    anchor is not one."""
    engine = command_engine(settings)
    try:
        return read(engine)
    except AnchorError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    except SQLAlchemyError as exc:
        click.echo(f"无法读取审计日志（数据库是否已用 kunflow init 迁移？）：{exc.__class__.__name__}",
                   err=True)
        sys.exit(2)
    finally:
        engine.close()


def run_verify(settings: dict, anchors: list[str] = ()) -> bool:
    """Print the chain's state (and the anchors'); True when intact."""
    report = _read_log(settings, lambda engine: engine.verify_audit(anchors))
    anchored = f"，{report.anchors} 个锚点相符" if report.anchors else ""
    if report.intact:
        click.echo(f"审计链完整：{report.events} 条事件，{report.chains} 条链{anchored}")
        return True
    if report.breaks:
        click.echo(f"审计链断裂：{report.events} 条事件，{report.chains} 条链，"
                   f"{len(report.breaks)} 条链有断点", err=True)
        click.echo(f"第一处断点：{describe_break(report.breaks[0])}", err=True)
        for b in report.breaks[1:10]:
            click.echo(f"  另一断点：{describe_break(b)}", err=True)
        if len(report.breaks) > 10:
            click.echo(f"  ……另有 {len(report.breaks) - 10} 条链断裂", err=True)
    else:
        click.echo(f"各链自身完整：{report.events} 条事件，{report.chains} 条链", err=True)
    if report.anchor_problems:
        click.echo(f"{len(report.anchor_problems)}/{report.anchors} 个锚点不符：", err=True)
        for problem in report.anchor_problems[:10]:
            click.echo(f"  {problem}", err=True)
    return False


def _anchor_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"无法读取锚点文件 {path}：{exc.__class__.__name__}", err=True)
        sys.exit(2)


@audit.command("verify", help="逐条校验审计日志的哈希链，报告第一处断点（断裂时退出码 1）")
@click.option("--anchors", "anchor_file", metavar="FILE",
              help="另存的锚点文件（kunflow audit anchor 的输出，每行一个）：同时核对各锚点")
def audit_verify(anchor_file: str | None) -> None:
    anchors = _anchor_lines(anchor_file) if anchor_file else []
    if not run_verify(settings_module.load(), anchors):
        sys.exit(1)


@audit.command("anchor", help="输出审计日志当前的锚点（一行）：请保存在数据库之外，"
               "供 kunflow audit verify --anchors 核对链尾是否被删改")
@click.option("--settle-minutes", type=click.IntRange(0, 24 * 60), default=10, show_default=True,
              help="不计最近这么多分钟内的事件（PostgreSQL 上事件编号先于提交分配）")
def audit_anchor(settle_minutes: int) -> None:
    click.echo(_read_log(settings_module.load(),
                         lambda engine: engine.audit_anchor(timedelta(minutes=settle_minutes))))


PG_BACKUP_HELP = """PostgreSQL 数据库请用 PostgreSQL 自带的工具备份与恢复（详见 docs/operations.md）：
  备份：pg_dump --format=custom --file=kunflow.dump "$KUNFLOW_DATABASE_URL"
        并复制附件目录 {attachments}
  恢复：pg_restore --clean --if-exists --no-owner --dbname="$KUNFLOW_DATABASE_URL" kunflow.dump
        然后 kunflow init、kunflow audit verify"""


@click.command("backup", help="在线备份 SQLite 数据库与附件到新目录 PATH（含校验清单）")
@click.argument("path", type=click.Path(file_okay=False))
def backup(path: str) -> None:
    settings = settings_module.load()
    url = settings["DATABASE_URL"]
    if sqlite_path(url) is None:
        click.echo(PG_BACKUP_HELP.format(attachments=settings["ATTACHMENT_DIR"]), err=True)
        sys.exit(2)
    try:
        result = backup_sqlite(url, settings["ATTACHMENT_DIR"], path)
    except BackupError as exc:
        click.echo(f"备份失败：{exc.message}", err=True)
        sys.exit(1)
    click.echo(f"已备份 {safe_url(url)} 到 {result.path}（用时 {result.seconds:.1f} 秒）："
               f"数据库 {result.database_bytes / 1e6:.1f} MB，{result.instances} 个流程实例，"
               f"{result.events} 条审计事件，附件 {result.attachments} 个"
               f"（{result.attachment_bytes / 1e6:.1f} MB）")
    if result.missing:
        click.echo(f"警告：{len(result.missing)} 个附件文件在附件目录中缺失或已损坏，未能备份："
                   f"{'、'.join(result.missing[:5])}（已记入 manifest.json）", err=True)
        sys.exit(1)


@click.command("restore", help="校验备份 PATH 后恢复 SQLite 数据库与附件（覆盖现有数据库须加 --force）")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--force", is_flag=True, help="覆盖已存在的数据库（先停止所有 kunflow 进程）")
def restore(path: str, force: bool) -> None:
    settings = settings_module.load()
    url = settings["DATABASE_URL"]
    if sqlite_path(url) is None:
        click.echo(PG_BACKUP_HELP.format(attachments=settings["ATTACHMENT_DIR"]), err=True)
        sys.exit(2)
    try:
        result = restore_sqlite(path, url, settings["ATTACHMENT_DIR"], force=force)
    except BackupError as exc:
        click.echo(f"恢复失败：{exc.message}", err=True)
        sys.exit(1)
    click.echo(f"已恢复到 {result.database}（用时 {result.seconds:.1f} 秒）：{result.instances} 个"
               f"流程实例，{result.events} 条审计事件；附件写入 {result.attachments} 个，"
               f"已存在且完好 {result.attachments_present} 个")
    if not run_verify(settings):
        sys.exit(1)
    click.echo("请运行 kunflow init（迁移到当前版本）后再启动服务。")
