"""The fast row writer of summary.xlsx writes byte for byte what xlsxwriter itself writes."""
from __future__ import annotations

import zipfile
from pathlib import Path

import xlsxwriter
from openpyxl import load_workbook

from pipeline.write.fastsheet import FastSheet
from pipeline.write.xlsheet import SAFE_OPTIONS

TEXTS = ["单位名称", " 前后空格 ", "\t制表", "行\n中换行", "a & b < c > d", '引号"和\'', "_x0041_ 字面转义",
         "控制\x01字符\x1f", "全角\u3000空格", "=SUM(A1)", "-12.5", "😀 表情", "x" * 300]


def _write(path: Path, cls, ready: bool = False) -> None:
    """ready: rows of numbers and text only go through FastSheet.ready_row, whole."""
    wb = xlsxwriter.Workbook(str(path), SAFE_OPTIONS)
    ws = wb.add_worksheet("表", worksheet_class=cls)
    amount = wb.add_format({"num_format": "0.00"})
    fill = wb.add_format({"bg_color": "#FFC7CE", "num_format": "0.00"})
    ws.set_column(0, 5, 12)
    ws.set_column(9, 9, 10, amount)          # a column format: cells without their own use it
    ws.set_row(3, 40)                        # a row with its own height
    ws.set_row(4, 30, fill)                  # a row format
    ws.set_row(5, None, None, {"hidden": True})
    ws.set_row(len(TEXTS) + 2, 25)           # a row of attributes only, no cells
    for r, text in enumerate(TEXTS):
        if ready and r not in (3, 5, 6, 7, 11) and r % 4 != 1 and r not in (4, 10):
            cells = [(0, text, None), (1, r * 1234.5678 - 3, amount), (2, r, None), (3, 1e-7 * r + 1e15, fill)]
            cells += [(4, text, fill)] if r % 3 == 0 else []
            cells += [(9, 7, None)] if r == 8 else []
            cells += [(70, 1, None)] if r == 9 else []
            ws.ready_row(r, cells)
            continue
        ws.write_string(r, 0, text)
        ws.write_number(r, 1, r * 1234.5678 - 3, amount)
        ws.write_number(r, 2, r, None)
        ws.write_number(r, 3, 1e-7 * r + 1e15, fill)
        if r % 3 == 0:
            ws.write_string(r, 4, text, fill)
        if r % 4 == 1:
            ws.write_blank(r, 5, None, fill)
        if r in (3, 5, 11):
            ws.write_comment(r, 1, "批注")        # comments on rows with and without a height
        if r == 6:
            ws.write_url(r, 6, "external:returns/a.xlsx#'表'!C5", string="打开")
        if r == 7:
            ws.write_formula(r, 7, "=SUM(B1:B7)", amount, 12.5)
        if r == 8:
            ws.write_number(r, 9, 7)                 # takes the column format
        if r in (4, 10):
            ws.write_string(r, 9, "列格式下的文字")      # text under the column format (and a row format)
            ws.write_blank(r, 8, None, amount)
        if r == 9:
            ws.write_number(r, 70, 1)                # beyond the cached column letters
    wb.close()


def _sheet_xml(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/worksheets/sheet1.xml")


def test_fast_rows_are_xlsxwriters_own(tmp_path: Path):
    _write(tmp_path / "plain.xlsx", None)
    _write(tmp_path / "fast.xlsx", FastSheet)
    assert _sheet_xml(tmp_path / "fast.xlsx") == _sheet_xml(tmp_path / "plain.xlsx")
    ws = load_workbook(tmp_path / "fast.xlsx")["表"]
    plain = [(r, t) for r, t in enumerate(TEXTS) if "_x" not in t and t.isprintable()]
    assert [ws.cell(row=r + 1, column=1).value for r, _ in plain] == [t for _, t in plain]


def test_ready_rows_are_xlsxwriters_own(tmp_path: Path):
    """Whole rows written at once (明细's rows without a finding) between rows written cell by
    cell, with row heights, row and column formats around them: the same XML."""
    _write(tmp_path / "plain.xlsx", None)
    _write(tmp_path / "ready.xlsx", FastSheet, ready=True)
    assert _sheet_xml(tmp_path / "ready.xlsx") == _sheet_xml(tmp_path / "plain.xlsx")


def test_text_that_looks_like_rich_text_stays_text(tmp_path: Path):
    """xlsxwriter would write "<r>…</r>" as raw XML (a hostile unit name could break the file)."""
    path = tmp_path / "r.xlsx"
    wb = xlsxwriter.Workbook(str(path), SAFE_OPTIONS)
    ws = wb.add_worksheet("表", worksheet_class=FastSheet)
    ws.write_string(0, 0, "<r>&未闭合</r>")
    wb.close()
    assert load_workbook(path)["表"]["A1"].value == "<r>&未闭合</r>"
