"""Helpers for the web desk's tests: a real store (SQLite file) with a roster and accounts, the
desk served by uvicorn in a thread on 127.0.0.1 with a free port, and httpx clients signed in."""
from __future__ import annotations

import re
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline import collect as C  # noqa: E402
from pipeline.store import desk as D  # noqa: E402
from pipeline.web.security import hash_password  # noqa: E402

SEED_NAME = "2021_岳阳市城管局城陵矶新港区分局.xlsx"
SEED_UNIT = "岳阳市城市管理和综合执法局湖南城陵矶新港区分局"
PASSWORD = "correct-horse-42"


def seed_form() -> Path:
    for p in (Path("/work/shared/examples") / SEED_NAME, ROOT / "sample_workbooks" / SEED_NAME):
        if p.exists():
            return p
    raise FileNotFoundError(SEED_NAME)


ROSTER = [  # 单位编码, 单位名称, 曾用名/别名, 主管部门
    ("001", SEED_UNIT, "岳阳市城管局城陵矶新港区分局", "市城管局"),
    ("002", "岳阳市第二测试单位", "", "市财政局"),
    ("003", "岳阳市第三测试单位", "", "市财政局"),
]


def make_store(tmp: Path, url: str | None = None) -> str:
    """A store (a SQLite file in tmp unless url is given) with the roster, unit accounts
    unit1..unit3 and reviewer rev."""
    tmp.mkdir(parents=True, exist_ok=True)
    roster = tmp / "名单.csv"
    roster.write_text("单位编码,单位名称,曾用名/别名,主管部门\n" +
                      "".join(",".join(r) + "\n" for r in ROSTER), encoding="utf-8-sig")
    url = url or str(tmp / "desk.db")
    st = C.open_store(url)
    C.import_roster(st, roster)
    h = hash_password(PASSWORD)
    with st.transaction() as tx:
        for i, (key, *_rest) in enumerate(ROSTER, 1):
            D.add_account(tx, name=f"unit{i}", role="unit", unit_key=key, password=h)
        D.add_account(tx, name="rev", role="reviewer", unit_key=None, password=h)
    st.close()
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving create_app(url) in a thread; .base is its address."""

    def __init__(self, url: str, work: Path, **kw):
        import uvicorn

        from pipeline.web.app import create_app

        self.app = create_app(url, work, **kw)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="error", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def desk(self):
        return self.app.state.desk


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def client(server: Server, name: str | None = None, password: str = PASSWORD) -> httpx.Client:
    """A client (its own cookie jar), signed in as name unless None."""
    c = httpx.Client(base_url=server.base, follow_redirects=False, timeout=60)
    if name is not None:
        r = login(c, name, password)
        assert r.status_code == 303, r.text
    return c


def login(c: httpx.Client, name: str, password: str) -> httpx.Response:
    page = c.get("/login")
    return c.post("/login", data={"csrf": csrf_of(page.text), "name": name, "password": password})


def token(c: httpx.Client, path: str = "/") -> str:
    r = c.get(path, follow_redirects=True)
    return csrf_of(r.text)


def upload(c: httpx.Client, path: Path, name: str | None = None) -> httpx.Response:
    tok = token(c, "/unit")
    with open(path, "rb") as fh:
        return c.post("/unit/upload", data={"csrf": tok},
                      files={"file": (name or path.name, fh, "application/octet-stream")})


def draft_id(r: httpx.Response) -> int:
    assert r.status_code == 303, r.text[:500]
    return int(r.headers["location"].rsplit("/", 1)[1])


def copy_seed(dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(seed_form(), dst)
    return dst


@pytest.fixture(scope="session")
def web_server(tmp_path_factory):
    """A desk for a web test module (the first self-check of a process costs a second or two
    of imports and rule set-up): each module that imports it gets its own."""
    tmp = tmp_path_factory.mktemp("web")
    url = make_store(tmp)
    with Server(url, tmp / "work", memory_mb=512, timeout=20) as s:
        s.tmp = tmp
        yield s


class Serve:
    """`python -m pipeline.cli serve …` in its own process, as a bureau starts it (the process's
    main module is pipeline/cli.py, which a thread inside pytest never shows); .base is its address,
    .log its output (stdout and stderr) once stopped. extra: more command-line options."""

    def __init__(self, url: str, work: Path, *extra: str, env: dict | None = None, scheme: str = "http",
                 verify=True):
        import os

        self.port = free_port()
        self.base = f"{scheme}://127.0.0.1:{self.port}"
        self.work = Path(work)
        self.log_path = self.work.parent / f"serve-{self.port}.log"
        self.cmd = [sys.executable, "-m", "pipeline.cli", "serve", "--store", url, "--port", str(self.port),
                    "--work", str(work), *extra]
        self.env = {**os.environ, **(env or {})}
        self.verify = verify
        self.log = ""

    def __enter__(self):
        import subprocess

        self.fh = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=self.fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve ended ({self.proc.returncode}): {self.log_path.read_text()}")
            try:
                httpx.get(self.base + "/login", timeout=2, verify=self.verify)
                return self
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"serve did not answer: {self.log_path.read_text()}")
                time.sleep(0.1)

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except Exception:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.fh.close()
        self.log = self.log_path.read_text()

    def client(self, name: str | None = None, password: str = PASSWORD, **kw) -> httpx.Client:
        c = httpx.Client(base_url=self.base, follow_redirects=False, timeout=120, verify=self.verify, **kw)
        if name is not None:
            r = login(c, name, password)
            assert r.status_code == 303, r.text
        return c


def add_units(url: str, names: list[str], unit_key: str = "001") -> None:
    """More unit accounts (the password PASSWORD) for one roster unit."""
    st = C.open_store(url)
    h = hash_password(PASSWORD)
    with st.transaction() as tx:
        for name in names:
            D.add_account(tx, name=name, role="unit", unit_key=unit_key, password=h)
    st.close()
