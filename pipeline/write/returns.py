"""OUT/returns/: each unit's own workbook back, flagged cells filled and commented, plus 问题清单.

Each copy is made in a contained worker (memory cap, time limit; pipeline/read/pool.py) from the
very bytes that were checked, so one file's copy can fail only itself. Three ways, fastest first:
- the unit's .xlsx/.xlsm package edited in place (repack.py: a few milliseconds, the unit's parts
  kept as they are);
- where that path is not sure of the package (drawings, charts, form controls, …), openpyxl's
  load, marks and save (here: its layout kept, ten times the time);
- .xls/.ods (and Strict OOXML, which openpyxl cannot open) rebuilt from the grid the reader saw
  (rebuild.py), then marked like an .xlsx.
Nothing from the input that acts survives: formulas outside the form's simple arithmetic become
inert text; hyperlinks, external links and defined names that are not plain ranges are dropped.

The first sheet, 问题清单, says what to do: a heading (unit, year, 审核日期, who checked, what to do),
then one row per finding — 问题说明 first, the unit's 说明（单位填写） beside it, then the cell (a
link to it), 应为 / 实为 / 差额 as numbers, the rule and the stable key 问题编号 that the collection
reads 说明 back by (pipeline/collect/notes.py).
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from copy import copy
from pathlib import Path

from .atomic import atomic_path
from .keep import REACHING_OUT, plain_range, simple
from .listing import (COMMENT_MAX, FONT, HEAD_FILL, HEADER_ROW, LINK_COL, LINK_COLOR, NOTE_FILL, NUMBER_COLS, OWN_PROPERTY,
                      RETURN_HEADER, RETURN_SHEET, TODO_COLOR, WIDTHS, listing, marks, per_cell, quoted, sheet_name, spot)
from .listing import escaped as _escaped



class ReturnRefused(Exception):
    """A reason, in Chinese, that this file gets no returned copy."""


def return_tasks(report, every: bool = False) -> list[tuple]:
    """(result, task) for each accepted file with findings other than 提示 (every: each accepted
    file); a task is what a return worker needs: (src, dst under returns/, the sheet's content,
    sha256). The content is plain data: {"head": {...}, "rows": [{...} per finding]}."""
    by_file: dict[str, list] = {}
    for f in report.findings:
        by_file.setdefault(f.file, []).append(f)
    units: dict[str, list] = {}
    for u in report.unit_rows:
        units.setdefault(u.get("file"), []).append(u)
    # a rule may word its message for the unit apart (DUP-001 names no other file there)
    # (not for a finding the rule re-worded itself: DUP-001 as 第 N 版 with a store)
    unit_words = {(r.id, r.severity): r.params["return_message"] for r in report.pack.rules
                  if r.params.get("return_message")}
    pack = report.pack
    due = []
    for r in report.results:
        found = by_file.get(r.file, [])
        if r.status == "accepted" and r.return_name and (every or any(x.severity != "info" for x in found)):
            names = list(dict.fromkeys(str(u.get("unit") or "") for u in units.get(r.file, []) if u.get("unit")))
            years = list(dict.fromkeys(str(u.get("year") or "") for u in units.get(r.file, []) if u.get("year")))
            head = {"unit": "、".join(names) or "（未填写单位名称）", "year": "、".join(years),
                    "date": f"{report.started:%Y-%m-%d}", "checker": f"财政局绩效审核（按《{pack.name}》{pack.version} 版审核）",
                    "counts": [sum(x.severity == s for x in found) for s in ("error", "warning", "info")]}
            rows = [{"severity": x.severity, "rule": x.rule, "name": x.name,
                     "message": unit_words.get((x.rule, x.severity), x.message), "sheet": x.sheet,
                     "cell": x.cell, "expected": x.expected, "actual": x.actual, "key": x.key,
                     "note": x.explanation}   # the 说明 in force, for the unit to keep or change
                    for x in found]
            due.append((r, (r.path, r.return_name, {"head": head, "rows": rows}, r.sha256)))
    return due


def return_job(src: str, dst: str, rows: dict, sha256: str, folder: str) -> str:
    """One marked-up copy, written to folder/dst. Built from the bytes whose digest the run
    recorded: a file changed since it was read is not marked with another version's findings."""
    import hashlib

    data = Path(src).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ReturnRefused("文件在审核之后被改动或替换，未生成标注表；请重新运行汇总")
    fast = wb = None
    if _ooxml(data):   # the package edited in place, else through openpyxl
        fast = _repacked(data, rows)
        wb = openpyxl_copy(Path(src), data, rows) if fast is None else None
    if fast is None and wb is None:   # .xls/.ods, Strict OOXML: rebuilt from the grid, then marked
        from ..read.open import read_book
        from .rebuild import rebuilt
        from .repack import repack

        package, renamed = rebuilt(read_book(Path(src), data).sheets)
        fast = repack(package, _renamed(rows, renamed))
    with atomic_path(Path(folder) / dst) as tmp:
        if fast is not None:
            tmp.write_bytes(fast)
        else:
            wb.save(tmp)
    return dst


