"""`selfeval serve` and `selfeval user add|list|passwd|disable`, registered on the selfeval app
(pipeline/cli.py imports this module). Thin: the desk is app.py, the accounts store/desk.py."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from .. import collect as C
from ..cli import ZhGroup, ZhTyper, app


class _Desk:
    """store/desk.py (SQLAlchemy) loaded when a command runs, not when the app registers them."""

    def __getattr__(self, name):
        from ..store import desk

        return getattr(desk, name)


D = _Desk()

STORE_HELP = "收集库：SQLite 文件路径或 postgresql+psycopg://… 地址（默认 ./selfeval.db，或环境变量 SELFEVAL_STORE）"


def _open(store):
    from ..collect_cli import _open as open_store

    return open_store(store)


def _console():
    from ..collect_cli import console

    return console


user_app = ZhTyper(cls=ZhGroup, add_completion=False, no_args_is_help=True, help="网上报送的账号（单位账号、审核人账号）。")
app.add_typer(user_app, name="user")


@app.command()
def serve(store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
          host: str = typer.Option("127.0.0.1", "--host", help="监听地址（局域网访问用 0.0.0.0）"),
          port: int = typer.Option(8000, "--port", help="端口"),
          work: Optional[Path] = typer.Option(None, "--work", help="工作文件夹（会话密钥、标注表缓存；默认收集库旁的 .web 文件夹）"),
          https: bool = typer.Option(False, "--https", help="经 HTTPS 反向代理提供服务时打开：会话 Cookie 只经 HTTPS 发送，"
                                     "信任代理（FORWARDED_ALLOW_IPS，默认 127.0.0.1）转发的协议与客户端地址"),
          cert: Optional[Path] = typer.Option(None, "--cert", help="本服务直接提供 HTTPS：证书文件（PEM，可含证书链）；须同时给 --key"),
          key: Optional[Path] = typer.Option(None, "--key", help="证书的私钥文件（PEM，不带口令）"),
          deadline: Optional[str] = typer.Option(None, "--deadline", help="报送截止时间，如 2027-03-31"),
          timeout: float = typer.Option(30.0, "--timeout", help="单个上传文件的读取时限（秒）"),
          checks: int = typer.Option(2, "--checks", help="同时自查的文件数（其余排队）"),
          keep_drafts: float = typer.Option(30, "--keep-drafts", min=0,
                                            help="未上报的自查（含无法读取的上传）保留天数，过期即删除，连同不再被引用的文件"
                                                 "（启动时及每小时清理；0 为不清理）")) -> None:
    """启动网上报送与审核服务：单位上传自查、上报；审核人审核、导出。"""
    import uvicorn

    from .app import create_app

    tls = _tls(cert, key)
    st = _open(store)
    with st.transaction() as tx:
        n = len(D.accounts(tx))
    st.close()
    target = C.store_target(store)
    web = create_app(target, work, https=https or bool(tls), proxy=https, timeout=timeout,
                     concurrency=checks, deadline=deadline, keep_drafts=keep_drafts)
    scheme = "https" if tls or https else "http"
    _console().print(f"网上报送服务：{scheme}://{host}:{port}/ （收集库 {target}；账号 {n} 个；Ctrl+C 停止）"
                     + ("（经 HTTPS 反向代理访问）" if https and not tls else ""))
    if n == 0:
        _console().print("[yellow]还没有账号：selfeval user add 用户名 --unit 单位编码 或 --reviewer[/]")
    uvicorn.run(web, host=host, port=port, log_level="warning", server_header=False,
                proxy_headers=https, forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
                **tls)


def _tls(cert: Optional[Path], key: Optional[Path]) -> dict:
    """uvicorn's TLS options for --cert/--key, checked first (a Chinese word and exit 2, not a
    traceback from the server's start)."""
    if cert is None and key is None:
        return {}
    if cert is None or key is None:
        _console().print("[red]--cert（证书文件）与 --key（私钥文件）须同时给出[/]")
        raise typer.Exit(2)
    import ssl

    for what, p in (("证书文件", cert), ("私钥文件", key)):
        if not p.is_file():
            _console().print(f"[red]找不到{what} {p}[/]")
            raise typer.Exit(2)
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(str(cert), str(key), password=lambda: b"")
    except (ssl.SSLError, OSError, ValueError):
        _console().print(f"[red]无法使用证书 {cert} 与私钥 {key}：请确认二者是 PEM 格式、相互匹配，且私钥不带口令[/]")
        raise typer.Exit(2)
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}


def _password(given: Optional[str]) -> str:
    from .security import password_problem

    password = given if given is not None else os.environ.get("SELFEVAL_PASSWORD")
    if password is None:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")
    problem = password_problem(password)
    if problem:
        _console().print(f"[red]{problem}[/]")
        raise typer.Exit(2)
    return password


