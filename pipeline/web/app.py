"""The Starlette application of `selfeval serve`: sessions, CSRF, who may see what, templates and
the route table. Pages are rendered on the server in Chinese; the work is service.py's and
collect.py's."""
from __future__ import annotations

import datetime as dt
import re
import threading
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import collect as C
from ..models import BLOCK_LABELS, FIELD_LABELS
from ..store import desk as D
from . import security as S
from .service import KEEP_DRAFTS_DAYS, PRUNE_EVERY_S, Desk, neutral_main

HERE = Path(__file__).resolve().parent
SESSION_HOURS = 8
KIND = {"error": "逻辑性错误", "warning": "核实性问题", "info": "提示"}
KIND_HINT = {"error": "必须修改", "warning": "属实的请写明说明", "info": "无需处理"}
STATE_CLASS = {C.NOT_SUBMITTED: "s-none", C.HAS_ERRORS: "s-err", C.NEEDS_NOTE: "s-warn",
               C.EXPLAINED: "s-ok", C.RETURNED: "s-err", C.ACCEPTED: "s-pass"}
ACTION_WORDS = {"accept": "通过", "return": "退回", "reopen": "重新打开"}
AUDIT_WORDS = {"sign-in": "登录", "sign-out": "退出", "upload": "上传自查", "notes": "填写说明", "submit": "上报",
               "accept": "审核通过", "return": "退回", "reopen": "重新打开", "download": "下载",
               "user-add": "添加账号", "user-passwd": "修改密码", "user-disable": "停用账号",
               "user-link": "生成登录链接", "prune": "清理过期自查"}


def local(t) -> str:
    if not t:
        return ""
    if isinstance(t, str):
        t = dt.datetime.fromisoformat(t)
    return C._utc(t).astimezone().strftime("%Y-%m-%d %H:%M")


def make_templates() -> Jinja2Templates:
    tpl = Jinja2Templates(directory=str(HERE / "templates"))
    tpl.env.filters["local"] = local
    tpl.env.globals.update(KIND=KIND, KIND_HINT=KIND_HINT, STATE_CLASS=STATE_CLASS, STATES=C.STATES,
                           NEXT_ACTOR=C.NEXT_ACTOR, ACTION_WORDS=ACTION_WORDS, AUDIT_WORDS=AUDIT_WORDS,
                           FIELD_LABELS=FIELD_LABELS, BLOCK_LABELS=BLOCK_LABELS)
    return tpl


# ---------------------------------------------------------------------------- who is asking
def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def current(request: Request) -> dict | None:
    """The signed-in account, or None. The session cookie is signed; the account must still
    exist, be enabled and have the password the session was opened with."""
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    st = request.app.state.desk.store
    with st.reading() as tx:   # every request: never queued behind a run's write (WAL)
        acc = D.get_account(tx, id=uid)
    if acc is None or acc["disabled"] or request.session.get("pw") != S.fingerprint(acc["password"]):
        request.session.clear()
        return None
    return acc


def need(request: Request, role: str) -> dict:
    """The account, if it has this role. Not signed in: to the sign-in page. Another role: 404
    (a unit learns nothing of the reviewer's pages, nor a reviewer of a unit's drafts)."""
    acc = current(request)
    if acc is None:
        raise HTTPException(303, headers={"Location": "/login"})
    if acc["role"] != role:
        raise HTTPException(404)
    request.state.account = acc
    return acc


def own_hosts(request: Request) -> set[str]:
    """The names this desk is reached by: the Host header, and behind a TLS proxy (--https) also
    the name the proxy was asked for (X-Forwarded-Host), for a proxy that passes its own upstream
    address as Host. (The CSRF token is checked on every POST besides.)"""
    hosts = {request.headers.get("host", "")}
    if request.app.state.proxy:
        fwd = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
        if fwd:
            hosts.add(fwd)
    return hosts


def csrf_token(request: Request) -> str:
    tok = request.session.get("csrf")
    if not tok:
        tok = request.session["csrf"] = S.new_token()
    return tok


