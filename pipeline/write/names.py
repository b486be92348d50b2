"""Where each accepted file's marked-up copy goes, and the link that opens it at a cell."""
from __future__ import annotations

from pathlib import PurePosixPath


def return_names(results) -> dict[str, str]:
    """rel → path under OUT/returns/, the same relative path with .xlsx (a.xls and a.xlsx in
    one folder would collide: then the original suffix is kept, a.xls.xlsx)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for r in results:
        if r.status != "accepted":
            continue
        p = PurePosixPath(r.file)
        cand = str(p.with_suffix(".xlsx")) if p.suffix else r.file + ".xlsx"
        if cand.lower() in taken:
            cand = r.file + ".xlsx"
        taken.add(cand.lower())
        names[r.file] = cand
    return names


def return_link(report, finding) -> str | None:
    """An 'external:' link from summary.xlsx to the returned copy, at the finding's cell."""
    names = getattr(report, "_return_names", None)
    if names is None:
        names = report._return_names = return_names(report.results)
    target = names.get(finding.file)
    if not target or not report.returns_enabled:
        return None
    sheet = finding.sheet.replace("'", "''")
    cell = finding.cell if finding.cell and "!" not in finding.cell else "A1"
    if finding.cell and "!" in finding.cell:
        sheet_part, cell = finding.cell.split("!", 1)
        sheet = sheet_part.strip("'").replace("'", "''")
    return f"external:returns/{target}#'{sheet}'!{cell}"
