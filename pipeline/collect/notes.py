"""说明 read back from a returned copy's 问题清单, each matched to its finding key."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from .base import KEY_HEADER, NOTE_HEADER, RETURN_SHEET
from .roster import _cell_text


def has_return_sheet(path: Path) -> bool:
    """Whether a workbook has a 问题清单 sheet, looked up cheaply (the workbook part only)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head.startswith(b"PK"):
            with zipfile.ZipFile(path) as z:
                return RETURN_SHEET.encode() in z.read("xl/workbook.xml")
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            from python_calamine import CalamineWorkbook

            return RETURN_SHEET in CalamineWorkbook.from_path(str(path)).sheet_names
    except Exception:
        return False
    return False


def read_notes(path: Path) -> list[dict]:
    """Rows of a returned copy's 问题清单 that carry a 说明: key (问题编号, if the column is
    there), rule, sheet, cell, note."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        rows = wb.get_sheet_by_name(RETURN_SHEET).to_python(skip_empty_area=False)
    except Exception:
        return []
    head = None
    out = []
    for row in rows:
        cells = [_cell_text(v) for v in row]
        if head is None:
            if NOTE_HEADER in cells and "规则" in cells:
                head = {h: i for i, h in enumerate(cells) if h}
            continue
        get = lambda h: cells[head[h]] if h in head and head[h] < len(cells) else ""  # noqa: E731
        note = get(NOTE_HEADER)
        if note:
            out.append({"key": get(KEY_HEADER), "rule": get("规则"), "sheet": get("工作表"),
                        "cell": get("单元格"), "note": note})
    return out


def match_notes(notes: list[dict], prior: list[dict]) -> list[dict]:
    """Give each 说明 its finding key: the 问题编号 column when the copy has it, else the earlier
    finding of the same rule, sheet and cell (the copy was made from that version)."""
    by_cell = {}
    for f in prior:     # oldest first: the latest version's finding wins
        by_cell[(f["rule"], f["sheet"], f["cell"])] = f["key"]
    out = []
    for n in notes:
        key = n["key"] or by_cell.get((n["rule"], n["sheet"], n["cell"]))
        if not key:
            key = f"{n['rule']}-?{n['sheet']}!{n['cell']}"   # no such finding: kept, shown stale
        out.append(dict(n, key=key))
    return out


def note_counts(text: str, min_chars: int) -> bool:
    return len(re.sub(r"\s+", "", text or "")) >= min_chars