async def checked_form(request: Request, *, files: int = 0):
    """Every POST reads its form here: bounded (files, fields, field size) and CSRF-checked."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc not in own_hosts(request):
        raise HTTPException(403, "跨站请求已拒绝")
    form = await request.form(max_files=files, max_fields=400, max_part_size=256 << 10)
    if not S.same_token(form.get("csrf"), request.session.get("csrf")):
        await form.close()
        raise HTTPException(403, "页面已过期或请求来源不明，请刷新页面后重试")
    return form


def audit(request: Request, action: str, ok: bool = True, target: str = "", detail: str = "",
          who: str | None = None) -> None:
    acc = getattr(request.state, "account", None)
    st = request.app.state.desk.store
    with st.transaction() as tx:
        D.log(tx, who=who if who is not None else (acc["name"] if acc else ""), action=action, ok=ok,
              ip=client_ip(request), target=target, detail=detail)


def render(request: Request, name: str, status: int = 200, **ctx) -> HTMLResponse:
    ctx.setdefault("account", getattr(request.state, "account", None) or current(request))
    ctx["csrf"] = csrf_token(request)
    return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status)


# ---------------------------------------------------------------------------- sign-in
async def home(request: Request):
    acc = current(request)
    if acc is None:
        return RedirectResponse("/login", 303)
    return RedirectResponse("/review" if acc["role"] == "reviewer" else "/unit", 303)


async def login_page(request: Request):
    return render(request, "login.html", account=None, error="")


async def login(request: Request):
    form = await checked_form(request)
    name, password = str(form.get("name", ""))[:100].strip(), str(form.get("password", ""))[:200]
    st = request.app.state.desk.store
    now = C.now()
    with st.reading() as tx:
        acc = D.get_account(tx, name=name)
    error = "用户名或密码不正确"
    ok = False
    if acc is not None and acc["locked_until"] is not None and C._utc(acc["locked_until"]) > now:
        await run_in_threadpool(S.verify_password, None, password)
        error = f"连续输错密码次数过多，请 {S.LOCK_MINUTES} 分钟后再试"
    elif await run_in_threadpool(S.verify_password, acc["password"] if acc else None, password) \
            and not acc["disabled"]:
        ok = True
    with st.transaction() as tx:
        if acc is not None:
            if ok:
                D.update_account(tx, acc["id"], fails=0, locked_until=None)
            elif error.startswith("用户名"):
                fails = acc["fails"] + 1
                lock = now + dt.timedelta(minutes=S.LOCK_MINUTES) if fails >= S.MAX_FAILS else None
                D.update_account(tx, acc["id"], fails=0 if lock else fails, locked_until=lock)
        D.log(tx, who=name, action="sign-in", ok=ok, ip=client_ip(request),
              detail="" if ok else ("账号已锁定" if "分钟" in error else "用户名或密码不正确"))
    if not ok:
        return render(request, "login.html", status=401, account=None, error=error)
    request.session.clear()             # a fresh session: nothing carried over from before
    request.session.update(uid=acc["id"], pw=S.fingerprint(acc["password"]), csrf=S.new_token())
    return RedirectResponse("/", 303)


async def logout(request: Request):
    await checked_form(request)
    acc = current(request)
    if acc is not None:
        audit(request, "sign-out", who=acc["name"])
    request.session.clear()
    return RedirectResponse("/login", 303)


async def link_page(request: Request):
    """A per-unit sign-in link: the page asks to confirm with a button (a link opened by a mail
    scanner or a preview signs nobody in)."""
    acc = _link_account(request)
    return render(request, "link.html", account=None, target=acc)


async def link_login(request: Request):
    await checked_form(request)
    acc = _link_account(request)
    request.session.clear()
    request.session.update(uid=acc["id"], pw=S.fingerprint(acc["password"]), csrf=S.new_token())
    audit(request, "sign-in", who=acc["name"], detail="登录链接")
    return RedirectResponse("/", 303)


def _link_account(request: Request) -> dict:
    data = S.read_link(request.app.state.secret, request.path_params["token"])
    acc = None
    if data is not None:
        with request.app.state.desk.store.reading() as tx:
            acc = D.get_account(tx, id=data["uid"])
    if acc is None or acc["disabled"] or data["pw"] != S.fingerprint(acc["password"]):
        raise HTTPException(404)
    return acc


# ---------------------------------------------------------------------------- errors
async def http_error(request: Request, exc: HTTPException):
    if exc.status_code in (301, 302, 303, 307):
        return RedirectResponse(exc.headers["Location"], exc.status_code)
    titles = {404: "页面不存在", 403: "请求被拒绝", 400: "请求有误", 413: "文件过大", 429: "操作过于频繁", 409: "无法完成",
              405: "请求方式不对"}
    detail = exc.detail if isinstance(exc.detail, str) and re.search(r"[\u4e00-\u9fff]", exc.detail) else ""
    if exc.status_code == 404:
        detail = "您要的页面不存在，或您没有查看它的权限。"
    elif exc.status_code == 400:
        detail = "请求格式有误（上传请一次只选一个文件）。"
    return render(request, "error.html", status=exc.status_code, account=_maybe_account(request),
                  title=titles.get(exc.status_code, "出错了"), detail=detail)


def _maybe_account(request: Request) -> dict | None:
    try:
        return current(request)
    except Exception:     # an error page never fails for want of the account
        return None


async def server_error(request: Request, exc: Exception):
    return render(request, "error.html", status=500, account=None, title="服务器出错",
                  detail="处理请求时出错，请稍后重试；如一再出现，请联系管理员。")


# ---------------------------------------------------------------------------- the application
def default_work(store) -> Path:
    """The desk's working folder: beside a SQLite store, else in the temporary folder."""
    return (store.files_dir.with_suffix(".web") if store.files_dir is not None
            else Path(tempfile.gettempdir()) / "selfeval-web")


