"""OUT/returns/: each unit's own workbook back, flagged cells filled and commented, plus 问题清单.

.xlsx/.xlsm keep their layout through openpyxl; .xls/.ods (and Strict OOXML, which openpyxl
cannot open) are rebuilt from the grid the reader saw. Formulas outside the form's simple
arithmetic (HYPERLINK, DDE, external links…) are kept only as inert text.
"""
from __future__ import annotations

import re
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from copy import copy
from pathlib import Path

from ..models import SEVERITY_LABELS
from .atomic import atomic_path
from .names import return_names

FILLS = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7"}
_SIMPLE = re.compile(r"^=\s*(?:SUM\(|[A-Z]{1,3}\$?\d|\$|\(|\d|[-+])[A-Z0-9$:,+\-*/(). ]*$", re.I)
_BAD = re.compile(r"[A-Z_]+\(", re.I)
RETURN_SHEET = "问题清单"
RETURN_HEADER = ["序号", "严重程度", "规则", "问题说明", "工作表", "单元格", "应为", "实为", "差额", "说明（单位填写）"]


def write_returns(report, jobs: int = 0, every: bool = False) -> int:
    """A marked-up copy for each accepted file with findings (every=True: each accepted file)."""
    names = return_names(report.results)
    by_file: dict[str, list] = {}
    for f in report.findings:
        by_file.setdefault(f.file, []).append(f)
    tasks = []
    for r in report.results:
        if r.status == "accepted" and (every or r.file in by_file):
            rows = [(x.severity, x.rule, x.message, x.sheet, x.cell, x.expected, x.actual, x.diff)
                    for x in by_file.get(r.file, [])]
            tasks.append((str(report.inbox / r.file), str(report.out / "returns" / names[r.file]), rows))
    if len(tasks) < 8 or jobs == 1:
        for t in tasks:
            write_one(*t)
    else:
        from ..read.pool import _no_main_import, worker_context

        with _no_main_import(), ProcessPoolExecutor(max_workers=jobs or None,
                                                    mp_context=worker_context()) as ex:
            list(ex.map(_star, tasks, chunksize=8))
    _remove_stale(report.out / "returns", {Path(t[1]) for t in tasks})
    return len(tasks)


def _remove_stale(folder: Path, written: set[Path]) -> None:
    """Copies left by an earlier run into the same OUT whose file now has no findings (or is gone)
    would be sent back wrongly: remove them, and the folders they leave empty."""
    if not folder.exists():
        return
    for path in sorted(folder.rglob("*.xlsx"), reverse=True):
        if path not in written:
            path.unlink()
    for d in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()


def _star(t):
    return write_one(*t)


def write_one(src: str, dst: str, rows: list[tuple]) -> None:
    wb = _load_own(Path(src))
    if wb is None:
        wb = _rebuild(Path(src))
    _mark(wb, rows)
    with atomic_path(Path(dst)) as tmp:
        wb.save(tmp)


def _load_own(src: Path):
    from openpyxl import load_workbook

    from ..read.guard import sniff

    with open(src, "rb") as fh:
        if sniff(fh.read(8), src.stat().st_size) != "zip":
            return None
    try:
        with _fast_merges():
            wb = load_workbook(src, keep_vba=False, keep_links=False, rich_text=False)
    except Exception:
        return None
    if not wb.worksheets:
        return None  # Strict OOXML: openpyxl sees no sheets
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f" and isinstance(c.value, str) and not _simple(c.value):
                    _text(c, c.value)
    return wb


