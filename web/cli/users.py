"""``kunflow users``: list the users, set a password, end a user's sessions and tokens."""

from __future__ import annotations

import sys
from dataclasses import replace

import click

from config import settings as settings_module
from engine import SYSTEM, NotFound

from ..auth.passwords import DEMO_PASSWORD, hash_password
from ..wiring import build_access
from .commands import command_engine
from .output import table

MIN_PASSWORD_LENGTH = 8  # outside demo mode


@click.group("users", help="用户管理")
def users() -> None:
    pass


@users.command("list", help="列出用户")
def users_list() -> None:
    settings = settings_module.load()
    engine = command_engine(settings)
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
        engine.close()
    click.echo(table(("用户名", "姓名", "部门", "角色"), rows))


@users.command("set-password", help="设置用户密码（argon2 存储）")
@click.argument("username")
@click.option("--password", default=None, help="新密码（缺省时交互输入）")
def users_set_password(username: str, password: str | None) -> None:
    settings = settings_module.load()
    engine = command_engine(settings)
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
        engine.close()
    click.echo(f"已设置 {username} 的密码（该用户已登录的会话和令牌均已失效）")


@users.command("revoke-sessions", help="注销用户的全部登录会话和令牌（须重新登录）；--all 注销所有用户的")
@click.argument("username", required=False)
@click.option("--all", "everyone", is_flag=True,
              help="所有用户（密钥泄露后轮换时用：每个人都须重新登录）")
def users_revoke_sessions(username: str | None, everyone: bool) -> None:
    if bool(username) == everyone:
        click.echo("请给出一个用户名，或用 --all 注销所有用户", err=True)
        sys.exit(2)
    settings = settings_module.load()
    engine = command_engine(settings)
    access = build_access(engine, settings)
    try:
        names = [u.username for u in engine.list_users()] if everyone else [username]
        sessions = tokens = 0
        for name in names:
            revoked = access.end_user_access(name, SYSTEM)
            sessions += revoked.sessions
            tokens += revoked.tokens
    except NotFound as exc:
        click.echo(exc.message, err=True)
        sys.exit(1)
    finally:
        engine.close()
    who = f"全部 {len(names)} 个用户" if everyone else username
    click.echo(f"已注销 {who} 的 {sessions} 个会话和 {tokens} 个令牌")
