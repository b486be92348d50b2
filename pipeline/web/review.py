"""The reviewer's desk: the status table of a year with filters, a unit's page (versions, the diff
between them, findings with 说明, the drawn form), 通过 / 退回 / 重新打开, downloads (summary.xlsx
of the filter, files, marked copies), the 催报 list and the audit log."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from .. import collect as C
from ..store import desk as D
from .app import audit, checked_form, need, render
from .views import counts, drawn, marked, numbered, original, send_file


FILTER_WORDS = {"year": "年度", "state": "状态", "dept": "主管部门", "q": "单位", "deadline": "截止时间"}


def _filters(request: Request) -> dict:
    q = request.query_params
    return {k: q.get(k, "").strip()[:100] for k in ("year", "state", "dept", "q", "deadline")}


def _view(request: Request):
    """The status table's rows for the filters; the year defaults to the latest in the store."""
    st = request.app.state.desk.store
    f = _filters(request)
    everything = C.collection(st, f["year"] or None)
    years = sorted({uy.year for uy in everything}, reverse=True)
    year = f["year"] or (years[0] if years else "")
    view = [uy for uy in everything if uy.year == year]
    depts = sorted({uy.unit.get("dept", "") for uy in view if uy.unit.get("dept")})
    rows = [uy for uy in view if (not f["state"] or uy.state == f["state"])
            and (not f["dept"] or uy.unit.get("dept", "") == f["dept"])
            and (not f["q"] or f["q"] in uy.name or f["q"] in uy.key)]
    deadline = request.app.state.deadline
    if f["deadline"]:
        try:
            deadline = C.parse_deadline(f["deadline"])
        except ValueError:
            deadline = None
    f["year"] = year
    return f, years, depts, view, rows, deadline


async def status_page(request: Request):
    need(request, "reviewer")
    f, years, depts, view, rows, deadline = await run_in_threadpool(_view, request)
    min_chars = int(C.settings()["explain_min_chars"])
    table = []
    for uy in rows:
        n = uy.counts()
        first = uy.versions[0]["received_at"] if uy.versions else None
        table.append({"uy": uy, "errors": n["error"], "warnings": n["warning"],
                      "explained": sum(C.explained(uy, x, min_chars) for x in uy.findings),
                      "last": uy.versions[-1]["received_at"] if uy.versions else None,
                      "on_time": None if (first is None or deadline is None) else C._utc(first) <= C._utc(deadline)})
    cov = C.coverage(view, f["year"], deadline) if f["year"] else None
    query = "&".join(f"{k}={v}" for k, v in f.items() if v)
    return render(request, "review_status.html", f=f, years=years, depts=depts, table=table, cov=cov,
                  deadline=deadline, query=request.url.query, has_roster=any(uy.unit.get("on_roster") for uy in view),
                  base_query=query)


async def summary_download(request: Request):
    need(request, "reviewer")
    desk = request.app.state.desk
    f, _, _, _, rows, _ = await run_in_threadpool(_view, request)
    rows = [uy for uy in rows if uy.current]
    if not rows:
        raise HTTPException(404)
    path = await run_in_threadpool(desk.summary, rows)
    audit(request, "download", target="summary.xlsx", detail=" · ".join(f"{FILTER_WORDS[k]} {v}" for k, v in f.items() if v))
    return send_file(path, f"summary_{f['year']}.xlsx", cleanup=desk.cleanup)


async def remind_download(request: Request):
    need(request, "reviewer")
    f = _filters(request)
    st = request.app.state.desk.store

    def make():
        view = C.collection(st, f["year"] or None, roster_only=True)
        tmp = Path(tempfile.mkdtemp(prefix="remind-", dir=request.app.state.desk.work / "tmp"))
        C.write_reminders(C.reminders(view), tmp / "催报.xlsx")
        return tmp / "催报.xlsx"

    path = await run_in_threadpool(make)
    audit(request, "download", target="催报.xlsx", detail=f"年度 {f['year'] or '全部'}")
    return send_file(path, f"催报_{f['year'] or '全部'}.xlsx",
                     cleanup=lambda p: shutil.rmtree(Path(p).parent, ignore_errors=True))


