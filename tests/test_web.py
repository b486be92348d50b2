"""The web desk through a real server (uvicorn on 127.0.0.1, a free port) and httpx, on a real
SQLite file: the unit's and the reviewer's flows, and each guard tried as an attacker would."""
from __future__ import annotations

import io
import json
import re
import socket
import time
from pathlib import Path

import httpx
import openpyxl
import pytest
from starlette.routing import Route

from collect_support import store_url  # noqa: F401  (a store on each engine)
from web_support import web_server  # noqa: F401  (a desk for this module)
from web_support import (PASSWORD, SEED_UNIT, client, copy_seed, csrf_of, draft_id, login,
                         make_store, seed_form, token, upload)

from pipeline import collect as C
from pipeline.store import desk as D

NOTE = "经核实，该数据口径与报告一致，差异原因已向主管部门说明。"


@pytest.fixture
def srv(web_server):
    return web_server


def _store(srv):
    return srv.desk.store


def _audit(srv, action=None):
    with _store(srv).transaction() as tx:
        rows = D.audit_rows(tx, 1000)
    return [r for r in rows if action is None or r["action"] == action]


def _submit_seed(srv, c) -> int:
    did = draft_id(upload(c, seed_form()))
    page = c.get(f"/unit/draft/{did}")
    keys = re.findall(r'name="note:([^"]+)"', page.text)
    r = c.post(f"/unit/draft/{did}", data={"csrf": csrf_of(page.text), "do": "submit",
                                          **{f"note:{k}": NOTE for k in keys}})
    assert r.status_code == 303, r.text[:800]
    return did


# ---------------------------------------------------------------------------- the flows
def test_unit_self_check_shows_the_contradiction_at_its_cell_and_submits(srv):
    c = client(srv, "unit1")
    did = draft_id(upload(c, seed_form()))
    page = c.get(f"/unit/draft/{did}")
    assert page.status_code == 200
    html = page.text
    # the drawn form: A71 (the report) is marked as a warning, the message beside its row
    assert re.search(r'class="sev-warning long" title="A71"', html)
    assert "收入合计255.12万元" in html and "255.18" in html and "NAR-001" in html
    keys = re.findall(r'name="note:([^"]+)"', html)
    assert len(keys) == 7 and any(k.startswith("NAR-001-") for k in keys)
    # warnings without 说明 cannot be submitted
    r = c.post(f"/unit/draft/{did}", data={"csrf": csrf_of(html), "do": "submit"})
    assert r.status_code == 409 and "尚未填写说明" in r.text
    # 说明 saved, then 上报
    r = c.post(f"/unit/draft/{did}", data={"csrf": csrf_of(html), "do": "save", **{f"note:{k}": NOTE for k in keys}})
    assert r.status_code == 303
    assert c.get(f"/unit/draft/{did}").text.count(NOTE) == 7
    r = c.post(f"/unit/draft/{did}", data={"csrf": csrf_of(html), "do": "submit"})
    assert r.status_code == 303 and r.headers["location"] == "/unit/year/2021?done=1"
    uy = C.find(_store(srv), "001", "2021")
    assert uy.state == C.EXPLAINED and len(uy.versions) == 1
    assert uy.versions[0]["path"].startswith("网上报送/")
    assert all(C.explained(uy, f, 6) for f in uy.findings if f["severity"] == "warning")
    # the marked copy: a workbook with 问题清单 first
    m = c.get(f"/unit/draft/{did}/marked.xlsx")
    assert m.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(m.content))
    assert wb.sheetnames[0] == "问题清单"
    # the history page: 第 1 版, 已说明
    hist = c.get("/unit/year/2021")
    assert "第 1 版" in hist.text and "已说明" in hist.text
    assert {"upload", "submit", "sign-in"} <= {r["action"] for r in _audit(srv)}


def test_an_upload_and_an_inbox_file_are_the_same_version(srv, tmp_path):
    """One core, two doors: the file a unit submitted, dropped in the inbox, is no new version."""
    c = client(srv, "unit1")
    _submit_seed(srv, c)
    inbox = tmp_path / "inbox"
    copy_seed(inbox / "邮件" / "自评表.xlsx")
    from pipeline.check.ruleset import load_pack
    from pipeline.run import run

    rec = C.Recorder(_store(srv), inbox, tmp_path / "out", pack=load_pack(None, None))   # as `selfeval run --store`
    run(inbox, tmp_path / "out", jobs=1, returns=False, on_chunk=rec)
    done = rec.finish()
    assert (done.versions, done.unchanged) == (0, 1)
    assert len(C.find(_store(srv), "001", "2021").versions) == 1


