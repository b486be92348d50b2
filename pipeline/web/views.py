"""What the pages of both sides share: findings numbered for the drawn form, sheets drawn with
their marks, and files sent with names the server chose."""
from __future__ import annotations

import re

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response

from .draw import SEVERITY_ORDER, layout

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def numbered(findings: list[dict]) -> list[dict]:
    """Findings in the order a unit works through them (errors first, then by sheet and cell),
    each with its mark number as drawn on the form."""
    def cell_order(f):
        m = re.match(r"([A-Z]+)(\d+)$", f.get("cell") or "")
        return (int(m.group(2)), len(m.group(1)), m.group(1)) if m else (10 ** 9, 0, "")

    out = sorted((dict(f) for f in findings),
                 key=lambda f: (SEVERITY_ORDER.get(f["severity"], 3), f.get("sheet", ""), cell_order(f)))
    for i, f in enumerate(out, 1):
        f["mark"] = i
    return out


async def drawn(desk, sha: str, sheets: list[str], findings: list[dict]) -> list[dict]:
    out = []
    for sheet in dict.fromkeys(sheets):
        grid = await run_in_threadpool(desk.grid, sha, sheet)
        if grid:
            out.append({"sheet": sheet, "grid": layout(grid, [f for f in findings if f.get("sheet") == sheet])})
    return out


def counts(findings: list[dict]) -> dict:
    c = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        c[f["severity"]] = c.get(f["severity"], 0) + 1
    return c


async def original(request, sha: str, what: str, stem: str) -> Response:
    """A stored file as it was received, named stem + its own extension; 404 without its bytes."""
    from .app import audit

    data = await run_in_threadpool(request.app.state.desk.blob_bytes, sha)
    if data is None:
        raise HTTPException(404)
    audit(request, "download", target=f"{what} 原表")
    return send_bytes(data, f"{stem}{file_ext(data[:8])}")


async def marked(request, sha: str, what: str, stem: str) -> Response:
    """A stored file's marked-up copy, named 标注_stem.xlsx; 404 when there is none."""
    from .app import audit

    path = await run_in_threadpool(request.app.state.desk.marked_copy, sha)
    if path is None:
        raise HTTPException(404)
    audit(request, "download", target=f"{what} 标注表")
    return send_file(path, f"标注_{stem}.xlsx")


def send_file(path, name: str, cleanup=None) -> Response:
    return FileResponse(path, media_type=XLSX if str(name).endswith(".xlsx") else "application/octet-stream",
                        filename=_download_name(name),
                        background=BackgroundTask(cleanup, path) if cleanup else None)


def send_bytes(data: bytes, name: str) -> Response:
    from urllib.parse import quote

    return Response(data, media_type="application/octet-stream", headers={
        "content-disposition": f"attachment; filename=\"selfeval.bin\"; filename*=UTF-8''{quote(_download_name(name))}"})


def _download_name(name: str) -> str:
    return re.sub(r'[\x00-\x1f\x7f\\/:*?"<>|]+', "_", name)[:120] or "selfeval.xlsx"


def file_ext(data_head: bytes) -> str:
    return ".xls" if data_head.startswith(b"\xd0\xcf\x11\xe0") else ".xlsx"
