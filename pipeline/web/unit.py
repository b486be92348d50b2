"""The unit's pages: upload and self-check (上报前自查), the drawn form with its findings, 说明,
上报, the marked copy, and the unit's own history. A unit sees only its own unit key's things:
anything else is 404."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from .. import collect as C
from ..store import desk as D
from .app import audit, checked_form, need, render
from .service import Refused
from .views import counts, drawn, marked, numbered, original

UPLOADS_PER_HOUR = 30


def _own_draft(request: Request, acc: dict) -> dict:
    try:
        did = int(request.path_params["id"])
    except ValueError:
        raise HTTPException(404)
    with request.app.state.desk.store.reading() as tx:
        d = D.get_draft(tx, did)
    if d is None or d["unit_key"] != acc["unit_key"]:
        raise HTTPException(404)
    return d


def _own_version(request: Request, acc: dict) -> tuple[C.UnitYear, dict]:
    try:
        vid = int(request.path_params["id"])
    except ValueError:
        raise HTTPException(404)
    for uy in C.collection(request.app.state.desk.store, unit_key=acc["unit_key"]):
        for v in uy.versions:
            if v["id"] == vid:
                return uy, v
    raise HTTPException(404)


async def unit_home(request: Request):
    acc = need(request, "unit")
    st = request.app.state.desk.store
    years = C.collection(st, unit_key=acc["unit_key"])
    with st.reading() as tx:
        drafts = D.drafts(tx, acc["unit_key"], limit=20)
        units = st.units(tx)
    for d in drafts:
        r = json.loads(d["result"])
        d["counts"] = counts(r["findings"])
        d["error"] = r.get("error", "")
    unit = units.get(acc["unit_key"], {"name": acc["unit_key"]})
    return render(request, "unit_home.html", unit=unit, years=years, drafts=drafts,
                  flash=request.query_params.get("done", ""))


async def upload(request: Request):
    acc = need(request, "unit")
    desk = request.app.state.desk
    with desk.store.reading() as tx:
        recent = D.count_recent(tx, who=acc["name"], action="upload",
                                since=C.now() - dt.timedelta(hours=1))
    if recent >= UPLOADS_PER_HOUR:
        audit(request, "upload", ok=False, detail="超过每小时上传次数")
        raise HTTPException(429, f"一小时内最多上传 {UPLOADS_PER_HOUR} 次，请稍后再试")
    form = await checked_form(request, files=1)
    item = form.get("file")
    if not isinstance(item, UploadFile) or not item.filename:
        await form.close()
        return await _home_error(request, "请选择要上传的自评表文件")
    fd, tmp = tempfile.mkstemp(prefix="up-", dir=desk.work / "tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            await run_in_threadpool(shutil.copyfileobj, item.file, out, 1 << 20)
        await form.close()
        if os.path.getsize(tmp) == 0:
            return await _home_error(request, "上传的文件是空的（0 字节），请重新选择")
        did = await run_in_threadpool(desk.check, acc, Path(tmp), item.filename)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    with desk.store.reading() as tx:
        d = D.get_draft(tx, did)
    audit(request, "upload", ok=d["status"] == "checked", target=f"自查 {did}",
          detail=f"{d['size']} 字节 · sha256 {d['sha256']}")
    return RedirectResponse(f"/unit/draft/{did}", 303)


async def _home_error(request, message):
    acc = request.state.account
    st = request.app.state.desk.store
    with st.reading() as tx:
        drafts = D.drafts(tx, acc["unit_key"], limit=20)
        units = st.units(tx)
    for d in drafts:
        r = json.loads(d["result"])
        d["counts"], d["error"] = counts(r["findings"]), r.get("error", "")
    return render(request, "unit_home.html", status=400, unit=units.get(acc["unit_key"], {"name": acc["unit_key"]}),
                  years=C.collection(st, unit_key=acc["unit_key"]), drafts=drafts, flash="", error=message)


async def draft_page(request: Request, problems: list[str] | None = None, status: int = 200):
    acc = need(request, "unit")
    d = _own_draft(request, acc)
    desk = request.app.state.desk
    result = json.loads(d["result"])
    findings = numbered(result["findings"])
    notes = json.loads(d["notes"])
    sheets = await drawn(desk, d["sha256"], [f["sheet"] for f in result["forms"]], findings)
    if problems is None and d["status"] == "checked":
        problems = await run_in_threadpool(desk.problems, d, acc)
    return render(request, "draft.html", status=status, draft=d, result=result, findings=findings,
                  notes=notes, sheets=sheets, counts=counts(findings), problems=problems or [],
                  min_chars=int(C.settings()["explain_min_chars"]), tried=status != 200)


async def draft_post(request: Request):
    acc = need(request, "unit")
    d = _own_draft(request, acc)
    form = await checked_form(request)
    desk = request.app.state.desk
    if d["status"] != "checked":
        raise HTTPException(404)
    notes = {k[5:]: str(v) for k, v in form.items() if k.startswith("note:")}
    kept = await run_in_threadpool(desk.save_notes, d, notes)
    with desk.store.reading() as tx:
        d = D.get_draft(tx, d["id"])
    if form.get("do") != "submit":
        audit(request, "notes", target=f"自查 {d['id']}", detail=f"{len(kept)} 条说明")
        return RedirectResponse(f"/unit/draft/{d['id']}#notes", 303)
    try:
        done = await run_in_threadpool(desk.submit, d, acc)
    except Refused as exc:
        audit(request, "submit", ok=False, target=f"自查 {d['id']}", detail=str(exc))
        return await draft_page(request, problems=str(exc).split("；"), status=409)
    audit(request, "submit", target=f"自查 {d['id']}",
          detail="；".join(f"{uy.year}年度 第{uy.number}版 {uy.state}" for uy in done))
    year = done[0].year if done else d["year"]
    return RedirectResponse(f"/unit/year/{year}?done=1", 303)


async def draft_marked(request: Request):
    acc = need(request, "unit")
    d = _own_draft(request, acc)
    if d["status"] == "rejected":
        raise HTTPException(404)
    return await marked(request, d["sha256"], f"自查 {d['id']}", _base(d["filename"]))


async def draft_file(request: Request):
    acc = need(request, "unit")
    d = _own_draft(request, acc)
    return await original(request, d["sha256"], f"自查 {d['id']}", _base(d["filename"]))


def _base(name: str) -> str:
    base = os.path.splitext(os.path.basename(str(name).replace("\\", "/")))[0]
    return base or "自评表"


async def year_page(request: Request):
    acc = need(request, "unit")
    st = request.app.state.desk.store
    year = request.path_params["year"]
    uy = C.find(st, acc["unit_key"], year) if year.isdigit() else None
    if uy is None or uy.key != acc["unit_key"]:
        raise HTTPException(404)
    findings = numbered(uy.findings)
    sheets = await drawn(request.app.state.desk, uy.current["sha256"], [uy.current["sheet"]], findings) if uy.current else []
    min_chars = int(C.settings()["explain_min_chars"])
    return render(request, "unit_year.html", uy=uy, findings=findings, sheets=sheets,
                  counts=counts(findings), min_chars=min_chars,
                  explained={f["key"] for f in uy.findings if C.explained(uy, f, min_chars)},
                  done=request.query_params.get("done", ""))


async def year_notes(request: Request):
    """说明 written after 上报 (e.g. for a warning found only on 上报, such as a cross-year one)."""
    acc = need(request, "unit")
    st = request.app.state.desk.store
    year = request.path_params["year"]
    uy = C.find(st, acc["unit_key"], year) if year.isdigit() else None
    if uy is None or uy.key != acc["unit_key"] or uy.current is None:
        raise HTTPException(404)
    form = await checked_form(request)
    if uy.state in (C.ACCEPTED,):
        raise HTTPException(409, "已审核通过并锁定，不能再修改说明")
    notes = {k[5:]: str(v)[:2000] for k, v in form.items() if k.startswith("note:")}
    warn = {f["key"] for f in uy.findings if f["severity"] == "warning"}
    n = await run_in_threadpool(C.explain, st, uy, uy.current["id"], {k: v for k, v in notes.items() if k in warn})
    audit(request, "notes", target=f"{uy.key} {year}", detail=f"{n} 条说明")
    return RedirectResponse(f"/unit/year/{year}", 303)


async def version_file(request: Request):
    acc = need(request, "unit")
    uy, v = _own_version(request, acc)
    return await original(request, v["sha256"], f"版本 {v['id']}", f"{uy.name}_{uy.year}")


async def version_marked(request: Request):
    acc = need(request, "unit")
    uy, v = _own_version(request, acc)
    return await marked(request, v["sha256"], f"版本 {v['id']}", f"{uy.name}_{uy.year}")


routes = [
    Route("/unit", unit_home),
    Route("/unit/upload", upload, methods=["POST"]),
    Route("/unit/draft/{id}", draft_page, methods=["GET"]),
    Route("/unit/draft/{id}", draft_post, methods=["POST"]),
    Route("/unit/draft/{id}/marked.xlsx", draft_marked),
    Route("/unit/draft/{id}/file", draft_file),
    Route("/unit/year/{year}", year_page, methods=["GET"]),
    Route("/unit/year/{year}/notes", year_notes, methods=["POST"]),
    Route("/unit/version/{id}/file", version_file),
    Route("/unit/version/{id}/marked.xlsx", version_marked),
]