def test_reviewer_returns_accepts_reopens_and_downloads(srv):
    u1 = client(srv, "unit1")
    _submit_seed(srv, u1)
    rv = client(srv, "rev")
    page = rv.get("/review?year=2021")
    assert page.status_code == 200 and SEED_UNIT in page.text and "未报" in page.text
    # filters
    assert SEED_UNIT not in rv.get("/review?year=2021&state=未报").text
    assert "岳阳市第二测试单位" not in rv.get("/review?year=2021&dept=市城管局").text
    unit = rv.get("/review/unit/001/2021")
    assert unit.status_code == 200 and "收入合计255.12万元" in unit.text and NOTE in unit.text
    tok = csrf_of(unit.text)
    r = rv.post("/review/unit/001/2021", data={"csrf": tok, "do": "return", "reason": " "})
    assert r.status_code == 409 and "审核意见" in r.text
    r = rv.post("/review/unit/001/2021", data={"csrf": tok, "do": "return", "reason": "请核对评价报告中的收入合计"})
    assert r.status_code == 303
    assert C.find(_store(srv), "001", "2021").state == C.RETURNED
    assert "请核对评价报告中的收入合计" in u1.get("/unit").text
    r = rv.post("/review/unit/001/2021", data={"csrf": tok, "do": "reopen", "reason": ""})
    r = rv.post("/review/unit/001/2021", data={"csrf": tok, "do": "accept", "reason": ""})
    assert r.status_code == 303 and C.find(_store(srv), "001", "2021").state == C.ACCEPTED
    # a locked unit-year takes no new 上报
    did = draft_id(upload(u1, seed_form()))
    assert "已审核通过并锁定" in u1.get(f"/unit/draft/{did}").text
    who = [a["who"] for a in C.find(_store(srv), "001", "2021").actions]
    assert who and set(who) == {"rev"}
    # downloads
    x = rv.get("/review/summary.xlsx?year=2021")
    assert x.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(x.content), read_only=True)
    assert "汇总表" in wb.sheetnames
    assert any(SEED_UNIT in str(v) for row in wb["汇总表"].iter_rows(values_only=True) for v in row)
    remind = openpyxl.load_workbook(io.BytesIO(rv.get("/review/remind.xlsx?year=2021").content))
    names = [r[1] for r in remind.active.iter_rows(min_row=2, values_only=True)]
    assert "岳阳市第三测试单位" in names and SEED_UNIT not in names
    vid = C.find(_store(srv), "001", "2021").current["id"]
    f = rv.get(f"/review/version/{vid}/file")
    assert f.status_code == 200 and f.content == seed_form().read_bytes()
    assert rv.get(f"/review/version/{vid}/marked.xlsx").status_code == 200
    assert "操作日志" in rv.get("/review/audit").text
    r = rv.post("/review/unit/001/2021", data={"csrf": tok, "do": "reopen", "reason": "测试结束"})
    assert r.status_code == 303 and C.find(_store(srv), "001", "2021").state != C.ACCEPTED


# ---------------------------------------------------------------------------- who may see what
def test_other_units_things_are_404(srv):
    u1 = client(srv, "unit1")
    did = draft_id(upload(u1, seed_form()))
    uy = C.find(_store(srv), "001", "2021")
    if uy is None or not uy.versions:
        _submit_seed(srv, u1)
    vids = [v["id"] for v in C.find(_store(srv), "001", "2021").versions]
    u2 = client(srv, "unit2")
    for path in [f"/unit/draft/{did}", f"/unit/draft/{did}/file", f"/unit/draft/{did}/marked.xlsx",
                 *[f"/unit/version/{v}/file" for v in vids], *[f"/unit/version/{v}/marked.xlsx" for v in vids],
                 "/unit/year/2021", "/review", "/review/unit/001/2021", f"/review/version/{vids[0]}/file",
                 "/review/summary.xlsx?year=2021", "/review/audit", "/unit/draft/x", "/unit/version/-1/file"]:
        r = u2.get(path)
        assert r.status_code == 404, path
        assert SEED_UNIT not in r.text
    r = u2.post(f"/unit/draft/{did}", data={"csrf": token(u2, "/unit"), "do": "submit"})
    assert r.status_code == 404
    # a reviewer has no unit pages either, and nobody signed out sees anything
    assert client(srv, "rev").get(f"/unit/draft/{did}").status_code == 404
    anon = client(srv)
    for path in ("/unit", f"/unit/draft/{did}", "/review", f"/review/version/{vids[0]}/file"):
        r = anon.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/login"