def _prune(desk: Desk, days: float) -> None:
    """A prune that fails is said on the server's console; the desk goes on."""
    try:
        desk.prune(days)
    except Exception as exc:
        import sys

        print(f"清理过期自查未完成（{type(exc).__name__}），下次再试", file=sys.stderr, flush=True)


def _keep_pruning(desk: Desk, days: float, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        _prune(desk, days)


def create_app(store_url: str, work: str | Path | None = None, *, https: bool = False,
               proxy: bool = False, timeout: float = 30.0, memory_mb: int | None = None, concurrency: int = 2,
               deadline: str | None = None, keep_drafts: float = KEEP_DRAFTS_DAYS,
               prune_every: float = PRUNE_EVERY_S):
    from . import review, unit

    neutral_main()          # before any thread starts a worker (service.neutral_main)
    store = C.open_store(store_url)
    work = default_work(store) if work is None else work
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    kw = {"memory_mb": memory_mb} if memory_mb else {}
    desk = Desk(store, work, timeout=timeout, concurrency=concurrency, **kw)

    @asynccontextmanager
    async def lifespan(app):
        from ..check.ruleset import load_pack
        from .. import run  # noqa: F401  the batch's imports once, before the first upload

        load_pack(None, None)
        stop = threading.Event()
        if keep_drafts:       # at start, then every prune_every seconds (0 days: keep everything)
            await run_in_threadpool(_prune, desk, keep_drafts)
            threading.Thread(target=_keep_pruning, args=(desk, keep_drafts, prune_every, stop),
                             name="selfeval-prune", daemon=True).start()
        threading.Thread(target=desk.warm, name="selfeval-warm", daemon=True).start()
        yield
        stop.set()
        store.close()

    routes = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/link/{token}", link_page, methods=["GET"]),
        Route("/link/{token}", link_login, methods=["POST"]),
        *unit.routes, *review.routes,
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, 500: server_error})
    app.state.desk = desk
    app.state.templates = make_templates()
    app.state.deadline = C.parse_deadline(deadline) if deadline else None
    app.state.proxy = proxy         # behind a TLS reverse proxy (serve --https)
    app.state.secret = S.load_secret(work / "session.key")
    app.add_middleware(SessionMiddleware, secret_key=app.state.secret,
                       session_cookie="selfeval_session", max_age=SESSION_HOURS * 3600,
                       same_site="lax", https_only=https)
    guarded = S.Guard(app)
    guarded.state = app.state
    return guarded
