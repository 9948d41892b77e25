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

from . import calendar, commands, dashboard, ops, users


@click.group(help="昆都仑区工作流平台 kunflow")
def main() -> None:
    pass


for _command in (commands.init, commands.run, commands.demo, commands.deploy, commands.worker,
                 users.users, calendar.calendar_group, dashboard.dashboard_rebuild,
                 ops.audit, ops.backup, ops.restore):
    main.add_command(_command)