def test_a_unit_cannot_submit_another_units_form(srv):
    u2 = client(srv, "unit2")
    did = draft_id(upload(u2, seed_form()))
    page = u2.get(f"/unit/draft/{did}")
    assert "不是本账号的单位" in page.text
    keys = re.findall(r'name="note:([^"]+)"', page.text)
    r = u2.post(f"/unit/draft/{did}", data={"csrf": csrf_of(page.text), "do": "submit",
                                           **{f"note:{k}": NOTE for k in keys}})
    assert r.status_code == 409
    assert C.find(_store(srv), "002", "2021") is None or not C.find(_store(srv), "002", "2021").versions


# ---------------------------------------------------------------------------- sign-in and sessions
def test_passwords_are_argon2id_and_sign_ins_are_logged(srv):
    with _store(srv).transaction() as tx:
        acc = D.get_account(tx, name="unit1")
    assert acc["password"].startswith("$argon2id$") and PASSWORD not in acc["password"]
    c = client(srv)
    r = login(c, "unit1", "wrong-password")
    assert r.status_code == 401 and "用户名或密码不正确" in r.text
    assert login(c, "nobody", PASSWORD).status_code == 401
    bad = [a for a in _audit(srv, "sign-in") if not a["ok"]]
    assert {"unit1", "nobody"} <= {a["who"] for a in bad} and all(a["ip"] == "127.0.0.1" for a in bad)


def test_repeated_failures_lock_the_account(srv):
    c = client(srv)
    for _ in range(5):
        assert login(c, "unit3", "guess-guess-guess").status_code == 401
    r = login(c, "unit3", PASSWORD)
    assert r.status_code == 401 and "分钟后再试" in r.text
    with _store(srv).transaction() as tx:
        D.update_account(tx, D.get_account(tx, name="unit3")["id"], locked_until=None, fails=0)
    assert login(c, "unit3", PASSWORD).status_code == 303


