"""Operations commands: ``kunflow audit verify`` (the audit log's hash chains), ``kunflow
backup PATH`` and ``kunflow restore PATH`` (SQLite; PostgreSQL uses pg_dump / pg_restore, as
the commands print). docs/operations.md explains them."""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from config import settings as settings_module
from engine import describe_break
from engine.backup import BackupError, backup_sqlite, restore_sqlite, sqlite_path

from .commands import command_engine
from .output import safe_url


@click.group("audit", help="审计日志（哈希链）")
def audit() -> None:
    pass


def run_verify(settings: dict) -> bool:
    """Print the chain's state; True when intact."""
    engine = command_engine(settings)
    try:
        report = engine.verify_audit()
    except SQLAlchemyError as exc:
        click.echo(f"无法读取审计日志（数据库是否已用 kunflow init 迁移？）：{exc.__class__.__name__}",
                   err=True)
        sys.exit(2)
    finally:
        engine.close()
    if report.intact:
        click.echo(f"审计链完整：{report.events} 条事件，{report.chains} 条链")
        return True
    click.echo(f"审计链断裂：{report.events} 条事件，{report.chains} 条链，"
               f"{len(report.breaks)} 条链有断点", err=True)
    click.echo(f"第一处断点：{describe_break(report.breaks[0])}", err=True)
    for b in report.breaks[1:10]:
        click.echo(f"  另一断点：{describe_break(b)}", err=True)
    if len(report.breaks) > 10:
        click.echo(f"  ……另有 {len(report.breaks) - 10} 条链断裂", err=True)
    return False


@audit.command("verify", help="逐条校验审计日志的哈希链，报告第一处断点（断裂时退出码 1）")
def audit_verify() -> None:
    if not run_verify(settings_module.load()):
        sys.exit(1)


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