def _unit_year(request: Request) -> C.UnitYear:
    key, year = request.path_params["key"], request.path_params["year"]
    st = request.app.state.desk.store
    found = C.collection(st, year, unit_key=key) if year.isdigit() else []
    if not found:
        with st.reading() as tx:
            unit = st.units(tx).get(key)
        if unit is None or not unit.get("on_roster"):
            raise HTTPException(404)
        return C.UnitYear(key, year, unit)
    return found[0]


async def unit_page(request: Request, message: str = "", status: int = 200):
    need(request, "reviewer")
    desk = request.app.state.desk
    uy = await run_in_threadpool(_unit_year, request)
    findings = numbered(uy.findings)
    min_chars = int(C.settings()["explain_min_chars"])
    diff, amounts = [], []
    if uy.current and uy.number > 1:
        prev = uy.versions[uy.number - 2]

        def compare():
            with desk.store.reading() as tx:
                pf = desk.store.findings(tx, [prev["id"]])
                vals = desk.store.version_values(tx, [prev["id"], uy.current["id"]])
            return (C.diff_findings(pf, uy.findings, uy, min_chars),
                    C.diff_amounts(vals[prev["id"]][1], vals[uy.current["id"]][1]))

        diff, amounts = await run_in_threadpool(compare)
    sheets = await drawn(desk, uy.current["sha256"], [uy.current["sheet"]], findings) if uy.current else []
    return render(request, "review_unit.html", status=status, uy=uy, findings=findings, sheets=sheets,
                  counts=counts(findings), diff=diff, amounts=amounts, message=message,
                  explained={f["key"] for f in uy.findings if C.explained(uy, f, min_chars)},
                  rejected=[n for n in uy.notes if n.get("rejected_by") is not None])


async def unit_act(request: Request):
    acc = need(request, "reviewer")
    uy = await run_in_threadpool(_unit_year, request)
    form = await checked_form(request)
    kind = str(form.get("do", ""))
    if kind not in ("accept", "return", "reopen"):
        raise HTTPException(400)
    reason = str(form.get("reason", "")).strip()[:2000]
    reject = [str(k)[7:] for k in form.keys() if str(k).startswith("reject:")]
    try:
        await run_in_threadpool(lambda: C.act(request.app.state.desk.store, uy.key, uy.year, kind,
                                              reason=reason, by=acc["name"], reject_notes=reject))
    except C.ActionRefused as exc:
        audit(request, kind, ok=False, target=f"{uy.key} {uy.year}", detail=str(exc))
        return await unit_page(request, message=str(exc), status=409)
    audit(request, kind, target=f"{uy.key} {uy.year}", detail=reason)
    return RedirectResponse(request.url.path, 303)


def _version(request: Request):
    try:
        vid = int(request.path_params["id"])
    except ValueError:
        raise HTTPException(404)
    st = request.app.state.desk.store
    with st.reading() as tx:
        v = D.version_by_id(tx, vid)
    if v is None:
        raise HTTPException(404)
    uy = C.collection(st, ids=[v["unit_year_id"]])
    return (uy[0] if uy else None), v


async def version_file(request: Request):
    need(request, "reviewer")
    uy, v = await run_in_threadpool(_version, request)
    return await original(request, v["sha256"], f"版本 {v['id']}", _stem(uy, v))


async def version_marked(request: Request):
    need(request, "reviewer")
    uy, v = await run_in_threadpool(_version, request)
    return await marked(request, v["sha256"], f"版本 {v['id']}", _stem(uy, v))


def _stem(uy, v) -> str:
    return f"{uy.name if uy else v['unit_name']}_{uy.year if uy else ''}"


async def audit_page(request: Request):
    need(request, "reviewer")
    st = request.app.state.desk.store
    with st.reading() as tx:
        rows = D.audit_rows(tx, limit=500)
    return render(request, "audit.html", rows=rows)


routes = [
    Route("/review", status_page),
    Route("/review/summary.xlsx", summary_download),
    Route("/review/remind.xlsx", remind_download),
    Route("/review/unit/{key}/{year}", unit_page, methods=["GET"]),
    Route("/review/unit/{key}/{year}", unit_act, methods=["POST"]),
    Route("/review/version/{id}/file", version_file),
    Route("/review/version/{id}/marked.xlsx", version_marked),
    Route("/review/audit", audit_page),
]