@contextmanager
def _fast_merges():
    """openpyxl rebuilds the borders of every merged range on load (about 90% of its load time
    on these forms). The file already styles each cell of a merge, so keep those styles on the
    MergedCell placeholders instead: faster, and closer to what the unit drew."""
    from openpyxl.cell.cell import MergedCell
    from openpyxl.worksheet import _reader
    from openpyxl.worksheet.cell_range import MultiCellRange
    from openpyxl.worksheet.merge import MergedCellRange

    def bind(self):
        if not self.parser.merged_cells:
            return
        cells, ranges = self.ws._cells, []
        for cr in self.parser.merged_cells.mergeCell:
            mcr = MergedCellRange(self.ws, cr.ref)
            it = mcr.cells
            next(it)  # the top-left cell keeps its value and style
            for row, col in it:
                old = cells.get((row, col))
                placeholder = MergedCell(self.ws, row, col)
                if old is not None:
                    placeholder._style = copy(old._style)
                cells[row, col] = placeholder
            ranges.append(mcr)
        self.ws.merged_cells = MultiCellRange(ranges)

    original = _reader.WorksheetReader.bind_merged_cells
    _reader.WorksheetReader.bind_merged_cells = bind
    try:
        yield
    finally:
        _reader.WorksheetReader.bind_merged_cells = original


def _simple(formula: str) -> bool:
    return bool(_SIMPLE.match(formula)) and not _BAD.search(formula.replace("SUM(", "").replace("sum(", ""))


def _rebuild(src: Path):
    """A fresh workbook with the values and merged ranges the reader saw."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from ..read.open import read_book

    book = read_book(src)
    wb = Workbook()
    wb.remove(wb.active)
    for g in book.sheets:
        ws = wb.create_sheet(g.name[:31] or "Sheet")
        for (r, c), v in g.values.items():
            cell = ws.cell(row=r + 1, column=c + 1)
            if isinstance(v, str):
                _text(cell, v)
            else:
                cell.value = v
        for (r, c), e in g.errors.items():
            _text(ws.cell(row=r + 1, column=c + 1), e)
        for r1, c1, r2, c2 in g.merged:
            ws.merge_cells(start_row=r1 + 1, start_column=c1 + 1, end_row=r2 + 1, end_column=c2 + 1)
        for c in range(g.ncols):
            ws.column_dimensions[get_column_letter(c + 1)].width = 14
    return wb


def _text(cell, value: str) -> None:
    """Store as a string even when it starts with '=': openpyxl would make it a formula."""
    cell.value = value
    cell.data_type = "s"


def _target(wb, sheet: str, cell: str):
    if "!" in cell:
        sheet, cell = cell.split("!", 1)
        sheet = sheet.strip("'")
    if sheet not in wb.sheetnames or not cell:
        return None
    ws = wb[sheet]
    for rng in ws.merged_cells.ranges:
        if cell in rng:
            return ws.cell(row=rng.min_row, column=rng.min_col)
    return ws[cell]


def _mark(wb, rows: list[tuple]) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    notes: dict[tuple[str, str], list] = {}
    for sev, rule, msg, sheet, cell, *_ in rows:
        if cell:
            notes.setdefault((sheet, cell), []).append((sev, rule, msg))
    for (sheet, cell), hits in notes.items():
        target = _target(wb, sheet, cell)
        if target is None:
            continue
        worst = min(hits, key=lambda h: ("error", "warning", "info").index(h[0]))[0]
        target.fill = PatternFill("solid", fgColor=FILLS[worst])
        text = "\n".join(f"[{rule}] {msg}" for _, rule, msg in hits)
        target.comment = Comment(text[:30000], "selfeval", width=420, height=160)
    name = RETURN_SHEET
    while name in wb.sheetnames:
        name += "（审核）"
    ws = wb.create_sheet(name, 0)
    for c, h in enumerate(RETURN_HEADER, 1):
        _text(ws.cell(row=1, column=c), h)
        ws.cell(row=1, column=c).font = Font(bold=True)
    for i, (sev, rule, msg, sheet, cell, exp, act, diff) in enumerate(rows, 2):
        vals = [str(i - 1), SEVERITY_LABELS[sev], rule, msg, sheet, cell, exp, act, diff, ""]
        for c, v in enumerate(vals, 1):
            _text(ws.cell(row=i, column=c), v)
        ws.cell(row=i, column=2).fill = PatternFill("solid", fgColor=FILLS[sev])
    for letter, width in zip("ABCDEFGHIJ", (6, 10, 10, 80, 14, 10, 12, 12, 10, 40)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:J{max(2, len(rows) + 1)}"
    for other in wb.worksheets:
        other.sheet_view.tabSelected = other is ws  # one selected tab, or Excel groups them
    wb.active = 0
