"""OUT/returns/: each unit's own workbook back, flagged cells filled and commented, plus 问题清单.

Each copy is made in a contained worker (memory cap, time limit; pipeline/read/pool.py) from the
very bytes that were checked, so one file's copy can fail only itself. .xlsx/.xlsm keep their
layout through openpyxl; .xls/.ods (and Strict OOXML, which openpyxl cannot open) are rebuilt from
the grid the reader saw. Nothing from the input that acts survives: formulas outside the form's
simple arithmetic become inert text; hyperlinks, external links and defined names that are not
plain ranges are dropped.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from copy import copy
from pathlib import Path

from ..models import SEVERITY_LABELS
from .atomic import atomic_path

FILLS = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7"}
_SIMPLE = re.compile(r"^=\s*(?:SUM\(|[A-Z]{1,3}\$?\d|\$|\(|\d|[-+])[A-Z0-9$:,+\-*/(). ]*$", re.I)
_BAD = re.compile(r"[A-Z_]+\(", re.I)
_RANGE = re.compile(r"^(?:(?:'[^'!\[\]]+'|[^'!\[\]()\s&\"]+)!)?\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?$")
RETURN_SHEET = "问题清单"
RETURN_HEADER = ["序号", "严重程度", "规则", "问题说明", "工作表", "单元格", "应为", "实为", "差额", "说明（单位填写）"]
OWN_PROPERTY = "selfeval"   # custom document property: "return" here, "summary" on summary.xlsx


class ReturnRefused(Exception):
    """A reason, in Chinese, that this file gets no returned copy."""


def return_tasks(report, every: bool = False) -> list[tuple]:
    """(result, task) for each accepted file with findings (every: each accepted file); a task
    is what a return worker needs: (src, dst under returns/, the findings' text, sha256)."""
    by_file: dict[str, list] = {}
    for f in report.findings:
        by_file.setdefault(f.file, []).append(f)
    # a rule may word its message for the unit apart (DUP-001 names no other file there)
    unit_words = {r.id: r.params["return_message"] for r in report.pack.rules if r.params.get("return_message")}
    due = []
    for r in report.results:
        if r.status == "accepted" and r.return_name and (every or r.file in by_file):
            rows = [(x.severity, x.rule, unit_words.get(x.rule, x.message), x.sheet, x.cell, x.expected,
                     x.actual, x.diff) for x in by_file.get(r.file, [])]
            due.append((r, (r.path, r.return_name, rows, r.sha256)))
    return due


def return_job(src: str, dst: str, rows: list[tuple], sha256: str, folder: str) -> str:
    """One marked-up copy, written to folder/dst. Built from the bytes whose digest the run
    recorded: a file changed since it was read is not marked with another version's findings."""
    import hashlib

    data = Path(src).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ReturnRefused("文件在审核之后被改动或替换，未生成标注表；请重新运行汇总")
    wb = _load_own(data) or _rebuild(Path(src), data)
    _sanitize(wb)
    _mark(wb, rows)
    _stamp(wb)
    with atomic_path(Path(folder) / dst) as tmp:
        wb.save(tmp)
    return dst


def _load_own(data: bytes):
    """The unit's own workbook through openpyxl (its layout kept), or None where openpyxl cannot
    open it (.xls/.ods bytes, Strict OOXML)."""
    import io

    from openpyxl import load_workbook

    from ..read.guard import sniff

    if sniff(data[:8], len(data)) != "zip":
        return None
    try:
        with _fast_merges():
            wb = load_workbook(io.BytesIO(data), keep_vba=False, keep_links=False, rich_text=False)
    except Exception:
        return None
    if not wb.worksheets:
        return None  # Strict OOXML: openpyxl sees no sheets
    return wb


def _sanitize(wb) -> None:
    """Formulas other than the form's simple arithmetic become inert text, text loses control
    characters no workbook may hold, hyperlinks and names that are not plain ranges go."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if isinstance(v, str) and ((c.data_type == "f" and not _simple(v))
                                           or ILLEGAL_CHARACTERS_RE.search(v)):
                    _text(c, v)
                if c.hyperlink is not None:
                    c.hyperlink = None
        ws._hyperlinks = []
        for name in list(ws.defined_names):
            if not _plain_range(ws.defined_names[name]):
                del ws.defined_names[name]
    for name in list(wb.defined_names):
        if not _plain_range(wb.defined_names[name]):
            del wb.defined_names[name]
    wb._external_links = []


def _plain_range(defn) -> bool:
    """A print area or a name for cells of this workbook: ranges only, no function, no link."""
    value = (defn.attr_text or "").strip()
    return bool(value) and all(_RANGE.match(part.strip()) for part in value.split(","))


def _stamp(wb) -> None:
    """Marks the copy as selfeval's: a later run reads it as the unit's form, not its 问题清单."""
    from openpyxl.packaging.custom import StringProperty

    wb.custom_doc_props.append(StringProperty(name=OWN_PROPERTY, value="return"))


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


def _rebuild(src: Path, data: bytes):
    """A fresh workbook with the values and merged ranges the reader saw."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from ..read.open import read_book

    book = read_book(src, data)
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
    """Store as a string even when it starts with '=': openpyxl would make it a formula.
    Control characters no workbook may hold are written as Excel's own _xHHHH_ escapes."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell.value = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
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
