""".xls/.ods (and Strict OOXML) come back rebuilt from the grid the reader saw, as a plain package
that repack.py then marks like any unit's .xlsx: the values, the merged ranges, thin borders
over the table rows (not over a title or a note line), widths fitted to the text, merged and long
text wrapped with the row made tall enough, amounts as numbers with #,##0.00, the title large,
A4 portrait one page wide.

Not converted through LibreOffice: a LibreOffice process per file costs 1–2 s and more memory
than the contained worker allows, and its output would be one more input to trust."""
from __future__ import annotations

import io
import math
import re
import zipfile

from ..models import a1
from .listing import FONT, escaped, lines_of, width_of
from .ooxml_edit import CT, OFFICE_RELS, PKG_RELS, Styles, esc
from .present import decimals, num_format

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_BAD_NAME = re.compile(r"[\[\]:*?/\\]")
STYLES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          f'<styleSheet xmlns="{MAIN}"><fonts count="1"><font><sz val="11"/><name val="{FONT}"/><charset val="134"/></font></fonts>'
          '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
          '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
          '<border><left style="thin"><color rgb="FF808080"/></left><right style="thin"><color rgb="FF808080"/></right>'
          '<top style="thin"><color rgb="FF808080"/></top><bottom style="thin"><color rgb="FF808080"/></bottom><diagonal/></border></borders>'
          '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
          '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
          '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
BORDER = 1


def rebuilt(sheets) -> tuple[bytes, dict[str, str]]:
    """A package of the reader's grids (read/grid.py Grid: 0-based values, errors, merged), and
    the sheets renamed on the way (a name an .xlsx cannot hold: too long, or with [ ] : * ? / or a backslash)."""
    styles = Styles(STYLES)
    names, parts, renamed = [], [], {}
    for g in sheets:
        name = _BAD_NAME.sub("_", g.name)[:31].strip("'") or "Sheet"
        while name.casefold() in {n.casefold() for n in names}:
            name = name[:28] + f"_{len(names) + 1}"
        names.append(name)
        if name != g.name:
            renamed[g.name] = name
        parts.append(_sheet(g, styles))
    sheet_tags = "".join(f'<sheet name="{esc(n)}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, 1))
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{CT["main"]}"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{CT["sheet"]}"/>'
                      for i in range(1, len(parts) + 1)) + "</Types>"),
        "_rels/.rels": (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_RELS}">'
                        f'<Relationship Id="rId1" Type="{OFFICE_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{MAIN}" '
                            f'xmlns:r="{OFFICE_RELS}"><bookViews><workbookView/></bookViews><sheets>{sheet_tags}</sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_RELS}">'
            + "".join(f'<Relationship Id="rId{i}" Type="{OFFICE_RELS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(1, len(parts) + 1))
            + f'<Relationship Id="rId{len(parts) + 1}" Type="{OFFICE_RELS}/styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": styles.render(),
    }
    for i, part in enumerate(parts, 1):
        files[f"xl/worksheets/sheet{i}.xml"] = part
    out = io.BytesIO()   # (stored: repack deflates every part of the copy it makes of this)
    with zipfile.ZipFile(out, "w") as z:
        for name, text in files.items():
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), text.encode("utf-8"))
    return out.getvalue(), renamed


def _sheet(g, styles: Styles) -> str:
    cells: dict[tuple[int, int], tuple] = {}   # (row, col) 0-based → (value, style)
    heights: dict[int, float] = {}
    widths: list[float] = []
    spans = {(r1, c1): (r2 - r1 + 1, c2 - c1 + 1) for r1, c1, r2, c2 in g.merged}
    for rc, v in g.values.items():
        cells[rc] = (v, None)
    for rc, e in g.errors.items():
        cells[rc] = (e, None)
    if g.values:
        font, big = styles.font(10), styles.font(14, bold=True)
        first_col = min(c for _, c in g.values)
        last_col = max(c for _, c in g.values)
        widths = [8.0] * (last_col + 1)
        for (r, c), v in g.values.items():
            if spans.get((r, c), (1, 1))[1] == 1 and not (isinstance(v, str) and len(v) > 40):
                widths[c] = max(widths[c], min(width_of(str(v)) + 2, 30))
        by_row: dict[int, list[int]] = {}
        for (r, c) in g.values:
            by_row.setdefault(r, []).append(c)
        title_row = min(by_row)
        bordered = set()
        narrow = {r for (r, _), (_, w) in spans.items() if w < last_col - first_col + 1}   # a merge short of the width
        for r, cols in by_row.items():
            if (len(cols) >= 2 or r in narrow) and r != title_row:   # a table row, not a title or a note line
                bordered.update((r, c) for c in range(first_col, last_col + 1))
        looks: dict[tuple[int, int], tuple] = {rc: (0, 0, "") for rc in bordered}   # (font, format, alignment)
        for (r, c), v in g.values.items():
            rows, cols = spans.get((r, c), (1, 1))
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                places = decimals(repr(v)) if isinstance(v, float) else 2
                looks[(r, c)] = (font, styles.number_format(num_format(places)), "")
                continue
            text = str(v)
            if r == title_row and len(by_row[r]) == 1:
                looks[(r, c)] = (big, 0, 'horizontal="center" vertical="center"')
                heights[r] = 24
                continue
            centre = 'horizontal="center" ' if cols > 1 and len(text) <= 16 else ""
            looks[(r, c)] = (font, 0, f'{centre}vertical="center" wrapText="1"')
            width = sum(widths[c:c + cols]) if c + cols <= len(widths) else widths[c]
            n = lines_of(text, width)
            if n > 1:
                heights[r] = max(heights.get(r, 0), 14 * n / rows)
        for rc, (f, fmt, align) in looks.items():
            style = styles.xf(f, fmt=fmt, align=align, border=BORDER if rc in bordered else 0)
            cells[rc] = (cells.get(rc, (None, None))[0], style)
    rows: dict[int, list[str]] = {}
    for (r, c) in sorted(cells):
        v, s = cells[(r, c)]
        rows.setdefault(r, []).append(_cell(a1(r, c), v, s))
    data = "".join(f'<row r="{r + 1}"' + (f' ht="{min(heights[r], 400):g}" customHeight="1"' if r in heights else "")
                   + f'>{"".join(cs)}</row>' for r, cs in sorted(rows.items()))
    cols = "".join(f'<col min="{c + 1}" max="{c + 1}" width="{w:g}" customWidth="1"/>' for c, w in enumerate(widths))
    merges = "".join(f'<mergeCell ref="{a1(r1, c1)}:{a1(r2, c2)}"/>'
                     for r1, c1, r2, c2 in g.merged)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}">'
            + ('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if g.values else "")
            + '<sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            + (f"<cols>{cols}</cols>" if cols else "")
            + f"<sheetData>{data}</sheetData>"
            + (f'<mergeCells count="{len(g.merged)}">{merges}</mergeCells>' if g.merged else "")
            + ('<printOptions horizontalCentered="1"/>' if g.values else "")
            + '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
            + ('<pageSetup paperSize="9" fitToWidth="1" fitToHeight="0"/>' if g.values else "")
            + "</worksheet>")


def _cell(ref: str, v, s) -> str:
    style = f' s="{s}"' if s else ""
    if v is None:
        return f'<c r="{ref}"{style}/>'
    if isinstance(v, bool):
        return f'<c r="{ref}"{style} t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float)) and math.isfinite(v):
        return f'<c r="{ref}"{style}><v>{v!r}</v></c>'
    return f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{esc(escaped(str(v)))}</t></is></c>'