def test_session_cookie_is_signed_httponly_samesite(srv):
    c = client(srv)
    page = c.get("/login")
    r = c.post("/login", data={"csrf": csrf_of(page.text), "name": "unit1", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()
    assert c.get("/unit").status_code == 200
    # a tampered cookie is no session
    value = c.cookies["selfeval_session"]
    forged = httpx.Client(base_url=srv.base, cookies={"selfeval_session": value[:-3] + "AAA"})
    assert forged.get("/unit").status_code == 303
    # a session of a changed password ends
    with _store(srv).transaction() as tx:
        acc = D.get_account(tx, name="unit1")
        D.update_account(tx, acc["id"], password=acc["password"] + "x")
    try:
        assert c.get("/unit").status_code == 303
    finally:
        with _store(srv).transaction() as tx:
            D.update_account(tx, acc["id"], password=acc["password"])


def test_every_post_needs_the_csrf_token(srv):
    posts = [r.path for r in srv.app.app.routes if isinstance(r, Route) and "POST" in (r.methods or ())]
    assert len(posts) >= 6
    u1, rv = client(srv, "unit1"), client(srv, "rev")
    fill = {"{id}": "1", "{year}": "2021", "{key}": "001"}
    for path in posts:
        for k, v in fill.items():
            path = path.replace(k, v)
        for c in (u1, rv, client(srv)):
            for data in ({}, {"csrf": "forged"}):
                r = c.post(path, data={**data, "do": "accept", "name": "unit1", "password": PASSWORD})
                assert r.status_code in (403, 404, 303), (path, r.status_code)
                if r.status_code == 303:   # signed out: to the sign-in page, nothing done
                    assert r.headers["location"] == "/login" and path != "/login"
    # another site's form carrying a stolen token is refused by its Origin
    tok = token(u1, "/unit")
    r = u1.post("/logout", data={"csrf": tok}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    assert u1.get("/unit").status_code == 200


def test_security_headers_everywhere(srv):
    c = client(srv, "unit1")
    for path in ("/login", "/unit", "/nowhere", "/static/desk.css"):
        r = c.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
    assert c.get("/unit").headers["cache-control"] == "no-store"
    assert "<script>" not in c.get("/unit").text and " style=" not in c.get("/unit").text


# ---------------------------------------------------------------------------- uploads
def test_body_over_64_mb_is_413(srv):
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        s.sendall(b"POST /unit/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                  b"boundary=x\r\nContent-Length: 70000000\r\n\r\n")
        s.settimeout(10)
        head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 413")

    def chunks():   # no Content-Length: counted while it streams
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.xlsx"\r\n\r\n'
        for _ in range(66):
            yield b"0" * (1 << 20)

    c = client(srv, "unit1")
    r = c.post("/unit/upload", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413 and "64 MB" in r.text


def test_upload_count_limits(srv, monkeypatch):
    c = client(srv, "unit2")
    tok = token(c, "/unit")
    data = seed_form().read_bytes()
    r = c.post("/unit/upload", data={"csrf": tok}, files=[("file", ("a.xlsx", data)), ("file", ("b.xlsx", data))])
    assert r.status_code == 400
    from pipeline.web import unit as U

    monkeypatch.setattr(U, "UPLOADS_PER_HOUR", 0)
    assert upload(c, seed_form()).status_code == 429


def test_hostile_uploads_cost_their_request_only(srv, tmp_path):
    from hostile import build_all

    made = build_all(tmp_path / "h", seed_form())
    c = client(srv, "unit3")
    for name in ("压缩炸弹.xlsx", "实体炸弹.xlsx", "外部实体.xlsx", "截断.xlsx", "乱码.xlsx", "重复单元格.ods"):
        t = time.monotonic()
        did = draft_id(upload(c, tmp_path / "h" / name))
        page = c.get(f"/unit/draft/{did}")
        assert "文件无法读取" in page.text, name
        with _store(srv).transaction() as tx:
            d = D.get_draft(tx, did)
        assert d["status"] == "rejected" and json.loads(d["result"])["code"] == made[name], name
        assert time.monotonic() - t < 30
    assert "root:" not in page.text
    # a hostile name is shown as text and never used to store anything
    evil = "<script>alert(1)</script>/../../逃逸.xlsx"
    did = draft_id(upload(c, seed_form(), name=evil))
    page = c.get(f"/unit/draft/{did}")
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text
    files = _store(srv).files_dir
    assert all(re.fullmatch(r"[0-9a-f]{64}", p.name) for p in files.rglob("*") if p.is_file())
    assert not list(Path(srv.tmp).rglob("逃逸*"))
    # and the desk goes on
    assert client(srv, "unit1").get("/unit").status_code == 200


def test_user_commands(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    url = make_store(tmp_path)
    run = CliRunner().invoke
    r = run(app, ["user", "add", "newunit", "--unit", "002", "--password", "long-enough-pass", "--store", url])
    assert r.exit_code == 0, r.output
    r = run(app, ["user", "add", "x", "--unit", "999", "--password", "long-enough-pass", "--store", url])
    assert r.exit_code == 2 and "名单" in r.output
    r = run(app, ["user", "add", "boss", "--reviewer", "--password", "short", "--store", url])
    assert r.exit_code == 2 and "至少" in r.output
    r = run(app, ["user", "add", "boss", "--reviewer", "--store", url], input="long-enough-pass\nlong-enough-pass\n")
    assert r.exit_code == 0, r.output
    r = run(app, ["user", "list", "--store", url])
    assert "newunit" in r.output and "审核人" in r.output
    st = C.open_store(url)
    with st.transaction() as tx:
        assert D.get_account(tx, name="newunit")["unit_key"] == "002"
        assert {a["action"] for a in D.audit_rows(tx)} >= {"user-add"}


def test_the_desk_on_both_engines(store_url, tmp_path):
    """The desk's work without HTTP on a SQLite file and on PostgreSQL (the files in table blob)."""
    from pipeline.web.service import Desk, Refused

    url = make_store(tmp_path, store_url)
    st = C.open_store(url)
    desk = Desk(st, tmp_path / "work", timeout=20)
    with st.transaction() as tx:
        acc = D.get_account(tx, name="unit1")
        other = D.get_account(tx, name="unit2")
    did = desk.check(acc, seed_form(), "自评表.xlsx")
    with st.transaction() as tx:
        d = D.get_draft(tx, did)
    result = json.loads(d["result"])
    assert d["status"] == "checked" and d["year"] == "2021"
    assert any(f["rule"] == "NAR-001" and f["cell"] == "A71" for f in result["findings"])
    assert desk.grid(d["sha256"], "自评表")["rows"][14][2] == "255.18"
    with pytest.raises(Refused):
        desk.submit(d, acc)
    desk.save_notes(d, {f["key"]: NOTE for f in result["findings"]})
    with st.transaction() as tx:
        d = D.get_draft(tx, did)
    assert desk.problems(d, acc) == []
    assert desk.problems(d, other)        # another unit's account may not submit this form
    done = desk.submit(d, acc)
    assert [uy.state for uy in done] == [C.EXPLAINED]
    v = done[0].current
    assert desk.blob_bytes(v["sha256"]) == seed_form().read_bytes()
    marked = desk.marked_copy(v["sha256"])
    assert openpyxl.load_workbook(marked).sheetnames[0] == "问题清单"
    # the marked copy sent back with a 说明 filled: it fills the page's box
    from collect_support import fill_return

    answer = fill_return(marked, tmp_path / "回复.xlsx", {"NAR-001": NOTE})
    back_id = desk.check(acc, answer, "回复.xlsx")
    with st.transaction() as tx:
        back = D.get_draft(tx, back_id)
    assert back["status"] == "checked"     # read as the unit's form, its 问题清单 sheet is not
    assert [(k[:8], t) for k, t in json.loads(back["notes"]).items()] == [("NAR-001-", NOTE)]
    summary = desk.summary(C.collection(st, "2021"))
    assert "汇总表" in openpyxl.load_workbook(summary, read_only=True).sheetnames
    desk.cleanup(summary)
    assert not list((tmp_path / "work" / "tmp").iterdir())
    st.close()



def test_notes_after_submission_and_a_rejected_note(srv):
    """说明 added on the year page after 上报; a reviewer rejects one on 退回: it no longer counts."""
    u1, rv = client(srv, "unit1"), client(srv, "rev")
    uy = C.find(_store(srv), "001", "2021")
    if uy is None or not uy.versions:
        _submit_seed(srv, u1)
    if C.find(_store(srv), "001", "2021").state == C.ACCEPTED:
        rv.post("/review/unit/001/2021", data={"csrf": token(rv, "/review"), "do": "reopen", "reason": ""})
    page = u1.get("/unit/year/2021")
    keys = re.findall(r'name="note:([^"]+)"', page.text)
    assert keys
    nar = next(k for k in keys if k.startswith("NAR-001-"))
    r = u1.post("/unit/year/2021/notes", data={"csrf": csrf_of(page.text), f"note:{nar}": "报告数字系笔误，以表内 255.18 为准"})
    assert r.status_code == 303
    uy = C.find(_store(srv), "001", "2021")
    assert uy.valid_notes[nar]["text"] == "报告数字系笔误，以表内 255.18 为准"
    page = rv.get("/review/unit/001/2021")
    assert f'name="reject:{nar}"' in page.text
    r = rv.post("/review/unit/001/2021", data={"csrf": csrf_of(page.text), "do": "return",
                                              "reason": "说明不充分", f"reject:{nar}": "on"})
    assert r.status_code == 303
    uy = C.find(_store(srv), "001", "2021")
    assert uy.state == C.RETURNED and nar not in uy.valid_notes
    assert "已驳回的说明" in rv.get("/review/unit/001/2021").text


def test_a_sign_in_link(srv, tmp_path):
    """`selfeval user link`: a confirm page, then signed in; a forged, another desk's or an old
    password's link is 404."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    url = str(_store(srv).engine.url.database)
    r = CliRunner().invoke(app, ["user", "link", "unit3", "--base", srv.base, "--work", str(srv.tmp / "work"),
                                 "--store", url])
    assert r.exit_code == 0, r.output
    link = re.search(r"http://\S+/link/[\w.-]+", r.output).group(0)
    path = link[len(srv.base):]
    c = client(srv)
    page = c.get(path)
    assert page.status_code == 200 and "unit3" in page.text
    assert c.get("/unit").status_code == 303          # opening the link signs nobody in
    assert c.post(path, data={}).status_code == 403    # the button carries the CSRF token
    assert c.post(path, data={"csrf": csrf_of(page.text)}).status_code == 303
    assert c.get("/unit").status_code == 200
    assert client(srv).get(path[:-4] + "AAAA").status_code == 404
    other = CliRunner().invoke(app, ["user", "link", "unit3", "--base", srv.base, "--work", str(tmp_path / "w2"),
                                     "--store", url])
    other_path = re.search(r"/link/[\w.-]+", other.output).group(0)
    assert client(srv).get(other_path).status_code == 404     # signed with another desk's key
    with _store(srv).transaction() as tx:
        acc = D.get_account(tx, name="unit3")
        D.update_account(tx, acc["id"], password=acc["password"] + "x")
    try:
        assert client(srv).get(path).status_code == 404        # a changed password voids it
    finally:
        with _store(srv).transaction() as tx:
            D.update_account(tx, acc["id"], password=acc["password"])


def test_the_self_check_asks_the_store_as_submitting_will(srv, tmp_path):
    """The self-check before 上报 sees what submitting would record: the version it would be and
    the cross-year rules against last year's submitted form (nothing is recorded by checking)."""
    from collect_support import make_form, next_year, save

    c = client(srv, "unit2")
    first = make_form("岳阳市第二测试单位", year=2023, seed=61)
    save(first, tmp_path / "2023.xlsx")
    did = draft_id(upload(c, tmp_path / "2023.xlsx"))
    page = c.get(f"/unit/draft/{did}")
    assert "第 1 版" not in page.text and "XYR-" not in page.text
    keys = re.findall(r'name="note:([^"]+)"', page.text)
    r = c.post(f"/unit/draft/{did}", data={"csrf": csrf_of(page.text), "do": "submit",
                                          **{f"note:{k}": NOTE for k in keys}})
    assert r.status_code == 303, r.text[:800]
    # the same year again: it would be the second version
    save(make_form("岳阳市第二测试单位", year=2023, seed=62), tmp_path / "2023-改.xlsx")
    page = c.get(f"/unit/draft/{draft_id(upload(c, tmp_path / '2023-改.xlsx'))}")
    assert re.search(r"第 2 版，替代 网上报送（\d{4}-\d\d-\d\d \d\d:\d\d）", page.text)   # not its stored name
    # next year, its 上年结转 off last year's 累计结余 (last year not yet 通过: a warning)
    save(next_year(first, carry_matches=False), tmp_path / "2024.xlsx")
    page = c.get(f"/unit/draft/{draft_id(upload(c, tmp_path / '2024.xlsx'))}")
    assert "XYR-001" in page.text and "2023年度自评表的累计结余" in page.text
    uy = C.find(_store(srv), "002", "2023")
    assert len(uy.versions) == 1 and C.find(_store(srv), "002", "2024") is None   # checking records nothing


def test_pages_are_not_held_up_by_a_run_writing_the_store(srv):
    """A `selfeval run --store` writing the same SQLite file holds its write lock for a chunk at
    a time; the desk's reads (the account behind every request, the unit's pages) go on beside
    it (WAL) instead of queueing behind it."""
    import threading

    c = client(srv, "unit1")
    st = C.open_store(str(srv.tmp / "desk.db"))   # another connection, as another process's run
    held, release = threading.Event(), threading.Event()

    def writer():
        with st.transaction() as tx:          # BEGIN IMMEDIATE: the write lock, as a run's chunk
            tx.exec_driver_sql("SELECT 1")
            held.set()
            release.wait(20)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert held.wait(10)
        t0 = time.monotonic()
        r = c.get("/unit", timeout=8)
        assert r.status_code == 200 and time.monotonic() - t0 < 5
    finally:
        release.set()
        t.join()
        st.close()
