"""The ``kunflow`` commands when the database cannot be reached: one clear line, exit status 2,
no stack trace (docs/operations.md)."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from web.cli import main


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


@pytest.mark.parametrize("args", [["init"], ["users", "list"]], ids=" ".join)
def test_a_command_without_its_database_says_so_in_one_line(args):
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/kunflow"
    result = CliRunner().invoke(main, args, env={"KUNFLOW_DATABASE_URL": url,
                                                 "KUNFLOW_SECRET_KEY": "cli-outage"})
    assert result.exit_code == 2, result.output
    first, second = result.output.splitlines()
    assert first.startswith("数据库不可用，命令未执行完：PostgreSQL: connection failed")
    assert "KUNFLOW_DATABASE_URL" in second
    assert "Traceback" not in result.output
