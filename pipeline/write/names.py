"""Where each accepted file's marked-up copy goes, and the link that opens it at a cell."""
from __future__ import annotations

from pathlib import PurePosixPath


class ReturnNames:
    """rel → path under OUT/returns/: the same relative path with .xlsx (a.xls and a.xlsx in one
    folder would collide: then the original suffix is kept, a.xls.xlsx). Files are added in the
    run's order, so a name never depends on files not yet read."""

    def __init__(self):
        self.names: dict[str, str] = {}
        self._taken: set[str] = set()

    def add(self, result) -> None:
        if result.status != "accepted":
            return
        p = PurePosixPath(result.file)
        cand = str(p.with_suffix(".xlsx")) if p.suffix else result.file + ".xlsx"
        if cand.lower() in self._taken:
            cand = result.file + ".xlsx"
        self._taken.add(cand.lower())
        self.names[result.file] = cand

    def link(self, finding) -> str:
        """An 'external:' link from summary.xlsx to the returned copy, at the finding's cell."""
        target = self.names.get(finding.file)
        if not target:
            return ""
        sheet = finding.sheet.replace("'", "''")
        cell = finding.cell if finding.cell and "!" not in finding.cell else "A1"
        if finding.cell and "!" in finding.cell:
            sheet_part, cell = finding.cell.split("!", 1)
            sheet = sheet_part.strip("'").replace("'", "''")
        return f"external:returns/{target}#'{sheet}'!{cell}"


def return_names(results) -> dict[str, str]:
    names = ReturnNames()
    for r in results:
        names.add(r)
    return names.names
