"""What a returned copy says, read back through openpyxl, so the two writers (the package edited in
place, repack.py, and openpyxl, returns.py) can be compared: every differing aspect is listed."""
from __future__ import annotations

import io

from openpyxl import load_workbook


def _font(c):
    f = c.font
    return (f.name, f.sz, bool(f.b), (f.color.rgb[-6:] if f.color is not None and isinstance(f.color.rgb, str) else None),
            f.u or None)


def _fill(c):
    f = c.fill
    return f.fgColor.rgb[-6:] if f is not None and f.fill_type == "solid" and isinstance(f.fgColor.rgb, str) else None


def _align(c):
    a = c.alignment
    return (a.horizontal, a.vertical, bool(a.wrap_text))


def said(data: bytes) -> dict:
    """Everything a returned copy shows that the two writers must agree on."""
    wb = load_workbook(io.BytesIO(data))
    out = {"sheets": wb.sheetnames, "active": wb.active.title,
           "selected": [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected],
           "names": sorted((n, str(d.attr_text)) for n, d in wb.defined_names.items() if not n.startswith("_xlnm")),
           "prop": [(p.name, str(p.value)) for p in wb.custom_doc_props.props]}
    for i, ws in enumerate(wb.worksheets):
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                if c.value not in (None, ""):   # openpyxl drops a cell's empty text on load and save
                    cells[c.coordinate] = (c.value, c.data_type)
                if c.comment is not None:
                    cells[c.coordinate + "#comment"] = c.comment.text
                if _fill(c) and (i == 0 or c.comment is not None):
                    cells[c.coordinate + "#fill"] = _fill(c)
                if c.hyperlink is not None:
                    cells[c.coordinate + "#link"] = (c.hyperlink.target, c.hyperlink.location)
                if i == 0 and (c.value is not None or c.has_style):
                    cells[c.coordinate + "#look"] = (_font(c), _align(c), c.number_format)
        out[f"{i}:{ws.title}"] = cells
        out[f"{i}:merged"] = sorted(str(r) for r in ws.merged_cells.ranges)
        out[f"{i}:names"] = sorted((n, str(d.attr_text)) for n, d in ws.defined_names.items())
        if i == 0:   # 问题清单: its layout and print settings
            ps = ws.page_setup
            out["list"] = {
                "widths": {k: round(d.width, 2) for k, d in ws.column_dimensions.items() if d.width},
                "heights": {k: round(d.height, 2) for k, d in ws.row_dimensions.items() if d.height},
                "freeze": ws.freeze_panes, "filter": ws.auto_filter.ref, "titles": ws.print_title_rows,
                "page": (ps.orientation, str(ps.paperSize), ps.fitToWidth, ps.fitToHeight,
                         ws.sheet_properties.pageSetUpPr.fitToPage, ws.print_options.horizontalCentered),
                "margins": (ws.page_margins.left, ws.page_margins.right, ws.page_margins.top, ws.page_margins.bottom),
                "header": (ws.oddHeader.left.text, ws.oddHeader.center.text, ws.oddHeader.right.text,
                           ws.oddFooter.center.text)}
        else:
            out[f"{i}:print"] = (ws.print_title_rows, ws.print_area, ws.page_setup.orientation,
                                 str(ws.page_setup.paperSize), ws.page_setup.fitToWidth)
            out[f"{i}:widths"] = {k: round(d.width, 2) for k, d in ws.column_dimensions.items() if d.width}
    return out


def differences(a: dict, b: dict) -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k), b.get(k)
        if isinstance(x, dict) and isinstance(y, dict):
            for kk in sorted(set(x) | set(y), key=str):
                if x.get(kk) != y.get(kk):
                    out.append(f"{k} {kk}: {x.get(kk)!r} != {y.get(kk)!r}")
        elif x != y:
            out.append(f"{k}: {x!r} != {y!r}")
    return out
