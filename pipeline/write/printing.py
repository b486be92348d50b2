"""Print settings a 财政局 reviewer expects on every sheet: A4, orientation, fit to page width,
title rows (and the unit columns of wide sheets) repeated on each page, a header naming the sheet
and the run, a footer 第 &P 页 共 &N 页 — for xlsxwriter sheets (summary.xlsx) and openpyxl
sheets (a returned copy's 问题清单; the unit's own sheets keep the unit's settings)."""
from __future__ import annotations

A4 = 9
PAGE = "第 &P 页 共 &N 页"


def _amp(text: str) -> str:
    """Header/footer text: a literal & is written &&."""
    return str(text).replace("&", "&&")


def xlsx_print(ws, *, title: str, right: str, landscape: bool = True, wide: int = 1,
               rows: tuple[int, int] | None = None, cols: tuple[int, int] | None = None,
               area: tuple[int, int, int, int] | None = None) -> None:
    """An xlsxwriter worksheet: A4, fitted to `wide` pages across (0: no fitting), rows/cols
    repeated on every page, header 'title · sheet · right', footer 第 n 页 共 m 页."""
    ws.set_paper(A4)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    if wide:
        ws.fit_to_pages(wide, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.75, bottom=0.6)
    ws.set_header(f'&L&"等线"&9{_amp(title)}&C&"等线"&11&A&R&"等线"&9{_amp(right)}', {"margin": 0.3})
    ws.set_footer(f'&C&"等线"&9{PAGE}', {"margin": 0.3})
    if rows:
        ws.repeat_rows(*rows)
    if cols:
        ws.repeat_columns(*cols)
    if area:
        ws.print_area(*area)
    ws.center_horizontally()


def openpyxl_print(ws, *, title: str, right: str, landscape: bool = True, rows: str | None = None) -> None:
    """An openpyxl worksheet (the returned copy's 问题清单): A4, one page wide, rows repeated."""
    ws.page_setup.paperSize = A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top, ws.page_margins.bottom = 0.75, 0.6
    ws.oddHeader.left.text, ws.oddHeader.left.size, ws.oddHeader.left.font = _amp(title), 9, "等线"
    ws.oddHeader.right.text, ws.oddHeader.right.size, ws.oddHeader.right.font = _amp(right), 9, "等线"
    ws.oddHeader.center.text, ws.oddHeader.center.size, ws.oddHeader.center.font = "&A", 11, "等线"
    ws.oddFooter.center.text, ws.oddFooter.center.size, ws.oddFooter.center.font = PAGE, 9, "等线"
    if rows:
        ws.print_title_rows = rows
