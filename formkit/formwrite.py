"""Write generated forms with XlsxWriter or openpyxl, and convert them with LibreOffice."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .formgen import Sheet


def save_xlsxwriter(sheets: list[Sheet], path) -> None:
    """Fast writer; its formulas carry a cached 0 and the workbook asks for recalculation."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    wrap = wb.add_format({"text_wrap": True, "valign": "top", "border": 1})
    for sh in sheets:
        ws = wb.add_worksheet(sh.name)
        for c, w in sh.widths.items():
            ws.set_column(c, c, w)
        merged_at = {(r1, c1): (r1, c1, r2, c2) for r1, c1, r2, c2 in sh.merges}
        for (r1, c1, r2, c2) in sh.merges:
            v = sh.cells.get((r1, c1))
            if (r1, c1) in sh.formulas:
                continue
            ws.merge_range(r1, c1, r2, c2, None, wrap)
            _xw_write(ws, r1, c1, v, wrap)
        for (r, c), v in sh.cells.items():
            if (r, c) not in merged_at:
                _xw_write(ws, r, c, v, wrap)
        for (r, c), f in sh.formulas.items():
            ws.write_formula(r, c, f, wrap)
    wb.close()


def _xw_write(ws, r, c, v, fmt) -> None:
    if v is None:
        ws.write_blank(r, c, None, fmt)
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        ws.write_number(r, c, v, fmt)
    else:
        ws.write_string(r, c, str(v), fmt)


def save_openpyxl(sheets: list[Sheet], path) -> None:
    """openpyxl writes formulas with no cached value at all: the reader must compute them."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for sh in sheets:
        ws = wb.create_sheet(sh.name)
        for (r, c), v in sh.cells.items():
            cell = ws.cell(row=r + 1, column=c + 1, value=v)
            if isinstance(v, str) and v.startswith("="):
                cell.data_type = "s"
        for (r, c), f in sh.formulas.items():
            ws.cell(row=r + 1, column=c + 1, value=f)
        for r1, c1, r2, c2 in sh.merges:
            ws.merge_cells(start_row=r1 + 1, start_column=c1 + 1, end_row=r2 + 1, end_column=c2 + 1)
    wb.save(path)


def convert(paths, fmt: str, outdir) -> None:
    """Convert workbooks with LibreOffice (one process for many files): fmt 'xls' or 'ods'."""
    import shutil
    import subprocess
    import tempfile

    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is needed to write .xls/.ods forms")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([exe, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
                        "--outdir", str(outdir), *map(str, paths)], check=True, capture_output=True,
                       timeout=600)
