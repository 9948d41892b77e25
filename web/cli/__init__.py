"""The ``kunflow`` command: init, run, demo, deploy, worker, users, calendar, dashboard-rebuild,
audit, backup, restore.

Settings come from ``config.settings.load()``: defaults overridden by ``KUNFLOW_*`` variables.
Every command builds its engine through the composition root (``web.wiring``), as the app does.

- ``commands.py``: init, run, demo, deploy, worker; the engine of one command
- ``users.py``: users list / set-password / revoke-sessions
- ``calendar.py``: the working-day calendar (add, between, is-workday, days, import, seed, set)
- ``dashboard.py``: dashboard-rebuild, the 驾驶舱's summary tables recomputed from the cases
- ``ops.py``: audit verify (the audit log's hash chains), backup and restore (SQLite)
- ``output.py``: tables that line up with Chinese text, runs of years, error reports
"""

from __future__ import annotations

import click

from engine import database_unavailable

from . import calendar, commands, dashboard, ops, users


class _Commands(click.Group):
    """The command group; a database that cannot be reached ends a command with one clear line
    and exit status 2 instead of a stack trace."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            cause = database_unavailable(exc)
            if cause is None:
                raise
            click.echo(f"数据库不可用，命令未执行完：{cause}", err=True)
            click.echo("请检查数据库服务、磁盘空间与 KUNFLOW_DATABASE_URL 后重试。", err=True)
            ctx.exit(2)


@click.group(cls=_Commands, help="昆都仑区工作流平台 kunflow")
def main() -> None:
    pass


for _command in (commands.init, commands.run, commands.demo, commands.deploy, commands.worker,
                 users.users, calendar.calendar_group, dashboard.dashboard_rebuild,
                 ops.audit, ops.backup, ops.restore):
    main.add_command(_command)