@user_app.command("add")
def user_add(name: str = typer.Argument(..., help="用户名"),
             unit: Optional[str] = typer.Option(None, "--unit", help="单位编码（或名单中的单位名称）：单位账号"),
             reviewer: bool = typer.Option(False, "--reviewer", help="审核人账号"),
             password: Optional[str] = typer.Option(None, "--password", help="密码（不给则提示输入；也可用环境变量 SELFEVAL_PASSWORD）"),
             store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """添加账号：单位账号（--unit 单位编码）或审核人账号（--reviewer）。"""
    from .security import hash_password

    if bool(unit) == reviewer:
        _console().print("[red]请指定 --unit 单位编码（单位账号）或 --reviewer（审核人账号），二者选一[/]")
        raise typer.Exit(2)
    st = _open(store)
    key = None
    if unit:
        with st.transaction() as tx:
            units, aliases = st.units(tx), st.aliases(tx)
        key = unit if unit in units else aliases.get(C.name_key(unit))
        if key is None:
            _console().print(f"[red]收集库中没有单位“{unit}”：请先导入名单（selfeval roster import 名单.xlsx），"
                          "再用单位编码建账号[/]")
            raise typer.Exit(2)
    pw = _password(password)
    with st.transaction() as tx:
        if D.get_account(tx, name=name) is not None:
            _console().print(f"[red]账号 {name} 已存在（改密码用 selfeval user passwd {name}）[/]")
            raise typer.Exit(2)
        D.add_account(tx, name=name, role="reviewer" if reviewer else "unit", unit_key=key,
                      password=hash_password(pw))
        D.log(tx, who=C.who(), action="user-add", ok=True, target=name,
              detail="审核人" if reviewer else f"单位 {key}")
    _console().print(f"已添加{'审核人' if reviewer else '单位'}账号 {name}" + (f"（单位编码 {key}）" if key else ""))


def _account(tx, name: str) -> dict:
    """The account of that name, or a Chinese word and exit 2."""
    acc = D.get_account(tx, name=name)
    if acc is None:
        _console().print(f"[red]没有账号 {name}[/]")
        raise typer.Exit(2)
    return acc


@user_app.command("passwd")
def user_passwd(name: str = typer.Argument(..., help="用户名"),
                password: Optional[str] = typer.Option(None, "--password", help="新密码（不给则提示输入）"),
                store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """修改账号密码（该账号已登录的会话随之失效），并解除登录锁定。"""
    from .security import hash_password

    st = _open(store)
    with st.transaction() as tx:
        acc = _account(tx, name)
    pw = _password(password)
    with st.transaction() as tx:
        D.update_account(tx, acc["id"], password=hash_password(pw), fails=0, locked_until=None, disabled=False)
        D.log(tx, who=C.who(), action="user-passwd", ok=True, target=name)
    _console().print(f"已修改账号 {name} 的密码")


@user_app.command("link")
def user_link(name: str = typer.Argument(..., help="用户名"),
              base: str = typer.Option(..., "--base", help="网上报送服务的地址，如 http://10.1.2.3:8000"),
              work: Optional[Path] = typer.Option(None, "--work", help="serve 的工作文件夹（与 serve --work 相同；默认收集库旁的 .web 文件夹）"),
              store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """生成该账号的登录链接（14 天内有效；修改密码后作废），由财政局发给单位。"""
    from .app import default_work
    from .security import LINK_DAYS, link_token, load_secret

    st = _open(store)
    with st.transaction() as tx:
        acc = D.get_account(tx, name=name)
        if acc is None or acc["disabled"]:
            _console().print(f"[red]没有可用的账号 {name}[/]")
            raise typer.Exit(2)
        D.log(tx, who=C.who(), action="user-link", ok=True, target=name)
    secret = load_secret(Path(work or default_work(st)) / "session.key")
    _console().print(f"{base.rstrip('/')}/link/{link_token(secret, acc)}", soft_wrap=True)
    _console().print(f"（{LINK_DAYS} 天内有效；修改密码：selfeval user passwd {name}，链接随之作废）")


@user_app.command("disable")
def user_disable(name: str = typer.Argument(..., help="用户名"),
                 store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """停用账号（立即退出登录；用 passwd 重设密码可再启用）。"""
    st = _open(store)
    with st.transaction() as tx:
        acc = _account(tx, name)
        D.update_account(tx, acc["id"], disabled=True)
        D.log(tx, who=C.who(), action="user-disable", ok=True, target=name)
    _console().print(f"已停用账号 {name}")


@user_app.command("list")
def user_list(store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """列出全部账号。"""
    from rich.table import Table

    st = _open(store)
    with st.transaction() as tx:
        rows = D.accounts(tx)
        units = st.units(tx)
    t = Table(title="账号")
    for h in ("用户名", "类型", "单位编码", "单位名称", "状态", "创建时间"):
        t.add_column(h)
    for r in rows:
        t.add_row(r["name"], "审核人" if r["role"] == "reviewer" else "单位", r["unit_key"] or "",
                  units.get(r["unit_key"] or "", {}).get("name", ""), "停用" if r["disabled"] else "正常",
                  C._local(r["created_at"]))
    _console().print(t)