def _renamed(content: dict, renamed: dict[str, str]) -> dict:
    """The findings' sheets under the names the rebuilt copy gives them."""
    if not renamed:
        return content
    rows = []
    for x in content["rows"]:
        x = dict(x, sheet=renamed.get(x["sheet"], x["sheet"]))
        sheet, cell = spot(x["sheet"], x["cell"])
        if "!" in x["cell"] and sheet in renamed:
            x["cell"] = "'" + renamed[sheet] + "'!" + cell   # (read back by spot)
        rows.append(x)
    return dict(content, rows=rows)


def openpyxl_copy(src: Path, data: bytes, content: dict):
    """The marked copy as an openpyxl workbook where openpyxl opens the unit's own (None where
    it cannot: .xls/.ods bytes, Strict OOXML)."""
    wb = _load_own(data)
    if wb is None:
        return None
    _drop_own_list(wb)
    _sanitize(wb)
    _mark(wb, content)
    _stamp(wb)
    return wb


def _ooxml(data: bytes) -> bool:
    """An OOXML package: zip bytes naming a [Content_Types].xml, which both the edits in place and
    openpyxl need. (Asked once, before either: an .ods would otherwise cost a worker openpyxl's
    and numpy's import, 0.2–0.3 s of CPU, only to be refused. The name in the bytes is enough: a
    zip holding that part always names it, and a zip merely containing the words goes on to be
    refused by both, as before.)"""
    from ..read.guard import sniff

    return sniff(data[:8], len(data)) == "zip" and b"[Content_Types].xml" in data


def _repacked(data: bytes, content: dict) -> bytes | None:
    """The copy by editing the unit's package (repack.py), or None where that path is not sure
    of it or fails: openpyxl's path then makes the copy, or refuses it on its own terms."""
    from .repack import repack

    try:
        return repack(data, content)
    except Exception:   # Unsure, or a package this path reads wrong: the slower path decides
        return None


def _load_own(data: bytes):
    """The unit's own workbook through openpyxl (its layout kept), or None where openpyxl cannot
    open it (Strict OOXML)."""
    from openpyxl import load_workbook

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
    from openpyxl.worksheet.formula import ArrayFormula

    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if isinstance(v, ArrayFormula) and not simple(str(v.text)):
                    _text(c, str(v.text))
                elif isinstance(v, str) and ((c.data_type == "f" and not simple(v))
                                             or ILLEGAL_CHARACTERS_RE.search(v)):
                    _text(c, v)
                if c.hyperlink is not None:
                    c.hyperlink = None
        ws._hyperlinks = []
        _quiet_rules(ws)
        for name in list(ws.defined_names):
            if not _plain_range(ws.defined_names[name]):
                del ws.defined_names[name]
    for name in list(wb.defined_names):
        if not _plain_range(wb.defined_names[name]):
            del wb.defined_names[name]
    wb._external_links = []


def _quiet_rules(ws) -> None:
    """Conditional formats and validations whose formulas could reach out (REACHING_OUT) are dropped; colours and lists that stay inside the book stay."""
    rules = ws.conditional_formatting._cf_rules
    for cf in list(rules):
        rules[cf] = [r for r in rules[cf] if not any(REACHING_OUT.search(str(f)) for f in (r.formula or []))]
        if not rules[cf]:
            del rules[cf]
    dvs = ws.data_validations
    dvs.dataValidation = [dv for dv in dvs.dataValidation
                          if not any(REACHING_OUT.search(str(f or "")) for f in (dv.formula1, dv.formula2))]


def _plain_range(defn) -> bool:
    """A print area or a name for cells of this workbook: ranges only, no function, no link."""
    return plain_range(defn.attr_text or "")


def _drop_own_list(wb) -> None:
    """A returned copy sent back: its old 问题清单 goes (the new one replaces it, the 说明 written
    there come back through the store's 说明 in force); a unit's own sheet of that name stays."""
    ours = any(p.name == OWN_PROPERTY and str(p.value) == "return" for p in wb.custom_doc_props.props)
    if ours and RETURN_SHEET in wb.sheetnames and len(wb.sheetnames) > 1:
        wb.remove(wb[RETURN_SHEET])


def _stamp(wb) -> None:
    """Marks the copy as selfeval's: a later run reads it as the unit's form, not its 问题清单."""
    from openpyxl.packaging.custom import StringProperty

    # a returned copy sent back and marked again already carries it (openpyxl refuses a second)
    props = wb.custom_doc_props
    props.props = [p for p in props.props if p.name != OWN_PROPERTY]
    props.append(StringProperty(name=OWN_PROPERTY, value="return"))


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



def _text(cell, value: str) -> None:
    """Store as a string even when it starts with '=': openpyxl would make it a formula.
    Control characters no workbook may hold are written as Excel's own _xHHHH_ escapes."""
    cell.value = _escaped(value)
    cell.data_type = "s"


def _target(wb, sheet: str, cell: str):
    sheet, cell = spot(sheet, cell)
    if sheet not in wb.sheetnames or not cell:
        return None
    ws = wb[sheet]
    for rng in ws.merged_cells.ranges:
        if cell in rng:
            return ws.cell(row=rng.min_row, column=rng.min_col)
    return ws[cell]


def _mark(wb, content: dict) -> None:
    """The openpyxl drawing of listing.py's marks and 问题清单 (repack.py draws the same in XML)."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink

    from .printing import openpyxl_print

    found = {}   # a mark's (sheet, cell) → (the workbook's cell it lands on, the mark)
    for m in marks(content):
        target = _target(wb, m.sheet, m.cell)
        if target is not None:
            found[(m.sheet, m.cell)] = (target, m)
    for target, (text, color) in per_cell((t, m.text, m.color) for t, m in found.values()).items():
        target.fill = PatternFill("solid", fgColor=color)
        target.comment = Comment(_escaped(text[:COMMENT_MAX]), "审核", width=420, height=160)
    targets = {k: t for k, (t, _) in found.items()}
    plan = listing(content)
    ws = wb.create_sheet(sheet_name(wb.sheetnames), 0)
    font, bold = Font(name=FONT, size=10), Font(name=FONT, size=10, bold=True)
    fonts = {"title": Font(name=FONT, size=14, bold=True), "plain": font,
             "todo": Font(name=FONT, size=10, bold=True, color=TODO_COLOR)}
    top = Alignment(vertical="top", wrap_text=True)
    last = chr(ord("A") + len(RETURN_HEADER) - 1)
    for r, (text, kind) in enumerate(plan.lines, 1):
        _text(ws.cell(row=r, column=1), text)
        ws.cell(row=r, column=1).font = fonts[kind]
        ws.merge_cells(f"A{r}:{last}{r}")
        ws.cell(row=r, column=1).alignment = Alignment(vertical="center", wrap_text=r > 1)
    hr = HEADER_ROW
    for c, h in enumerate(RETURN_HEADER, 1):
        cell = ws.cell(row=hr, column=c)
        _text(cell, h)
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor=HEAD_FILL)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for n, vals in enumerate(plan.body):
        r = hr + n + 1
        for c, v in enumerate(vals, 1):
            cell = ws.cell(row=r, column=c)
            if isinstance(v, (int, float)):
                cell.value = v
                if c in NUMBER_COLS:
                    cell.number_format = plan.formats[n]
            elif v is not None:
                _text(cell, v)
            cell.font = font
            cell.alignment = top
        ws.cell(row=r, column=2).fill = PatternFill("solid", fgColor=plan.colors[n])
        ws.cell(row=r, column=4).fill = PatternFill("solid", fgColor=NOTE_FILL)
        if plan.spots[n] in targets:
            t = targets[plan.spots[n]]
            link = ws.cell(row=r, column=LINK_COL)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"{quoted(t.parent.title)}!{t.coordinate}")
            link.font = Font(name=FONT, size=10, color=LINK_COLOR, underline="single")
    for r, h in plan.heights.items():
        ws.row_dimensions[r].height = h
    for c, width in enumerate(WIDTHS, 1):
        ws.column_dimensions[chr(ord("A") + c - 1)].width = width
    ws.freeze_panes = f"C{hr + 1}"
    ws.auto_filter.ref = f"A{hr}:{last}{max(hr + 1, plan.last_row)}"
    openpyxl_print(ws, title=plan.print_title, right=plan.print_right, rows=f"{hr}:{hr}")
    for other in wb.worksheets:
        other.sheet_view.tabSelected = other is ws  # one selected tab, or Excel groups them
    wb.active = 0
